"""Reading a live ``text/event-stream`` answer, and webhook receivers, for the e2e tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def read_sse(
    base_url: str, key: str, task_id: str, *, last_id: str | None = None, limit_s: float = 15
) -> tuple[list[dict[str, Any]], int]:
    """Every event of one stream until the server closes it, and how many heartbeats came."""
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    if last_id is not None:
        headers["Last-Event-ID"] = last_id
    events: list[dict[str, Any]] = []
    heartbeats = 0
    frame: dict[str, str] = {}
    url = f"{base_url}/api/v1/tasks/{task_id}/events"
    with httpx.stream("GET", url, headers=headers, timeout=limit_s) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith(":"):
                heartbeats += 1
            elif line == "":
                if frame:
                    data = json.loads(frame["data"])
                    assert frame["id"] == data["id"] and frame["event"] == data["type"]
                    events.append(data)
                frame = {}
            else:
                name, _, value = line.partition(": ")
                frame[name] = value
    return events, heartbeats


class Receiver:
    """A webhook endpoint on loopback that answers with scripted statuses (then 200)."""

    def __init__(self, *statuses: int) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict[str, str], bytes, int]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
                with receiver.arrived:
                    receiver.received.append((dict(self.headers), body, status))
                    receiver.arrived.notify_all()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/video"

    def wait_for(self, count: int, timeout: float) -> list[tuple[dict[str, str], bytes, int]]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.received) >= count, timeout=timeout)
            return list(self.received)


@contextmanager
def receiving(*statuses: int) -> Iterator[Receiver]:
    receiver = Receiver(*statuses)
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


class SilentReceiver:
    """A webhook endpoint on loopback that reads each delivery and never answers it."""

    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.arrived.set()
                receiver.release.wait(timeout=60)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/silent"


@contextmanager
def silent_receiver() -> Iterator[SilentReceiver]:
    receiver = SilentReceiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.release.set()
        receiver.server.shutdown()
        receiver.server.server_close()
