#!/bin/bash
# Linux 6.7+'s self-tuning per-CPU lists on this machine (session 20, brief s20-pcptune): pcpburst touches 100 MiB
# of anonymous memory page by page on one CPU, frees it, and prints that CPU's Normal-zone pageset (count, high,
# high_min, high_max) before, after each step and every second for 20 s. Three runs on CPU 1. No swap, no cgroup:
# the machine is left as found (the program's memory is freed when it exits). Run as root under the kernel lock:
#   flock /work/kernel.lock oracle/experiments/pcp-autotune/run.sh > oracle/experiments/pcp-autotune/results.txt
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/pcp-autotune.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
gcc -O2 -o "$work/pcpburst" "$here/pcpburst.c"
uname -r
grep -A0 "" /proc/sys/vm/percpu_pagelist_high_fraction | sed 's/^/percpu_pagelist_high_fraction /'
for run in 1 2 3; do
  echo "== run $run"
  taskset -c 1 "$work/pcpburst" 100 20
done
