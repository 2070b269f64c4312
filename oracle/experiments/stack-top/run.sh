#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: oracle/experiments/stack-top/run.sh PROGRAM [RUNS] > OUT
# Builds the kit's generated C of PROGRAM (oracle/gen/PROGRAM.c) with raw kill(2) SIGSTOPs inserted (stops.sed):
# S0 at main's entry (exec's and ld.so's pages only), W after warm_up, A1 at the first phase's window end (after the
# fill's reclaims), then runs probe.py RUNS times under the program's limit as record.sh runs it (env -i, setarch -R,
# a fresh cgroup-v1 group), with a 1 GiB swap file (sandbox.sh: everything restored on every exit).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
prog=$1
. "$here/../sandbox.sh"
sandbox stack-top
sed -f "$here/stops.sed" "$here/../../gen/$prog.c" | sed "s|\"\.\./harness.h\"|\"$here/../../harness.h\"|" > "$work/$prog.c"
gcc -O2 -Wall -Werror -o "$work/$prog" "$work/$prog.c"
limit=$(numfmt --from=iec "$(awk '$1 == "memcg" { print $2 }' "$here/../../programs/$prog.phases")")
sandbox_swapon
for i in $(seq 1 "${2:-1}"); do echo "### run $i $prog limit $limit"; python3 "$here/probe.py" "$work/$prog" "$cg" "$limit"; done
