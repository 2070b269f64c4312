#!/bin/bash
# What an aged machine's used memory is (session 21, brief s21-heldcache): /proc/buddyinfo, /proc/meminfo and the
# Normal zone of /proc/zoneinfo at one moment (snap.py), now; after a 2 GiB file written with O_DIRECT (not cached)
# is read once with read(2) (its pages enter the page cache: clean, unmapped, inactive file LRU); after a second
# read (folio_mark_accessed activates them); after it is removed (truncate drops its cache). No swap, no cgroup;
# the file lives in a mktemp directory under /work removed on every exit path. Run as root under the kernel lock:
#   flock /work/kernel.lock oracle/experiments/held-cache/run.sh > oracle/experiments/held-cache/results.txt
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /work/held-cache.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
uname -r
uptime
python3 "$here/snap.py" "now (before)"
dd if=/dev/zero of="$work/big" bs=4M count=512 oflag=direct status=none
python3 "$here/snap.py" "after writing 2 GiB with O_DIRECT"
cat "$work/big" > /dev/null
python3 "$here/snap.py" "after reading it once (read(2), 2 GiB)"
cat "$work/big" > /dev/null
python3 "$here/snap.py" "after reading it twice"
rm -f "$work/big"
python3 "$here/snap.py" "after removing it"
