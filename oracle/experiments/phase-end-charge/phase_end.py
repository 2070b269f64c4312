#!/usr/bin/env python3
"""phase_end.py NAME RUN TRACE JSON: per phase_end of the run (a getrusage followed by three or more openat calls), the memcg
reclaims from that getrusage to the close of its memory.stat read (the third file it reads: smaps, smaps_rollup,
memory.stat), each with nr_reclaimed, its gfp flags and the stack frames that started it, and the accounted allocations
there (call site, bytes); with the phase's memory.stat pgpgin/pgpgout from the program's JSON."""
import json
import re
import sys

sys.path.insert(0, __import__('os').path.join(__import__('os').path.dirname(__file__), '..'))
import ftrace  # noqa: E402

name, run, trace, js = sys.argv[1:5]
ev = list(ftrace.events(trace))

# The stack of each reclaim_begin: the " => frame" lines after it (ftrace.events skips them), read once more here.
stacks, cur = [], None
for line in open(trace, errors='replace'):
    if line.startswith(' => '):
        if cur is not None:
            cur.append(line[4:].strip().split('+')[0])
    elif '<stack trace>' in line:
        continue
    elif 'mm_vmscan_memcg_reclaim_begin' in line:
        cur = []
        stacks.append(cur)
    else:
        cur = None

SKIP = {'try_to_free_mem_cgroup_pages', 'try_charge_memcg', 'obj_cgroup_charge_pages', 'obj_cgroup_charge',
        '__memcg_slab_post_alloc_hook', 'charge_memcg', '__mem_cgroup_charge', 'trace_event_raw_event_mm_vmscan_memcg_reclaim_begin_template',
        'ftrace_trace_stack', 'event_triggers_call', 'trace_event_buffer_commit', '__trace_stack', 'stacktrace_trigger'}


def origin(stack):
    frames = [f for f in stack if f not in SKIP and not f.startswith('trace_') and not f.startswith('event_')]
    return ' < '.join(frames[:6])


try:
    doc = json.load(open(js))
    phases = {p['phase']: p.get('memstat', {}) for p in doc.get('phases', [])}
    chain = doc.get('main', {})
except Exception:
    phases, chain = {}, {}

rus = [i for i, e in enumerate(ev) if e[4] == 'sys_getrusage']
names = list(phases)
ends = []
for a, b in zip(rus, rus[1:] + [len(ev)]):
    opens = [i for i in range(a, b) if ev[i][4] == 'sys_openat']
    if len(opens) >= 3:  # phase_end reads smaps, smaps_rollup, memory.stat ... (the prelude reads one or two files)
        ends.append((a, b))
si = 0
begin_index = [i for i, e in enumerate(ev) if e[4] == 'mm_vmscan_memcg_reclaim_begin']
stack_of = dict(zip(begin_index, stacks))
# Every memcg reclaim of the run by phase (from the phase's phase_start getrusage to its phase_end's): nr_reclaimed each.
starts = [rus[rus.index(a) - 1] for a, _ in ends]
for k, (a, _) in enumerate(ends):
    rec = []
    for i in range(starts[k], a):
        if ev[i][4] == 'mm_vmscan_memcg_reclaim_end':
            rec.append(int(re.search(r'nr_reclaimed=(\d+)', ev[i][5]).group(1)))
    ph = names[k] if k < len(names) else f'#{k}'
    hist = {}
    for r in rec:
        hist[r] = hist.get(r, 0) + 1
    print(f"{name} {run} {ph} rounds {len(rec)} reclaimed {sum(rec)}: " + ' '.join(f'{r}x{n}' for r, n in sorted(hist.items())))
for k, (a, b) in enumerate(ends):
    closes = [i for i in range(a, b) if ev[i][4] == 'sys_close']
    stop = closes[2] if len(closes) >= 3 else b
    ph = names[k] if k < len(names) else f'#{k}'
    st = phases.get(ph, {})
    held = st.get('pgpgin', 0) - st.get('pgpgout', 0)
    print(f"{name} {run} {ph}: pgpgin {st.get('pgpgin')} pgpgout {st.get('pgpgout')} in-out {held}"
          f" (main: pgpgin {chain.get('pgpgin')} pgpgout {chain.get('pgpgout')}); phase_end {ev[a][3]:.6f} to stat close {ev[stop][3] if stop < len(ev) else -1:.6f}")
    n_rec = 0
    for i in range(a, stop):
        e = ev[i]
        if e[4] == 'mm_vmscan_memcg_reclaim_begin':
            end = next((j for j in range(i + 1, min(i + 400, len(ev))) if ev[j][4] == 'mm_vmscan_memcg_reclaim_end'), None)
            nr = re.search(r'nr_reclaimed=(\d+)', ev[end][5]).group(1) if end else '?'
            gfp = re.search(r'gfp_flags=(\S+)', e[5])
            print(f"  reclaim {e[3]:.6f} cpu {e[2]} nr_reclaimed {nr} {gfp.group(1) if gfp else ''} from {origin(stack_of.get(i, []))}")
            n_rec += 1
        elif e[4] in ('kmalloc', 'kmem_cache_alloc'):
            cs = re.search(r'call_site=(\S+)', e[5])
            ba = re.search(r'bytes_alloc=(\d+)', e[5])
            print(f"  alloc {e[3]:.6f} cpu {e[2]} {e[4]} {cs.group(1).split('+')[0] if cs else '?'} {ba.group(1) if ba else '?'}")
        elif e[4] in ('sys_openat', 'sys_close'):
            print(f"  {e[4][4:]} {e[3]:.6f} cpu {e[2]}")
    print(f"  reclaims {n_rec}")
