#!/usr/bin/env bash
# oracle/experiments/write-folios: ext4's write folios and the read faults of a mapping of them (README.md).
#   oracle/experiments/write-folios/run.sh [RUNS]    (root; no sysctl, cgroup or swap is touched)
set -euo pipefail
cd "$(dirname "$0")"
runs=${1:-3}
work=$(mktemp -d /work/write-folios.XXXXXX)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -Werror -o "$work/folios" folios.c
echo "kernel $(uname -r), fault_around_bytes 65536 (default), file system $(findmnt -no FSTYPE -T "$work")"
for piece in 4096 65536 262144 2097152 8388608; do
  for i in $(seq 1 "$runs"); do setarch -R "$work/folios" "$work/f" "$piece"; done
done
