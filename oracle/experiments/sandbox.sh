# Sourced by the experiments that need a swap file, a cgroup-v1 memory group and a private trace instance:
#   . "$here/../sandbox.sh"; sandbox NAME
# sets $work (a fresh directory under /work), $swapfile, $cg, $trmount and $inst (tracefs, mounted here if it is not
# yet), and traps EXIT/INT/TERM to restore the machine on every exit path: the group emptied and removed, the swap file
# switched off and deleted, the trace instance stopped and removed, tracefs unmounted if we mounted it, $work removed.
# `sandbox_swapon` makes and enables the 1 GiB swap file. Nothing here touches another experiment's group or swap.
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
  [ -d "$cg" ] && { echo 1 > "$cg/memory.force_empty"; rmdir "$cg"; }
  swapon --show=NAME --noheadings | grep -qx "$swapfile" && swapoff "$swapfile"
  rm -f "$swapfile"
  [ -d "$inst" ] && { echo 0 > "$inst/tracing_on"; rmdir "$inst"; }
  [ -n "$sandbox_mounted" ] && umount "$trmount"
  rm -rf "$work"
}

sandbox_swapon() {
  fallocate -l 1G "$swapfile"; chmod 600 "$swapfile"; mkswap -q "$swapfile"; swapon "$swapfile"
}
