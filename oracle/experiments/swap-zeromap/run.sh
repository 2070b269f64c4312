#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/swap-zeromap/run.sh [RUNS]
# Is a swap-in from the swap area's zeromap (swap_read_folio_zeromap, 6.12+) a major fault? zeroread.c writes 16 MiB
# of zeros (or of ones), pushes it out with 16 MiB more under a 16 MiB cgroup-v1 limit with a 1 GiB swap file, then
# reads it back; printed: the read pass's getrusage faults and /proc/vmstat's pswpin, swpin_zero, pswpout,
# swpout_zero around each run. Restores the machine on every exit path (../sandbox.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
runs=${1:-2}
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
. "$here/../sandbox.sh"
sandbox zeromap
gcc -O2 -Wall -Werror -o "$work/zeroread" "$here/zeroread.c"
sandbox_swapon
vm() { awk '$1 == "swpout_zero" || $1 == "swpin_zero" || $1 == "pswpout" || $1 == "pswpin" { printf "%s=%s ", $1, $2 }' /proc/vmstat; }
echo "uname_r=$(uname -r) page_cluster=$(cat /proc/sys/vm/page-cluster)"
for i in $(seq 1 "$runs"); do
  for kind in zero data; do
    mkdir "$cg"
    echo 16M > "$cg/memory.limit_in_bytes"
    before=$(vm)
    res=$(sh -c 'echo $$ > "$1/cgroup.procs"; exec "$2" "$3"' sh "$cg" "$work/zeroread" "$kind")
    after=$(vm)
    python3 - "$i" "$res" "$before" "$after" <<'PY'
import sys
b = dict(kv.split("=") for kv in sys.argv[3].split())
a = dict(kv.split("=") for kv in sys.argv[4].split())
print(f"run {sys.argv[1]}: {sys.argv[2]}; " + " ".join(f"{k} +{int(a[k]) - int(b[k])}" for k in ("pswpout", "swpout_zero", "pswpin", "swpin_zero")))
PY
    echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
    rmdir "$cg"
  done
done
