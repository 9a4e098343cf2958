"""What ``/openapi.json`` describes is what the API takes: submits generated from it alone
(schemathesis, property-based) get documented answers, never a 5xx, and for every model the
document is enough to generate a submit that is accepted."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis.errors import NoSuchExample
from schemathesis.checks import positive_data_acceptance

from tests.e2e.live import Live, clean_env, serve

KEY = "mv_test_openapi_generated"
AUTH = {"Authorization": f"Bearer {KEY}"}
SUBMIT = "/api/v1/tasks"
#: Deterministic, no example database, and no shrinking (every example is a live submit).
QUIET = settings(
    deadline=None,
    database=None,
    derandomize=True,
    phases=(Phase.generate,),
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def live() -> Iterator[Live]:
    live = serve(clean_env(MVA_BOOTSTRAP_KEY=KEY))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def document(live: Live) -> dict[str, Any]:
    served: dict[str, Any] = httpx.get(f"{live.url}/openapi.json").json()
    return served


def test_generated_submits_get_documented_answers_and_never_a_5xx(live: Live) -> None:
    """Every default check holds over 150 submits of any model: no 5xx, documented statuses
    and bodies. "A schema-valid request is accepted" is left out here: acceptance also
    depends on what a schema cannot say (a video's bytes and length, whether a webhook's host
    resolves, an Idempotency-Key's earlier use), so some are rightly 409 or 422."""
    operation = schemathesis.openapi.from_url(f"{live.url}/openapi.json")[SUBMIT]["POST"]

    @settings(QUIET, max_examples=150)
    @given(case=operation.as_strategy())
    def submit(case: schemathesis.Case) -> None:
        case.call_and_validate(
            base_url=live.url, headers=AUTH, excluded_checks=[positive_data_acceptance]
        )

    submit()


def only(document: dict[str, Any], model: str) -> dict[str, Any]:
    """The document with the submit narrowed to ``model``, without ``webhook_url`` (its host
    must resolve, which generated names do not here)."""
    narrowed = copy.deepcopy(document)
    schemas = narrowed["components"]["schemas"]
    [branch] = [
        b for b in schemas["SubmitRequest"]["oneOf"] if b["properties"]["model"]["const"] == model
    ]
    branch["properties"].pop("webhook_url")
    schemas["SubmitRequest"] = branch
    return narrowed


def test_each_models_documented_input_yields_accepted_submits(
    live: Live, document: dict[str, Any]
) -> None:
    """The URL fields say what they take (https to a named host, or a data URI of an
    accepted image), so inputs generated from the document alone are accepted for every
    model, media-heavy ones included. Without those forms, a generated ``video_url`` or
    ``image_urls`` is never a URL the adapter takes."""
    models = [
        b["properties"]["model"]["const"]
        for b in document["components"]["schemas"]["SubmitRequest"]["oneOf"]
    ]
    for model in models:
        operation = schemathesis.openapi.from_dict(only(document, model))[SUBMIT]["POST"]

        def accepted(case: schemathesis.Case) -> bool:
            response = case.call(base_url=live.url, headers=AUTH)
            assert response.status_code < 500, response.text
            return response.status_code == 200

        try:
            found = find(
                operation.as_strategy(), accepted, settings=settings(QUIET, max_examples=200)
            )
        except NoSuchExample:
            pytest.fail(f"no submit generated for {model} was accepted")
        assert found.body["model"] == model
