#!/usr/bin/env python3
"""trace.sh's summary: per traced run (TRACE files), the page-cache insertions before the program's first getrusage
(warm_up's phase_start: before main, nothing opens a file after main's entry until then) by exec stage (sh, env,
setarch, the program) and file, then the same after it up to the end of the run; the files named by inode
(find on the mount that holds the device). The run's memory.stat `cache` at its first phase_end (the .json beside the
trace) is printed with it.   Usage: pagecache.py OUT/*.trace"""
import collections, json, os, re, subprocess, sys

ADD = re.compile(r'mm_filemap_add_to_page_cache: dev (\d+):(\d+) ino ([0-9a-f]+) pfn=0x[0-9a-f]+ ofs=(\d+) order=(\d+)')
DEL = re.compile(r'mm_filemap_delete_from_page_cache: dev (\d+):(\d+) ino ([0-9a-f]+) pfn=0x[0-9a-f]+ ofs=(\d+) order=(\d+)')
EXEC = re.compile(r'sched_process_exec: filename=(\S+)')

mounts = {}
with open('/proc/self/mountinfo') as f:
    for line in f:
        p = line.split()
        mounts.setdefault(p[2], p[4])
names = {}


def name(dev, ino):
    key = (dev, ino)
    if key not in names:
        mnt = mounts.get(dev)
        found = ''
        if mnt:
            r = subprocess.run(['find', mnt, '-xdev', '-inum', str(ino), '-print', '-quit'], capture_output=True, text=True)
            found = r.stdout.strip()
        names[key] = found or f'dev {dev} ino {ino} (not found: deleted or another mount)'
    return names[key]


for path in sys.argv[1:]:
    stage, started = 'sh', False
    before = collections.Counter()
    after = collections.Counter()
    deleted = collections.Counter()
    with open(path) as f:
        for line in f:
            m = EXEC.search(line)
            if m:
                stage = os.path.basename(m.group(1))
                continue
            if 'sys_getrusage' in line:
                started = True
                continue
            m = ADD.search(line)
            if m:
                dev = f'{m.group(1)}:{m.group(2)}'
                pages = 1 << int(m.group(5))
                (after if started else before)[(stage, dev, int(m.group(3), 16))] += pages
                continue
            m = DEL.search(line)
            if m:
                deleted[(f'{m.group(1)}:{m.group(2)}', int(m.group(3), 16))] += 1 << int(m.group(5))
    cache = '?'
    try:
        with open(path[:-len('.trace')] + '.json') as f:
            cache = json.load(f)['phases'][0]['memstat'].get('cache', '?')
            cache = f'{cache // 4096} pages' if isinstance(cache, int) else cache
    except (OSError, ValueError, KeyError, IndexError):
        pass
    print(f'{os.path.basename(path)}: before main {sum(before.values())} pages, after {sum(after.values())}; '
          f'memory.stat cache at the first phase_end: {cache}')
    for (st, dev, ino), n in sorted(before.items()):
        print(f'  before main, in {st}: {n:4} pages of {name(dev, ino)}')
    for (st, dev, ino), n in sorted(after.items()):
        print(f'  after main: {n:6} pages of {name(dev, ino)}')
    for (dev, ino), n in sorted(deleted.items()):
        print(f'  deleted: {n:6} pages of {name(dev, ino)}')
