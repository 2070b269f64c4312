#!/bin/sh
# Regenerates the small real ChampSim trace: the first 20000 instructions of the Lackey trace of
# samples/cachegrind/hashlist.c (a real run under Valgrind, recorded by samples/cachegrind/make.sh), converted to
# ChampSim input_instr records by lackey2champsim.c and compressed with xz as the championship traces are;
# decode.py (Python's lzma and struct, independent of EcsMem) records the expected counts the tests check.
# Usage: samples/champsim/make.sh    (needs gcc, xz, python3)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
gcc -O2 -Wall -o "$work/lackey2champsim" "$here/lackey2champsim.c"
gzip -dc "$here/../cachegrind/hashlist.lackey.gz" | "$work/lackey2champsim" 20000 > "$work/hashlist.champsim"
xz -9 -T1 -c "$work/hashlist.champsim" > "$here/hashlist.champsim.xz"
python3 "$here/decode.py" "$here/hashlist.champsim.xz" > "$here/hashlist.champsim.expected"
cat "$here/hashlist.champsim.expected"
