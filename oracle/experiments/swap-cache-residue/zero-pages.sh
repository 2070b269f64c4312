#!/usr/bin/env bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/swap-cache-residue/zero-pages.sh [RUNS] [PROGRAM]
# How many of a kit program's swapped-out pages are zero-filled (swap_writeout's is_folio_zero_filled: the slot is
# marked in the swap area's zeromap and no I/O is made; a swap-in of it reads nothing): /proc/vmstat's swpout_zero,
# swpin_zero, pswpout and pswpin around each run of PROGRAM (default swap-anon-read) in a fresh cgroup-v1 group with a
# 1 GiB swap file. The counters are machine-wide: run it while nothing else swaps (the lock). Restores the machine on
# every exit path (../sandbox.sh: the group, the swap file).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
prog=${2:-swap-anon-read}
[ "$(id -u)" -eq 0 ] || { echo "zero-pages.sh: needs root" >&2; exit 2; }
[ -f "$oracle/gen/$prog.c" ] || { echo "zero-pages.sh: $oracle/gen/$prog.c not found (run the kit's gen)" >&2; exit 2; }
. "$here/../sandbox.sh"
sandbox zeropages
gcc -O2 -Wall -Werror -o "$work/$prog" "$oracle/gen/$prog.c"
memcg=$(awk '$1 == "memcg" { print $2 }' "$oracle/programs/$prog.phases")
sandbox_swapon
vm() { awk '$1 == "swpout_zero" || $1 == "swpin_zero" || $1 == "pswpout" || $1 == "pswpin" { printf "%s=%s ", $1, $2 }' /proc/vmstat; }
echo "uname_r=$(uname -r) program=$prog memcg=$memcg"
for i in $(seq 1 "$runs"); do
  mkdir "$cg"
  echo "$memcg" > "$cg/memory.limit_in_bytes"
  before=$(vm)
  sh -c 'echo $$ > "$1/cgroup.procs"; exec setarch -R "$2" "$3"' sh "$cg" "$work/$prog" "$work" > /dev/null
  after=$(vm)
  python3 - "$i" "$before" "$after" <<'PY'
import sys
b = dict(kv.split("=") for kv in sys.argv[2].split())
a = dict(kv.split("=") for kv in sys.argv[3].split())
print(f"run {sys.argv[1]}: " + " ".join(f"{k} +{int(a[k]) - int(b[k])}" for k in ("pswpout", "swpout_zero", "pswpin", "swpin_zero")))
PY
  echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
  rmdir "$cg"
done
