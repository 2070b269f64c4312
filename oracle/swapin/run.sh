#!/bin/sh
# Runs anon_swap_passes 5 times in a memcg v1 group limited to LIMIT_MIB with a swap file enabled (root).
# Usage: oracle/swapin/run.sh [REGION_MIB] [LIMIT_MIB] [PASSES]. Cleans up the group and the swap file.
set -eu
REGION=${1:-48}; LIMIT=${2:-16}; PASSES=${3:-4}
DIR=$(cd "$(dirname "$0")" && pwd)
SWAP=/work/swap-swapin CG=/sys/fs/cgroup/memory/ecsmem-swapin BIN=/tmp/anon_swap_passes
gcc -O2 -o $BIN "$DIR/anon_swap_passes.c"
cleanup() { [ -d $CG ] && rmdir $CG || true; swapoff $SWAP 2>/dev/null || true; rm -f $SWAP; }
trap cleanup EXIT
fallocate -l 1G $SWAP; chmod 600 $SWAP; mkswap $SWAP >/dev/null; swapon $SWAP
echo "# $(uname -r) $(date -u +%FT%TZ) region=${REGION}MiB limit=${LIMIT}MiB page-cluster=$(cat /proc/sys/vm/page-cluster)" \
     "vma_ra_enabled=$(cat /sys/kernel/mm/swap/vma_ra_enabled) thp=$(cat /sys/kernel/mm/transparent_hugepage/enabled)" \
     "swap=$(swapon --show=NAME,SIZE --noheadings | tr '\n' ' ')"
mkdir $CG
echo $((LIMIT << 20)) > $CG/memory.limit_in_bytes
for run in 1 2 3 4 5; do
    echo "## run $run"
    sh -c "echo \$\$ > $CG/cgroup.procs; exec $BIN $REGION $PASSES"
    grep -E '^(total_)?(pgmajfault|swap) ' $CG/memory.stat | tr '\n' ' '; echo
done
