"""Bar charts as geometry for an inline SVG: the server draws them, no script needed."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal

import msgspec

WIDTH = 640
HEIGHT = 220
_LEFT, _RIGHT, _TOP, _BOTTOM = 8, 8, 20, 36
#: A bar's width at most, however few the bars.
_WIDEST = 64
#: Labels under the bars at most; past that every n-th bar is labelled.
_LABELS = 12


class Bar(msgspec.Struct, frozen=True):
    label: str
    #: The value as shown.
    shown: str
    x: float
    y: float
    width: float
    height: float
    #: Whether its label is drawn under it.
    labelled: bool


class Chart(msgspec.Struct, frozen=True):
    title: str
    bars: list[Bar]
    #: The largest value, as shown.
    top: str
    width: int = WIDTH
    height: int = HEIGHT
    #: Where the bars stand (the x axis).
    base: float = HEIGHT - _BOTTOM


def bar_chart(
    title: str, points: Sequence[tuple[str, Decimal]], show: Callable[[Decimal], str] = str
) -> Chart:
    """One bar a point, scaled to the largest value; labels thinned out when they are many."""
    top = max((value for _, value in points), default=Decimal(0))
    plot = HEIGHT - _TOP - _BOTTOM
    slot = (WIDTH - _LEFT - _RIGHT) / max(len(points), 1)
    every = math.ceil(len(points) / _LABELS) or 1
    width = min(slot * 0.7, _WIDEST)
    bars = []
    for index, (label, value) in enumerate(points):
        height = float(value / top) * plot if top else 0.0
        bars.append(
            Bar(
                label=label,
                shown=show(value),
                x=round(_LEFT + index * slot + (slot - width) / 2, 2),
                y=round(HEIGHT - _BOTTOM - height, 2),
                width=round(width, 2),
                height=round(height, 2),
                labelled=index % every == 0,
            )
        )
    return Chart(title=title, bars=bars, top=show(top))
