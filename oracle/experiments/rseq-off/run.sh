#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`. Does the kernel's rseq store (rseq_update_cpu_node_id / rseq_ip_fixup on the
# return to user after a reschedule or migration, into the TLS's struct rseq) cause the harness's extra faults in the
# fill of swap-anon-read and thp-swpout-fallback (oracle/known-gaps.md)? Runs each program RUNS times as record.sh
# does (its memcg, its swap file), once as is and once with glibc's rseq registration off
# (GLIBC_TUNABLES=glibc.pthread.rseq=0: no rseq area, so the kernel never stores into the TLS), and prints every run's
# per-phase minflt/majflt. record.sh is run from a copy that neither regenerates nor writes fixtures.json (its
# cleanup trap removes its swap file and cgroups). Usage: run.sh [RUNS] [PROGRAM...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
oracle=$(cd "$here/../.." && pwd)
runs=${1:-3}
shift || true
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=(swap-anon-read thp-swpout-fallback)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sed -e "s#^cd \"\$(dirname \"\$0\")\"#cd $oracle#" -e 's#^"${tool\[@\]}" gen$#:#' \
    -e 's#^"${tool\[@\]}" collect "$work/runs" "$work/settings.txt"#cp -r "$work/runs" "$OUT"#' \
    "$oracle/record.sh" > "$out/record.sh"
OUT=$out/on bash "$out/record.sh" "$runs" "${programs[@]}" > "$out/on.log"
OUT=$out/off GLIBC_TUNABLES=glibc.pthread.rseq=0 bash "$out/record.sh" "$runs" "${programs[@]}" > "$out/off.log"
for mode in on off; do
  for f in "$out/$mode"/*.json; do
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], d["program"], " ".join("%s %d/%d" % (p["phase"], p["minflt"], p["majflt"]) for p in d["phases"]))' "$f" "rseq-$mode"
  done
done
