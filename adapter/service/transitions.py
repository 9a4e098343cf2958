"""The allowed status moves, as one table. Anything else is ignored (an upstream glitch)."""

from __future__ import annotations

from adapter.core.values import TaskStatus

_Q, _P = TaskStatus.QUEUED, TaskStatus.PROCESSING
_S, _F, _C = TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED

ALLOWED: dict[TaskStatus, frozenset[TaskStatus]] = {
    _Q: frozenset({_P, _S, _F, _C}),
    _P: frozenset({_S, _F, _C}),
    _S: frozenset(),
    _F: frozenset(),
    _C: frozenset(),
}


def can_move(current: TaskStatus, new: TaskStatus) -> bool:
    """Whether a task may go from ``current`` to ``new`` (never backwards, never off a terminal)."""
    return new in ALLOWED[current]
