#!/usr/bin/env bash
# In-process A/B of the ECS core's random-access costs across source trees (e.g. main and a git worktree):
#   perf/ab.sh ROUNDS NAME=SOURCE_TREE [NAME=SOURCE_TREE ...]
#   perf/ab.sh 20 base=. new=../wt/my-branch
#   AB_WORKLOAD=Ecs.Mem.AbPipeline perf/ab.sh 15 base=../wt/base new=.   (the whole one-CPU pipeline instead)
# Builds perf/Ecs.Mem.AbBench once per tree into artifacts/ab/NAME, then runs the host, which alternates
# rounds between the builds inside one process, and prints each figure's median (p25) per build and each later build's
# within-round ratio to the first (median, p25, p75). See docs/ecs.md (third session) for why.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=${1:?usage: perf/ab.sh ROUNDS NAME=SOURCE_TREE ...}
shift
[ $# -ge 1 ] || { echo "usage: perf/ab.sh ROUNDS NAME=SOURCE_TREE ..." >&2; exit 2; }
workload="${AB_WORKLOAD:-Ecs.Mem.AbBench}"
out="$root/artifacts/ab/$workload"
dirs=()
for spec in "$@"; do
  name=${spec%%=*}; tree=$(cd "${spec#*=}" && pwd)
  # A copy of the workload project per build, so two builds never share its obj/ folder.
  mkdir -p "$out/src-$name"
  cp "$root/perf/$workload"/*.cs "$root/perf/$workload"/*.csproj "$out/src-$name/"
  log=$(mktemp)
  dotnet build "$out/src-$name" -c Release -nologo -v q -p:EcsSrc="$tree" -p:PerfDir="$root/perf" -o "$out/$name" >"$log" 2>&1 \
    || { cat "$log"; echo "build of $name ($tree) failed" >&2; exit 1; }
  dirs+=("$out/$name")
done
dotnet build "$root/perf/Ecs.Mem.AbHost" -c Release -nologo -v q -o "$out/host" >"$log" 2>&1 || { cat "$log"; exit 1; }
dotnet "$out/host/Ecs.Mem.AbHost.dll" "$rounds" "${dirs[@]}"
