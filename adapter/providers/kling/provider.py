"""``KlingProvider``: Kling video tasks over either of the two dialects a Kling upstream speaks.

- ``gateway``: a new-api-style reseller (e.g. ezmodel). ``Authorization: Bearer <api key>``,
  submit ``POST {base}/kling/v1/videos/{route}``, query ``GET {base}/v1/video/generations/{id}``.
- ``official``: the Kling API itself. A short-lived HS256 JWT as the bearer (``kling_auth``),
  submit ``POST {base}/v1/videos/{route}``, query ``GET {base}/v1/videos/{route}/{id}``: there
  is no generic query path, so a task is always queried on the family it was created on, and
  that family (the *route*) is returned in ``UpstreamState.route`` for the caller to keep.
  ``GET {base}/v1/videos/{route}?pageNum=&pageSize=`` lists a family's tasks, newest first,
  so one request refreshes hundreds (``list_tasks``).

Answers are read tolerantly (``kling_shapes``) and refusals classified (``kling_errors``), since
gateways answer in four shapes and three error families (upstream-contracts.md 2.3, 1.7).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import Literal
from urllib.parse import quote

import httpx
import msgspec

from adapter.core.errors import (
    ProviderError,
    ProviderTaskNotFound,
)
from adapter.core.values import Carrier, ProviderCheck, UpstreamState, VideoJob
from adapter.ports import ListPage
from adapter.providers._http import not_the_api
from adapter.providers.checks import check_answer, probe_id, served_models
from adapter.providers.kling import wire as kling_wire
from adapter.providers.kling.auth import KlingTokenSigner
from adapter.providers.kling.bodies import ROUTES as KLING_ROUTES
from adapter.providers.kling.bodies import KlingModel
from adapter.providers.kling.bodies import raw_media as raw_media  # re-exported
from adapter.providers.kling.client import TaskClient

Dialect = Literal["gateway", "official"]


#: Every family a task can have been created on, so every route ``query`` accepts.
ROUTES = KLING_ROUTES
#: Tasks a list page asks for, and the last page number, as the official API allows.
LIST_PAGE_SIZE = 500
LIST_MAX_PAGE = 1000


class KlingProvider:
    """One Kling upstream; implements ``adapter.ports.VideoProvider``."""

    def __init__(
        self,
        name: str,
        *,
        base_url: str,
        http: httpx.AsyncClient,
        dialect: Dialect,
        api_key: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        carried: Mapping[str, Carrier],
        models: Collection[str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``carried``: every model the catalogue says Kling makes, and how; ``models``: the
        ones this provider serves (all of them when ``None``)."""
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("KLING_BASE_URL must be an http(s) URL")
        self._signer: KlingTokenSigner | None = None
        if dialect == "gateway":
            if not api_key:
                raise ValueError("the gateway Kling dialect needs KLING_API_KEY")
        elif dialect == "official":
            if not access_key or not secret_key:
                raise ValueError(
                    "the official Kling dialect needs KLING_ACCESS_KEY and KLING_SECRET_KEY"
                )
            self._signer = KlingTokenSigner(access_key, secret_key, clock=clock)
        else:
            raise ValueError(f"unknown Kling dialect {dialect!r}: use 'gateway' or 'official'")
        served = served_models("Kling", carried, models)
        self._name = name
        self._base = base_url.rstrip("/")
        self._dialect = dialect
        self._api_key = api_key
        self._models = {slug: KlingModel(slug, carried[slug]) for slug in sorted(served)}
        secrets = tuple(s for s in (api_key, secret_key) if s)
        self._client = TaskClient(name, http, bearer=self._bearer, secrets=secrets, clock=clock)

    @property
    def name(self) -> str:
        return self._name

    def serves(self, model: str) -> bool:
        return model in self._models

    async def submit(self, job: VideoJob) -> UpstreamState:
        route, request = self._model(job.model).build(job)
        if self._dialect == "gateway":
            # new-api's Kling middleware loses the rewritten body and then looks for ``model``:
            # without it every submit is a 400 "Model name not specified". new-api itself
            # sends both upstream (upstream-contracts 1.3, 1.9).
            request = msgspec.structs.replace(request, model=request.model_name)
        content = kling_wire.encode(request)
        return await self._client.submit(self._submit_url(route), content, route)

    async def query(self, route: str, upstream_id: str) -> UpstreamState:
        if route not in ROUTES:
            raise ValueError(f"unknown Kling route {route!r}; known: {sorted(ROUTES)}")
        return await self._fetch(route, upstream_id)

    async def lookup(self, job: VideoJob) -> UpstreamState | None:
        """Query by our ``external_task_id``.

        The official API accepts it in place of its own task id, so its "not found" is an
        answer (``None``: the task never arrived). A gateway may only know its own ids (stock
        new-api does, and drops ``external_task_id``: upstream-contracts.md 1.6, 1.9), so its
        "not found" is raised as ``ProviderTaskNotFound``: it has no task by our id, but it
        cannot rule out one under its own, and resubmitting on it could charge twice.
        """
        model = self._model(job.model)
        try:
            return await self._fetch(model.route_of(job), job.external_id)
        except ProviderTaskNotFound as exc:
            if self._dialect == "official":
                return None
            raise ProviderTaskNotFound(
                self._name,
                f"it has no task with our id {job.external_id} ({exc.message}), and a gateway "
                "knows tasks only by its own ids",
                status=exc.status,
                code=exc.code,
            ) from exc

    def lists(self, route: str) -> bool:
        """The official API lists a family's tasks (``GET /v1/videos/{route}``); a gateway
        has no such route (new-api lists nothing)."""
        return self._dialect == "official" and route in ROUTES

    async def list_tasks(self, route: str, page: int) -> ListPage:
        """Page ``page`` of the tasks made on ``route``, ``LIST_PAGE_SIZE`` a page, newest
        first (``pageNum`` 1-1000, ``pageSize`` 1-500: upstream-contracts.md 3.2)."""
        if not self.lists(route):
            raise ValueError(f"provider {self._name!r} cannot list {route!r} tasks")
        if not 1 <= page <= LIST_MAX_PAGE:
            raise ValueError(f"page must be 1 to {LIST_MAX_PAGE}, got {page}")
        url = f"{self._base}/v1/videos/{route}?pageNum={page}&pageSize={LIST_PAGE_SIZE}"
        tasks = await self._client.fetch_list(url, route)
        return ListPage(tasks, full=len(tasks) >= LIST_PAGE_SIZE)

    async def cancel(self, route: str, upstream_id: str) -> bool:
        """Kling has no cancel: the task runs on, and its late result is ignored."""
        return False

    async def check(self) -> ProviderCheck:
        """Ask for a task that cannot exist; on a gateway, also try each family's query route.

        Stock new-api has text2video and image2video routes only, and answers the others with
        its web UI: a family whose query route answers a web page is likely missing there.
        """
        families = sorted({f for model in self._models.values() for f in model.families})
        task_id = probe_id()
        found = await check_answer(self._fetch(families[0], task_id))
        if not found.ok or self._dialect != "gateway":
            return found
        warnings = [w for f in families if (w := await self._route_warning(f, task_id))]
        return msgspec.structs.replace(found, warnings=found.warnings + tuple(warnings))

    async def _route_warning(self, family: str, task_id: str) -> str | None:
        try:
            url = f"{self._base}/kling/v1/videos/{family}/{task_id}"
            response = await self._client.send("GET", url)
        except ProviderError:
            return None
        if not response.is_success or not_the_api(self._name, response) is None:
            return None
        models = ", ".join(slug for slug, m in self._models.items() if family in m.families)
        return (
            f"GET /kling/v1/videos/{family}/{{id}} answered a web page: the gateway may have no "
            f"{family} route (stock new-api has none but text2video and image2video), so "
            f"{models} tasks that need it would fail there"
        )

    def __repr__(self) -> str:
        return f"KlingProvider(name={self._name!r}, dialect={self._dialect!r})"

    async def _fetch(self, route: str, task_id: str) -> UpstreamState:
        return await self._client.fetch(self._query_url(route, task_id), route, task_id)

    def _model(self, model: str) -> KlingModel:
        try:
            return self._models[model]
        except KeyError:
            raise ValueError(f"provider {self._name!r} does not serve {model!r}") from None

    def _submit_url(self, route: str) -> str:
        prefix = "/kling" if self._dialect == "gateway" else ""
        return f"{self._base}{prefix}/v1/videos/{route}"

    def _query_url(self, route: str, task_id: str) -> str:
        task_id = quote(task_id, safe="")
        if self._dialect == "gateway":
            return f"{self._base}/v1/video/generations/{task_id}"
        return f"{self._base}/v1/videos/{route}/{task_id}"

    def _bearer(self) -> str:
        if self._signer is not None:
            return self._signer.token()
        return self._api_key or ""
