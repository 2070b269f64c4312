#!/usr/bin/env bash
# Root, under `flock /work/kernel.lock`: why are the file pages of swappiness-N active after its first file pass?
# Builds oracle/gen/swappiness-N.c with a raw SIGSTOP after each phase_end (as ../readahead-folios does), creates its
# 16 MiB data file (4 KiB writes, as record.sh), turns a 1 GiB swap file on, and runs trace.py RUNS times for each
# swappiness given: a fresh 16 MiB cgroup-v1 group, the page-cache, LRU and vmscan tracepoints in a private tracefs
# instance (page-cache events filtered to the data file's inode, vmscan events to the program's pid, LRU events
# unfiltered and matched by pfn), a trace_marker at each phase's end. Then analyse.py prints, per phase, where the
# file's active pages came from. Writes OUT/swappiness-N.RUN.{trace,json}. Restores the machine on every exit
# path: tracing off, the instance removed, tracefs unmounted, the cgroup removed (trace.py), swap off, files deleted.
# Usage: run.sh RUNS OUT SWAPPINESS...
set -euo pipefail
cd "$(dirname "$0")"
here=$PWD
runs=$1; out=$(realpath -m "$2"); shift 2
mkdir -p "$out"
work=$(mktemp -d /work/ecsmem-fileact.XXXXXX)
swapfile=$work.swap
tr=$work/tracefs
inst=""
cleanup() {
  set +e
  if [ -n "$inst" ] && [ -d "$inst" ]; then
    echo 0 > "$inst/tracing_on"; echo 0 > "$inst/events/enable"; rmdir "$inst"
  fi
  mountpoint -q "$tr" && umount "$tr"
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; fi
  rm -f "$swapfile"; rm -rf "$work"
}
trap cleanup EXIT INT TERM
mkdir -p "$tr"; mount -t tracefs nodev "$tr"
inst=$tr/instances/ecsmem-fileact-$$
mkdir "$inst"
echo 32768 > "$inst/buffer_size_kb"
mkdir "$work/data"; dd if=/dev/urandom of="$work/data/data" bs=4096 count=4096 status=none; sync
fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"; mkswap -q "$swapfile"; swapon "$swapfile"
for sw in "$@"; do
  sed 's|phase_end(\(.*\));|phase_end(\1); syscall(SYS_kill, syscall(SYS_getpid), SIGSTOP);|; s|#include "../harness.h"|#include "'"$(realpath ../../harness.h)"'"\n#include <signal.h>\n#include <sys/syscall.h>|' \
    "../../gen/swappiness-$sw.c" > "$work/prog.c"
  gcc -O2 -Wall -Werror -o "$work/prog" "$work/prog.c"
  for i in $(seq 1 "$runs"); do
    python3 trace.py "$sw" "$work" "$inst" "$out/swappiness-$sw.$i"
    echo "## swappiness $sw, run $i"; python3 analyse.py "$out/swappiness-$sw.$i.trace" "$out/swappiness-$sw.$i.json"
  done
done
