"""What ``/openapi.json`` describes is what the API takes: submits generated from it alone
(schemathesis, property-based) get documented answers, never a 5xx, and many are accepted."""

from __future__ import annotations

import collections
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

from tests.e2e.live import Live, clean_env, serve

KEY = "mv_test_openapi_generated"
EXAMPLES = 150


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY))
    yield live
    live.stop()


def test_generated_submits_conform_and_many_are_accepted(live: Live) -> None:
    """Every default check holds (no 5xx, documented statuses and bodies), and valid submits
    are generated: URL fields carry their forms (https to a named host, or an image data URI
    with a real signature), ``webhook_url`` its own.

    "A schema-valid request is accepted" is left out: acceptance also depends on what a
    schema cannot say (a video's bytes and length, whether a webhook host resolves, an
    Idempotency-Key's earlier use), so some generated submits are rightly 409 or 422.
    """
    operation = schemathesis.openapi.from_url(f"{live.url}/openapi.json")["/api/v1/tasks"]["POST"]
    statuses: collections.Counter[int] = collections.Counter()
    accepted: set[str] = set()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def submit(case: schemathesis.Case) -> None:
        response = case.call_and_validate(
            base_url=live.url,
            headers={"Authorization": f"Bearer {KEY}"},
            excluded_checks=[positive_data_acceptance],
        )
        statuses[response.status_code] += 1
        if response.status_code == 200:
            accepted.add(response.json()["model"])

    submit()
    assert sum(statuses.values()) >= EXAMPLES // 2
    # Without the URL forms in the document about 9% are accepted, with them about 23%.
    assert statuses[200] >= EXAMPLES * 15 // 100, statuses
    # Models whose inputs are mostly media are among them: their URL forms are generated.
    assert {"kling-v2-6-motion-control", "wan2-6-i2v-flash"} <= accepted
    assert len(accepted) >= 5, accepted
