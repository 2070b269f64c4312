#!/usr/bin/env python3
"""One run of joinlast.sh: VARIANT RUN JSON. main's figures, the chain (pgpgin − rss − cache at main, pages), and per
phase pgpgin/pgpgout over the phase (d) and since the exec (x: less the chain and main's cache, as Fixtures.PgpgExecOf)."""
import json
import sys

variant, run, path = sys.argv[1:4]
try:
    d = json.load(open(path))
except (OSError, ValueError) as e:
    print(f"{variant} {run}: no record ({e})")
    sys.exit(0)
main = d['main']
rss, cache = main['rss'] // 4096, main['cache'] // 4096
chain = main['pgpgin'] - rss - cache
parts = [f"{d['program']} {variant} {run}: main rss {rss} cache {cache} pgpgin {main['pgpgin']} pgpgout {main['pgpgout']} chain {chain}"]
prev_in, prev_out = None, None
for ph in d['phases']:
    s = ph['memstat']
    pin, pout = s['pgpgin'], s['pgpgout']
    din = '-' if prev_in is None else pin - prev_in
    dout = '-' if prev_out is None else pout - prev_out
    res = ','.join(ph.get('errors') or [])
    parts.append(f"{ph['phase']} d {din}/{dout} x {pin - chain - cache}/{pout - chain}{' ' + res if res else ''}")
    prev_in, prev_out = pin, pout
print('; '.join(parts))
