#!/usr/bin/env python3
"""A recorded /proc/buddyinfo zone line scaled to the kit machine's RAM, as a machine.free_area value.

Usage: agezone.py [--managed PAGES] [--ram BYTES] N0 N1 ... N10
  (or a whole "Node 0, zone   Normal  n0 ... n10" line). Each order's free block count is multiplied by the kit's
  pages / the recorded zone's managed pages and rounded to the nearest integer, so the kit machine starts with the
  same share of its memory free, split over the orders as the recording machine's was (session 25, pcphigh).
  Defaults: the recording machine's Normal zone (managed 2,129,920 pages on 2026-12-07, /proc/zoneinfo) and the
  kit's 256 MiB (ScenarioGenerator.DefaultRam). Use: ECSMEM_ORACLE_MACHINE="free_area: $(agezone.py ...)".
"""
import sys


def main(argv):
    managed, ram = 2129920, 256 << 20
    args = []
    i = 0
    while i < len(argv):
        if argv[i] == "--managed":
            managed = int(argv[i + 1]); i += 2
        elif argv[i] == "--ram":
            ram = int(argv[i + 1]); i += 2
        else:
            args.append(argv[i]); i += 1
    counts = [a for a in args if a.isdigit()]
    if len(counts) != 11 or managed <= 0:
        sys.exit("agezone.py: need the eleven per-order counts of a /proc/buddyinfo line and a positive --managed")
    pages = ram // 4096
    print("[" + ",".join(str(int(int(n) * pages / managed + 0.5)) for n in counts) + "]")


if __name__ == "__main__":
    main(sys.argv[1:])
