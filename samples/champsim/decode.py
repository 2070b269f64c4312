#!/usr/bin/env python3
"""Independent decoder for ChampSim input_instr traces (.xz or plain), used to record the expected values the
EcsMem reader is tested against. Follows ChampSim's rules: every record is a fetch at ip; non-zero
source_memory entries are loads, non-zero destination_memory entries stores.
Usage: decode.py TRACE  -> prints key=value lines."""
import lzma, struct, sys

path = sys.argv[1]
data = lzma.open(path).read() if open(path, 'rb').read(6) == b'\xfd7zXZ\x00' else open(path, 'rb').read()
assert len(data) % 64 == 0, "not a whole number of 64-byte records"
records = loads = stores = 0
ip_sum = load_sum = store_sum = 0
pages = set()
for off in range(0, len(data), 64):
    ip, is_branch, taken = struct.unpack_from('<QBB', data, off)
    dst = struct.unpack_from('<2Q', data, off + 16)
    src = struct.unpack_from('<4Q', data, off + 32)
    records += 1
    ip_sum += ip
    pages.add(ip >> 12)
    for a in src:
        if a:
            loads += 1; load_sum += a; pages.add(a >> 12)
    for a in dst:
        if a:
            stores += 1; store_sum += a; pages.add(a >> 12)
M = 1 << 64
print(f"records={records}")
print(f"loads={loads}")
print(f"stores={stores}")
print(f"ip_sum={ip_sum % M}")
print(f"load_sum={load_sum % M}")
print(f"store_sum={store_sum % M}")
print(f"pages={len(pages)}")
