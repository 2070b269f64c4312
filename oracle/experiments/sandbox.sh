# Sourced by the experiments that need a swap file, a cgroup-v1 memory group and a private trace instance:
#   . "$here/../sandbox.sh"; sandbox NAME
# sets $work (a fresh directory under /work), $swapfile, $cg, $trmount and $inst (tracefs, mounted here if it is not
# yet), and traps EXIT/INT/TERM to restore the machine on every exit path: the group emptied and removed, the swap file
# switched off and deleted, the trace instance stopped and removed, tracefs unmounted if we mounted it, $work removed.
# `sandbox_swapon` makes and enables the 1 GiB swap file. Nothing here touches another experiment's group or swap.
# The kit's data files as record.sh makes them (kit_data_files PHASES DIR).
. "$(dirname "${BASH_SOURCE[0]}")/../datafiles.sh"
sandbox_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

sandbox() {
  local name=$1
  work=$(mktemp -d "/work/$name.XXXXXX")
  swapfile=$work.swap
  cg=/sys/fs/cgroup/memory/ecsmem-$name-$$
  trmount=$(findmnt -t tracefs -no TARGET | head -1 || true)
  sandbox_mounted=""
  if [ -z "$trmount" ]; then trmount=$work/tracefs; mkdir -p "$trmount"; mount -t tracefs nodev "$trmount"; sandbox_mounted=1; fi
  inst=$trmount/instances/ecsmem-$name-$$
  trap sandbox_cleanup EXIT INT TERM
}

sandbox_cleanup() {
  set +e
  # A second instance a script made beside $inst (sandbox_second_instance).
  [ -n "${inst2:-}" ] && [ -d "$inst2" ] && { echo 0 > "$inst2/tracing_on"; rmdir "$inst2"; }
  [ -d "$cg" ] && { echo 1 > "$cg/memory.force_empty"; rmdir "$cg"; }
  swapon --show=NAME --noheadings | grep -qx "$swapfile" && swapoff "$swapfile"
  rm -f "$swapfile"
  [ -d "$inst" ] && { echo 0 > "$inst/tracing_on"; rmdir "$inst"; }
  [ -n "$sandbox_mounted" ] && umount "$trmount"
  rm -rf "$work"
}

# A second trace instance, $inst2, unfiltered beside the pid-filtered $inst (every page free of the machine, say),
# made here and stopped and removed by sandbox_cleanup.
sandbox_second_instance() {
  inst2=$inst-free
  mkdir "$inst2"
}

sandbox_swapon() {
  fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"; mkswap -q "$swapfile"; swapon "$swapfile"
}

# One sampled, traced run I of the program $work/PROG in a fresh group limited to MEMCG bytes (ASLR off, as record.sh):
# memory.stat and /proc/vmstat every 2 ms (shmem-swap-disk/sample.py) into $out/samples.I.tsv, the program's JSON
# into $out/program.I.json, the trace instance's events into $out/trace.I.txt; the group is emptied and removed after.
sandbox_sampled_run() {
  local i=$1 prog=$2 memcg=$3
  mkdir "$cg"
  echo "$memcg" > "$cg/memory.limit_in_bytes"
  echo > "$inst/trace"
  echo 1 > "$inst/tracing_on"
  python3 "$(dirname "${BASH_SOURCE[0]}")/shmem-swap-disk/sample.py" "$cg" "$out/samples.$i.tsv" "$out/program.$i.json" \
    sh -c 'echo $$ > "$1/cgroup.procs"; exec setarch -R "$2" "$3"' sh "$cg" "$work/$prog" "$work"
  echo 0 > "$inst/tracing_on"
  cat "$inst/trace" > "$out/trace.$i.txt"
  echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
  rmdir "$cg"
}

# One run of `setarch -R CMD...` in a fresh group limited to LIMIT, with the trace instance filtered to its pid
# (set_event_pid; an exec keeps the pid, so CMD may start with `env VAR=...`): its stdout into OUT, the instance's events
# into TRACE. Returns CMD's status (a program the OOM killer ends is not an error of the script: `|| true`). The group
# is left for the caller to read (memory.failcnt, memory.oom_control) and remove with sandbox_rm_cg.
sandbox_pid_traced_run() {
  local limit=$1 stdout=$2 trace=$3 rc=0
  shift 3
  mkdir "$cg"
  echo "$limit" > "$cg/memory.limit_in_bytes"
  echo > "$inst/trace"
  echo 1 > "$inst/tracing_on"
  sh -c 'echo $$ > "$1/cgroup.procs"; echo $$ > "$2/set_event_pid"; shift 2; exec setarch -R "$@"' sh "$cg" "$inst" "$@" \
    > "$stdout" || rc=$?
  echo 0 > "$inst/tracing_on"
  cat "$inst/trace" > "$trace"
  return $rc
}

# Empties and removes the group a run used.
sandbox_rm_cg() {
  echo 1 > "$cg/memory.force_empty" 2>/dev/null || true
  rmdir "$cg"
}

# The kit program NAME as record.sh runs a memcg program: compiled from oracle/gen/NAME.c (unmodified) to $work/NAME,
# its data files in $work/data; sets $src (its .phases), $memcg (its group's limit) and $swappiness (empty if it sets
# none), and switches the swap file on if it swaps. A program without a memcg line is an error of the caller's (the
# scripts that use this run memcg programs only). Undone by kit_done.
kit_prepare() {
  local name=$1
  src=$sandbox_dir/../programs/$name.phases
  gcc -O2 -Wall -Werror -I"$sandbox_dir/.." -o "$work/$name" "$sandbox_dir/../gen/$name.c"
  kit_data_files "$src" "$work/data"
  memcg=$(awk '$1 == "memcg" { print $2 }' "$src")
  swappiness=$(awk '$1 == "swappiness" { print $2 }' "$src")
  [ -n "$memcg" ] || { echo "$(basename "$0"): $name sets no memcg" >&2; exit 2; }
  if grep -qE '^swap' "$src"; then sandbox_swapon; fi
}

# A fresh $cg with the prepared program's limit and swappiness, as record.sh makes one per run (sandbox_rm_cg removes it).
kit_group() {
  mkdir "$cg"
  echo "$memcg" > "$cg/memory.limit_in_bytes"
  if [ -n "$swappiness" ]; then echo "$swappiness" > "$cg/memory.swappiness"; fi
}

# One run of the prepared program PROG as record.sh runs it (env's and setarch's files read from this script's group
# first, a fresh group, sh joins it and execs env -i ORACLE_MEMCG=GROUP setarch -R PROG DATADIR), its stdout into JSON,
# traced in $inst (filtered to its pid, with the marker `ecsmem-joined` once it is in the group) and in $inst2 (not
# filtered); tracing stops WAIT seconds after the program ends (what the exit frees later: RCU, per-CPU batches). The
# group is left for the caller to read and remove (sandbox_rm_cg).
kit_traced_run() {
  local prog=$1 json=$2 wait=$3
  cat "$(command -v env)" "$(command -v setarch)" > /dev/null
  kit_group
  echo > "$inst/trace"; echo > "$inst2/trace"
  echo 1 > "$inst2/tracing_on"; echo 1 > "$inst/tracing_on"
  sh -c 'exec 9> "$2/trace_marker"; echo $$ > "$2/set_event_pid"; echo $$ > "$1/cgroup.procs"; echo ecsmem-joined >&9 2>/dev/null; exec 9>&-; exec env -i ORACLE_MEMCG="$1" setarch -R "$3" "$4"' \
    sh "$cg" "$inst" "$work/$prog" "$work/data" > "$json" || true
  sleep "$wait"
  echo 0 > "$inst/tracing_on"; echo 0 > "$inst2/tracing_on"
  echo > "$inst/set_event_pid"
}

# The ring buffers' overrun count of both instances (events lost: a run with any is not complete).
sandbox_overrun() {
  cat "$inst/per_cpu"/cpu*/stats "$inst2/per_cpu"/cpu*/stats | awk '/overrun/ { o += $2 } END { print o }'
}

# After a program's runs: the swap file off and deleted, its data files removed.
kit_done() {
  if swapon --show=NAME --noheadings | grep -qx "$swapfile"; then swapoff "$swapfile"; rm -f "$swapfile"; fi
  rm -rf "$work/data"
}
