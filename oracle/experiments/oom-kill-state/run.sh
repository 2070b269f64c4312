#!/bin/bash
# memcg-oom-kill's group at the OOM kill (session 22, oomchild): the kernel's own report of the group when
# mem_cgroup_out_of_memory kills (dump_header → mem_cgroup_print_oom_meminfo: memory usage, kmem usage, memory.stat's
# rss and LRU lists), which the program itself cannot read (the child's kernel memory is freed by the time the
# parent reads). RUNS runs of each variant of how record.sh starts the program, in a fresh cgroup-v1 group of 16M:
#   record: as record.sh (env and setarch read from this script's group first; env -i ORACLE_MEMCG=$cg setarch -R)
#   nomemcg: the same without ORACLE_MEMCG (main_entry_stat does not open memory.stat)
#   noenvi: ORACLE_MEMCG set but the caller's environment kept (no env -i)
# One report per run from dmesg (the OOM report is rate-limited: 10 in 5 s; runs are spaced a second apart).
# The first `record` run is traced (pid-filtered, children followed: accounted slab allocations and frees, percpu,
# oom:mark_victim), and kmem/slab-live.py gives the accounted objects live at the kill (results/trace-kill.txt).
# Run under the kernel lock: flock /work/kernel.lock oracle/experiments/oom-kill-state/run.sh [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-5}
out=$here/results
mkdir -p "$out"
. "$here/../sandbox.sh"
sandbox oomstate
# A second trace instance, not pid-filtered, for the page frees (an RCU callback frees in whatever task runs it).
inst2=$inst-free
oomstate_cleanup() { set +e; [ -d "$inst2" ] && { echo 0 > "$inst2/tracing_on"; rmdir "$inst2"; }; sandbox_cleanup; }
trap oomstate_cleanup EXIT INT TERM
mkdir -p "$work/kit/gen"
cp "$oracle/harness.h" "$work/kit/harness.h"
cp "$oracle/gen/memcg-oom-kill.c" "$work/kit/gen/"
gcc -O2 -Wall -Werror -o "$work/memcg-oom-kill" "$work/kit/gen/memcg-oom-kill.c"
mkdir "$inst"
echo 16384 > "$inst/buffer_size_kb"
echo 1 > "$inst/options/event-fork"
for e in kmem/kmem_cache_alloc kmem/kmalloc kmem/kmem_cache_free kmem/kfree percpu/percpu_alloc_percpu percpu/percpu_free_percpu oom/mark_victim; do
  echo 1 > "$inst/events/$e/enable"
done
echo 'accounted == 1' > "$inst/events/kmem/kmem_cache_alloc/filter"
echo 'gfp_flags & 0x400000' > "$inst/events/kmem/mm_page_alloc/filter"   # __GFP_ACCOUNT (1 << 22 on 6.18)
mkdir "$inst2"
echo 16384 > "$inst2/buffer_size_kb"
echo 1 > "$inst2/events/kmem/mm_page_free/enable"
echo 1 > "$inst2/events/kmem/mm_page_free_batched/enable"
report() { # the last OOM report in dmesg: usage, failcnt, kmem (pages), rss, lru, pgpgin, pgpgout, the tasks' pgtables/rss_anon
  dmesg | awk '/invoked oom-killer/{on=1; t=""} on && /memory: usage/{u=$0; sub(/.*usage /,"",u); sub(/kB.*/,"",u); u/=4; f=$0; sub(/.*failcnt /,"",f)}
    on && /kmem: usage/{k=$0; sub(/.*usage /,"",k); sub(/kB.*/,"",k); k/=4} on && /\] rss /{rss=$NF/4096}
    on && /\] pgpgin /{pi=$NF} on && /\] pgpgout /{po=$NF} on && /\] inactive_anon/{ia=$NF/4096} on && /\] active_anon/{aa=$NF/4096}
    on && /memcg-oom-kill$/{t=t" "$(NF-3)/4096"/"$(NF-6)}
    on && /Killed process/{r="usage " u " failcnt " f " kmem " k " rss " rss " lru " ia+aa " pgpgin " pi " pgpgout " po " pgtables/rss_anon" t; on=0}
    END {print r}'
}
: > "$out/kill.txt"
for variant in ${VARIANTS:-pages record nomemcg noenvi}; do
  for i in $(seq 1 "$runs"); do
    cat "$(command -v env)" "$(command -v setarch)" > /dev/null
    mkdir "$cg"
    echo 16M > "$cg/memory.limit_in_bytes"
    before=$(dmesg | grep 'invoked oom-killer' | tail -1)
    traced=""
    if [ "$variant" = record ] && [ "$i" = 1 ]; then traced=slab; fi
    # `pages`: as record, traced with the accounted page allocations, the frees and mark_victim only (the slab events
    # slow the run enough that the exec chain's kernel memory is gone by the kill: record 1 has the kmem of a slow run).
    if [ "$variant" = pages ]; then traced=pages; fi
    if [ -n "$traced" ]; then
      for e in kmem/kmem_cache_alloc kmem/kmalloc kmem/kmem_cache_free kmem/kfree percpu/percpu_alloc_percpu percpu/percpu_free_percpu; do
        if [ "$traced" = slab ]; then echo 1 > "$inst/events/$e/enable"; else echo 0 > "$inst/events/$e/enable"; fi
      done
      echo 1 > "$inst/events/kmem/mm_page_alloc/enable"
      echo > "$inst/trace"; echo > "$inst2/trace"; echo 1 > "$inst2/tracing_on"; echo 1 > "$inst/tracing_on"
    fi
    case $variant in
      record|pages) sh -c 'exec 9> "$2/trace_marker"; echo $$ > "$2/set_event_pid"; echo $$ > "$1/cgroup.procs"; echo ecsmem-joined >&9 2>/dev/null; exec 9>&-; exec env -i ORACLE_MEMCG="$1" setarch -R "$3" "$4"' sh "$cg" "$inst" "$work/memcg-oom-kill" "$work" > "$work/out.json" ;;
      nomemcg) sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i setarch -R "$2" "$3"' sh "$cg" "$work/memcg-oom-kill" "$work" > "$work/out.json" ;;
      noenvi) ORACLE_MEMCG=$cg sh -c 'echo $$ > "$1/cgroup.procs"; exec setarch -R "$2" "$3"' sh "$cg" "$work/memcg-oom-kill" "$work" > "$work/out.json" ;;
    esac
    if [ -n "$traced" ]; then
      echo 0 > "$inst/tracing_on"; echo 0 > "$inst2/tracing_on"
      cp "$inst/trace" "$work/trace-raw.txt"; cp "$inst2/trace" "$work/trace-free.txt"
      mkdir -p /tmp/oom-kill-state; cp "$work/trace-raw.txt" "/tmp/oom-kill-state/raw.$variant.$i.txt"; cp "$work/trace-free.txt" "/tmp/oom-kill-state/free.$variant.$i.txt"
      python3 "$here/pages-live.py" "$work/trace-raw.txt" "$work/trace-free.txt" > "$out/pages-kill.$variant.$i.txt"
      echo "overrun-free $(cat "$inst2/per_cpu"/cpu*/stats | awk '/overrun/ { o += $2 } END { print o }')" >> "$out/pages-kill.$variant.$i.txt"
      if [ "$traced" = slab ]; then sed 's/ mark_victim: .*/ tracing_mark_write: ecsmem-phase-end kill/' "$inst/trace" > "$work/trace.txt"
      python3 "$oracle/experiments/kmem/slab-live.py" "$work/trace.txt" > "$out/trace-kill.txt"
      echo "overrun $(cat "$inst/per_cpu"/cpu*/stats | awk '/overrun/ { o += $2 } END { print o }')" >> "$out/trace-kill.txt"; fi
    fi
    after=$(dmesg | grep 'invoked oom-killer' | tail -1)
    if [ "$after" != "$before" ]; then echo "$variant $i${traced:+ (traced: $traced)} $(report)"; else echo "$variant $i${traced:+ (traced: $traced)} (no report: rate-limited)"; fi | tee -a "$out/kill.txt"
    sandbox_rm_cg 2>/dev/null || { echo 1 > "$cg/memory.force_empty" 2>/dev/null || true; rmdir "$cg"; }
    sleep 1
  done
done
