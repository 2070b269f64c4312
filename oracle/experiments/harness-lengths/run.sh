#!/bin/bash
# Root, under the lock: flock /work/kernel.lock oracle/experiments/harness-lengths/run.sh RUNS OUT [PROGRAM...]
# (default: every memcg program, the only ones whose harness pages the kit models). Runs each kit program RUNS times
# as record.sh does (kit_prepare/kit_group: unmodified oracle/gen/NAME.c, `cat env setarch`, a fresh v1 group per run,
# env -i, setarch -R; one swap file for a program's runs) with strace OUTSIDE the group (strace -f starts the `sh` that
# moves itself into the group and execs the chain), tracing openat/read/close: the bytes each slurp of /proc/self/smaps
# returns (the sum of its reads, whose last byte and NUL land in buf), and the program's JSON on stdout (each phase's
# record, the bytes emit appends to out). OUT/NAME.N.strace, OUT/NAME.N.json, OUT/NAME.nm (buf's and out's addresses).
# ../sandbox.sh restores the machine on every exit (group removed, swap off and deleted). analyse.py makes the TSV.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-2}; out=${2:-/tmp/harness-lengths}; shift 2 || true
[ "$(id -u)" -eq 0 ] || { echo "run.sh: needs root" >&2; exit 2; }
command -v strace > /dev/null || { echo "run.sh: needs strace" >&2; exit 2; }
mkdir -p "$out"
if [ $# -gt 0 ]; then programs=("$@"); else programs=($(cd "$oracle/programs" && grep -l '^memcg' *.phases | sed 's/\.phases$//')); fi
. "$here/../sandbox.sh"
sandbox harness-lengths
# smaps names each file-backed VMA by its path: the binary and the data files go where record.sh puts them (paths of
# the same lengths: /work/oracle-record.XXXXXX/bin/NAME, .../data/NAME/FILE), else smaps is longer or shorter.
rec=$(mktemp -d /work/oracle-record.XXXXXX)
trap 'rm -rf "$rec"; sandbox_cleanup' EXIT INT TERM
mkdir -p "$work/data" "$rec/bin"
echo "uname_r=$(uname -r) nproc=$(nproc) runs=$runs date=$(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)" > "$out/settings.txt"
for name in "${programs[@]}"; do
  kit_prepare "$name"
  mv "$work/$name" "$rec/bin/$name"
  mkdir -p "$rec/data"; rm -rf "$rec/data/$name"; mv "$work/data" "$rec/data/$name"
  nm "$rec/bin/$name" | awk '$3 == "buf" || $3 == "out" || $3 == "outn" { print $3, $1 }' > "$out/$name.nm"
  sync
  for i in $(seq 1 "$runs"); do
    cat "$(command -v env)" "$(command -v setarch)" > /dev/null
    kit_group
    strace -f -qq -e trace=openat,read,close -e signal=none -o "$out/$name.$i.strace" \
      sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' sh "$cg" "$rec/bin/$name" "$rec/data/$name" \
      > "$out/$name.$i.json" || echo "run.sh: $name run $i exited $?" >&2
    sandbox_rm_cg
  done
  kit_done
  rm -rf "$rec/data/$name" "$rec/bin/$name"
  mkdir -p "$work/data"
  echo "$name: $runs runs"
done
