"""``EventStream``: a task's events as they happen, from any process, resumable by event id.

A reader watches the task (one pub/sub subscription per process, see ``ports.EventFeed``),
then reads the stream after its last id; each wake-up reads again from there. There is no
timer per reader: between events it only wakes for the heartbeat. The stream ends after the
terminal status event, or at once when the reader resumes after it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from adapter.core.errors import InvalidRequest, TaskNotFound
from adapter.core.values import Event, Mode, TaskRecord
from adapter.ports import EventFeed, TaskStore

#: ``owned(owner, task_id, mode)``: the caller's task, or ``TaskNotFound``.
Owned = Callable[[str, str, Mode], Awaitable[TaskRecord]]


class EventStream:
    """Live events for the endpoint's ``text/event-stream`` answer."""

    def __init__(
        self, *, store: TaskStore, feed: EventFeed, owned: Owned, heartbeat_s: float
    ) -> None:
        self._store = store
        self._feed = feed
        self._owned = owned
        self._heartbeat_s = heartbeat_s

    async def open(
        self, *, owner: str, task_id: str, after: str | None, mode: Mode = "live"
    ) -> AsyncIterator[Event | None]:
        """Check the caller may read the task, then return its live events.

        ``None`` items are heartbeats. Checking first lets a bad request be an error
        response rather than a stream that ends at once.

        Raises:
            TaskNotFound: no such task, or another owner's.
            InvalidRequest: ``after`` (``Last-Event-ID``) is not an event id.
        """
        record = await self._owned(owner, task_id, mode)
        try:
            # The first read, here: the store judges the id (its syntax is the store's).
            first = await self._store.list_events(task_id, after=after)
        except ValueError:
            raise InvalidRequest(
                "Last-Event-ID must be the id of an event this task sent.", "Last-Event-ID"
            ) from None
        return self._follow(record, after, first)

    async def _follow(
        self, record: TaskRecord, after: str | None, first: list[Event]
    ) -> AsyncIterator[Event | None]:
        events: list[Event] | None = first
        # Read again at once after the first read: an event appended before the watch began
        # signalled nobody.
        again = True
        async with self._feed.watch(record.task_id) as watch:
            while True:
                if events is None:
                    events = await self._store.list_events(record.task_id, after=after)
                if record.status.is_terminal and not any(e.is_final for e in events):
                    return  # resumed after the end: what follows it (webhooks) is not streamed
                for event in events:
                    yield event
                    after = event.id
                    if event.is_final:
                        return
                events = None
                if again:
                    again = False
                    continue
                if not await watch.wait(self._heartbeat_s):
                    yield None
                    try:
                        # The task may have ended unseen (a missed wake-up) or expired.
                        record = await self._owned(record.owner, record.task_id, record.mode)
                    except TaskNotFound:
                        return
