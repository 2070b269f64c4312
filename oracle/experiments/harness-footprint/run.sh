#!/usr/bin/env bash
# Root. Under `flock /work/kernel.lock`: a 1 GiB swap file on, footprint.c run RUNS times under a 16 MiB cgroup-v1
# limit by probe.py, swap off and removed. Usage: run.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")"
swapfile=/work/swap-footprint
cleanup() { set +e; if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; fi; rm -f "$swapfile" footprint; }
trap cleanup EXIT INT TERM
gcc -O2 -Wall -Werror -o footprint footprint.c
fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"; mkswap -q "$swapfile"; swapon "$swapfile"
for i in $(seq 1 "${1:-1}"); do echo "### run $i"; python3 probe.py 16777216; done
