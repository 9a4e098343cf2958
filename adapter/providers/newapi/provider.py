"""``NewApiProvider``: video tasks on new-api's generic task route, whatever vendor channel
(Ali, Vidu, Gemini, Vertex, Doubao, MiniMax) serves the model behind it.

Submit ``POST {base}/v1/video/generations`` with new-api's task submit body (``bodies``),
query ``GET {base}/v1/video/generations/{id}``; ``Authorization: Bearer <api key>``. The
answers are new-api's (an OpenAI-video object on submit, ``{"code": "success", "data":
TaskDto}`` on query) and its refusals its own (``task_not_exist``, ``fail_to_fetch_task``,
the middleware's ``{"error": {...}}``): they are read as the Kling gateway dialect reads them,
by the same client. docs/upstreams/new-api.md has what new-api's source shows, with commits.

new-api knows tasks only by its own ids and has no cancel, so ``lookup`` cannot find a task
whose submit answer was lost (its outcome stays unknown: never resubmitted blindly), and
``cancel`` sends nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from urllib.parse import quote

import httpx

from adapter.core.errors import ProviderOutcomeUnknown
from adapter.core.values import Carrier, ProviderCheck, UpstreamState, VideoJob
from adapter.providers.checks import check_answer, probe_id, served_models
from adapter.providers.kling.client import TaskClient
from adapter.providers.newapi.bodies import ROUTE, NewApiModel, encode


class NewApiProvider:
    """One new-api deployment; implements ``adapter.ports.VideoProvider``."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        http: httpx.AsyncClient,
        api_key: str,
        carried: Mapping[str, Carrier],
        models: Collection[str] | None = None,
        model_names: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``carried``: every model the catalogue says new-api makes, and how; ``models``: the
        ones this provider serves (all of them when ``None``); ``model_names``: the names its
        channels give some of them, where not the catalogue's (slug -> name)."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("the new-api base URL must be an http(s) URL")
        if not api_key:
            raise ValueError("the new-api provider needs an API key")
        served = served_models("new-api", carried, models)
        names = dict(model_names or {})
        if stray := names.keys() - served:
            raise ValueError(f"model_names names {sorted(stray)}, which it does not serve")
        self._name = name
        self._base = base_url.rstrip("/")
        self._models = {
            slug: NewApiModel.of(slug, carried[slug], names.get(slug)) for slug in sorted(served)
        }
        self._client = TaskClient(
            name, http, bearer=lambda: api_key, secrets=(api_key,), clock=clock
        )

    @property
    def name(self) -> str:
        return self._name

    def serves(self, model: str) -> bool:
        return model in self._models

    async def submit(self, job: VideoJob) -> UpstreamState:
        content = encode(self._model(job.model).build(job))
        return await self._client.submit(f"{self._base}/v1/video/generations", content, ROUTE)

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        if route != ROUTE:
            raise ValueError(f"unknown new-api route {route!r}; known: {ROUTE!r}")
        return await self._client.fetch(self._task_url(upstream_id), route, upstream_id)

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        """Never ``None``: new-api drops ids of ours and knows tasks by its own only.

        When the submit answer was lost, nothing can prove the task absent, and a resubmit
        could make (and charge for) a second one.
        """
        self._model(job.model)
        raise ProviderOutcomeUnknown(
            self._name,
            "new-api tasks cannot be looked up by our id; whether the lost submit created one "
            "is unknown",
        )

    async def cancel(self, route: str, upstream_id: str) -> bool:
        """new-api has no cancel for tasks: the task runs on, and its late result is ignored."""
        return False

    async def check(self) -> ProviderCheck:
        """Ask for a task that cannot exist: new-api answers ``task_not_exist``."""
        task_id = probe_id()
        return await check_answer(self._client.fetch(self._task_url(task_id), ROUTE, task_id))

    def __repr__(self) -> str:
        return f"NewApiProvider(name={self._name!r})"

    def _model(self, model: str) -> NewApiModel:
        try:
            return self._models[model]
        except KeyError:
            raise ValueError(f"provider {self._name!r} does not serve {model!r}") from None

    def _task_url(self, task_id: str) -> str:
        return f"{self._base}/v1/video/generations/{quote(task_id, safe='')}"
