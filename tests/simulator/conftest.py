"""Fixtures for the simulated upstreams: a fake clock, the app, clients, credentials and bodies."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from starlette.applications import Starlette

from adapter.simulator import SimulatorConfig, create_simulator_app
from adapter.simulator.clock import ManualClock

#: 2026-03-29T17:24:36Z, the time of a real logged Kling submit.
START = 1_774_805_076.0
BASE_URL = "http://sim.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def start() -> float:
    return START


@pytest.fixture
def base_url() -> str:
    return BASE_URL


@pytest.fixture
def config() -> SimulatorConfig:
    return SimulatorConfig(queue_s=1.0, process_s=2.0)


@pytest.fixture
def app(config: SimulatorConfig, clock: ManualClock) -> Starlette:
    return create_simulator_app(config, clock=clock)


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def make_jwt(clock: ManualClock) -> Callable[..., str]:
    """Build an official Kling token as Kling's own sample does, times from the fake clock."""

    def make(
        *, ak: str = "sim-ak", sk: str = "sim-sk", exp_in: float = 1800, nbf_ago: float = 5
    ) -> str:
        now = int(clock())
        claims = {"iss": ak, "exp": now + int(exp_in), "nbf": now - int(nbf_ago)}
        with warnings.catch_warnings():  # the default secret is short on purpose
            warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
            return jwt.encode(claims, sk, algorithm="HS256", headers={"typ": "JWT"})

    return make


@pytest.fixture
def gateway_auth() -> dict[str, str]:
    return {"Authorization": "Bearer sim-key"}


@pytest.fixture
def official_auth(make_jwt: Callable[..., str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_jwt()}"}


@pytest.fixture
def order() -> Callable[..., dict[str, Any]]:
    """A valid motion-control submit body, with fields replaced or (as ``None``) removed."""

    def make(**changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "prompt": "the character dances",
            "image_url": "https://example.com/character.png",
            "video_url": "https://example.com/ref-video-8s.mp4",
            "character_orientation": "image",
            "mode": "std",
            "keep_original_sound": "yes",
        }
        body.update(changes)
        return {key: value for key, value in body.items() if value is not None}

    return make


#: A valid body of each Kling generation family.
FAMILY_BODIES: dict[str, dict[str, Any]] = {
    "text2video": {
        "model_name": "kling-v2-6",
        "prompt": "a cat surfs a wave",
        "mode": "pro",
        "duration": "10",
        "sound": "on",
        "aspect_ratio": "16:9",
    },
    "image2video": {
        "model_name": "kling-v2-6",
        "image": "https://example.com/first-frame.png",
        "prompt": "the cat waves",
        "mode": "std",
        "duration": "5",
    },
    "omni-video": {
        "model_name": "kling-v3",
        "prompt": "the cat walks into the sea",
        "image_list": [{"image_url": "https://example.com/first-frame.png", "type": "first_frame"}],
        "mode": "pro",
        "duration": "7",
        "aspect_ratio": "9:16",
    },
}


@pytest.fixture
def family_body() -> Callable[..., dict[str, Any]]:
    """A valid body of ``family``, with fields replaced or (as ``None``) removed."""

    def make(family: str, **changes: Any) -> dict[str, Any]:
        body = {**FAMILY_BODIES[family], **changes}
        return {key: value for key, value in body.items() if value is not None}

    return make


@pytest.fixture
def dashscope_auth() -> dict[str, str]:
    return {"Authorization": "Bearer sim-dashscope-key", "X-DashScope-Async": "enable"}


@pytest.fixture
def synthesis() -> Callable[..., dict[str, Any]]:
    """A valid DashScope submit body; ``input`` / ``parameters`` fields replaced or removed."""

    def make(
        *, model: str = "wan2.6-i2v-flash", parameters: dict[str, Any] | None = None, **inputs: Any
    ) -> dict[str, Any]:
        given: dict[str, Any] = {
            "prompt": "a cat surfs a wave",
            "img_url": "https://example.com/first-frame.png",
            **inputs,
        }
        params: dict[str, Any] = {"resolution": "720P", "duration": 5, **(parameters or {})}
        return {
            "model": model,
            "input": {key: value for key, value in given.items() if value is not None},
            "parameters": {key: value for key, value in params.items() if value is not None},
        }

    return make
