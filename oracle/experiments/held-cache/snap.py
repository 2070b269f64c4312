#!/usr/bin/env python3
"""One moment of this machine's memory: /proc/buddyinfo, /proc/meminfo and /proc/zoneinfo read back to back, then
what the Normal zone's non-free pages are. Usage: snap.py LABEL. Prints the raw Normal lines and a summary:
managed - nr_free_pages = used, split into the zone's LRU lists (nr_zone_*) and the rest (kernel: slab, page tables,
stacks, percpu, vmalloc ... node-wide stats, printed beside it with the node's share in this zone)."""
import re
import sys


def read(path):
    with open(path) as f:
        return f.read()


def main():
    label = sys.argv[1] if len(sys.argv) > 1 else "now"
    buddy, meminfo, zoneinfo = read("/proc/buddyinfo"), read("/proc/meminfo"), read("/proc/zoneinfo")
    print(f"== {label}")
    for line in buddy.splitlines():
        if "Normal" in line:
            print("buddyinfo:", line)
    mem = {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+):\s+(\d+)", meminfo, re.M)}
    for k in ("MemTotal", "MemFree", "Cached", "Buffers", "Active(file)", "Inactive(file)", "Active(anon)",
              "Inactive(anon)", "Unevictable", "Shmem", "Slab", "SReclaimable", "SUnreclaim", "KernelStack",
              "PageTables", "Percpu", "VmallocUsed", "AnonPages", "Mapped", "Dirty"):
        print(f"meminfo {k}: {mem.get(k, '-')} kB")
    # Node 0's per-node stats sit under its first zone; the Normal zone's own stats under "zone Normal".
    node, zones, cur = {}, {}, None
    for line in zoneinfo.splitlines():
        m = re.match(r"Node (\d+), zone\s+(\S+)", line)
        if m:
            cur = m.group(2)
            zones[cur] = {}
            continue
        m = re.match(r"\s+(\w+)\s+(\d+)$", line)
        if m and cur:
            key, val = m.group(1), int(m.group(2))
            if key not in zones[cur]:
                zones[cur][key] = val
        if "per-node stats" in line:
            cur_node = True
    # per-node stats are printed (indented) between "per-node stats" and the zone's own lines; they land in the
    # first zone's dict under their own names (nr_inactive_file, nr_slab_*), which zone stats (nr_zone_*) never use.
    first = next(iter(zones))
    node = zones[first]
    z = zones["Normal"]
    keys = ("managed", "present", "nr_free_pages", "nr_zone_inactive_file", "nr_zone_active_file",
            "nr_zone_inactive_anon", "nr_zone_active_anon", "nr_zone_unevictable", "nr_zone_write_pending", "nr_mlock")
    for k in keys:
        print(f"Normal {k}: {z.get(k)}")
    for k in ("nr_inactive_file", "nr_active_file", "nr_inactive_anon", "nr_active_anon", "nr_file_pages",
              "nr_slab_reclaimable", "nr_slab_unreclaimable", "nr_kernel_stack", "nr_page_table_pages", "nr_shmem",
              "nr_mapped", "nr_anon_pages"):
        print(f"node {k}: {node.get(k)}")
    used = z["managed"] - z["nr_free_pages"]
    file_ = z["nr_zone_inactive_file"] + z["nr_zone_active_file"]
    anon = z["nr_zone_inactive_anon"] + z["nr_zone_active_anon"]
    unev = z["nr_zone_unevictable"]
    rest = used - file_ - anon - unev
    pct = lambda n: f"{100.0 * n / used:.1f} %" if used else "-"
    print(f"Normal used (managed - free): {used} pages")
    print(f"  file LRU  {file_:>9} ({pct(file_)}): inactive {z['nr_zone_inactive_file']}, active {z['nr_zone_active_file']}")
    print(f"  anon LRU  {anon:>9} ({pct(anon)}): inactive {z['nr_zone_inactive_anon']}, active {z['nr_zone_active_anon']}")
    print(f"  unevict.  {unev:>9} ({pct(unev)})")
    print(f"  other     {rest:>9} ({pct(rest)}): slab, page tables, stacks, percpu, vmalloc, per-CPU lists' free pages ...")
    pcp = sum(int(m.group(1)) for m in re.finditer(r"count:\s+(\d+)", zoneinfo.split("zone   Normal")[1].split("Node 0, zone")[0]))
    print(f"  of which free on the per-CPU lists: {pcp}")


if __name__ == "__main__":
    main()
