"""Authentication of the simulated Kling upstream: gateway Bearer keys and official JWTs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from adapter.simulator import SimulatorConfig, create_simulator_app
from adapter.simulator.clock import ManualClock

pytestmark = pytest.mark.anyio

Order = Callable[..., dict[str, Any]]
MakeJwt = Callable[..., str]
GATEWAY_SUBMIT = "/kling/v1/videos/motion-control"
OFFICIAL_SUBMIT = "/v1/videos/motion-control"


def assert_kling_error(response: httpx.Response, status: int, code: int) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert body["message"]
    assert body["request_id"]


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, 1001),
        ({"Authorization": ""}, 1001),
        ({"Authorization": "Bearer wrong-key"}, 1002),
        ({"Authorization": "Basic sim-key"}, 1002),
        ({"Authorization": "Bearer "}, 1002),
    ],
)
async def test_gateway_rejects_a_missing_or_wrong_key(
    client: httpx.AsyncClient, order: Order, headers: dict[str, str], code: int
) -> None:
    """A gateway submit without the configured Bearer key answers 401, code 1001 or 1002."""
    response = await client.post(GATEWAY_SUBMIT, json=order(), headers=headers)
    assert_kling_error(response, 401, code)


async def test_gateway_query_requires_the_key(client: httpx.AsyncClient) -> None:
    """A gateway query without credentials answers 401 before looking the task up."""
    response = await client.get("/v1/video/generations/123")
    assert_kling_error(response, 401, 1001)


async def test_official_accepts_a_valid_jwt(
    client: httpx.AsyncClient, order: Order, make_jwt: MakeJwt
) -> None:
    """An HS256 JWT signed with the secret key, issued by the access key, is accepted."""
    headers = {"Authorization": f"Bearer {make_jwt()}"}
    response = await client.post(OFFICIAL_SUBMIT, json=order(), headers=headers)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("token_args", "code"),
    [
        ({"sk": "another-secret"}, 1002),
        ({"ak": "someone-else"}, 1002),
        ({"exp_in": -1}, 1004),
        ({"exp_in": 0}, 1004),
        ({"nbf_ago": -60}, 1003),
    ],
    ids=["bad-signature", "wrong-issuer", "expired", "expires-now", "not-yet-valid"],
)
async def test_official_rejects_a_bad_jwt(
    client: httpx.AsyncClient,
    order: Order,
    make_jwt: MakeJwt,
    token_args: dict[str, Any],
    code: int,
) -> None:
    """A JWT with a bad signature, issuer or validity window answers 401 with Kling's code."""
    headers = {"Authorization": f"Bearer {make_jwt(**token_args)}"}
    response = await client.post(OFFICIAL_SUBMIT, json=order(), headers=headers)
    assert_kling_error(response, 401, code)


@pytest.mark.parametrize("token", ["sim-key", "not.a.jwt", "a.b"])
async def test_official_rejects_a_token_that_is_not_a_valid_jwt(
    client: httpx.AsyncClient, order: Order, token: str
) -> None:
    """The gateway key, or any other non-JWT, answers 401, code 1002 on the official route."""
    headers = {"Authorization": f"Bearer {token}"}
    response = await client.post(OFFICIAL_SUBMIT, json=order(), headers=headers)
    assert_kling_error(response, 401, 1002)


async def test_official_token_expires_by_the_injected_clock(
    client: httpx.AsyncClient, clock: ManualClock, order: Order, make_jwt: MakeJwt
) -> None:
    """A token accepted once answers 1004 after the injected clock passes its exp."""
    headers = {"Authorization": f"Bearer {make_jwt(exp_in=1800)}"}
    first = await client.post(OFFICIAL_SUBMIT, json=order(), headers=headers)
    assert first.status_code == 200
    clock.advance(1800)
    again = await client.post(OFFICIAL_SUBMIT, json=order(), headers=headers)
    assert_kling_error(again, 401, 1004)


async def test_official_token_becomes_valid_at_its_nbf(
    client: httpx.AsyncClient, clock: ManualClock, order: Order, make_jwt: MakeJwt
) -> None:
    """A token answered 1003 before its nbf is accepted once the clock reaches it."""
    headers = {"Authorization": f"Bearer {make_jwt(nbf_ago=-10)}"}
    early = await client.post(OFFICIAL_SUBMIT, json=order(), headers=headers)
    assert_kling_error(early, 401, 1003)
    clock.advance(10)
    on_time = await client.post(OFFICIAL_SUBMIT, json=order(), headers=headers)
    assert on_time.status_code == 200


async def test_official_query_requires_a_jwt(
    client: httpx.AsyncClient, gateway_auth: dict[str, str]
) -> None:
    """An official query with the gateway key answers 401, code 1002."""
    response = await client.get("/v1/videos/motion-control/123", headers=gateway_auth)
    assert_kling_error(response, 401, 1002)


async def test_auth_can_be_turned_off(clock: ManualClock, order: Order) -> None:
    """With require_auth=False both dialects accept requests without credentials."""
    app = create_simulator_app(SimulatorConfig(require_auth=False), clock=clock)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        gateway = await client.post(GATEWAY_SUBMIT, json=order())
        official = await client.post(
            OFFICIAL_SUBMIT, json=order(), headers={"Authorization": "Bearer anything"}
        )
        query = await client.get(f"/v1/video/generations/{gateway.json()['data']['task_id']}")
    assert (gateway.status_code, official.status_code, query.status_code) == (200, 200, 200)


async def test_configured_keys_replace_the_defaults(
    clock: ManualClock, order: Order, make_jwt: MakeJwt
) -> None:
    """Configured api_key, access_key and secret_key are the ones checked."""
    config = SimulatorConfig(api_key="k-1", access_key="ak-1", secret_key="s" * 32)
    app = create_simulator_app(config, clock=clock)
    transport = httpx.ASGITransport(app=app)
    token = make_jwt(ak="ak-1", sk="s" * 32)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim.test") as client:
        gateway = await client.post(
            GATEWAY_SUBMIT, json=order(), headers={"Authorization": "Bearer k-1"}
        )
        official = await client.post(
            OFFICIAL_SUBMIT, json=order(), headers={"Authorization": f"Bearer {token}"}
        )
        default_key = await client.post(
            GATEWAY_SUBMIT, json=order(), headers={"Authorization": "Bearer sim-key"}
        )
    assert (gateway.status_code, official.status_code) == (200, 200)
    assert_kling_error(default_key, 401, 1002)
