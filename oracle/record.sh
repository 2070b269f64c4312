#!/usr/bin/env bash
# Records oracle/fixtures.json from the real kernel (oracle/README.md). Needs root, gcc and the .NET SDK.
#   oracle/record.sh [RUNS] [PROGRAM...]     default: 5 runs of every program in oracle/programs/
#   ORACLE_KEEP_RUNS=DIR oracle/record.sh ...  also copies each run's JSON (NAME.N.json) into DIR
#   ORACLE_ADD=1 oracle/record.sh RUNS PROGRAM...  adds the runs to the programs' entries (collect --add) instead of replacing them
# For each program: generates its C (ecsmem-oracle gen), compiles it, creates its data files (random bytes),
# and runs it RUNS times with ASLR off (setarch -R) — inside a fresh memory cgroup (v1) when the program sets
# `memcg` (its memory.swappiness set when the program sets `swappiness N`), with a swap file on when it sets `swap`, under vm.overcommit_memory MODE when it sets `overcommit MODE`
# (the machine's value restored after it and on any exit). Then merges the runs and the kernel settings into
# oracle/fixtures.json. The programs run with an empty environment (env -i; ORACLE_MEMCG alone under a memcg): the
# strings at the stack's top decide how many start-up stack pages the harness writes (4 KiB of environment more is
# a page more of its footprint), so the recorder's shell must not. Always cleans up (trap): swapoff + rm of its own
# swap file, rmdir of its cgroups, its data files and binaries.
set -euo pipefail
cd "$(dirname "$0")"
oracle=$PWD
. "$oracle/datafiles.sh"
runs=${1:-5}
shift || true
[ "$(id -u)" -eq 0 ] || { echo "record.sh: needs root (cgroups, swap, drop caches)" >&2; exit 2; }

work=$(mktemp -d /work/oracle-record.XXXXXX 2>/dev/null || mktemp -d)
swapfile=$work.swap
cg_root=/sys/fs/cgroup/memory
cg=""
loopdev=""
# vm.overcommit_memory as found: a program that sets its own (`overcommit MODE`) runs under it, and the machine's
# value is put back after it and on every exit path (the trap).
overcommit_saved=$(cat /proc/sys/vm/overcommit_memory)
# vm.nr_hugepages likewise: a program that sets `hugepages N` runs with a pool of N (the machine's pool restored after).
hugepages_saved=$(cat /proc/sys/vm/nr_hugepages)
# The mTHP sizes a program sets (`mthp SIZE MODE`): each sysfs file and its value as found, put back after the program
# and on every exit path.
mthp_saved=()
restore_mthp() {
  local e
  for e in "${mthp_saved[@]}"; do echo "${e#* }" > "${e% *}"; done
  mthp_saved=()
}
cleanup() {
  set +e
  echo "$overcommit_saved" > /proc/sys/vm/overcommit_memory
  echo "$hugepages_saved" > /proc/sys/vm/nr_hugepages
  restore_mthp
  if [ -n "$cg" ] && [ -d "$cg" ]; then rmdir "$cg"; fi
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; fi
  if [ -n "$loopdev" ]; then swapoff "$loopdev" 2>/dev/null; losetup -d "$loopdev"; fi
  rm -f "$swapfile"
  rm -rf "$work"
  # The tmpfs files of `tmpfs` programs (the harness removes them; a killed run may leave one).
  rm -f /dev/shm/ecsmem-oracle-*
}
trap cleanup EXIT INT TERM

tool=(dotnet run -c Release --project "$oracle/Ecs.Mem.Oracle" --)
"${tool[@]}" gen

mkdir -p "$work/bin" "$work/runs" "$work/data"
# The machine's free lists as the record starts (/proc/buddyinfo's Normal row, the per-CPU lists' pages), a line in
# experiments/zone-snapshots/snapshots.txt: which frames the runs' page cache came from (session 30). Read-only; a
# machine without a Normal zone records without it.
"$oracle/experiments/zone-snapshots/snap.sh" "record.sh $runs ${*:-(all programs)}" > /dev/null \
  || echo "record.sh: no free-list snapshot taken; recording anyway" >&2
if [ $# -gt 0 ]; then programs=("$@"); else programs=($(cd programs && ls *.phases | sed 's/\.phases$//')); fi

# Kernel settings, as key=value lines.
dev=$(findmnt -no SOURCE -T "$work" | sed 's|^/dev/||')
disk=$dev
if [ -e "/sys/class/block/$dev/partition" ]; then disk=$(basename "$(dirname "$(readlink -f "/sys/class/block/$dev")")"); fi
if [ -r /sys/kernel/debug/fault_around_bytes ]; then fab=$(cat /sys/kernel/debug/fault_around_bytes); fabsrc=debugfs
else fab=65536; fabsrc="debugfs not mounted: the kernel default"; fi
{
  echo "uname_r=$(uname -r)"
  echo "thp_enabled=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/enabled)"
  echo "thp_defrag=$(sed 's/.*\[\(.*\)\].*/\1/' /sys/kernel/mm/transparent_hugepage/defrag)"
  echo "read_ahead_kb=$(cat "/sys/block/$disk/queue/read_ahead_kb") ($disk)"
  echo "fault_around_bytes=$fab"
  echo "fault_around_source=$fabsrc"
  echo "page_cluster=$(cat /proc/sys/vm/page-cluster)"
  echo "swappiness=$(cat /proc/sys/vm/swappiness)"
  echo "overcommit_memory=$(cat /proc/sys/vm/overcommit_memory)"
  echo "overcommit_ratio=$(cat /proc/sys/vm/overcommit_ratio)"
  echo "recorded=$(date -u +%Y-%m-%d)"
  echo "aslr=off (setarch -R)"
} > "$work/settings.txt"

for name in "${programs[@]}"; do
  src=programs/$name.phases
  gcc -O2 -Wall -Werror -o "$work/bin/$name" "gen/$name.c"
  data=$work/data/$name
  mkdir -p "$data"
  kit_data_files "$src" "$data"
  sync
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  overcommit=$(awk '$1 == "overcommit" { print $2 }' "$src")
  swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
  if [ -n "$overcommit" ]; then echo "$overcommit" > /proc/sys/vm/overcommit_memory; fi
  hugepages=$(awk '$1 == "hugepages" { print $2 }' "$src")
  if [ -n "$hugepages" ]; then
    echo "$hugepages" > /proc/sys/vm/nr_hugepages
    got=$(cat /proc/sys/vm/nr_hugepages)
    [ "$got" -eq "$hugepages" ] || { echo "record.sh: $name: asked for $hugepages huge pages, the kernel gave $got" >&2; exit 1; }
  fi
  while read -r _ size mode; do
    case $size in *K) kb=${size%K} ;; *M) kb=$(( ${size%M} * 1024 )) ;; esac
    f=/sys/kernel/mm/transparent_hugepage/hugepages-${kb}kB/enabled
    mthp_saved+=("$f $(sed 's/.*\[\(.*\)\].*/\1/' "$f")")
    echo "$mode" > "$f"
  done < <(awk '$1 == "mthp"' "$src")
  if grep -qE '^swap( file)?$' "$src"; then
    fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"; mkswap -q "$swapfile"; swapon "$swapfile"
  elif grep -qx 'swap partition' "$src"; then
    # A block device (SWP_BLKDEV), which takes order-9 swap entries: a loop device over the same 1 GiB file.
    fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"
    loopdev=$(losetup -f --show "$swapfile"); mkswap -q "$loopdev"; swapon "$loopdev"
  fi
  for i in $(seq 1 "$runs"); do
    out=$work/runs/$name.$i.json
    if [ -n "$memcg" ]; then
      # env's and setarch's files into the page cache from the recorder's group first: the previous run's group, emptied
      # (force_empty) and removed, took with it the setarch pages its exec had read, so the next run's exec read them again
      # and its group began with them charged (5-6 page-cache pages before main; oracle/experiments/pgpg-start trace.sh).
      cat "$(command -v env)" "$(command -v setarch)" > /dev/null
      cg=$cg_root/ecsmem-oracle-$$
      mkdir "$cg"
      echo "$memcg" > "$cg/memory.limit_in_bytes"
      if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
      sh -c 'echo $$ > "$1/cgroup.procs"; exec env -i ORACLE_MEMCG="$1" setarch -R "$2" "$3"' sh "$cg" "$work/bin/$name" "$data" > "$out"
      echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
      rmdir "$cg"
      cg=""
    else
      env -i setarch -R "$work/bin/$name" "$data" > "$out"
    fi
  done
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; rm -f "$swapfile"; fi
  if [ -n "$loopdev" ]; then swapoff "$loopdev"; losetup -d "$loopdev"; loopdev=""; rm -f "$swapfile"; fi
  echo "$overcommit_saved" > /proc/sys/vm/overcommit_memory
  echo "$hugepages_saved" > /proc/sys/vm/nr_hugepages
  restore_mthp
  rm -rf "$data"
  echo "recorded $name ($runs runs)"
done

# RECORD_KEEP=DIR (or ORACLE_KEEP_RUNS=DIR, the same) keeps each run's harness output (PROGRAM.N.json) there, for a
# look at the runs one by one.
keep="${RECORD_KEEP:-${ORACLE_KEEP_RUNS:-}}"
if [ -n "$keep" ]; then mkdir -p "$keep"; cp "$work"/runs/*.json "$keep"/; fi
# ORACLE_ADD=1: the runs are ADDED to each program's entry (collect --add: spreads widened, run counts summed; refused
# when a kernel setting but the date differs or the phases do), not a re-recording that replaces it.
if [ "${ORACLE_ADD:-0}" = 1 ]; then "${tool[@]}" collect --add "$work/runs" "$work/settings.txt"
else "${tool[@]}" collect "$work/runs" "$work/settings.txt"; fi
