"""Figures measured over rounds: each way's median and range, and its ratio to the base's (the
first way measured)."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import NamedTuple


class Against(NamedTuple):
    name: str
    median: float
    low: float
    high: float
    #: ``median`` over the base's median.
    ratio: float


def against_base(figures: Mapping[str, Sequence[float]]) -> list[Against]:
    """Each way with figures, in order; the first way is the base (its ratio 1)."""
    measured = {name: values for name, values in figures.items() if values}
    base = statistics.median(next(iter(measured.values())))
    rows = []
    for name, values in measured.items():
        median = statistics.median(values)
        rows.append(Against(name, median, min(values), max(values), median / base))
    return rows
