"""``DashScopeProvider``: Wan video tasks on Alibaba DashScope's asynchronous task API.

Submit ``POST {base}/api/v1/services/aigc/video-generation/video-synthesis`` with
``X-DashScope-Async: enable`` (HTTP calls are async only), query ``GET {base}/api/v1/tasks/{id}``,
cancel ``POST {base}/api/v1/tasks/{id}/cancel`` (PENDING tasks only); the bearer is the API key
(upstream-contracts.md sections 1.8 and 4). Refusals are classified by ``dashscope_errors``.

DashScope takes no id of ours, so a task whose submit answer was lost cannot be found again:
``lookup`` always says the outcome is unknown, and the task is never resubmitted blindly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Mapping
from types import MappingProxyType
from typing import Any, NamedTuple
from urllib.parse import quote

import httpx
import msgspec

from adapter.core.errors import ProviderError, ProviderOutcomeUnknown, ProviderUnavailable
from adapter.core.values import Carrier, ProviderCheck, TaskStatus, UpstreamState, Video, VideoJob
from adapter.providers._http import (
    ensure_the_api,
    logged_refusal,
    map_httpx_errors,
    retry_after_s,
)
from adapter.providers.checks import check_answer, probe_id, served_models
from adapter.providers.dashscope import wire as dashscope_wire
from adapter.providers.dashscope.errors import classify, code_of, decode_error, is_refusal
from adapter.providers.dashscope.wire import TaskBody
from adapter.providers.extras import present, unmapped
from adapter.providers.refusals import clean

SYNTHESIS = "video-synthesis"

_Q, _P, _S, _F = (TaskStatus.QUEUED, TaskStatus.PROCESSING, TaskStatus.SUCCEEDED, TaskStatus.FAILED)

#: ``output.task_status`` (SDK ``TaskStatus``). ``UNKNOWN`` means DashScope no longer knows
#: the task (ids live 24 h), so it is final; a word not listed reads as processing.
STATUS = {
    "PENDING": _Q,
    "SUSPENDED": _Q,
    "RUNNING": _P,
    "SUCCEEDED": _S,
    "FAILED": _F,
    "CANCELED": TaskStatus.CANCELLED,
    "UNKNOWN": _F,
}
EXPIRED = (
    "DashScope no longer knows this task: it expired (task ids live 24 hours) or never existed."
)


Values = Mapping[str, Any]


def wan_i2v_body(job: VideoJob, model: str) -> dashscope_wire.SynthesisRequest:
    """A first-frame image to video (``wan2.x-i2v-*``), with ``img_url`` and ``parameters``."""
    params = job.input
    images = [image for image in params.get("image_urls") or () if image]
    if not images:
        raise ValueError(f"{job.model} needs one image in image_urls")
    audio = bool(params.get("audio", True))
    return dashscope_wire.SynthesisRequest(
        model=model,
        input=dashscope_wire.I2VInput(
            img_url=images[0],
            prompt=params.get("prompt"),
            negative_prompt=params.get("negative_prompt"),
            # Without audio the video is silent: an audio track would be ignored or refused.
            audio_url=params.get("audio_url") if audio else None,
            template=params.get("template"),
        ),
        parameters=dashscope_wire.I2VParameters(
            resolution=str(params.get("resolution", "1080p")).upper(),
            duration=params.get("duration", 5),
            prompt_extend=params.get("prompt_extend", True),
            shot_type=params.get("shot_type", "single"),
            audio=audio,
            watermark=params.get("watermark", False),
            seed=params.get("seed"),
        ),
    )


#: ``parameters.size`` of Wan 2.5 by resolution and aspect ratio (Model Studio's size table).
SIZES: Mapping[str, Mapping[str, str]] = MappingProxyType(
    {
        "480P": {"16:9": "832*480", "9:16": "480*832", "1:1": "624*624"},
        "720P": {
            "16:9": "1280*720",
            "9:16": "720*1280",
            "1:1": "960*960",
            "4:3": "1088*832",
            "3:4": "832*1088",
        },
        "1080P": {
            "16:9": "1920*1080",
            "9:16": "1080*1920",
            "1:1": "1440*1440",
            "4:3": "1632*1248",
            "3:4": "1248*1632",
        },
    }
)


def wan_t2v_body(job: VideoJob, model: str) -> dashscope_wire.SynthesisRequest:
    """Text to video (``wan2.5-t2v-*``): ``size`` is pixels (``1280*720``), from the input's
    aspect ratio (MindVideo's ``size``) and ``resolution``. A size this table lacks (``W*H``,
    or an aspect ratio it has no size for) is sent as it is: DashScope says what it takes."""
    params = job.input
    resolution = str(params.get("resolution", "720p")).upper()
    aspect = str(params.get("size", "16:9"))
    size = SIZES.get(resolution, {}).get(aspect, aspect)
    placed = ("prompt", "negative_prompt", "audio_url", "size", "resolution")
    return dashscope_wire.SynthesisRequest(
        model=model,
        input=dashscope_wire.TextInput(
            params.get("prompt"), params.get("negative_prompt"), params.get("audio_url")
        ),
        parameters={"size": size, **unmapped(params, placed)},
    )


def wan_r2v_body(job: VideoJob, model: str) -> dashscope_wire.SynthesisRequest:
    """Reference images to video (``wan2.7-r2v``): each ``image_with_roles`` item is a
    ``media`` item of its role; MindVideo's ``size`` (an aspect ratio) is ``ratio``."""
    params = job.input
    media = [
        dashscope_wire.Media(item.get("role") or "reference_image", item["url"])
        for item in params.get("image_with_roles") or ()
    ]
    return _media_body(job, model, media, ("image_with_roles",))


def wan_videoedit_body(job: VideoJob, model: str) -> dashscope_wire.SynthesisRequest:
    """Edit a video (``wan2.7-videoedit``): the source is a ``video`` media item; a duration
    of 0 (follow the source) is not sent."""
    params = job.input
    media = [dashscope_wire.Media("video", url) for url in params.get("video_urls") or ()]
    return _media_body(job, model, media, ("video_urls",))


def _media_body(
    job: VideoJob, model: str, media: list[dashscope_wire.Media], placed: tuple[str, ...]
) -> dashscope_wire.SynthesisRequest:
    params = job.input
    return dashscope_wire.SynthesisRequest(
        model=model,
        input=dashscope_wire.MediaInput(
            media or None, params.get("prompt"), params.get("negative_prompt")
        ),
        parameters=_ratio_parameters(params, (*placed, "prompt", "negative_prompt")),
    )


def happyhorse_t2v_body(job: VideoJob, model: str) -> dashscope_wire.SynthesisRequest:
    """Text to video (``happyhorse-*-t2v``): MindVideo's ``size`` (an aspect ratio) is
    ``ratio``."""
    params = job.input
    return dashscope_wire.SynthesisRequest(
        model=model,
        input=dashscope_wire.TextInput(params.get("prompt"), params.get("negative_prompt")),
        parameters=_ratio_parameters(params, ("prompt", "negative_prompt")),
    )


def _ratio_parameters(params: Values, placed: tuple[str, ...]) -> dict[str, Any]:
    """``resolution`` in DashScope's case (``1080P``), ``ratio`` from MindVideo's ``size``, a
    positive ``duration``, and every other field as it came."""
    duration = params.get("duration")
    return {
        **present(
            resolution=str(params["resolution"]).upper() if "resolution" in params else None,
            ratio=params.get("size"),
            duration=duration if duration else None,
        ),
        **unmapped(params, (*placed, "resolution", "size", "duration")),
    }


class BodyMapping(NamedTuple):
    """One named way of turning a model's input into a DashScope body."""

    #: The API family the task is created on; queries must name the same one.
    route: str
    build: Callable[[VideoJob, str], dashscope_wire.SynthesisRequest]


#: The mappings model specs name (``[[upstream]] api = "dashscope"``).
MAPPINGS: Mapping[str, BodyMapping] = MappingProxyType(
    {
        "wan-i2v": BodyMapping(SYNTHESIS, wan_i2v_body),
        "wan-t2v": BodyMapping(SYNTHESIS, wan_t2v_body),
        "wan-r2v": BodyMapping(SYNTHESIS, wan_r2v_body),
        "wan-videoedit": BodyMapping(SYNTHESIS, wan_videoedit_body),
        "happyhorse-t2v": BodyMapping(SYNTHESIS, happyhorse_t2v_body),
    }
)
ROUTES = frozenset(mapping.route for mapping in MAPPINGS.values())


class ModelRoute(NamedTuple):
    """One model as DashScope makes it: its route, its ``model`` and its mapping."""

    route: str
    model: str
    build: Callable[[VideoJob, str], dashscope_wire.SynthesisRequest]

    @classmethod
    def of(cls, slug: str, carrier: Carrier) -> ModelRoute:
        mapping = MAPPINGS.get(carrier.mapping)
        if mapping is None:
            raise ValueError(
                f"{slug}: no DashScope mapping {carrier.mapping!r}; there are {sorted(MAPPINGS)}"
            )
        return cls(carrier.route or mapping.route, carrier.model_name, mapping.build)


class DashScopeProvider:
    """One DashScope account; implements ``adapter.ports.VideoProvider``."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        http: httpx.AsyncClient,
        api_key: str,
        carried: Mapping[str, Carrier],
        models: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``carried``: every model the catalogue says DashScope makes, and how; ``models``:
        the ones this provider serves (all of them when ``None``)."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the DashScope base URL must be an http(s) URL")
        if not api_key:
            raise ValueError("the DashScope provider needs an API key")
        served = served_models("DashScope", carried, models)
        self._name = name
        # The SDK's base URL ends in /api/v1; the paths here add it.
        self._base = base_url.rstrip("/").removesuffix("/api/v1")
        self._http = http
        self._api_key = api_key
        self._models = {slug: ModelRoute.of(slug, carried[slug]) for slug in sorted(served)}
        self._clock = clock

    @property
    def name(self) -> str:
        return self._name

    def serves(self, model: str) -> bool:
        return model in self._models

    async def submit(self, job: VideoJob) -> UpstreamState:
        model = self._model(job.model)
        content = dashscope_wire.encode(model.build(job, model.model))
        url = f"{self._base}/api/v1/services/aigc/video-generation/{model.route}"
        response = await self._send("POST", url, content, is_async=True)
        body = self._read(response)
        output = body.output if body else None
        if output is None or not output.task_id:
            # Something answered 2xx, but we cannot tell whether a task was created.
            raise ProviderOutcomeUnknown(
                self._name, "unrecognizable answer to a submit", status=response.status_code
            )
        # A new task is PENDING; the first query tells more.
        return UpstreamState(output.task_id, _Q, route=model.route)

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        self._check_route(route)
        response = await self._send("GET", self._task_url(upstream_id))
        body = self._read(response)
        if body is None or body.output is None or not body.output.task_status:
            raise ProviderUnavailable(
                self._name, "unrecognizable answer to a query", status=response.status_code
            )
        return self._state(body, route, upstream_id)

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        """Never ``None``: DashScope cannot be asked for a task by an id of ours.

        Its task id exists only in the submit answer, so when that answer was lost nothing
        can prove the task absent, and a resubmit could make (and charge for) a second one.
        """
        self._model(job.model)
        raise ProviderOutcomeUnknown(
            self._name,
            "DashScope tasks cannot be looked up by our id; whether the lost submit created "
            "one is unknown",
        )

    async def cancel(self, route: str, upstream_id: str) -> bool:
        """Cancel a task; DashScope cancels only PENDING ones and refuses the rest."""
        self._check_route(route)
        response = await self._send("POST", f"{self._task_url(upstream_id)}/cancel")
        self._read(response)
        return True

    async def check(self) -> ProviderCheck:
        """Ask for a task that cannot exist: DashScope answers it as ``UNKNOWN``."""
        return await check_answer(self.query(next(iter(ROUTES)), probe_id()))

    def __repr__(self) -> str:
        return f"DashScopeProvider(name={self._name!r})"

    def _state(self, body: TaskBody, route: str, task_id: str) -> UpstreamState:
        """The state of the task ``body.output`` describes (its status word is present)."""
        output = body.output or dashscope_wire.TaskOutput()
        word = (output.task_status or "").upper()
        status = STATUS.get(word, _P)
        upstream_id = output.task_id or task_id
        if status is _S:
            url = output.video_url
            videos = (Video(url=url, duration=_duration(body.usage)),) if url else ()
            return UpstreamState(upstream_id, status, route, videos)
        if status is _F:
            message = EXPIRED if word == "UNKNOWN" else self._failure(body)
            return UpstreamState(upstream_id, status, route, message=message)
        return UpstreamState(upstream_id, status, route)

    def _failure(self, body: TaskBody) -> str | None:
        """``"<code>: <message>"`` from ``output``, else the top level; either may be missing."""
        output = body.output
        code = code_of(output.code if output else None) or code_of(body.code)
        text = clean((output.message if output else None) or body.message, (self._api_key,))
        reason = ": ".join(part for part in (code, text) if part)
        return reason or None

    def _model(self, model: str) -> ModelRoute:
        if model not in self._models:
            raise ValueError(f"provider {self._name!r} does not serve {model!r}")
        return self._models[model]

    def _check_route(self, route: str) -> None:
        if route not in ROUTES:
            raise ValueError(f"unknown DashScope route {route!r}; known: {sorted(ROUTES)}")

    def _task_url(self, task_id: str) -> str:
        return f"{self._base}/api/v1/tasks/{quote(task_id, safe='')}"

    async def _send(
        self, method: str, url: str, content: bytes | None = None, *, is_async: bool = False
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._api_key}", "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if is_async:
            headers["X-DashScope-Async"] = "enable"
        with map_httpx_errors(self._name):
            return await self._http.request(method, url, content=content, headers=headers)

    def _read(self, response: httpx.Response) -> TaskBody | None:
        """The body of a 2xx answer, or ``None`` if unreadable; raises for refusals."""
        if not response.is_success:
            raise self._refusal(response, decode_error(response.content))
        ensure_the_api(self._name, response)
        try:
            body = dashscope_wire.decode_task(response.content)
        except msgspec.DecodeError:
            return None
        if is_refusal(body):
            error = dashscope_wire.ErrorBody(body.request_id, body.code, body.message)
            raise self._refusal(response, error)
        return body

    def _refusal(
        self, response: httpx.Response, body: dashscope_wire.ErrorBody | None
    ) -> ProviderError:
        retry_after = retry_after_s(response.headers.get("Retry-After"), self._clock())
        error = classify(
            self._name,
            response.status_code,
            body,
            retry_after=retry_after,
            redact=(self._api_key,),
        )
        return logged_refusal(self._name, response.status_code, error)


def _duration(usage: msgspec.Raw) -> float | None:
    """The video's length from ``usage``, when one of its keys holds a positive number."""
    if not usage:
        return None
    try:
        found = dashscope_wire.decode_usage(usage)
    except msgspec.DecodeError:
        return None  # the length is a bonus: an odd usage block is no error
    for value in (found.duration, found.output_video_duration, found.video_duration):
        number = _seconds(value)
        if number is not None:
            return number
    return None


def _seconds(value: float | str | None) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    # "NaN", "inf", zero or a negative length is no length: the caller uses its estimate.
    return number if math.isfinite(number) and number > 0 else None
