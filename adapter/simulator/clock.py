"""A clock that moves only when told to, for driving the simulator's lifecycle in tests."""

from __future__ import annotations


class ManualClock:
    """Seconds since the epoch, frozen at ``now`` until :meth:`advance` moves it.

    Pass it as ``create_simulator_app(config, clock=ManualClock())``.
    """

    __slots__ = ("now",)

    def __init__(self, now: float = 1_774_805_076.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` forward."""
        self.now += seconds
