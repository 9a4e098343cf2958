"""The simulator's configuration and its defaults."""

from __future__ import annotations

import time

import httpx
import pytest

from adapter.simulator import MARKERS, SimulatorConfig, create_simulator_app


@pytest.mark.parametrize(
    "changes", [{"queue_s": -1.0}, {"process_s": -0.1}, {"max_tasks": 0}], ids=str
)
def test_impossible_settings_are_refused(changes: dict[str, float]) -> None:
    """Negative durations and an empty task table raise ValueError at construction."""
    with pytest.raises(ValueError, match=">="):
        SimulatorConfig(**changes)  # type: ignore[arg-type]


def test_defaults_match_the_documented_ones() -> None:
    """The defaults are the documented development credentials and timings."""
    config = SimulatorConfig()
    assert (config.api_key, config.access_key, config.secret_key) == ("sim-key", "sim-ak", "sim-sk")
    assert config.dashscope_api_key == "sim-dashscope-key"
    assert (config.queue_s, config.process_s, config.public_url) == (0.5, 1.5, "")
    assert config.require_auth


def test_markers_table_documents_every_marker() -> None:
    """MARKERS names each marker, with a one-line effect, for the README."""
    assert all(marker.startswith("[sim:") and effect for marker, effect in MARKERS.items())
    assert len(MARKERS) == 12


@pytest.mark.anyio
async def test_app_runs_on_the_wall_clock_with_default_config() -> None:
    """With no arguments the app uses SimulatorConfig() and time.time."""
    app = create_simulator_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        submitted = await client.post(
            "/kling/v1/videos/motion-control",
            json={
                "image_url": "https://example.com/a.png",
                "video_url": "https://example.com/ref-video-8s.mp4",
                "character_orientation": "video",
                "mode": "pro",
            },
            headers={"Authorization": "Bearer sim-key"},
        )
    created_ms = submitted.json()["data"]["created_at"]
    assert abs(created_ms / 1000 - time.time()) < 60
