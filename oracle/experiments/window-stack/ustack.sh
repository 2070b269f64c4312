#!/usr/bin/env bash
# oracle/experiments/window-stack/ustack.sh [PROGRAM...] (no root): where each getrusage of a kit program stores its
# `struct rusage u` (phase_start's, phase_end's, fork_settle's), under record.sh's exact strings: the binary at
# /work/oracle-record.XXXXXX/bin/NAME, the data directory /work/oracle-record.XXXXXX/data, `env -i` with
# ORACLE_MEMCG=/sys/fs/cgroup/memory/ecsmem-oracle-PID (a PID of as many digits as record.sh's), setarch -R. The
# strings at the stack's top decide where main's frame sits. Runs outside any group (the frames do not depend on it);
# strace -e raw=getrusage prints the pointer argument, and the caller is told by the call's order (warm_up's
# phase_start, then phase_start and phase_end per phase; fork_settle's after a fork).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
. "$oracle/datafiles.sh"
work=$(mktemp -d /work/oracle-record.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/data"
pid=${PIDLEN:-$$}
for name in "${@:-ra-reread-memcg memfd-swap-memcg swappiness-60 swap-anon-write}"; do
  for n in $name; do
    src=$oracle/programs/$n.phases
    (cd "$oracle" && gcc -O2 -Wall -Werror -o "$work/bin/$n" "gen/$n.c")
    kit_data_files "$src" "$work/data" > /dev/null
    cg=/sys/fs/cgroup/memory/ecsmem-oracle-$pid
    strace -o "$work/st.$n" -e trace=getrusage -e raw=getrusage env -i ORACLE_MEMCG="$cg" setarch -R "$work/bin/$n" "$work/data" > "$work/$n.json" || true
    phases=$(python3 -c 'import json,sys; print(" ".join(p["phase"] for p in json.load(open(sys.argv[1]))["phases"]))' "$work/$n.json")
    echo "## $n (ORACLE_MEMCG=$cg; phases: $phases)"
    grep -o 'getrusage(0, 0x[0-9a-f]*' "$work/st.$n" | sed 's/.*, //' | python3 -c '
import sys
P = sys.argv[1].split()
for k, a in enumerate(sys.stdin.read().split()):
    who = "warm_up:phase_start" if k == 0 else (P[(k - 1) // 2] + (":phase_start" if k % 2 else ":phase_end") if (k - 1) // 2 < len(P) else "extra")
    v = int(a, 16)
    print(f"  {who:24} u at {a} (stack page {v - v % 4096:#x}, {0x7ffffffff000 - v:5d} bytes below the top)")' "$phases"
  done
done
