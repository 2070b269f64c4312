#!/bin/bash
# Session 30: appends this machine's free lists now to snapshots.txt, one line: the date, seconds since boot, the kernel,
# /proc/buddyinfo's Normal row (free blocks of orders 0..10) and the pages on the per-CPU lists (zoneinfo's Normal
# pagesets' count: free but in no buddy list). Read-only; no root needed.   Usage: snap.sh [NOTE...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
blocks=$(awk '$4=="Normal"{for(i=5;i<=15;i++) printf "%s%s", $i, (i<15?",":"")}' /proc/buddyinfo)
[ -n "$blocks" ] || { echo "snap.sh: /proc/buddyinfo: no Normal zone row" >&2; exit 1; }
pcp=$(awk '/^Node/{z=$4} z=="Normal" && $1=="count:"{c+=$2} END{print c+0}' /proc/zoneinfo)
echo "$(date -u +%FT%TZ) up=$(cut -d' ' -f1 /proc/uptime) kernel=$(uname -r) normal=[$blocks] pcp=$pcp ${*:-}" | tee -a "$here/snapshots.txt"
