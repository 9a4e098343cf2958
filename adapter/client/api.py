"""A small synchronous client for the public task API, and nothing of this package's insides.

Submit and get are MindVideo's own routes; events, cancel and list are adapter-defined. Every
failure is an :class:`ApiError`: the API's error body (``status``, ``code``, ``message``,
``param``), or the API could not be reached after the retries (``status`` 0).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import msgspec

#: statuses after which a task never changes again.
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})

STREAM_TIMEOUT = httpx.Timeout(10.0, read=60.0)  # longer than any heartbeat gap

T = TypeVar("T")


class Video(msgspec.Struct):
    url: str


class Output(msgspec.Struct):
    videos: list[Video] = []


class TaskError(msgspec.Struct):
    code: str = ""
    message: str = ""


class Task(msgspec.Struct):
    """The fields of a task the CLI reads; the rest of the body is kept, not decoded."""

    task_id: str
    status: str
    model: str = ""
    created_at: str = ""
    output: Output | None = None
    error: TaskError | None = None


class TaskPage(msgspec.Struct):
    data: list[Task]
    next_cursor: str | None = None


class Event(msgspec.Struct):
    id: str | None = None
    status: str | None = None


class _ErrorDetail(msgspec.Struct):
    code: str
    message: str
    param: str | None = None


class _ErrorBody(msgspec.Struct):
    error: _ErrorDetail


_decode_error = msgspec.json.Decoder(_ErrorBody).decode


@dataclass(frozen=True, slots=True)
class TaskReply:
    """A task answer: ``task`` holds the fields the CLI reads, ``body`` the whole JSON."""

    task: Task
    body: dict[str, Any]


class ApiError(Exception):
    """The API answered an error, or could not be reached (``status`` 0)."""

    def __init__(
        self, status: int, code: str | None, message: str, param: str | None = None
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.code is not None:
            param = f" (param: {self.param})" if self.param else ""
            return f"{self.code}: {self.message}{param}"
        return f"HTTP {self.status}: {self.message}" if self.status else self.message

    @classmethod
    def from_response(cls, response: httpx.Response) -> ApiError:
        try:
            detail = _decode_error(response.content).error
        except msgspec.DecodeError:
            return cls(response.status_code, None, response.text[:200])
        return cls(response.status_code, detail.code, detail.message, detail.param)


def is_transient(status: int) -> bool:
    return status == 429 or status >= 500


class ApiClient:
    """The task API over an injected ``httpx.Client``.

    Every request is retried on a connection error, a timeout, a 429 or a 5xx, up to
    ``retries`` more times with exponential backoff (or the server's ``Retry-After``).
    A submit is resent with the very same ``Idempotency-Key``, so a retry never pays twice.
    """

    def __init__(
        self,
        http: httpx.Client,
        base_url: str,
        api_key: str,
        *,
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = {"Authorization": f"Bearer {api_key}"}
        self._retries = retries
        self._sleep = sleep

    def submit(self, model: str, input: Mapping[str, Any], idempotency_key: str) -> TaskReply:
        body = msgspec.json.encode({"model": model, "input": input})
        headers = {"Content-Type": "application/json", "Idempotency-Key": idempotency_key}
        return _task(self._send("POST", "/api/v1/tasks", content=body, headers=headers))

    def get(self, task_id: str) -> TaskReply:
        return _task(self._send("GET", f"/api/v1/tasks/{_quote(task_id)}"))

    def cancel(self, task_id: str) -> TaskReply:
        return _task(self._send("POST", f"/api/v1/tasks/{_quote(task_id)}/cancel"))

    def events(self, task_id: str) -> dict[str, Any]:
        return _object(self._send("GET", f"/api/v1/tasks/{_quote(task_id)}/events"))

    def list(
        self, *, status: str | None = None, limit: int | None = None, cursor: str | None = None
    ) -> TaskPage:
        given = {"status": status, "limit": limit, "cursor": cursor}
        params = {name: value for name, value in given.items() if value is not None}
        response = self._send("GET", "/api/v1/tasks", params=params)
        return _convert(response, _object(response), TaskPage)

    def follow_events(self, task_id: str) -> Iterator[dict[str, Any]]:
        """Yield each event as it arrives (SSE) until the task ends and the stream closes.

        A stream that drops before a terminal status event is reopened with
        ``Last-Event-ID``, at most ``retries`` times in a row without a new event.
        """
        last_id: str | None = None
        failures = 0
        while True:
            delay: float | None = None
            try:
                with self._open_events(task_id, last_id) as response:
                    if response.status_code >= 400:
                        response.read()
                        if not is_transient(response.status_code) or failures >= self._retries:
                            raise ApiError.from_response(response)
                        delay = _retry_after(response)
                    elif "text/event-stream" not in response.headers.get("content-type", ""):
                        # No SSE here: the JSON list is all there is to show.
                        response.read()
                        yield from _object(response).get("events", [])
                        return
                    else:
                        for event, body in _events(response):
                            last_id = event.id or last_id
                            failures = 0
                            yield body
                            if event.status in TERMINAL:
                                return
            except httpx.TransportError as exc:
                if failures >= self._retries:
                    raise ApiError(0, None, f"event stream lost: {exc}") from exc
            if failures >= self._retries:
                raise ApiError(0, None, "event stream closed before the task ended")
            self._sleep(_backoff(failures) if delay is None else delay)
            failures += 1

    def _open_events(
        self, task_id: str, last_id: str | None
    ) -> AbstractContextManager[httpx.Response]:
        headers = {**self._auth, "Accept": "text/event-stream"}
        if last_id is not None:
            headers["Last-Event-ID"] = last_id
        url = f"{self._base}/api/v1/tasks/{_quote(task_id)}/events"
        return self._http.stream("GET", url, headers=headers, timeout=STREAM_TIMEOUT)

    def _send(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str | int] | None = None,
    ) -> httpx.Response:
        request = self._http.build_request(
            method,
            f"{self._base}{path}",
            content=content,
            headers={**self._auth, **(headers or {})},
            params=params,
        )
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:  # connect errors, timeouts, dropped links
                if last:
                    raise ApiError(0, None, f"cannot reach {request.url}: {exc}") from exc
                self._sleep(_backoff(attempt))
                continue
            if response.status_code < 400:
                return response
            if last or not is_transient(response.status_code):
                raise ApiError.from_response(response)
            delay = _retry_after(response)
            self._sleep(_backoff(attempt) if delay is None else delay)
        raise AssertionError("unreachable")  # the loop returns or raises on its last attempt


def _quote(task_id: str) -> str:
    return quote(task_id, safe="")


def _backoff(attempt: int) -> float:
    return float(min(8.0, 0.5 * 2**attempt))


def _retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` seconds, capped at a minute; an HTTP-date falls back to backoff."""
    try:
        return min(60.0, max(0.0, float(response.headers["retry-after"])))
    except (KeyError, ValueError):
        return None


def _object(response: httpx.Response) -> dict[str, Any]:
    return _convert(response, response.content, dict[str, Any])


def _convert(response: httpx.Response, data: bytes | str | dict[str, Any], kind: type[T]) -> T:
    """``data`` (JSON text, or a decoded object) as ``kind``; an :class:`ApiError` if it is not."""
    try:
        if isinstance(data, dict):
            return msgspec.convert(data, kind)
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError as exc:  # ValidationError included
        raise ApiError(response.status_code, None, f"unexpected answer: {exc}") from exc


def _task(response: httpx.Response) -> TaskReply:
    body = _object(response)
    return TaskReply(_convert(response, body, Task), body)


def _events(response: httpx.Response) -> Iterator[tuple[Event, dict[str, Any]]]:
    """Each server-sent event's JSON, with its id from the SSE ``id:`` line or else the JSON.

    An ``error`` event (the server ending the stream on a failure) is not a task event: it is
    skipped, and the stream's end is then a failure to retry.
    """
    for event_id, name, data in _messages(response.iter_lines()):
        if name == "error":
            continue
        body = _convert(response, data, dict[str, Any])
        event = _convert(response, body, Event)
        yield Event(event_id or event.id, event.status), body


def _messages(lines: Iterable[str]) -> Iterator[tuple[str | None, str, str]]:
    """``(id, event, data)`` per server-sent event; comments (heartbeats) and empty events are
    skipped."""
    event_id: str | None = None
    name = "message"
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield event_id, name, "\n".join(data)
            event_id, name, data = None, "message", []
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "data":
                data.append(value)
            elif field == "id":
                event_id = value
            elif field == "event":
                name = value
