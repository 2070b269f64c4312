#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: builds oracle/gen/swappiness-N.c with a raw SIGSTOP after each phase_end,
# creates its 16 MiB data file (4 KiB writes, as record.sh), turns a 1 GiB swap file on, runs folios.py RUNS times
# for each swappiness given, and cleans up. Usage: run.sh RUNS SWAPPINESS...
set -euo pipefail
cd "$(dirname "$0")"
runs=$1; shift
work=$(mktemp -d /work/ecsmem-folios.XXXXXX)
swapfile=$work.swap
cleanup() { set +e; if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; fi; rm -f "$swapfile" prog prog.c; rm -rf "$work"; }
trap cleanup EXIT INT TERM
dd if=/dev/urandom of="$work/data" bs=4096 count=4096 status=none; sync
fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"; mkswap -q "$swapfile"; swapon "$swapfile"
for sw in "$@"; do
  sed 's|phase_end(\(.*\));|phase_end(\1); syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);|; s|#include "../harness.h"|#include "../../harness.h"\n#include <signal.h>\n#include <sys/syscall.h>|' \
    "../../gen/swappiness-$sw.c" > prog.c
  gcc -O2 -Wall -Werror -o prog prog.c
  for i in $(seq 1 "$runs"); do echo "## swappiness $sw, run $i"; python3 folios.py "$sw" "$work"; done
done
