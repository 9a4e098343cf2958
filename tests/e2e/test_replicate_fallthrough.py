"""client -> adapter (serve, a providers file) -> a Kling gateway that cannot be reached, then
Replicate (the simulator's ``/replicate``), over real sockets: a Kling v3 task falls through to
Replicate and succeeds there."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapter.bootstrap.adapters import SIMULATOR_REPLICATE_TOKEN
from tests.e2e.live import Live, clean_env, free_port, serve, wait_terminal

KEY = "mv_live_replicate_fallthrough"
V3 = {"prompt": "a red car on a coast road", "duration": 7, "audio": True}


@pytest.fixture(scope="module")
def adapter(upstream: Live, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    closed = free_port()  # nothing listens there: the gateway is unavailable
    path: Path = tmp_path_factory.mktemp("replicate") / "providers.toml"
    path.write_text(
        f"""
[[provider]]
name = "gateway"
dialect = "kling-gateway"
base_url = "http://127.0.0.1:{closed}"
api_key_env = "GATEWAY_KEY"
models = ["kling-v3"]

[[provider]]
name = "replicate"
dialect = "replicate"
base_url = "{upstream.url}/replicate"
api_key_env = "REPLICATE_API_TOKEN"
models = ["kling-v3"]
""",
        encoding="utf-8",
    )
    live = serve(
        clean_env(
            MVA_BOOTSTRAP_KEY=KEY,
            MVA_PROVIDERS_FILE=str(path),
            GATEWAY_KEY="sim-key",
            REPLICATE_API_TOKEN=SIMULATOR_REPLICATE_TOKEN,
        )
    )
    yield live
    live.stop()


def test_a_kling_v3_task_falls_through_to_replicate_and_succeeds(
    adapter: Live, upstream: Live
) -> None:
    with httpx.Client(base_url=adapter.url, headers={"Authorization": f"Bearer {KEY}"}) as c:
        submitted = c.post("/api/v1/tasks", json={"model": "kling-v3", "input": V3})
        assert submitted.status_code == 200, submitted.text
        task_id = submitted.json()["task_id"]
        assert wait_terminal(c, task_id)[-1] == "succeeded", adapter.output()
        final = c.get(f"/api/v1/tasks/{task_id}").json()
    (video,) = final["output"]["videos"]
    # A Replicate prediction id (26 base32 characters), not a Kling task id (18 digits).
    assert re.fullmatch(rf"{upstream.url}/media/out/[a-z2-7]{{26}}-7s\.mp4", video["url"])
