"""The text of a tracefs instance's `trace` file, one event at a time (shared by the experiments' trace readers)."""
import re

# "comm-pid [cpu] flags ts: event: rest", "event(args" for a syscall entry, "event -> ret" for its exit.
_line = re.compile(r'^\s*(.+?)-(\d+)\s+\[(\d+)\].*?\s(\d+\.\d+): (\w+)(?:[:(]| ->) ?(.*)$')


def events(path):
    """Yields (comm, pid, cpu, ts, event, rest) per event line of the trace at `path` (ts in seconds, a float);
    header and stack-trace lines are skipped."""
    for line in open(path, errors='replace'):
        m = _line.match(line)
        if m:
            comm, pid, cpu, ts, ev, rest = m.groups()
            yield comm, pid, cpu, float(ts), ev, rest
