"""Fakes for the ports: a scripted upstream, canned media facts, a clock you move."""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from adapter.core.errors import (
    InvalidRequest,
    MediaUnreachable,
    ProviderOutcomeUnknown,
    ProviderTaskNotFound,
    StoreUnavailable,
    WebhookUndeliverable,
)
from adapter.core.values import (
    Event,
    ImageInfo,
    TaskRecord,
    TaskStatus,
    UpstreamState,
    Video,
    VideoInfo,
    VideoJob,
)
from adapter.ports import IMAGE_FORMATS, KeyStore, Metrics
from adapter.service.keys import KeyService
from adapter.service.poll_plan import PollPlan
from adapter.service.webhooks import WebhookDispatcher
from adapter.stores.redis import RedisTaskStore

MODEL = "kling-v2-6-motion-control"


class FakeClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 23, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class ScriptedProvider:
    """A VideoProvider whose answers the test scripts, recording every call (like llm's MockModel).

    ``submit_outcomes`` are used in order (an exception is raised); with none left a submit is
    accepted as ``queued``. ``states`` answers queries per upstream id; ``landed`` lists
    external ids the upstream knows although its submit answer was lost.
    """

    def __init__(self, name: str = "kling", models: tuple[str, ...] = (MODEL,)) -> None:
        self.name = name
        self.models = models
        self.submits: list[VideoJob] = []
        self.queries: list[str] = []
        self.lookups: list[str] = []
        self.submit_outcomes: deque[BaseException | UpstreamState] = deque()
        self.states: dict[str, UpstreamState | Exception] = {}
        self.by_external: dict[str, UpstreamState] = {}
        self.gate: asyncio.Event | None = None
        #: Answer lookups like a gateway that cannot find tasks by external id.
        self.lookup_cannot_tell = False
        #: Answer lookups like stock new-api: "task_not_exist" for our id (ProviderTaskNotFound).
        self.lookup_denies = False
        self.cancels: list[str] = []
        #: What ``cancel`` answers: True (done upstream), False (no cancel), or an error.
        self.cancel_outcome: bool | Exception = True
        self._ids = itertools.count(1)

    def serves(self, model: str) -> bool:
        return model in self.models

    async def submit(self, job: VideoJob) -> UpstreamState:
        self.submits.append(job)
        if self.gate is not None:
            await self.gate.wait()
        if self.submit_outcomes:
            outcome = self.submit_outcomes.popleft()
            if isinstance(outcome, BaseException):
                raise outcome
            state = outcome
        else:
            state = UpstreamState(
                f"up_{next(self._ids)}", TaskStatus.QUEUED, route="motion-control"
            )
        self.states[state.upstream_id] = state
        self.by_external[job.external_id] = state
        return state

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        self.queries.append(upstream_id)
        state = self.states[upstream_id]
        if isinstance(state, Exception):
            raise state
        return state

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        self.lookups.append(job.external_id)
        found = self.by_external.get(job.external_id)
        if found is None and self.lookup_cannot_tell:
            raise ProviderOutcomeUnknown(self.name, "gateway cannot look up external ids")
        if found is None and self.lookup_denies:
            raise ProviderTaskNotFound(self.name, "task_not_exist", status=400)
        return found

    async def cancel(self, route: str, upstream_id: str) -> bool:
        self.cancels.append(upstream_id)
        if isinstance(self.cancel_outcome, Exception):
            raise self.cancel_outcome
        return self.cancel_outcome

    def set_state(
        self,
        upstream_id: str,
        status: TaskStatus,
        *,
        seconds: float | None = None,
        message: str | None = None,
    ) -> None:
        videos = (Video(f"https://cdn.test/{upstream_id}.mp4", seconds),) if seconds else ()
        self.states[upstream_id] = UpstreamState(
            upstream_id, status, route="motion-control", videos=videos, message=message
        )


class FakeMedia:
    """A MediaInspector that knows every video's length without fetching anything."""

    def __init__(self, video_seconds: float = 8.0) -> None:
        self.video_seconds = video_seconds
        self.unreachable = False
        self.bad_image = False
        #: The formats the last image check allowed.
        self.image_formats: frozenset[str] = frozenset()
        self.video_gate: asyncio.Event | None = None
        self.videos: list[str] = []
        self.cancelled_probes = 0
        self.bad_url = False
        #: ``(param, value)`` of each URL-only field checked.
        self.urls: list[tuple[str, str]] = []
        #: ``param`` of each image checked.
        self.images: list[str] = []

    async def inspect_image(
        self, value: str, *, param: str, formats: frozenset[str] = IMAGE_FORMATS
    ) -> ImageInfo:
        self.image_formats = formats
        self.images.append(param)
        await asyncio.sleep(0)
        if self.bad_image:
            raise InvalidRequest(f"{param} is not a jpg or png image.", param)
        return ImageInfo(source="url")

    async def check_url(self, value: str, *, param: str) -> None:
        self.urls.append((param, value))
        if self.bad_url:
            raise InvalidRequest(f"{param} points to a non-public address.", param)

    async def inspect_video(self, value: str, *, param: str) -> VideoInfo:
        self.videos.append(value)
        if self.video_gate is not None:
            try:
                await self.video_gate.wait()
            except asyncio.CancelledError:
                self.cancelled_probes += 1
                raise
        if self.unreachable:
            raise MediaUnreachable("the server answered 404", param)
        return VideoInfo(source="url", format="mp4", duration_s=self.video_seconds)


def seed_input(**changes: object) -> dict[str, object]:
    """The input of seed 000's curl example."""
    values: dict[str, object] = {
        "prompt": "保持人物面部特征一致,按参考视频完成转身挥手动作,电影感光影",
        "character_orientation": "image",
        "image_url": "https://example.com/ref-image.png",
        "keep_original_sound": "yes",
        "mode": "std",
        "video_url": "https://example.com/ref-video-8s.mp4",
    }
    values.update(changes)
    return values


#: The reconciler tests' intervals: the shortest and longest wait, a task's deadline, and the
#: first query's wait while no success is known (a quarter of it is the first backoff).
MIN_S, MAX_S, DEADLINE_S, FIRST_S = 2.0, 30.0, 3600.0, 10.0


def fixed_plan(clock: Callable[[], datetime], *, first_after_s: float = FIRST_S) -> PollPlan:
    """A reconciler's poll plan that learns nothing and draws no jitter (always the middle)."""
    return PollPlan(
        None,
        clock=clock,
        min_interval_s=MIN_S,
        max_interval_s=MAX_S,
        deadline_s=DEADLINE_S,
        first_after_s=first_after_s,
        jitter=lambda: 0.5,
    )


def webhooks_in_memory(
    store: RedisTaskStore,
    key_store: KeyStore,
    clock: Callable[[], datetime],
    metrics: Metrics,
    receiver: FakeWebhooks | None = None,
) -> WebhookDispatcher:
    """The webhook dispatcher a reconciler under test runs, posting to ``receiver`` (a new
    ``FakeWebhooks`` by default)."""
    return WebhookDispatcher(
        store=store,
        schedules=store,
        sender=receiver or FakeWebhooks(),
        keys=KeyService(key_store, clock=clock),
        clock=clock,
        metrics=metrics,
    )


class FakeWebhooks:
    """A webhook receiver in memory: answers each POST with the next scripted status.

    A status of 0 is "no answer" (``WebhookUndeliverable``). URLs on ``.internal`` hosts are
    refused at submit, as the real sender refuses non-public addresses.
    """

    def __init__(self, *statuses: int) -> None:
        self.statuses = deque(statuses)
        self.posts: list[tuple[str, bytes, dict[str, str]]] = []
        #: Raised by every POST once set: a failure the sender did not foresee.
        self.error: Exception | None = None

    async def check(self, url: str, *, param: str) -> None:
        if not url.startswith("https://") or ".internal" in url:
            raise InvalidRequest(f"{param} points to a non-public address.", param)

    async def post(self, url: str, body: bytes, headers: Mapping[str, str]) -> int:
        self.posts.append((url, body, dict(headers)))
        if self.error is not None:
            raise self.error
        status = self.statuses.popleft() if self.statuses else 200
        if status == 0:
            raise WebhookUndeliverable("connection failed: ConnectError")
        return status


class FlakyStore(RedisTaskStore):
    """The real store, whose next ``fail_updates`` task updates find Redis gone."""

    fail_updates = 0

    async def update_task(self, record: TaskRecord, event: Event | None) -> bool:
        if self.fail_updates:
            self.fail_updates -= 1
            raise StoreUnavailable("The task store is unavailable: ConnectionError.")
        return await super().update_task(record, event)
