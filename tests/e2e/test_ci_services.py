"""``deploy/ci-services.yml``: each service's command and environment, run as a process here
(no Docker engine runs on this machine) with only the ports moved to free ones, does what the
file says: a task made with the key it sets succeeds within seconds, with a video at the
address it links."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.e2e.live import Live, clean_env, free_port, wait_terminal

CI_SERVICES = Path(__file__).resolve().parents[2] / "deploy" / "ci-services.yml"


def service(name: str) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(CI_SERVICES.read_text(encoding="utf-8"))["services"]
    return dict(services[name])


def moved(command: list[str], port: int) -> list[str]:
    """The service's command after the executable, on ``port``."""
    assert command[0] == "mindvideo-adapter"
    args = list(command[1:])
    args[args.index("--port") + 1] = str(port)
    args[args.index("--host") + 1] = "127.0.0.1"
    return args


def test_the_mindvideo_service_runs_a_task_with_its_key_and_links_its_video() -> None:
    spec = service("mindvideo")
    env = {name: str(value) for name, value in spec["environment"].items()}
    api_port, sim_port = free_port(), free_port()
    env.update(
        MVA_SIM_HOST="127.0.0.1",
        MVA_SIM_PORT=str(sim_port),
        MVA_SIM_PUBLIC_URL=f"http://127.0.0.1:{sim_port}",
    )
    live = Live(moved(spec["command"], api_port), clean_env(**env), api_port)
    key = env["MVA_BOOTSTRAP_KEY"]
    try:
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"}) as c:
            made = c.post(
                "/api/v1/tasks",
                json={"model": "kling-v3", "input": {"prompt": "a cat", "duration": 5}},
            )
            assert made.status_code == 200, made.text
            assert wait_terminal(c, made.json()["task_id"], timeout=10)[-1] == "succeeded"
            url = c.get(f"/api/v1/tasks/{made.json()['task_id']}").json()["output"]["videos"][0]
        assert url["url"].startswith(f"http://127.0.0.1:{sim_port}/")
        assert httpx.get(url["url"]).status_code == 200
    finally:
        live.stop()


def test_the_upstream_service_is_the_simulator_alone() -> None:
    spec = service("upstream")
    port = free_port()
    env = {name: str(value) for name, value in spec["environment"].items()}
    live = Live(moved(spec["command"], port), clean_env(**env), port)
    try:
        answer = httpx.get(
            f"{live.url}/v1/video/generations/nope", headers={"Authorization": "Bearer sim-key"}
        )
        # A Kling gateway's answer for an unknown id, with the simulator's key.
        assert answer.status_code == 404 and answer.json()["code"] == 1203
        assert "healthz" in " ".join(spec["healthcheck"]["test"])
    finally:
        live.stop()
