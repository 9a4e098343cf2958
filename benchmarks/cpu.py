"""CPU time of processes, from ``/proc`` (Linux), for the benchmarks that show where it went.

A :class:`Meter` reads named processes (by pid), this process and its waited-for children (the
load generator: ``wrk`` runs are waited for) and the whole machine (``/proc/stat``) before and
after a phase; :meth:`Meter.cores` is each one's CPU seconds per second of the phase.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")
#: The names :class:`Meter` adds to the processes it is given.
HARNESS, LOAD_GENERATOR, MACHINE = "this harness", "load generator (waited children)", "machine"


def process_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    # After the name: state is fields[0], so utime (field 14) is fields[11], stime fields[12].
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_seconds() -> float:
    """CPU seconds every core of the machine spent busy (not idle or waiting) so far."""
    first = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(value) for value in first[:8]]  # user nice system idle iowait irq softirq steal
    return (sum(ticks) - ticks[3] - ticks[4]) / TICKS


def snapshot(pids: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process, this one, its waited children, the machine."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    found = {name: process_seconds(pid) for name, pid in pids.items()}
    found[HARNESS] = own.ru_utime + own.ru_stime
    found[LOAD_GENERATOR] = waited.ru_utime + waited.ru_stime
    found[MACHINE] = machine_seconds()
    return found


@dataclass
class Meter:
    """The CPU each of ``pids`` (and this process, its children, the machine) used in a span."""

    pids: Mapping[str, int]
    started: float = 0.0
    before: dict[str, float] | None = None
    seconds: float = 0.0
    after: dict[str, float] | None = None

    def __enter__(self) -> Meter:
        self.before = snapshot(self.pids)
        self.started = time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.monotonic() - self.started
        self.after = snapshot(self.pids)

    def cores(self) -> dict[str, float]:
        """CPU seconds per second of the span, by name."""
        if self.before is None or self.after is None or not self.seconds:
            return {}
        return {name: (self.after[name] - self.before[name]) / self.seconds for name in self.after}
