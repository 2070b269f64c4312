#!/usr/bin/env python3
"""Summary of one trace.py run: per phase, where the data file's pages entered the LRU and how they became active.
Args: TRACE JSON. Per phase:
  added       pages added to the data file's page cache (mm_filemap_add_to_page_cache), of them `refault` pages
              whose index was evicted earlier in the run (a shadow entry: workingset_refault's candidates),
              `folios` of order > 0 (pages in them);
  lru-add     the first mm_lru_insertion of each added folio: pages put on inactive_file (lru 2) or straight on
              active_file (lru 3: PG_active set before lru_add — workingset_refault's activation of a refault, or
              folio_mark_accessed on a folio still in the per-CPU batch), split by refault / first read;
  activate    mm_lru_activate of the file's folios (folio_activate: folio_mark_accessed of a referenced folio on the
              LRU), pages;
  inactive    the program's own reclaim (memcg limit reclaim runs in its context): shrink_inactive_list's file
              scanned / reclaimed / activated (folio_check_references → FOLIOREF_ACTIVATE) / ref_keep, and anon's;
  active      shrink_active_list's file taken / kept active (VM_EXEC) / deactivated / referenced, and anon's;
  memory.stat at the phase's end: active_file, inactive_file, active_anon, inactive_anon (pages),
              workingset_refault_file."""
import json, re, sys
from collections import defaultdict

trace, jpath = sys.argv[1], sys.argv[2]
ev = re.compile(r"^\s*.+?-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$")
kv = re.compile(r"(\w+)=(\S+)")
pc = {}            # pfn -> [index, order, refault, inserted]
evicted = set()    # page indexes deleted from the page cache so far
phases = ["map", "anon", "file1", "file2", "anon2"]
cur = 0
ends = {}
S = [defaultdict(int) for _ in phases]
for line in open(trace):
    m = ev.match(line)
    if not m:
        continue
    name, rest = m.group(4), m.group(5)
    if name == "tracing_mark_write":
        if rest.startswith("ecsmem-phase"):
            ends[rest.split()[1]] = float(m.group(3))
            cur = min(cur + 1, len(phases) - 1) if rest.split()[1] == phases[cur] else cur
        continue
    s = S[cur]
    f = dict(kv.findall(rest))
    if name == "mm_filemap_add_to_page_cache":
        pfn, idx, order = int(f["pfn"], 16), int(f["ofs"]) >> 12, int(f["order"])
        n = 1 << order
        ref = any(i in evicted for i in range(idx, idx + n))
        pc[pfn] = [idx, order, ref, False]
        s["added"] += n
        if ref: s["added_refault"] += n
        if order: s["folios"] += 1; s["folio_pages"] += n
    elif name == "mm_filemap_delete_from_page_cache":
        pfn, idx, order = int(f["pfn"], 16), int(f["ofs"]) >> 12, int(f["order"])
        if cur > 0:  # the map phase's deletions are the harness's cold-cache invalidation: no shadow entries
            evicted.update(range(idx, idx + (1 << order)))
        pc.pop(pfn, None)
        s["deleted"] += 1 << order
    elif name == "mm_lru_insertion":
        e = pc.get(int(f["pfn"], 16))
        if e is None or e[3]:
            continue
        e[3] = True
        n = 1 << e[1]
        lru = int(f["lru"])
        key = ("ins_active" if lru == 3 else "ins_inactive") + ("_refault" if e[2] else "_first")
        s[key] += n
    elif name == "mm_lru_activate":
        e = pc.get(int(f["pfn"], 16))
        if e is not None:
            s["activate"] += 1 << e[1]
    elif name == "mm_vmscan_lru_shrink_inactive":
        t = "file" if "RECLAIM_WB_FILE" in f["flags"] else "anon"
        s[f"in_{t}_scanned"] += int(f["nr_scanned"]); s[f"in_{t}_reclaimed"] += int(f["nr_reclaimed"])
        s[f"in_{t}_activate"] += int(f["nr_activate_" + t]); s[f"in_{t}_refkeep"] += int(f["nr_ref_keep"])
        s[f"in_{t}_calls"] += 1
    elif name == "mm_vmscan_lru_shrink_active":
        t = "file" if "RECLAIM_WB_FILE" in f["flags"] else "anon"
        s[f"ac_{t}_taken"] += int(f["nr_taken"]); s[f"ac_{t}_kept"] += int(f["nr_active"])
        s[f"ac_{t}_deact"] += int(f["nr_deactivated"]); s[f"ac_{t}_ref"] += int(f["nr_referenced"])
    elif name == "memcg_flush_stats":
        # __mem_cgroup_flush_stats: flushes when forced (the 2 s periodic worker, root) or when more than
        # MEMCG_CHARGE_BATCH x CPUs updates are pending; else returns without flushing.
        if f["force"] == "1":
            s["flush_periodic"] += 1
        elif f["needs_flush"] == "1":
            s["flush_reader"] += 1
    elif name == "mm_vmscan_memcg_reclaim_begin":
        s["reclaims"] += 1

res = json.load(open(jpath))
res = res["phases"] if isinstance(res, dict) and "phases" in res else res
ms = {r["phase"]: r.get("memstat", {}) for r in res} if isinstance(res, list) else {}
for i, ph in enumerate(phases):
    s = S[i]
    m = ms.get(ph, {})
    pg = lambda k: m.get(k, 0) // 4096
    t0 = ends.get(phases[i - 1]) if i else None
    dur = f"{(ends[ph] - t0) * 1000:.0f} ms" if t0 is not None and ph in ends else "-"
    print(f"{ph:6} ({dur}) added {s['added']} (refault {s['added_refault']}, {s['folios']} large folios = {s['folio_pages']} pages), deleted {s['deleted']}")
    print(f"       lru-add inactive {s['ins_inactive_first']} first + {s['ins_inactive_refault']} refault; "
          f"ACTIVE {s['ins_active_first']} first + {s['ins_active_refault']} refault; folio_activate {s['activate']}")
    print(f"       memcg stats flushes: periodic {s['flush_periodic']}, by a reader {s['flush_reader']}")
    print(f"       reclaims {s['reclaims']}; inactive file scanned {s['in_file_scanned']} reclaimed {s['in_file_reclaimed']} "
          f"ACTIVATED {s['in_file_activate']} ref_keep {s['in_file_refkeep']} | anon scanned {s['in_anon_scanned']} "
          f"reclaimed {s['in_anon_reclaimed']} activated {s['in_anon_activate']}")
    print(f"       active file taken {s['ac_file_taken']} kept {s['ac_file_kept']} deactivated {s['ac_file_deact']} "
          f"referenced {s['ac_file_ref']} | anon taken {s['ac_anon_taken']} deactivated {s['ac_anon_deact']} referenced {s['ac_anon_ref']}")
    print(f"       memory.stat active_file {pg('active_file')} inactive_file {pg('inactive_file')} active_anon "
          f"{pg('active_anon')} inactive_anon {pg('inactive_anon')} swap {pg('swap')} workingset_refault_file "
          f"{m.get('workingset_refault_file', '-')}")
