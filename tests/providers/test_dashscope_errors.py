"""Every row of DashScope's error classification, through real provider calls on MockTransport."""

from __future__ import annotations

import email.utils
import logging
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
from tests.providers.dashscope_helpers import API_KEY, NOW, dashscope, wan_job

pytestmark = pytest.mark.anyio

Load = Callable[[str], Any]

HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def ali(code: str, message: str = "DashScope says no") -> dict[str, Any]:
    return {"request_id": "req-1", "code": code, "message": message}


async def _submit_error(upstream: Any, status: int, body: Any, **kw: Any) -> ProviderError:
    if isinstance(body, bytes):
        upstream.answer(status, content=body, **kw)
    else:
        upstream.answer(status, json=body, **kw)
    with pytest.raises(ProviderError) as caught:
        await dashscope(upstream.handle).submit(wan_job())
    return caught.value


CASES = [
    # Content and parameter errors: a definite no to this request.
    (400, "dashscope_error_invalid_parameter.json", ProviderRejected),
    (400, ali("InvalidParameter.DataInspection"), ProviderRejected),
    (400, ali("DataInspectionFailed"), ProviderRejected),
    (400, ali("InvalidURL"), ProviderRejected),
    (400, ali("BadRequest.TooLarge"), ProviderRejected),
    (413, ali("SomethingNew"), ProviderRejected),
    (422, {"message": "img_url is required"}, ProviderRejected),
    (400, b"", ProviderRejected),
    (404, b"", ProviderRejected),
    (403, b"", ProviderRejected),  # no code: only AccessDenied and Arrearage are ours
    # Our key, account or model access: another provider may work.
    (401, "dashscope_error_invalid_api_key.json", ProviderAuthFailed),
    (403, ali("AccessDenied"), ProviderUnavailable),
    (403, ali("AccessDenied.Unpurchased"), ProviderUnavailable),
    (403, ali("Arrearage"), ProviderUnavailable),
    (400, ali("Arrearage"), ProviderUnavailable),  # sent as 400 too
    (404, ali("ModelNotFound"), ProviderUnavailable),
    # Load and quota.
    (429, "dashscope_error_throttling_rate_quota.json", ProviderRateLimited),
    (429, ali("Throttling"), ProviderRateLimited),
    (429, ali("Throttling.AllocationQuota"), ProviderRateLimited),
    (429, b"", ProviderRateLimited),
    # Server side: a handled refusal, a gateway's page, or nobody knows.
    (500, "dashscope_error_internal_error.json", ProviderUnavailable),
    (500, ali("InternalError.Algo"), ProviderUnavailable),
    (502, HTML, ProviderUnavailable),
    (503, HTML, ProviderUnavailable),
    (500, b"", ProviderOutcomeUnknown),
    (500, HTML, ProviderOutcomeUnknown),
    (504, b"", ProviderOutcomeUnknown),
    (504, ali("InternalError"), ProviderOutcomeUnknown),
    (500, ali("InternalError.Timeout"), ProviderOutcomeUnknown),
    (408, ali("RequestTimeOut"), ProviderOutcomeUnknown),
    (408, b"", ProviderUnavailable),  # a proxy gave up reading our request
    # A 200 that is a refusal is classified by its code the same way.
    (200, ali("InvalidParameter"), ProviderRejected),
    (200, ali("Arrearage"), ProviderUnavailable),
    (200, ali("Throttling.RateQuota"), ProviderRateLimited),
]


@pytest.mark.parametrize(("status", "body", "expected"), CASES)
async def test_refusals_are_classified(
    upstream: Any,
    load: Load,
    status: int,
    body: Any,
    expected: type[ProviderError],
) -> None:
    """Each (HTTP status, DashScope code) lands on its row of the error tree; the status and
    code are kept on the error."""
    if isinstance(body, str):
        body = load(body)
    error = await _submit_error(upstream, status, body)
    assert type(error) is expected
    code = body.get("code") if isinstance(body, dict) else None
    assert (error.status, error.code, error.provider) == (status, code, "dashscope-test")


async def test_a_rejection_shows_the_client_dashscopes_reason(upstream: Any, load: Load) -> None:
    """400 InvalidParameter: the message is exactly DashScope's."""
    error = await _submit_error(upstream, 400, load("dashscope_error_invalid_parameter.json"))
    assert error.message == (
        "Required parameter(s) missing or invalid, please check the request parameters."
    )


async def test_a_rejection_without_a_reason_names_the_status(upstream: Any) -> None:
    """No DashScope message -> a message naming the HTTP status."""
    error = await _submit_error(upstream, 400, b"")
    assert error.message == "upstream rejected the request: HTTP 400"


async def test_an_auth_failure_says_so(upstream: Any, load: Load) -> None:
    """401 InvalidApiKey reads as our authentication failing, with DashScope's words."""
    error = await _submit_error(upstream, 401, load("dashscope_error_invalid_api_key.json"))
    assert error.message == "upstream authentication failed: Invalid API-key provided."


@pytest.mark.parametrize(
    ("header", "seconds"), [("17", 17), (email.utils.formatdate(NOW + 60, usegmt=True), 60)]
)
async def test_rate_limit_reads_retry_after(
    upstream: Any, load: Load, header: str, seconds: int
) -> None:
    """429 with Retry-After (seconds or an HTTP date): the wait is kept on the error."""
    body = load("dashscope_error_throttling_rate_quota.json")
    error = await _submit_error(upstream, 429, body, headers={"Retry-After": header})
    assert isinstance(error, ProviderRateLimited)
    assert error.retry_after == seconds


async def test_rate_limit_without_retry_after_has_none(upstream: Any, load: Load) -> None:
    """No Retry-After header -> retry_after is None."""
    error = await _submit_error(upstream, 429, load("dashscope_error_throttling_rate_quota.json"))
    assert isinstance(error, ProviderRateLimited)
    assert error.retry_after is None


@pytest.mark.parametrize(
    ("status", "code"), [(400, "InvalidParameter"), (401, "InvalidApiKey"), (429, "Throttling")]
)
async def test_the_api_key_never_reaches_an_error_message(
    upstream: Any, caplog: pytest.LogCaptureFixture, status: int, code: str
) -> None:
    """DashScope echoing our key (any family) -> masked in the error, absent from the log."""
    caplog.set_level(logging.INFO, logger="adapter.providers._http")
    error = await _submit_error(upstream, status, ali(code, f"bad key {API_KEY} (request 7)"))
    assert API_KEY not in str(error)
    assert "bad key *** (request 7)" in error.message
    assert API_KEY not in caplog.text


async def test_the_api_key_never_reaches_a_failed_tasks_reason(upstream: Any) -> None:
    """A FAILED task's reason is masked the same way."""
    output = {"task_id": "t1", "task_status": "FAILED", "code": "E", "message": f"key {API_KEY}"}
    upstream.answer(json={"output": output})
    state = await dashscope(upstream.handle).query("video-synthesis", "t1")
    assert state.message == "E: key ***"


async def test_long_messages_are_truncated(upstream: Any) -> None:
    """A huge upstream message is cut to a readable length."""
    error = await _submit_error(upstream, 400, ali("InvalidParameter", "x" * 5000))
    assert len(error.message) <= 500


async def test_refusals_are_logged_with_their_kind(
    upstream: Any, load: Load, caplog: pytest.LogCaptureFixture
) -> None:
    """One info line per refusal: provider, status, code and the error class."""
    caplog.set_level(logging.INFO, logger="adapter.providers._http")
    await _submit_error(upstream, 400, load("dashscope_error_invalid_parameter.json"))
    assert (
        "provider.refused provider=dashscope-test status=400 code=InvalidParameter "
        "kind=ProviderRejected"
    ) in caplog.text


@pytest.mark.parametrize(
    ("status", "fixture", "expected"),
    [
        (401, "dashscope_error_invalid_api_key.json", ProviderAuthFailed),
        (429, "dashscope_error_throttling_rate_quota.json", ProviderRateLimited),
        (400, "dashscope_error_invalid_parameter.json", ProviderRejected),
        (500, "dashscope_error_internal_error.json", ProviderUnavailable),
    ],
)
async def test_queries_are_classified_the_same_way(
    upstream: Any, load: Load, status: int, fixture: str, expected: type[ProviderError]
) -> None:
    """A refused query raises the same family as a refused submit."""
    upstream.answer(status, json=load(fixture))
    with pytest.raises(ProviderError) as caught:
        await dashscope(upstream.handle).query("video-synthesis", "t1")
    assert type(caught.value) is expected
