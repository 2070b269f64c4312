#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/memcg-oom-retries/run.sh [RUNS] [OUT]
# How many memcg reclaims try_charge_memcg makes before the group's OOM killer (MAX_RECLAIM_RETRIES, the drain retry,
# the nr_retries countdown): probe.c touches 64 MiB of anonymous memory in an 8 MiB memcg v1 group with no swap on
# (checked; nothing anonymous can be reclaimed), with the vmscan memcg reclaim begin/end and oom mark_victim tracepoints
# of its pid in a private tracefs instance and a trace_marker line per page. Writes OUT/trace.N.txt and prints, per run,
# the reclaims the killed page's charge made (all of them reclaimed nothing). Restores the machine on every exit path:
# the trace instance and its mount, the cgroup, the probe.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-3}; out=${2:-/tmp/memcg-oom-retries}
mkdir -p "$out"
if [ -n "$(swapon --show --noheadings)" ]; then echo "swap is on: anonymous pages would be reclaimable" >&2; exit 1; fi
# sandbox: $work, $cg, $inst (tracefs mounted if it is not) and the trap that restores the machine on every exit path.
. "$here/../sandbox.sh"
sandbox memcg-oom-retries
probe=$work/probe
gcc -O2 -Wall -Werror -o "$probe" "$here/probe.c"
mkdir "$inst"
echo 8192 > "$inst/buffer_size_kb"
for e in vmscan:mm_vmscan_memcg_reclaim_begin vmscan:mm_vmscan_memcg_reclaim_end oom:mark_victim; do
  echo "$e" >> "$inst/set_event"
done
for i in $(seq 1 "$runs"); do
  sandbox_pid_traced_run 8M "$out/run.$i.txt" "$out/trace.$i.txt" "$probe" "$inst/trace_marker" || true
  echo "run $i: failcnt $(cat "$cg/memory.failcnt") oom_control: $(tr '\n' ' ' < "$cg/memory.oom_control")"
  sandbox_rm_cg
  # The reclaims after the last page marker before the victim was marked: the killed page's charge.
  awk '/tracing_mark_write: page/ { n = 0; z = 0; page = $NF; next }
       /mm_vmscan_memcg_reclaim_end/ { n++; if ($NF == "nr_reclaimed=0") z++ }
       /mark_victim/ { print "  page " page ": " n " reclaims, " z " reclaimed nothing"; exit }' "$out/trace.$i.txt"
done
