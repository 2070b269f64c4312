"""What run.sh's outputs share for bios.py, queue.py and scatter.py: the data file's page at a disk sector (from
OUT/PROGRAM.extents, `filefrag -v`) and the two trace instances' events in time order."""
import re

# A trace line; the task name may hold spaces ('.NET TP Worker-4980', whose interrupts complete requests).
EVENT_RE = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+(\d+\.\d+): (\w+): (.*)$')


def file_pages(base):
    """page(sector): the file page at a sector of the disk, or None when the sector is not the file's. base is
    OUT/PROGRAM.RUN; the extents are OUT/PROGRAM.extents (filefrag -v: "N: logical_first.. logical_last:
    physical_first.. physical_last: length:" per extent)."""
    ext = open(base.rsplit('.', 1)[0] + '.extents').read()
    extents = [tuple(int(x) for x in m) for m in
               re.findall(r'\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+)\.\.\s*\d+:\s+(\d+):', ext)]

    def page(sector):
        b = sector // 8
        for lo, ph, n in extents:
            if ph <= b < ph + n:
                return lo + b - ph
        return None
    return page


def events(base, shape):
    """The .ra and .blk traces' events sorted by time, each as shape(match) (a tuple whose first item is the time)."""
    evs = []
    for suffix in ('.ra', '.blk'):
        for line in open(base + suffix):
            m = EVENT_RE.match(line)
            if m:
                evs.append(shape(m))
    evs.sort(key=lambda e: e[0])
    return evs


def main(name, kernel, ecsmem, errors=(OSError, ValueError, KeyError)):
    """The command line scatter.py and thrash.py share: `NAME OUT/PROGRAM.RUN [-v]` runs kernel(base, verbose),
    `NAME --ecsmem FILE [-v]` runs ecsmem(file, verbose); anything else, or one of errors, ends in one line."""
    import sys
    args = [a for a in sys.argv[1:] if a != '-v']
    verbose = '-v' in sys.argv
    try:
        if len(args) == 2 and args[0] == '--ecsmem':
            ecsmem(args[1], verbose)
        elif len(args) == 1 and not args[0].startswith('-'):
            kernel(args[0], verbose)
        else:
            sys.exit(f'usage: {name} OUT/PROGRAM.RUN [-v] | {name} --ecsmem FILE [-v]')
    except errors as e:
        sys.exit(f"{name}: {e}")
