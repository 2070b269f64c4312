#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/tmpfs-swap-memcg/vmstat-page.sh [RUNS]
# Does tmpfs-swap-memcg's write phase swap out (pswpout, real I/O) the file pages that copy the /proc/vmstat text
# swap_counts read into buf before the first phase? Runs the kit program RUNS times as generated ("kit": buf's first
# page holds the text, each 256 KiB pwrite copies it into the file's page 64k) and RUNS times with swap_counts zeroing
# that page after reading it ("vmzero": every pwrite copies zeros only), each in a fresh cgroup-v1 group (16 MiB, as the
# phases file) with a 1 GiB swap file, /proc/vmstat's pswpout, swpout_zero, pswpin and swpin_zero around the run;
# vmstat-page.py prints them with the JSON's per-phase pswp and the region's Swap. Output in $OUT (default
# /tmp/tmpfs-vmstat-page). Restores the machine on every exit path (../sandbox.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
prog=tmpfs-swap-memcg
out=${OUT:-/tmp/tmpfs-vmstat-page}
[ "$(id -u)" -eq 0 ] || { echo "vmstat-page.sh: needs root" >&2; exit 2; }
[ -f "$oracle/gen/$prog.c" ] || { echo "vmstat-page.sh: $oracle/gen/$prog.c not found (run the kit's gen)" >&2; exit 2; }
. "$here/../sandbox.sh"
sandbox vmpage
mkdir -p "$out" "$work/kit/gen" "$work/vmzero/gen"
for v in kit vmzero; do cp "$oracle/gen/$prog.c" "$work/$v/gen/"; cp "$oracle/harness.h" "$work/$v/"; done
pat='static void swap_counts(void) { pairs_with("/proc/vmstat", "pswp"); }'
grep -qF "$pat" "$work/vmzero/harness.h" || { echo "vmstat-page.sh: swap_counts not found in harness.h" >&2; exit 2; }
sed -i 's|static void swap_counts(void) { pairs_with("/proc/vmstat", "pswp"); }|static void swap_counts(void) { pairs_with("/proc/vmstat", "pswp"); for (int i = 0; i < 4096; i++) buf[i] = 0; }|' "$work/vmzero/harness.h"
for v in kit vmzero; do gcc -O2 -Wall -Werror -o "$work/$v/$prog" "$work/$v/gen/$prog.c"; done
memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$prog.phases")
sandbox_swapon
vm() { awk '$1 == "swpout_zero" || $1 == "swpin_zero" || $1 == "pswpout" || $1 == "pswpin" { printf "%s=%s ", $1, $2 }' /proc/vmstat; }
echo "uname_r=$(uname -r) program=$prog memcg=$memcg page_cluster=$(cat /proc/sys/vm/page-cluster) vmstat_bytes=$(wc -c < /proc/vmstat)" > "$out/settings.txt"
for v in kit vmzero; do
  for i in $(seq 1 "$runs"); do
    mkdir "$cg"
    echo "$memcg" > "$cg/memory.limit_in_bytes"
    vm > "$out/$v.$i.before"
    sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' sh "$cg" "$work/$v/$prog" "$work" > "$out/$v.$i.json"
    vm > "$out/$v.$i.after"
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
  done
done
python3 "$here/vmstat-page.py" "$out" "$runs" | tee "$out/summary.txt"
