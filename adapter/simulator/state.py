"""The simulated tasks: an in-memory table, and each task's lifecycle as a function of time.

A task's status is computed from how long ago it was submitted: ``submitted`` for
``queue_s``, ``processing`` for ``process_s``, then ``succeed`` or ``failed`` as its
:class:`~adapter.simulator.script.Script` says. Kling tasks are never updated; a DashScope
cancel replaces its task with a copy that records the cancel (:meth:`TaskTable.replace`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Generic, Literal, Protocol, TypeVar

import msgspec

from adapter.simulator.script import Script

Status = Literal["submitted", "processing", "succeed", "failed"]
#: The Kling task families (the path segment after ``/v1/videos/``).
Family = Literal["motion-control", "text2video", "image2video", "omni-video"]


class Tracked(Protocol):
    """What the task table needs of a task."""

    @property
    def task_id(self) -> str: ...
    @property
    def owner(self) -> str: ...
    @property
    def external_task_id(self) -> str: ...


class Scheduled(Protocol):
    """What the lifecycle needs of a task."""

    @property
    def created_at(self) -> float: ...
    @property
    def script(self) -> Script: ...


TaskT = TypeVar("TaskT", bound=Tracked)


class SimTask(msgspec.Struct, frozen=True):
    """One accepted task, as submitted."""

    #: Submission order, from 1; new-api's numeric TaskDto ``id``.
    seq: int
    task_id: str
    #: The account that submitted it; lookups from other accounts do not see it.
    owner: str
    #: The client's own id, ``""`` when none was given.
    external_task_id: str
    #: Clock time of the submit, in seconds.
    created_at: float
    #: The output video's duration as Kling writes it (``"8"``).
    duration: str
    model_name: str
    script: Script
    #: The family it was created on; official queries find it on that path only.
    family: Family = "motion-control"


class Progress(msgspec.Struct, frozen=True):
    """Where a task stands at one moment."""

    status: Status
    #: The failure reason when ``failed``, ``"success"`` when ``succeed``, else ``""``.
    status_msg: str
    #: Clock time of the last status change, in seconds.
    updated_at: float
    #: Clock time processing began, once it has.
    started_at: float | None
    #: Clock time the task ended, once it has.
    finished_at: float | None
    #: 0 to 100.
    percent: int
    #: Clock time the status changes next, ``None`` once it never will (Kling callbacks).
    next_change_at: float | None = None


def progress_of(task: Scheduled, now: float, *, queue_s: float, process_s: float) -> Progress:
    """Where ``task`` stands at clock time ``now``."""
    started = task.created_at + queue_s
    if task.script.stay_queued or now < started:
        next_change = None if task.script.stay_queued else started
        return Progress("submitted", "", task.created_at, None, None, 0, next_change)
    finished = started + process_s
    if now < finished:
        percent = min(99, max(1, int(100 * (now - started) / process_s)))
        return Progress("processing", "", started, started, None, percent, finished)
    if task.script.fail_reason is not None:
        return Progress("failed", task.script.fail_reason, finished, started, finished, 100)
    return Progress("succeed", "success", finished, started, finished, 100)


class DuplicateExternalId(ValueError):
    """The account already has a task with this ``external_task_id``."""

    def __init__(self, external_task_id: str) -> None:
        super().__init__(f"external_task_id {external_task_id!r} duplicates an existing task")
        self.external_task_id = external_task_id


class TaskTable(Generic[TaskT]):
    """Every accepted task, oldest first, bounded: beyond ``capacity`` the oldest is dropped.

    Not thread-safe; one event loop owns it. Nothing awaits between a check and its write,
    so the uniqueness of ``external_task_id`` holds under concurrent requests.
    """

    __slots__ = ("_by_external", "_capacity", "_id_base", "_order", "_seq", "_tasks")

    def __init__(self, *, capacity: int, id_base: int) -> None:
        self._capacity = capacity
        #: Task ids are ``id_base + seq``: 18 digits, like Kling's, and distinct per run.
        self._id_base = id_base
        self._seq = 0
        self._tasks: dict[str, TaskT] = {}
        # Eviction order. Popping a dict's first key in a loop is quadratic in CPython (the
        # scan skips ever more deleted slots), a deque's popleft is not.
        self._order: deque[str] = deque()
        self._by_external: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self._tasks)

    def next_id(self) -> tuple[int, str]:
        """A fresh ``(seq, task_id)`` pair."""
        self._seq += 1
        return self._seq, str(self._id_base + self._seq)

    def add(self, task: TaskT) -> None:
        """Record ``task``.

        Raises:
            DuplicateExternalId: its owner already has a task with its ``external_task_id``.
        """
        key = (task.owner, task.external_task_id)
        if task.external_task_id:
            if key in self._by_external:
                raise DuplicateExternalId(task.external_task_id)
            self._by_external[key] = task.task_id
        self._tasks[task.task_id] = task
        self._order.append(task.task_id)
        while len(self._order) > self._capacity:
            self._drop(self._order.popleft())

    def find(self, owner: str, task_or_external_id: str) -> TaskT | None:
        """The owner's task with this ``task_id``, else with this ``external_task_id``."""
        task = self._tasks.get(task_or_external_id)
        if task is not None and task.owner == owner:
            return task
        task_id = self._by_external.get((owner, task_or_external_id))
        return self._tasks.get(task_id) if task_id is not None else None

    def newest(
        self, owner: str, keep: Callable[[TaskT], bool], skip: int, limit: int
    ) -> list[TaskT]:
        """The owner's tasks that ``keep`` keeps, newest first, past the first ``skip``."""
        found: list[TaskT] = []
        for task_id in reversed(self._order):
            task = self._tasks[task_id]
            if task.owner != owner or not keep(task):
                continue
            if skip:
                skip -= 1
                continue
            found.append(task)
            if len(found) >= limit:
                break
        return found

    def replace(self, task: TaskT) -> None:
        """Put ``task`` in place of the recorded task with its ``task_id`` (if still kept)."""
        if task.task_id in self._tasks:
            self._tasks[task.task_id] = task

    def _drop(self, task_id: str) -> None:
        task = self._tasks.pop(task_id)
        if task.external_task_id:
            self._by_external.pop((task.owner, task.external_task_id), None)
