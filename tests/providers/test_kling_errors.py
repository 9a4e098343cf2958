"""Every row of the error classification, through a real provider call on MockTransport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapter.core.errors import (
    ProviderAuthFailed,
    ProviderError,
    ProviderOutcomeUnknown,
    ProviderRateLimited,
    ProviderRejected,
    ProviderUnavailable,
)
from adapter.core.values import VideoJob
from adapter.providers.kling.provider import KlingProvider
from adapter.providers.refusals import clean

pytestmark = pytest.mark.anyio

MakeProvider = Callable[..., KlingProvider]
MakeJob = Callable[..., VideoJob]

HTML = b"<html><body><h1>Bad Gateway</h1></body></html>"


def kling(code: int, message: str = "upstream says no") -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": "req-1"}


def newapi(code: str, message: str = "upstream says no") -> dict[str, Any]:
    return {"code": code, "message": message, "data": None}


def middleware(message: str = "upstream says no", code: Any = "") -> dict[str, Any]:
    return {"error": {"message": message, "type": "new_api_error", "code": code}}


async def _submit_error(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, status: int, body: Any, **kw: Any
) -> ProviderError:
    if isinstance(body, bytes):
        upstream.answer(status, content=body, **kw)
    else:
        upstream.answer(status, json=body, **kw)
    with pytest.raises(ProviderError) as caught:
        await make_provider().submit(make_job())
    return caught.value


CASES = [
    # Kling auth codes: our credentials are wrong, another provider may work.
    *[(401, kling(c), ProviderAuthFailed, str(c)) for c in range(1000, 1005)],
    # Account / arrears: not a rate limit, even though Kling sends them as HTTP 429.
    *[(429, kling(c), ProviderUnavailable, str(c)) for c in (1100, 1101, 1102)],
    *[(429, kling(c), ProviderRateLimited, str(c)) for c in (1302, 1303, 1304)],
    (429, middleware("当前分组上游负载已饱和，请稍后再试"), ProviderRateLimited, None),
    *[(400, kling(c), ProviderRejected, str(c)) for c in (1200, 1201, 1300, 1301)],
    *[(404, kling(c), ProviderRejected, str(c)) for c in (1202, 1203)],
    (400, newapi("task_failed", "image too small"), ProviderRejected, "task_failed"),
    (400, b"", ProviderRejected, None),
    (403, middleware("model not allowed"), ProviderRejected, None),
    (404, b"", ProviderRejected, None),
    (422, {"message": "image_url is required"}, ProviderRejected, None),
    (500, kling(5000), ProviderUnavailable, "5000"),
    (503, kling(5001), ProviderUnavailable, "5001"),
    (500, newapi("model_price_error"), ProviderUnavailable, "model_price_error"),
    (500, middleware("something broke"), ProviderUnavailable, None),
    (502, HTML, ProviderUnavailable, None),
    (503, HTML, ProviderUnavailable, None),
    (504, kling(5002), ProviderOutcomeUnknown, "5002"),
    (500, kling(5002), ProviderOutcomeUnknown, "5002"),
    (504, b"", ProviderOutcomeUnknown, None),
    (500, b"", ProviderOutcomeUnknown, None),
    (500, HTML, ProviderOutcomeUnknown, None),
    (500, newapi("do_request_failed"), ProviderOutcomeUnknown, "do_request_failed"),
    # A 200 that is a refusal is classified by its code the same way.
    (200, kling(1301), ProviderRejected, "1301"),
    (200, kling(1002), ProviderAuthFailed, "1002"),
    (200, kling(1303), ProviderRateLimited, "1303"),
    (200, kling(5002), ProviderOutcomeUnknown, "5002"),
    (200, newapi("task_failed"), ProviderRejected, "task_failed"),
    (200, newapi("1301"), ProviderRejected, "1301"),
    (200, middleware("bad input", code="invalid_request"), ProviderRejected, "invalid_request"),
    (200, {"code": 1201, "message": "bad", "data": "odd"}, ProviderRejected, "1201"),
    # new-api relays the upstream's raw body as the message of fail_to_fetch_task.
    (
        429,
        newapi("fail_to_fetch_task", '{"code":1101,"message":"arrears"}'),
        ProviderUnavailable,
        "fail_to_fetch_task",
    ),
]


@pytest.mark.parametrize(("status", "body", "expected", "code"), CASES)
async def test_refusals_are_classified(
    make_provider: MakeProvider,
    make_job: MakeJob,
    upstream: Any,
    status: int,
    body: Any,
    expected: type[ProviderError],
    code: str | None,
) -> None:
    """Each (HTTP status, body family, code) lands on its row of the error tree."""
    error = await _submit_error(make_provider, make_job, upstream, status, body)
    assert type(error) is expected
    assert (error.status, error.code, error.provider) == (status, code, "kling-test")


async def test_a_relayed_refusal_shows_the_providers_own_words_not_escaped_json(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """new-api wraps the provider's raw answer in fail_to_fetch_task (as observed on a stock
    build): the inner code decides the kind, and the client reads the inner message."""
    raw = '{"code":1201,"message":"duration must be 5 or 10","request_id":"req-9"}'
    error = await _submit_error(
        make_provider, make_job, upstream, 400, newapi("fail_to_fetch_task", raw)
    )
    assert type(error) is ProviderRejected
    assert error.message == "duration must be 5 or 10"


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ('{"error":{"message":"quota exhausted","type":"x"}}', "quota exhausted"),
        ('{"message":"{\\"message\\":\\"deep\\"}"}', "deep"),
        ('{"code": 1}', '{"code": 1}'),
        ("{not json", "{not json"),
    ],
)
def test_nested_messages_are_unwrapped_to_the_innermost(message: str, shown: str) -> None:
    """Any depth of message-in-JSON unwraps; JSON without a message stays as it came."""
    assert clean(message, ()) == shown


async def test_auth_failure_says_so_with_the_upstream_message(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """Kling 1000-1004 read as "upstream authentication failed" plus the upstream's words."""
    error = await _submit_error(
        make_provider, make_job, upstream, 401, kling(1004, "token expired")
    )
    assert error.message == "upstream authentication failed: token expired"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (400, {"code": 1301, "message": "Failure to pass the risk control system"}),
        (400, newapi("task_failed", "Failure to pass the risk control system")),
        (403, middleware("Failure to pass the risk control system")),
    ],
)
async def test_rejection_message_is_the_upstream_reason(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, status: int, body: Any
) -> None:
    """A rejection's message is exactly the upstream's reason, from any body family."""
    error = await _submit_error(make_provider, make_job, upstream, status, body)
    assert error.message == "Failure to pass the risk control system"


async def test_rejection_without_a_reason_names_the_status(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """No upstream message -> a message naming the HTTP status."""
    error = await _submit_error(make_provider, make_job, upstream, 422, b"")
    assert error.message == "upstream rejected the request: HTTP 422"


async def test_rate_limit_reads_retry_after(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """HTTP 429 with Retry-After: the seconds are kept on the error."""
    error = await _submit_error(
        make_provider, make_job, upstream, 429, kling(1302), headers={"Retry-After": "17"}
    )
    assert isinstance(error, ProviderRateLimited)
    assert error.retry_after == 17


async def test_rate_limit_without_retry_after_has_none(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """No Retry-After header -> retry_after is None."""
    error = await _submit_error(make_provider, make_job, upstream, 200, kling(1303))
    assert isinstance(error, ProviderRateLimited)
    assert error.retry_after is None


async def test_secrets_echoed_by_the_upstream_are_redacted(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any, keys: Any
) -> None:
    """An upstream message quoting our key never reaches the exception."""
    body = middleware(f"invalid token {keys.api_key} (request id: 2024)")
    error = await _submit_error(make_provider, make_job, upstream, 401, body)
    assert keys.api_key not in str(error)
    assert "invalid token *** (request id: 2024)" in error.message


async def test_long_upstream_messages_are_truncated(
    make_provider: MakeProvider, make_job: MakeJob, upstream: Any
) -> None:
    """A huge upstream message is cut to a readable length."""
    error = await _submit_error(make_provider, make_job, upstream, 400, kling(1201, "x" * 5000))
    assert len(error.message) <= 500


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (404, b""),
        (404, kling(1203, "task not found")),
        (400, kling(1203, "task not found")),
        (400, newapi("task_not_exist", "task_not_exist")),
        (200, newapi("task_not_exist", "task_not_exist")),
    ],
)
async def test_query_of_a_missing_task_is_rejected(
    make_provider: MakeProvider, upstream: Any, status: int, body: Any
) -> None:
    """Query: 404, Kling 1203 and new-api task_not_exist are rejections; the caller decides."""
    if isinstance(body, bytes):
        upstream.answer(status, content=body)
    else:
        upstream.answer(status, json=body)
    with pytest.raises(ProviderRejected):
        await make_provider().query("motion-control", "k1")


async def test_an_openai_video_error_is_a_failed_task_not_a_refusal(
    make_provider: MakeProvider, upstream: Any
) -> None:
    """Shape D's error object describes the task's failure; it is not raised."""
    upstream.answer(
        json={
            "id": "v1",
            "object": "video",
            "status": "failed",
            "error": {"message": "risk", "code": "1301"},
        }
    )
    state = await make_provider().query("motion-control", "v1")
    assert (state.status.value, state.message) == ("failed", "risk")
