"""``MVA_LOG_FORMAT``: ``json`` makes each record one object of the event and its fields; both
formats redact secrets of a recognisable look."""

from __future__ import annotations

import json
import logging
import sys

from adapter.cli.log_formats import JsonFormatter, TextFormatter, redact
from adapter.cli.logs import log_config
from adapter.core import log_context


def record(msg: str, *args: object, level: int = logging.WARNING) -> logging.LogRecord:
    return logging.LogRecord("adapter.service.refresh", level, __file__, 1, msg, args, None)


def as_json(rec: logging.LogRecord) -> dict[str, object]:
    doc: dict[str, object] = json.loads(JsonFormatter().format(rec))
    return doc


def test_an_event_s_pairs_are_fields_and_a_value_may_hold_spaces() -> None:
    doc = as_json(
        record(
            "task.refresh_failed task_id=%s reason=%s attempts=%d duration_ms=%.2f",
            "task_1",
            "kling: 503 Service Unavailable",
            3,
            12.345,
        )
    )
    assert doc["event"] == "task.refresh_failed"
    assert doc["level"] == "warning" and doc["logger"] == "adapter.service.refresh"
    assert doc["task_id"] == "task_1"
    assert doc["reason"] == "kling: 503 Service Unavailable"
    assert doc["attempts"] == 3 and doc["duration_ms"] == 12.35
    assert str(doc["time"]).endswith("Z")


def test_a_message_formatted_already_is_split_at_each_key_the_last_taking_the_rest() -> None:
    doc = as_json(record("provider.fallback provider=kling reason=busy: try again later"))
    assert doc["event"] == "provider.fallback"
    assert doc["provider"] == "kling" and doc["reason"] == "busy: try again later"


def test_a_message_of_another_shape_is_the_event_whole() -> None:
    doc = as_json(record("Started server process [%d]", 42))
    assert doc["event"] == "Started server process [42]"


def test_the_request_being_served_is_named() -> None:
    token = log_context.request_id.set("req_abc")
    try:
        doc = as_json(record("task.denied task_id=%s", "task_1"))
    finally:
        log_context.request_id.reset(token)
    assert doc["request_id"] == "req_abc"
    assert "request_id" not in as_json(record("task.denied task_id=%s", "task_1"))


def test_an_exception_is_one_field_of_the_same_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        rec = record("reconciler.round_failed")
        rec.exc_info = sys.exc_info()
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    assert "ValueError: boom" in json.loads(line)["exception"]


def test_secrets_of_a_known_look_are_redacted_in_both_formats() -> None:
    message = (
        "x.y key=mv_live_0123abcd hook=whsec_c2VjcmV0 auth=Bearer sekrit "
        "url=https://a.test/callbacks/kling/task_1?token=t0k3n&x=1"
    )
    for line in (TextFormatter().format(record(message)), JsonFormatter().format(record(message))):
        for secret in ("0123abcd", "c2VjcmV0", "sekrit", "t0k3n"):
            assert secret not in line
        assert "mv_live_[redacted]" in line
    assert redact("task.created task_id=task_1") == "task.created task_id=task_1"


def test_json_is_every_logger_s_format_uvicorn_s_too() -> None:
    config = log_config("info", "json")
    assert {f["()"] for f in config["formatters"].values()} == {
        "adapter.cli.log_formats.JsonFormatter"
    }
    text = log_config("info")
    assert text["formatters"]["default"]["()"] == "uvicorn.logging.DefaultFormatter"
