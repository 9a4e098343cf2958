"""A fake of the public task API for ``httpx.MockTransport``: tasks in a dict, scripted statuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

KEY = "mv_test_cli"
BASE = "http://api.test"


def sse(*events: dict[str, Any], heartbeat: bool = False) -> bytes:
    """Events as the server frames them; with a heartbeat comment before each."""
    text = "".join(
        (": heartbeat\n\n" if heartbeat else "")
        + f"id: {e['id']}\nevent: {e['type']}\ndata: {json.dumps(e)}\n\n"
        for e in events
    )
    return text.encode()


def event(n: int, status: str) -> dict[str, Any]:
    return {"id": f"ev_{n}", "type": "status", "status": status, "at": f"2026-01-01T00:00:0{n}Z"}


class Stream(httpx.SyncByteStream):
    """An SSE body that ends cleanly, or drops the connection after its bytes."""

    def __init__(self, body: bytes, *, drops: bool = False) -> None:
        self._body = body
        self._drops = drops

    def __iter__(self) -> Iterator[bytes]:
        yield self._body
        if self._drops:
            raise httpx.ReadError("connection reset by peer")


class FakeApi:
    """Each GET of a task moves it one step along ``script``; the last step sticks."""

    def __init__(self, script: tuple[str, ...] = ("queued", "processing", "succeeded")) -> None:
        self.script = script
        self.tasks: dict[str, dict[str, Any]] = {}
        self.steps: dict[str, int] = {}
        self.by_key: dict[str, str] = {}
        self.requests: list[httpx.Request] = []
        #: what the next POST /api/v1/tasks attempts meet instead of an answer, in order.
        self.submit_failures: list[Exception | httpx.Response] = []
        #: the answers to successive SSE requests for events.
        self.streams: list[httpx.Response] = []

    def add(self, task_id: str, status: str = "queued", model: str = "kling-v3") -> None:
        self.tasks[task_id] = {
            "request_id": "req_1",
            "task_id": task_id,
            "model": model,
            "status": status,
            "cost_estimate": 0.0756,
            "output": None,
            "error": None,
            "created_at": f"2026-01-01T00:00:{len(self.tasks):02d}Z",
        }
        self.steps[task_id] = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return error(401, "invalid_api_key", "The API key is not valid.")
        parts = request.url.path.removeprefix("/api/v1/tasks").strip("/").split("/")
        if request.method == "POST" and parts == [""]:
            return self.submit(request)
        if parts == [""]:
            return self.page(request)
        if parts[0] not in self.tasks:
            return error(404, "task_not_found", f"No task {parts[0]}.")
        task = self.tasks[parts[0]]
        if parts[1:] == ["cancel"]:
            task["status"] = "cancelled"
        elif parts[1:] == ["events"]:
            if request.headers.get("accept") == "text/event-stream":
                return self.streams.pop(0)
            return httpx.Response(200, json={"task_id": parts[0], "events": [event(1, "queued")]})
        else:
            self.advance(task)
        return httpx.Response(200, json=task)

    def submit(self, request: httpx.Request) -> httpx.Response:
        if self.submit_failures:
            failure = self.submit_failures.pop(0)
            if isinstance(failure, Exception):
                raise failure
            return failure
        key = request.headers["idempotency-key"]
        if key not in self.by_key:
            self.by_key[key] = f"task_{len(self.tasks) + 1}"
            self.add(self.by_key[key], model=json.loads(request.content)["model"])
        return httpx.Response(200, json=self.tasks[self.by_key[key]])

    def advance(self, task: dict[str, Any]) -> None:
        step = min(self.steps[task["task_id"]] + 1, len(self.script) - 1)
        self.steps[task["task_id"]] = step
        task["status"] = self.script[step]
        if task["status"] == "succeeded":
            task["output"] = {"videos": [{"url": f"https://cdn.test/{task['task_id']}.mp4"}]}
        elif task["status"] == "failed":
            task["error"] = {"code": "generation_failed", "message": "face not detected"}

    def page(self, request: httpx.Request) -> httpx.Response:
        newest = [t for t in reversed(self.tasks.values())]
        start = int(request.url.params.get("cursor", "0"))
        limit = int(request.url.params.get("limit", "20"))
        end = start + limit
        cursor = str(end) if end < len(newest) else None
        return httpx.Response(200, json={"data": newest[start:end], "next_cursor": cursor})


def error(status: int, code: str, message: str, **extra: str) -> httpx.Response:
    body = {"error": {"code": code, "message": message, **extra}, "request_id": "req_e"}
    return httpx.Response(status, json=body)
