"""``ReplicateProvider``: video models on Replicate's predictions API.

Create ``POST {base}/v1/models/{owner}/{name}/predictions`` with ``{"input": {...}}`` and
``Authorization: Bearer <token>``; the answer is the prediction (``id``, ``status``,
``urls``). ``GET {base}/v1/predictions/{id}`` and ``POST {base}/v1/predictions/{id}/cancel``
are global: the prediction id is all a query needs, so the task's route is empty
(providers-research.md section 3). ``Prefer: wait`` is never sent: the create answers at once.

A failed prediction is ``failed`` (or ``aborted``: its deadline passed before it started)
with ``error``; a succeeded one has ``output``, the video's URL. Replicate takes no id of ours,
so a task whose create answer was lost cannot be found again: ``lookup`` always says the
outcome is unknown, and the task is never resubmitted blindly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Any
from urllib.parse import quote

import httpx

from adapter.core.errors import (
    ProviderBadAnswer,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderUnavailable,
)
from adapter.core.values import Carrier, ProviderCheck, TaskStatus, UpstreamState, Video, VideoJob
from adapter.providers._http import logged_refusal, read_json, retry_after_s, send_json
from adapter.providers.checks import check_answer, probe_id, served_models
from adapter.providers.inputs import Unservable
from adapter.providers.refusals import clean
from adapter.providers.replicate import wire as rw
from adapter.providers.replicate.bodies import ReplicateModel
from adapter.providers.replicate.errors import classify, decode_problem
from adapter.providers.replicate.wire import Prediction

DEFAULT_BASE_URL = "https://api.replicate.com"

_Q, _P, _S, _F = (TaskStatus.QUEUED, TaskStatus.PROCESSING, TaskStatus.SUCCEEDED, TaskStatus.FAILED)
#: The prediction statuses but the ends that carry more (``succeeded``, ``failed``,
#: ``aborted``). A status not listed reads as processing: Replicate added ``aborted`` late,
#: and its clients say to accept unknown strings.
STATUS = {"starting": _Q, "processing": _P, "canceled": TaskStatus.CANCELLED}
#: The statuses of a prediction that has ended without being cancelled.
_ENDED = frozenset({"succeeded", "failed", "aborted"})
#: The only webhook events asked for: the adapter asks again on a callback, once it ends.
WEBHOOK_EVENTS = ["completed"]


class ReplicateProvider:
    """One Replicate account; implements ``adapter.ports.VideoProvider``."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient,
        api_token: str,
        carried: Mapping[str, Carrier],
        models: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``carried``: every model the catalogue says Replicate makes, and how; ``models``:
        the ones this provider serves (all of them when ``None``)."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the Replicate base URL must be an http(s) URL")
        if not api_token:
            raise ValueError("the Replicate provider needs an API token")
        served = served_models("replicate", carried, models)
        self._name = name
        self._base = base_url.rstrip("/")
        self._http = http
        self._token = api_token
        self._models = {slug: ReplicateModel.of(slug, carried[slug]) for slug in sorted(served)}
        self._clock = clock

    @property
    def name(self) -> str:
        return self._name

    def serves(self, model: str) -> bool:
        return model in self._models

    async def submit(self, job: VideoJob) -> UpstreamState:
        """Create the prediction; an input Replicate cannot take is refused unsent."""
        model = self._model(job.model)
        try:
            given = model.plan(job)
        except Unservable as exc:
            raise ProviderUnavailable(
                self._name, f"not sent to Replicate: {exc}; another provider may take it"
            ) from None
        body = rw.CreateBody(input=given)
        if job.callback_url and job.callback_url.startswith("https://"):
            # A hint only (Replicate calls HTTPS webhooks alone): the callback endpoint asks
            # Replicate itself and never reads the body.
            body = rw.CreateBody(given, job.callback_url, WEBHOOK_EVENTS)
        url = f"{self._base}/v1/models/{model.name}/predictions"
        response = await self._send("POST", url, rw.encode(body))
        prediction = self._read(response, about_prediction=False)
        if prediction is None or not prediction.id:
            # Something answered 2xx, but we cannot tell whether a prediction was made.
            raise ProviderOutcomeUnknown(
                self._name, "unrecognizable answer to a create", status=response.status_code
            )
        status = _P if prediction.status == "processing" else _Q
        return UpstreamState(prediction.id, status)

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        """The prediction's status; once it succeeded, its video."""
        response = await self._send("GET", self._prediction(upstream_id))
        prediction = self._read(response, about_prediction=True)
        if prediction is None or not prediction.status:
            raise ProviderBadAnswer(
                self._name, "the answer to a query is not a prediction", status=response.status_code
            )
        word = prediction.status
        if word == "succeeded":
            url = _url_of(prediction.output)
            if url is None:
                why = "its data was removed" if prediction.data_removed else "it has no output URL"
                raise ProviderUnavailable(
                    self._name, f"the succeeded prediction's video cannot be read: {why}"
                )
            return UpstreamState(upstream_id, _S, route, (Video(url),))
        if word in ("failed", "aborted"):
            reason = _text(prediction.error) or f"the prediction {word}"
            return UpstreamState(upstream_id, _F, route, message=self._clean(reason))
        return UpstreamState(upstream_id, STATUS.get(word, _P), route)

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        """Never ``None``: Replicate cannot be asked for a prediction by an id of ours.

        Its id exists only in the create answer, so when that answer was lost nothing can
        prove the prediction absent, and a resubmit could make (and charge for) a second one.
        """
        self._model(job.model)
        raise ProviderOutcomeUnknown(
            self._name,
            "Replicate predictions cannot be looked up by our id; whether the lost create "
            "made one is unknown",
        )

    async def cancel(self, route: str, upstream_id: str) -> bool:
        """Ask Replicate to cancel; ``True`` when the prediction is (being) cancelled."""
        response = await self._send("POST", f"{self._prediction(upstream_id)}/cancel")
        prediction = self._read(response, about_prediction=True)
        if prediction is not None and prediction.status in _ENDED:
            raise ProviderRejected(
                self._name, f"the Replicate prediction had already {prediction.status}"
            )
        return True

    async def check(self) -> ProviderCheck:
        """Ask for a prediction that cannot exist: Replicate answers 404."""
        return await check_answer(self.query("", probe_id()))

    def __repr__(self) -> str:
        return f"ReplicateProvider(name={self._name!r})"

    def _model(self, model: str) -> ReplicateModel:
        if model not in self._models:
            raise ValueError(f"provider {self._name!r} does not serve {model!r}")
        return self._models[model]

    def _prediction(self, upstream_id: str) -> str:
        return f"{self._base}/v1/predictions/{quote(upstream_id, safe='')}"

    async def _send(self, method: str, url: str, content: bytes | None = None) -> httpx.Response:
        return await send_json(
            self._http,
            self._name,
            method,
            url,
            authorization=f"Bearer {self._token}",
            content=content,
        )

    def _read(self, response: httpx.Response, *, about_prediction: bool) -> Prediction | None:
        """The prediction of a 2xx answer, or ``None`` if unreadable; raises for refusals."""

        def refuse(response: httpx.Response) -> ProviderError:
            return self._refusal(response, about_prediction=about_prediction)

        return read_json(self._name, response, rw.decode_prediction, refuse)

    def _refusal(self, response: httpx.Response, *, about_prediction: bool) -> ProviderError:
        error = classify(
            self._name,
            response.status_code,
            decode_problem(response.content),
            about_prediction=about_prediction,
            retry_after=retry_after_s(response.headers.get("Retry-After"), self._clock()),
            redact=(self._token,),
        )
        return logged_refusal(self._name, response.status_code, error)

    def _clean(self, text: str) -> str | None:
        return clean(text, (self._token,)) or None


def _url_of(output: Any) -> str | None:
    """The video URL of an output: a URL string, or the first of a list of them."""
    if isinstance(output, list) and output:
        output = output[0]
    return output if isinstance(output, str) and output else None


def _text(error: Any) -> str:
    """A prediction's ``error`` as text (a string; anything else as its JSON)."""
    if error is None or isinstance(error, str):
        return error or ""
    return rw.encode(error).decode()
