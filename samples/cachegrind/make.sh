#!/bin/sh
# Regenerates the Cachegrind-agreement samples: builds the C programs, records a Lackey memory
# trace of each (gzip -9) and runs Cachegrind on each with two cache geometries.
# Both Valgrind runs use an empty environment (env -i), no ASLR (setarch -R) and the same
# binary path, so the program executes the same instructions under Lackey and under Cachegrind.
# Usage: samples/cachegrind/make.sh    (needs gcc, valgrind 3.19, setarch, gzip)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=/tmp/ecsmem-cachegrind-samples
rm -rf "$work"
mkdir -p "$work"

# name and Cachegrind options of each geometry
geometries="seed:--I1=32768,8,64:--D1=32768,8,64:--LL=3145728,12,64
small:--I1=8192,2,32:--D1=8192,4,32:--LL=131072,8,64"

for prog in matmul sort hashlist; do
    gcc -O2 -o "$work/$prog" "$here/$prog.c"
    cd "$work"
    env -i setarch -R valgrind --tool=lackey --trace-mem=yes --log-file="$work/$prog.lackey" "./$prog" > /dev/null
    gzip -9 -n -c "$work/$prog.lackey" > "$here/$prog.lackey.gz"
    echo "$geometries" | while IFS=: read -r geo i1 d1 ll; do
        env -i setarch -R valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file=/dev/null \
            "$i1" "$d1" "$ll" --log-file="$here/$prog.$geo.cachegrind.txt" "./$prog" > /dev/null
    done
done
rm -rf "$work"
ls -l "$here"
