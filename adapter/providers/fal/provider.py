"""``FalProvider``: video models on fal's queue API.

Submit ``POST {base}/{endpoint_id}`` (the body is the model's input itself) with
``Authorization: Key <key>``; the answer names the request (``request_id``, ``status_url``,
``response_url``, ``cancel_url``). Status, result and cancel live under the endpoint's
``{owner}/{app}`` only: ``GET {base}/{owner}/{app}/requests/{id}/status``, ``GET
.../requests/{id}`` and ``PUT .../requests/{id}/cancel`` (providers-research.md section 1).
The task's route is that ``{owner}/{app}``, taken from the returned ``status_url``.

A failed request also ends ``COMPLETED``, with ``error`` and ``error_type``; a result that
answers the model's own 4xx (422 ``content_policy_violation``) is a failure too. fal takes
no id of ours, so a task whose submit answer was lost cannot be found again: ``lookup``
always says the outcome is unknown, and the task is never resubmitted blindly.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Collection, Mapping
from urllib.parse import quote, urlencode

import httpx
import msgspec

from adapter.core.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import Carrier, ProviderCheck, TaskStatus, UpstreamState, Video, VideoJob
from adapter.providers._http import (
    ensure_the_api,
    logged_refusal,
    read_json,
    retry_after_s,
    send_json,
)
from adapter.providers.checks import check_answer, probe_id, served_models
from adapter.providers.fal import wire as fal_wire
from adapter.providers.fal.bodies import FalModel
from adapter.providers.fal.errors import classify, decode_error
from adapter.providers.fal.wire import QueueBody
from adapter.providers.inputs import Unservable
from adapter.providers.refusals import clean

DEFAULT_BASE_URL = "https://queue.fal.run"

_Q, _P, _S, _F = (TaskStatus.QUEUED, TaskStatus.PROCESSING, TaskStatus.SUCCEEDED, TaskStatus.FAILED)
#: The queue's status words; ``COMPLETED`` is read further (error or result). A word not
#: listed reads as processing: fal's clients say more may come.
STATUS = {
    "IN_QUEUE": _Q,
    "IN_PROGRESS": _P,
    "CANCELLED": TaskStatus.CANCELLED,
    "CANCELED": TaskStatus.CANCELLED,
}
#: A route is an ``{owner}/{app}`` (``workflows``/``comfy`` ids have one more segment).
_APP = re.compile(r"[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+){1,2}")


def _is_app(route: str) -> bool:
    """Whether ``route`` is an ``{owner}/{app}``: no empty, ``.`` or ``..`` segment."""
    return bool(_APP.fullmatch(route)) and not {".", ".."} & set(route.split("/"))


class FalProvider:
    """One fal account; implements ``adapter.ports.VideoProvider``."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient,
        api_key: str,
        carried: Mapping[str, Carrier],
        models: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``carried``: every model the catalogue says fal makes, and how; ``models``: the
        ones this provider serves (all of them when ``None``)."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the fal base URL must be an http(s) URL")
        if not api_key:
            raise ValueError("the fal provider needs an API key")
        served = served_models("fal", carried, models)
        self._name = name
        self._base = base_url.rstrip("/")
        self._http = http
        self._api_key = api_key
        self._models = {slug: FalModel.of(slug, carried[slug]) for slug in sorted(served)}
        self._clock = clock

    @property
    def name(self) -> str:
        return self._name

    def serves(self, model: str) -> bool:
        return model in self._models

    async def submit(self, job: VideoJob) -> UpstreamState:
        """Send the job to its endpoint; an input fal cannot take is refused unsent."""
        model = self._model(job.model)
        try:
            plan = model.plan(job)
        except Unservable as exc:
            raise ProviderUnavailable(
                self._name, f"not sent to fal: {exc}; another provider may take it"
            ) from None
        url = f"{self._base}/{model.endpoint_of(plan)}"
        if job.callback_url:
            # A hint only: the callback endpoint asks fal itself and never reads the body.
            url += "?" + urlencode({"fal_webhook": job.callback_url})
        response = await self._send("POST", url, fal_wire.encode(plan.body))
        body = self._read(response, about_request=False)
        if body is None or not body.request_id:
            # Something answered 2xx, but we cannot tell whether a request was made.
            raise ProviderOutcomeUnknown(
                self._name, "unrecognizable answer to a submit", status=response.status_code
            )
        return UpstreamState(body.request_id, _Q, route=self._app_of(body, model.app))

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        """The request's status; once ``COMPLETED`` without an error, its result."""
        base = self._requests(route, upstream_id)
        response = await self._send("GET", f"{base}/status")
        body = self._read(response, about_request=True)
        if body is None or not body.status:
            raise ProviderUnavailable(
                self._name, "unrecognizable answer to a query", status=response.status_code
            )
        word = body.status.upper()
        if word != "COMPLETED":
            return UpstreamState(upstream_id, STATUS.get(word, _P), route)
        if body.error or body.error_type:
            reason = ": ".join(part for part in (body.error_type, body.error) if part)
            return UpstreamState(upstream_id, _F, route, message=self._clean(reason))
        return await self._result(base, route, upstream_id)

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        """Never ``None``: fal cannot be asked for a request by an id of ours.

        Its request id exists only in the submit answer, so when that answer was lost nothing
        can prove the request absent, and a resubmit could make (and charge for) a second one.
        """
        self._model(job.model)
        raise ProviderOutcomeUnknown(
            self._name,
            "fal requests cannot be looked up by our id; whether the lost submit created one "
            "is unknown",
        )

    async def cancel(self, route: str, upstream_id: str) -> bool:
        """Ask fal to cancel: a queued request is removed, a running one is signalled."""
        response = await self._send("PUT", f"{self._requests(route, upstream_id)}/cancel")
        if not response.is_success:
            raise self._refusal(response, about_request=True)
        ensure_the_api(self._name, response)
        try:
            word = (fal_wire.decode_cancel(response.content).status or "").upper()
        except msgspec.DecodeError:
            word = ""
        if word == "NOT_FOUND":
            raise ProviderTaskNotFound(self._name, "fal has no such request", status=200)
        if word == "ALREADY_COMPLETED":
            raise ProviderRejected(self._name, "the fal request had already completed")
        return True

    async def check(self) -> ProviderCheck:
        """Ask for the status of a request that cannot exist: fal answers 404."""
        app = next(iter(self._models.values())).app if self._models else "fal-ai/kling-video"
        return await check_answer(self.query(app, probe_id()))

    def __repr__(self) -> str:
        return f"FalProvider(name={self._name!r})"

    async def _result(self, base: str, route: str, upstream_id: str) -> UpstreamState:
        """The completed request's output; the model's own 4xx is the task's failure."""
        response = await self._send("GET", base)
        status = response.status_code
        if not response.is_success:
            error = self._refusal(response, about_request=True)
            if 400 <= status < 500 and type(error) is ProviderRejected:
                return UpstreamState(upstream_id, _F, route, message=error.message)
            raise error
        ensure_the_api(self._name, response)
        try:
            video = fal_wire.decode_result(response.content).video
        except msgspec.DecodeError:
            video = None
        if video is None or not video.url:
            raise ProviderUnavailable(
                self._name, "the completed request's result has no video.url", status=status
            )
        duration = video.duration if video.duration and video.duration > 0 else None
        return UpstreamState(upstream_id, _S, route, (Video(video.url, duration),))

    def _app_of(self, body: QueueBody, fallback: str) -> str:
        """The ``{owner}/{app}`` of the returned ``status_url``, when it is one under our base
        URL; else the endpoint's own (fal says to use its URLs rather than build them)."""
        prefix, suffix = f"{self._base}/", f"/requests/{body.request_id}/status"
        url = body.status_url or ""
        if url.startswith(prefix) and url.endswith(suffix):
            app = url[len(prefix) : -len(suffix)]
            if _is_app(app):
                return app
        return fallback

    def _model(self, model: str) -> FalModel:
        if model not in self._models:
            raise ValueError(f"provider {self._name!r} does not serve {model!r}")
        return self._models[model]

    def _requests(self, route: str, upstream_id: str) -> str:
        if not _is_app(route):
            raise ValueError(f"{route!r} is not a fal route (owner/app)")
        return f"{self._base}/{route}/requests/{quote(upstream_id, safe='')}"

    async def _send(self, method: str, url: str, content: bytes | None = None) -> httpx.Response:
        return await send_json(
            self._http,
            self._name,
            method,
            url,
            authorization=f"Key {self._api_key}",
            content=content,
        )

    def _read(self, response: httpx.Response, *, about_request: bool) -> QueueBody | None:
        """The body of a 2xx answer, or ``None`` if unreadable; raises for refusals."""

        def refuse(response: httpx.Response) -> ProviderError:
            return self._refusal(response, about_request=about_request)

        return read_json(self._name, response, fal_wire.decode_queue, refuse)

    def _refusal(self, response: httpx.Response, *, about_request: bool) -> ProviderError:
        retry_after = retry_after_s(response.headers.get("Retry-After"), self._clock())
        error = classify(
            self._name,
            response.status_code,
            decode_error(response.content),
            error_type=response.headers.get("X-Fal-Error-Type"),
            about_request=about_request,
            retry_after=retry_after,
            redact=(self._api_key,),
        )
        return logged_refusal(self._name, response.status_code, error)

    def _clean(self, text: str) -> str | None:
        return clean(text, (self._api_key,)) or None
