"""No secret reaches a log line: a whole life on real processes at log level debug, in both
log formats, with every kind of secret in play, and every line read for each of them."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from adapter.service.callbacks import CallbackTokens
from tests.e2e.live import Live, clean_env, free_port, wait_terminal
from tests.e2e.sse import receiving

ADMIN_TOKEN = "adm-6a1f0c3e9b7d4e21a55c"
CALLBACK_SECRET = "cbs-3f9e1d7c2b5a4e60b8d1"
#: The simulator's credentials (``SimulatorConfig``), which the adapter must send it.
UPSTREAM = {
    "KLING_API_KEY": "sim-key",
    "KLING_ACCESS_KEY": "sim-ak",
    "KLING_SECRET_KEY": "sim-sk",
    "DASHSCOPE_API_KEY": "sim-dashscope-key",
    "NEWAPI_API_KEY": "sim-key",
}


def text2video(prompt: str, **extra: object) -> dict[str, object]:
    return {"model": "kling-v3", "input": {"prompt": prompt}, **extra}


def image2video() -> dict[str, object]:
    return {
        "model": "wan2-6-i2v-flash",
        "input": {
            "prompt": "turn and smile",
            "resolution": "720p",
            "duration": 5,
            "image_urls": ["https://example.com/portrait.jpg"],
        },
    }


@pytest.mark.parametrize(
    ("log_format", "kling_auth"),
    [("text", "KLING_API_KEY"), ("json", "KLING_ACCESS_KEY")],
    ids=["text-gateway-key", "json-official-keys"],
)
def test_a_debug_life_logs_no_secret(upstream: Live, log_format: str, kling_auth: str) -> None:
    """The Kling credentials are the gateway's key in one run, the official pair in the other."""
    port = free_port()
    public_url = f"http://127.0.0.1:{port}"
    kling = (
        {"KLING_API_KEY": UPSTREAM["KLING_API_KEY"]}
        if kling_auth == "KLING_API_KEY"
        else {k: UPSTREAM[k] for k in ("KLING_ACCESS_KEY", "KLING_SECRET_KEY")}
    )
    env = clean_env(
        MVA_LOG_LEVEL="debug",
        MVA_LOG_FORMAT=log_format,
        MVA_ADMIN_TOKEN=ADMIN_TOKEN,
        MVA_PUBLIC_URL=public_url,
        MVA_CALLBACK_SECRET=CALLBACK_SECRET,
        MVA_WEBHOOK_ALLOW_HOSTS="127.0.0.1",
        MVA_MEDIA_PROBE="best_effort",
        MVA_MEDIA_REWRITES=f"example.com={upstream.url}/media",
        MVA_MEDIA_ALLOW_HOSTS="127.0.0.1",
        KLING_BASE_URL=upstream.url,
        DASHSCOPE_BASE_URL=upstream.url,
        DASHSCOPE_API_KEY=UPSTREAM["DASHSCOPE_API_KEY"],
        NEWAPI_BASE_URL=f"{upstream.url}/newapi",
        NEWAPI_API_KEY=UPSTREAM["NEWAPI_API_KEY"],
        **kling,
    )
    live = Live(["serve", "--port", str(port)], env, port)
    secrets = {ADMIN_TOKEN, CALLBACK_SECRET, *env_secrets(env)}
    try:
        admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        created = httpx.post(f"{live.url}/admin/v1/keys", json={"name": "logs"}, headers=admin)
        assert created.status_code == 201, created.text
        key = created.json()["secret"]
        secrets.add(key)
        client = httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {key}"})
        whsec = client.get("/api/v1/webhooks/secret").json()["secret"]
        secrets.add(whsec)
        rotated = client.post("/api/v1/webhooks/secret/rotate").json()["secret"]
        secrets.add(rotated)
        with receiving(200, 200) as receiver:
            hooked = submit(client, text2video("a cat", webhook_url=receiver.url))
            wan = submit(client, image2video())
            assert wait_terminal(client, hooked)[-1] == "succeeded"
            assert wait_terminal(client, wan)[-1] == "succeeded"
            receiver.wait_for(1, timeout=20)
        cancelled = submit(client, text2video("wait [sim:stay-queued]"))
        assert client.post(f"/api/v1/tasks/{cancelled}/cancel").status_code == 200
        assert client.get(f"/api/v1/tasks/{hooked}/events").status_code == 200
        assert client.get("/api/v1/tasks").status_code == 200
        bad = httpx.get(
            f"{live.url}/api/v1/tasks", headers={"Authorization": "Bearer mv_live_notakey0123"}
        )
        assert bad.status_code == 401
        secrets.add("mv_live_notakey0123")
        wrong_admin = httpx.get(
            f"{live.url}/admin/v1/keys", headers={"Authorization": f"Bearer {ADMIN_TOKEN}x"}
        )
        assert wrong_admin.status_code == 401
        tokens = CallbackTokens(public_url, CALLBACK_SECRET.encode())
        for task_id in (hooked, wan, cancelled):
            for provider in ("kling", "dashscope", "newapi"):
                secrets.add(callback_token(tokens, provider, task_id))
        time.sleep(0.5)  # the last deliveries' and callbacks' lines
    finally:
        output = live.output()
        live.stop()
    lines = output.splitlines()
    assert any("http.request" in line for line in lines), output  # debug and info were on
    if log_format == "json":
        logged = [line for line in lines if line.startswith("{")]
        assert logged and all(json.loads(line)["event"] for line in logged)
    # The banner (stdout) shows only the key serve made for the embedded store, by design.
    leaks = {secret: line for secret in secrets for line in lines if secret in line}
    assert not leaks, leaks


def submit(client: httpx.Client, body: dict[str, object]) -> str:
    answer = client.post("/api/v1/tasks", json=body)
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["task_id"]
    return task_id


def env_secrets(env: dict[str, str]) -> set[str]:
    return {env[name] for name in UPSTREAM if name in env}


def callback_token(tokens: CallbackTokens, provider: str, task_id: str) -> str:
    url = tokens.url_for(provider, task_id) or ""
    [token] = parse_qs(urlsplit(url).query)["token"]
    return token
