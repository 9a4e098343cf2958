"""HTTP to a Kling-style task API, for each provider that speaks one (Kling, new-api's generic
task route): send with a bearer, read a 2xx body in any of the four shapes, classify refusals
(``kling_errors``), read what a submit made, and turn "no such task" into
``ProviderTaskNotFound``."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import msgspec

from adapter.core.errors import (
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRejected,
    ProviderTaskNotFound,
    ProviderUnavailable,
)
from adapter.core.values import TaskStatus, UpstreamState
from adapter.ports import ListedTask
from adapter.providers._http import (
    ensure_the_api,
    logged_refusal,
    map_httpx_errors,
    retry_after_s,
)
from adapter.providers.kling import wire as kling_wire
from adapter.providers.kling.errors import classify, decode_error, is_error, is_not_found
from adapter.providers.kling.shapes import read_task, task_id_of
from adapter.providers.kling.wire import ErrorBody, TaskBody


class TaskClient:
    """One upstream's HTTP side, named ``name`` in its errors and logs."""

    __slots__ = ("_bearer", "_clock", "_http", "_name", "_secrets")

    def __init__(
        self,
        name: str,
        http: httpx.AsyncClient,
        *,
        bearer: Callable[[], str],
        secrets: tuple[str, ...],
        clock: Callable[[], float],
    ) -> None:
        """``bearer`` gives the token for each request; ``secrets`` are masked in messages."""
        self._name = name
        self._http = http
        self._bearer = bearer
        self._secrets = secrets
        self._clock = clock

    async def send(self, method: str, url: str, content: bytes | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._bearer()}", "Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        with map_httpx_errors(self._name):
            return await self._http.request(method, url, content=content, headers=headers)

    async def submit(self, url: str, content: bytes, route: str) -> UpstreamState:
        """Create a task at ``url``; its state as the answer gives it (``queued`` at least)."""
        response = await self.send("POST", url, content)
        body = self.read(response)
        upstream_id = task_id_of(body) if body else None
        if body is None or upstream_id is None:
            # Something answered 2xx, but we cannot tell whether a task was created.
            raise ProviderOutcomeUnknown(
                self._name, "unrecognizable answer to a submit", status=response.status_code
            )
        view = read_task(body)
        if view is None:
            return UpstreamState(upstream_id, TaskStatus.QUEUED, route=route)
        return UpstreamState(upstream_id, view.status, route, view.videos, view.message)

    async def fetch(self, url: str, route: str, task_id: str) -> UpstreamState:
        """Query one task at ``url``; its "no such task" is ``ProviderTaskNotFound``."""
        response = await self.send("GET", url)
        try:
            body = self.read(response)
        except ProviderRejected as exc:
            if not is_not_found(exc):
                raise
            raise ProviderTaskNotFound(
                self._name, exc.message, status=exc.status, code=exc.code
            ) from exc
        view = read_task(body) if body else None
        if view is None:
            raise ProviderUnavailable(
                self._name, "unrecognizable answer to a query", status=response.status_code
            )
        upstream_id = view.upstream_id or task_id
        return UpstreamState(upstream_id, view.status, route, view.videos, view.message)

    async def fetch_list(self, url: str, route: str) -> list[ListedTask]:
        """One page of a family's tasks at ``url`` (the official API's list), newest first."""
        response = await self.send("GET", url)
        if not response.is_success:
            raise self._refusal(response, decode_error(response.content))
        ensure_the_api(self._name, response)
        try:
            listing = kling_wire.decode_list(response.content)
        except msgspec.DecodeError:
            listing = None
        if listing is None or listing.data is None:
            error = decode_error(response.content)
            if error is not None and is_error(TaskBody(code=error.code, error=error.error)):
                raise self._refusal(response, error)
            raise ProviderUnavailable(
                self._name, "unrecognizable answer to a list", status=response.status_code
            )
        if is_error(TaskBody(code=listing.code)):
            raise self._refusal(response, ErrorBody(listing.code, listing.message))
        found = []
        for data in listing.data:
            view = read_task(TaskBody(data=data))
            if view is None or view.upstream_id is None:
                continue
            info = data.task_info
            state = UpstreamState(view.upstream_id, view.status, route, view.videos, view.message)
            external = (info.external_task_id if info else None) or ""
            found.append(ListedTask(state, external, view.created_at_s))
        return found

    def read(self, response: httpx.Response) -> TaskBody | None:
        """The body of a 2xx answer, or ``None`` if unreadable; raises for refusals."""
        if not response.is_success:
            raise self._refusal(response, decode_error(response.content))
        ensure_the_api(self._name, response)
        try:
            body = kling_wire.decode_task(response.content)
        except msgspec.DecodeError:
            # Not a task; maybe still a readable refusal (a 200 with an odd ``data``).
            error = decode_error(response.content)
            if error is not None and is_error(TaskBody(code=error.code, error=error.error)):
                raise self._refusal(response, error) from None
            return None
        if is_error(body):
            raise self._refusal(response, body)
        return body

    def _refusal(
        self, response: httpx.Response, body: kling_wire.ErrorBody | None
    ) -> ProviderError:
        retry_after = retry_after_s(response.headers.get("Retry-After"), self._clock())
        error = classify(
            self._name, response.status_code, body, retry_after=retry_after, redact=self._secrets
        )
        return logged_refusal(self._name, response.status_code, error)
