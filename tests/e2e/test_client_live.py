"""The command-line client, as a real process, against the real program serving the simulator."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.e2e.live import ROOT, clean_env, serve

KEY = "mv_test_client_e2e"
ARGS = ["--input", '{"prompt": "a cat"}', "--wait", "--timeout", "30"]


def test_submit_wait_prints_a_video_url_that_serves() -> None:
    """``python -m adapter submit --wait`` polls the public API until succeeded."""
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "adapter", "submit", "--model", "kling-v3", *ARGS],
            env=clean_env(MINDVIDEO_BASE_URL=f"{live.url}/", MINDVIDEO_API_KEY=KEY),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        [url] = done.stdout.splitlines()
        assert url.startswith("http")
        assert httpx.get(url).status_code == 200
        assert done.stderr.splitlines()[-1].split()[1] == "succeeded"
    finally:
        live.stop()
