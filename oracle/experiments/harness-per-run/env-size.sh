#!/usr/bin/env bash
# No root, no memcg, no swap: the harness's footprint (the first phase's rollup Anonymous + Swap less the region's)
# of swap-anon-write's generated C, run without a limit (all its pages resident), under an environment of 0 to 24 KiB
# (env -i P=xxx...), and of the C the kit generated at add1223 (2026-12-05 02:03, before harness.h), where the
# fixtures of swap-anon-read, swap-anon-write, swap-fork-shared and ra-reread-memcg were recorded. Usage: env-size.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kit=$here/../..
work=$(mktemp -d /tmp/harness-per-run.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Werror -I"$kit" -o "$work/now" "$kit/gen/swap-anon-write.c"
git -C "$kit" show add1223:oracle/gen/swap-anon-write.c > "$work/old.c"
gcc -O2 -o "$work/old" "$work/old.c"
mkdir "$work/data"
footprint() {
  python3 -c '
import json, sys
ph = json.load(sys.stdin)["phases"][0]; r = ph["rollup"]
own = [v for v in ph["vmas"] if (16 << 40) <= int(v["start"], 16) < (48 << 40)]
print(r["Anonymous"] + r.get("Swap", 0) - sum(v["anon_kb"] + v["swap_kb"] for v in own))'
}
for b in old now; do
  for n in 0 1000 2000 3000 3500 4000 8000 24576; do
    pad=$(head -c "$n" /dev/zero | tr '\0' x)
    echo "$b environment $n bytes: $(env -i P="$pad" setarch -R "$work/$b" "$work/data" | footprint) kB"
  done
done
