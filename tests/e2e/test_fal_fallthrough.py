"""client -> adapter (serve, a providers file) -> a Kling gateway that cannot be reached, or
one that answers every submit 429 (Kling's rate limit), then fal (the simulator's ``/fal``),
over real sockets: a motion-control task falls through to fal and succeeds there."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from adapter.bootstrap.adapters import SIMULATOR_FAL_KEY
from tests.e2e.live import Live, clean_env, free_port, serve, wait_terminal

KEY = "mv_live_fal_fallthrough"
MOTION = {
    "prompt": "wave",
    "image_url": "https://example.com/portrait.jpg",
    "video_url": "https://example.com/ref-video-8s.mp4",
    "character_orientation": "image",
    "mode": "std",
}


def providers_file(directory: Path, gateway_url: str, upstream: Live) -> Path:
    """A Kling gateway at ``gateway_url`` first, then fal on the simulator."""
    path = directory / "providers.toml"
    path.write_text(
        f"""
[[provider]]
name = "gateway"
dialect = "kling-gateway"
base_url = "{gateway_url}"
api_key_env = "GATEWAY_KEY"
models = ["kling-v2-6-motion-control"]

[[provider]]
name = "fal"
dialect = "fal"
base_url = "{upstream.url}/fal"
api_key_env = "FAL_KEY"
models = ["kling-v2-6-motion-control"]
""",
        encoding="utf-8",
    )
    return path


def serve_with(path: Path, upstream: Live) -> Live:
    return serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=KEY,
            MVA_PROVIDERS_FILE=str(path),
            GATEWAY_KEY="sim-key",
            FAL_KEY=SIMULATOR_FAL_KEY,
            MVA_MEDIA_PROBE="best_effort",
            MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
            MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
        )
    )


@pytest.fixture(scope="module")
def adapter(upstream: Live, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    closed = free_port()  # nothing listens there: the gateway is unavailable
    live = serve_with(
        providers_file(tmp_path_factory.mktemp("fal"), f"http://127.0.0.1:{closed}", upstream),
        upstream,
    )
    yield live
    live.stop()


class RateLimitedKling(BaseHTTPRequestHandler):
    """A Kling gateway over its quota: every request is Kling's 429, code 1302."""

    #: The paths asked, across the server's handler instances.
    submits: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.submits.append(self.path)
        self.rfile.read(int(self.headers.get("content-length") or 0))
        body = json.dumps({"code": 1302, "message": "rate limit exceeded", "request_id": "r"})
        self.send_response(429)
        self.send_header("Content-Type", "application/json")
        self.send_header("Retry-After", "7")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def busy_gateway() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), RateLimitedKling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def submit_and_finish(adapter: Live) -> dict[str, object]:
    with httpx.Client(base_url=adapter.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        submitted = c.post(
            "/api/v1/tasks", json={"model": "kling-v2-6-motion-control", "input": MOTION}
        )
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["task_id"]
        assert wait_terminal(c, task_id)[-1] == "succeeded", adapter.output()
        final: dict[str, object] = c.get(f"/api/v1/tasks/{task_id}").json()
    return final


def test_a_task_refused_by_a_rate_limited_kling_is_made_by_fal(
    upstream: Live, busy_gateway: ThreadingHTTPServer, tmp_path: Path
) -> None:
    host, port = busy_gateway.server_address[:2]
    live = serve_with(providers_file(tmp_path, f"http://{host}:{port}", upstream), upstream)
    try:
        final = submit_and_finish(live)
    finally:
        live.stop()
    assert RateLimitedKling.submits == ["/kling/v1/videos/motion-control"]  # asked, refused
    (video,) = final["output"]["videos"]  # type: ignore[index]
    assert re.fullmatch(rf"{upstream.url}/media/out/[0-9a-f-]{{36}}-8s\.mp4", video["url"])


def test_a_motion_control_task_falls_through_to_fal_and_succeeds(
    adapter: Live, upstream: Live
) -> None:
    final = submit_and_finish(adapter)
    (video,) = final["output"]["videos"]  # type: ignore[index]
    # A fal request id (a uuid), not a Kling task id (18 digits): fal made it.
    assert re.fullmatch(rf"{upstream.url}/media/out/[0-9a-f-]{{36}}-8s\.mp4", video["url"])
