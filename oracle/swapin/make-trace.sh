#!/bin/sh
# Writes oracle/swapin/anon_swap_passes.lackey.gz: the accesses of anon_swap_passes.c's loop (48 MiB at
# 0x7f0000000000, pass 0 plus 4 read-modify-write passes: one load and one store per page) as a Lackey trace,
# for oracle/swapin/anon_swap_passes.yaml. The file is generated, not checked in.
set -eu
DIR=$(cd "$(dirname "$0")" && pwd)
awk 'BEGIN { for (p = 0; p <= 4; p++) for (i = 0; i < 12288; i++) { a = sprintf("7f%010x", i * 4096); printf " L %s,1\n S %s,1\n", a, a } }' \
    | gzip -n > "$DIR/anon_swap_passes.lackey.gz"
