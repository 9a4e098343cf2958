"""client -> adapter (serve, a providers file) -> a Kling gateway that cannot be reached, then
fal (the simulator's ``/fal``), over real sockets: a motion-control task falls through to fal
and succeeds there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

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


@pytest.fixture(scope="module")
def adapter(upstream: Live, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    closed = free_port()  # nothing listens there: the gateway is unavailable
    path: Path = tmp_path_factory.mktemp("fal") / "providers.toml"
    path.write_text(
        f"""
[[provider]]
name = "gateway"
dialect = "kling-gateway"
base_url = "http://127.0.0.1:{closed}"
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
    live = serve(
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
    yield live
    live.stop()


def test_a_motion_control_task_falls_through_to_fal_and_succeeds(
    adapter: Live, upstream: Live
) -> None:
    with httpx.Client(base_url=adapter.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        submitted = c.post(
            "/api/v1/tasks", json={"model": "kling-v2-6-motion-control", "input": MOTION}
        )
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["task_id"]
        assert wait_terminal(c, task_id)[-1] == "succeeded", adapter.output()
        final = c.get(f"/api/v1/tasks/{task_id}").json()
    (video,) = final["output"]["videos"]
    # A fal request id (a uuid), not a Kling task id (18 digits): fal made it.
    assert re.fullmatch(rf"{upstream.url}/media/out/[0-9a-f-]{{36}}-8s\.mp4", video["url"])
