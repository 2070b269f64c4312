"""What fill.py, deep.py and pfns.py share: a trace line's fields and the memcg reclaim rounds with their events."""
import re

# A trace line: task (may hold spaces), pid, CPU, flags, time, event, the rest.
TS = re.compile(r"^\s*(.+?)-(\d+)\s+\[(\d+)\]\s+\S+\s+([\d.]+): (\w+): (.*)$")


class MemcgRounds:
    """mm_vmscan_memcg_reclaim_begin/_end pairs: each round as {"t", "end", "freed", "ev": [(t, event, rest), ...]}
    with the events fed between its begin and its end."""

    def __init__(self):
        self.rounds = []
        self._cur = None

    def feed(self, t, ev, rest):
        if ev == "mm_vmscan_memcg_reclaim_begin":
            self._cur = {"t": t, "ev": []}
        elif self._cur is not None:
            if ev == "mm_vmscan_memcg_reclaim_end":
                self._cur["end"], self._cur["freed"] = t, int(rest.split("=")[1])
                self.rounds.append(self._cur)
                self._cur = None
            else:
                self._cur["ev"].append((t, ev, rest))
