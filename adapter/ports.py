"""The only abstractions: what the service needs from storage, upstreams and media.

Adapters conform structurally (no inheritance); mypy checks the fit in ``adapter.app``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

import msgspec

from adapter.model import ApiKey, Event, ImageInfo, TaskRecord, UpstreamState, VideoInfo, VideoJob


class IdempotencyClaim(msgspec.Struct, frozen=True):
    """The result of claiming an idempotency key."""

    #: True when this call made the claim; False when one already existed.
    is_new: bool
    fingerprint: str
    task_id: str
    claimed_at: datetime


class TaskStore(Protocol):
    """Where tasks, their events and idempotency claims live.

    Every write sets an expiry. Status changes are compare-and-set on ``TaskRecord.version``
    and append their event in the same atomic step, so an event is never written twice.
    Raises ``StoreUnavailable`` when the backend cannot be reached.
    """

    async def create_task(self, record: TaskRecord, event: Event) -> None:
        """Store a new task (``version`` 1) and its first event."""

    async def get_task(self, task_id: str) -> TaskRecord | None:
        """Return the stored task, or ``None``."""

    async def update_task(self, record: TaskRecord, event: Event | None) -> bool:
        """Store ``record`` if the stored version is ``record.version - 1``; append ``event``.

        Returns:
            False when another writer got there first (nothing was written).
        """

    async def delete_task(self, task_id: str, version: int) -> bool:
        """Forget a task that was never accepted (and its events), if still at ``version``.

        Returns:
            False when the task changed meanwhile (e.g. a reconcile adopted it): kept.
        """

    async def list_events(self, task_id: str) -> list[Event]:
        """Return the task's events, oldest first, each with its ``id``."""

    async def claim_idempotency(
        self, scope: str, fingerprint: str, task_id: str, now: datetime, ttl_s: int
    ) -> IdempotencyClaim:
        """Atomically claim ``scope`` for ``task_id``, or return the existing claim."""

    async def release_idempotency(self, scope: str, task_id: str) -> None:
        """Drop the claim, but only if it still belongs to ``task_id``."""

    async def acquire_refresh(self, task_id: str, hold_ms: int) -> bool:
        """Take the task's refresh lease for ``hold_ms``, across processes; False if held."""

    async def extend_refresh(self, task_id: str, hold_ms: int) -> None:
        """Keep the lease for ``hold_ms`` more (the minimum interval between refreshes)."""

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the backend answers."""


class KeyStore(Protocol):
    """Where API keys live, by the SHA-256 of the key. Keys have no expiry."""

    async def add_key(self, key: ApiKey) -> None: ...

    async def key_by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def key_by_id(self, key_id: str) -> ApiKey | None: ...

    async def list_keys(self) -> list[ApiKey]: ...

    async def set_key_status(self, key_id: str, status: str) -> bool: ...

    async def delete_key(self, key_id: str) -> bool: ...


class VideoProvider(Protocol):
    """One upstream: maps jobs, responses and errors of its dialect, and nothing else.

    Errors are raised as the ``ProviderError`` family (``adapter.errors``).
    """

    @property
    def name(self) -> str: ...

    def serves(self, model: str) -> bool:
        """Whether this provider can make ``model``."""

    async def submit(self, job: VideoJob) -> UpstreamState:
        """Create the upstream task; the returned state carries the upstream id and route."""

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        """Fetch an accepted task's state (``route`` as returned by ``submit``)."""

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        """Find a task by ``job.external_id`` after a lost submit answer.

        Returns ``None`` only when the upstream says for sure the task is absent; raises
        ``ProviderOutcomeUnknown`` when it cannot tell.
        """

    async def cancel(self, route: str, upstream_id: str) -> bool:
        """Ask the upstream to stop an accepted task.

        Returns:
            False when the upstream has no cancel at all (Kling): nothing was sent.
        """


#: The image formats Kling takes; a model's media rules may allow more.
IMAGE_FORMATS = frozenset({"jpg", "png"})


class MediaInspector(Protocol):
    """Checks input media against the upstream's limits.

    Raises ``InvalidRequest`` (naming ``param``) for media that breaks a rule, and
    ``MediaUnreachable`` when a URL could not be read.
    """

    async def inspect_image(
        self, value: str, *, param: str, formats: frozenset[str] = IMAGE_FORMATS
    ) -> ImageInfo:
        """Check an image; a data URI must be one of ``formats`` (``jpg``, ``png``, ...)."""

    async def inspect_video(self, value: str, *, param: str) -> VideoInfo: ...
