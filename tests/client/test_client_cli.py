"""``submit`` and ``tasks``: the command-line client against a fake of the public API."""

from __future__ import annotations

import argparse
import io
import json
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from adapter.cli.main import main
from adapter.client.cli import add_client_commands, run_client
from tests.client.fake_api import BASE, KEY, FakeApi, Stream, error, event, sse

ENV = {"MINDVIDEO_BASE_URL": BASE, "MINDVIDEO_API_KEY": KEY}
CAT = '{"prompt": "a cat"}'


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    """Monotonic time that moves only when the program sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Ran:
    code: int
    out: str
    err: str
    sleeps: list[float]


def run(
    api: FakeApi, *argv: str, env: dict[str, str] = ENV, stdin: str = "", tty: bool = False
) -> Ran:
    parser = argparse.ArgumentParser()
    add_client_commands(parser.add_subparsers(dest="command", required=True))
    out, err, clock = io.StringIO(), Terminal() if tty else io.StringIO(), Clock()
    with httpx.Client(transport=httpx.MockTransport(api)) as http:
        code = run_client(
            parser.parse_args(argv),
            env,
            http=http,
            stdin=io.StringIO(stdin),
            stdout=out,
            stderr=err,
            clock=clock,
            sleep=clock.sleep,
        )
    return Ran(code, out.getvalue(), err.getvalue(), clock.sleeps)


def submitted(api: FakeApi) -> list[dict[str, object]]:
    return [json.loads(r.content) for r in api.requests if r.method == "POST"]


@pytest.mark.parametrize("source", ["inline", "file", "stdin"])
def test_submit_reads_its_input_inline_from_a_file_or_from_stdin(
    source: str, tmp_path: Path
) -> None:
    """--input takes JSON text, @path or @-; the task JSON is printed."""
    (tmp_path / "in.json").write_text(CAT, encoding="utf-8")
    given = {"inline": CAT, "file": f"@{tmp_path / 'in.json'}", "stdin": "@-"}[source]
    api = FakeApi()
    ran = run(api, "submit", "--model", "kling-v3", "--input", given, stdin=CAT)
    assert ran.code == 0
    assert submitted(api) == [{"model": "kling-v3", "input": {"prompt": "a cat"}}]
    assert json.loads(ran.out)["task_id"] == "task_1"
    assert api.requests[0].url == f"{BASE}/api/v1/tasks"


@pytest.mark.parametrize("given", ["@no/such/file.json", "{not json", "[1, 2]"])
def test_unreadable_or_invalid_input_is_one_line_and_exit_2(given: str) -> None:
    """A missing file, bad JSON or a non-object stops before any request."""
    api = FakeApi()
    ran = run(api, "submit", "--model", "kling-v3", "--input", given)
    assert ran.code == 2
    assert ran.err.startswith("mindvideo-adapter: --input:") and ran.err.count("\n") == 1
    assert api.requests == []


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), error(503, "store_unavailable", "")],
    ids=["connection", "timeout", "503"],
)
def test_a_retried_submit_reuses_its_idempotency_key(failure: Exception | httpx.Response) -> None:
    """The second attempt carries the first one's key, so only one task exists."""
    api = FakeApi()
    api.submit_failures = [failure]
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT)
    assert ran.code == 0
    keys = [r.headers["idempotency-key"] for r in api.requests]
    assert len(keys) == 2 and keys[0] == keys[1]
    assert list(api.tasks) == ["task_1"]


def test_a_given_idempotency_key_is_sent_and_retry_after_is_honoured() -> None:
    """A 429 with Retry-After: 3 waits three seconds, then resends the user's key."""
    api = FakeApi()
    limited = error(429, "rate_limited", "Slow down.")
    limited.headers["Retry-After"] = "3"
    api.submit_failures = [limited]
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT, "--idempotency-key", "k1")
    assert ran.code == 0
    assert [r.headers["idempotency-key"] for r in api.requests] == ["k1", "k1"]
    assert ran.sleeps == [3.0]


def test_retries_are_bounded_and_the_last_error_is_printed() -> None:
    """An API that stays down is tried four times, with growing pauses, then exit 1."""
    api = FakeApi()
    api.submit_failures = [error(503, "upstream_unavailable", "Kling is down.") for _ in range(9)]
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT)
    assert ran.code == 1
    assert len(api.requests) == 4
    assert ran.sleeps == [0.5, 1.0, 2.0]
    assert ran.err == "error: upstream_unavailable: Kling is down.\n"


def test_wait_prints_the_video_url_and_exits_0() -> None:
    """--wait polls GET /api/v1/tasks/{id} only; stdout is just the URL."""
    api = FakeApi()
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT, "--wait")
    assert ran.code == 0
    assert ran.out == "https://cdn.test/task_1.mp4\n"
    assert {r.url.path for r in api.requests if r.method == "GET"} == {"/api/v1/tasks/task_1"}
    assert ran.sleeps == [1.0, 1.0]


def test_wait_on_a_failed_task_prints_its_error_and_exits_1() -> None:
    """The task's error code and message go to stderr."""
    api = FakeApi(script=("queued", "failed"))
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT, "--wait")
    assert ran.code == 1
    assert ran.out == ""
    assert ran.err.endswith("error: generation_failed: face not detected\n")


def test_progress_off_a_terminal_is_one_line_per_status_change() -> None:
    """Polls that see the same status print nothing new."""
    api = FakeApi(script=("queued", "processing", "processing", "processing", "succeeded"))
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT, "--wait")
    assert ran.err.splitlines() == [
        "task_1  queued  0.0s",
        "task_1  processing  1.0s",
        "task_1  succeeded  4.0s",
    ]


def test_progress_on_a_terminal_rewrites_one_line() -> None:
    """Every poll redraws the line with \\r; one newline ends it."""
    api = FakeApi(script=("queued", "processing", "processing", "succeeded"))
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT, "--wait", tty=True)
    assert ran.err.count("\r") == 4 and ran.err.count("\n") == 1
    assert ran.err.endswith("\rtask_1  succeeded  3.0s \n")  # padded over "processing"


def test_wait_gives_up_at_the_timeout_with_exit_1() -> None:
    """--timeout bounds the wait, the last pause included."""
    api = FakeApi(script=("queued", "processing"))
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT, "--wait", "--timeout", "2.5")
    assert ran.code == 1
    assert ran.sleeps == [1.0, 1.0, 0.5]
    assert "timed out after 2.5s; task_1 is still processing" in ran.err


def test_api_errors_print_code_message_and_param() -> None:
    """The error body becomes `error: <code>: <message> (param: x)`."""
    api = FakeApi()
    api.submit_failures = [error(422, "invalid_request", "Too long.", param="input.prompt")]
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT)
    assert (ran.code, ran.err) == (1, "error: invalid_request: Too long. (param: input.prompt)\n")
    ran = run(FakeApi(), "tasks", "get", "task_nope")
    assert (ran.code, ran.err) == (1, "error: task_not_found: No task task_nope.\n")


def test_a_non_json_error_prints_the_status_and_the_start_of_the_body() -> None:
    """A proxy's HTML page is cut to 200 characters."""
    api = FakeApi()
    api.submit_failures = [httpx.Response(400, text="<html>" + "x" * 500)]
    ran = run(api, "submit", "--model", "kling-v3", "--input", CAT)
    assert ran.code == 1
    assert ran.err == f"error: HTTP 400: <html>{'x' * 194}\n"


def test_a_missing_api_key_exits_2_without_reading_settings(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The client commands need no Settings: a bad MVA_ value does not matter."""
    assert main(["tasks", "get", "task_1"], environ={"MVA_MEDIA_PROBE": "maybe"}) == 2
    assert "MINDVIDEO_API_KEY" in capsys.readouterr().err


@pytest.mark.parametrize("base", [f"{BASE}/", f"{BASE}/mv/"])
def test_the_base_url_may_end_in_a_slash_and_carry_a_path(base: str) -> None:
    """--base-url wins over the environment; a trailing slash is not doubled."""
    api = FakeApi()
    api.add("task_1")
    run(api, "tasks", "get", "task_1", "--base-url", base)
    assert str(api.requests[0].url) == f"{base}api/v1/tasks/task_1"


def test_cancel_prints_the_cancelled_task() -> None:
    """POST /cancel, and its answer as JSON."""
    api = FakeApi()
    api.add("task_1")
    ran = run(api, "tasks", "cancel", "task_1")
    assert (ran.code, json.loads(ran.out)["status"]) == (0, "cancelled")
    assert (api.requests[0].method, api.requests[0].url.path) == (
        "POST",
        "/api/v1/tasks/task_1/cancel",
    )


def test_list_prints_one_line_per_task_and_all_follows_the_cursor() -> None:
    """Newest first; without --all one page and a hint, with --all every page."""
    api = FakeApi()
    for n in range(1, 6):
        api.add(f"task_{n}", status="succeeded")
    ran = run(api, "tasks", "list", "--limit", "2")
    assert ran.out.splitlines() == [
        "task_5  succeeded   kling-v3  2026-01-01T00:00:04Z",
        "task_4  succeeded   kling-v3  2026-01-01T00:00:03Z",
    ]
    assert "--all" in ran.err
    api.requests.clear()
    ran = run(api, "tasks", "list", "--limit", "2", "--all", "--status", "succeeded")
    assert [line.split()[0] for line in ran.out.splitlines()] == [
        f"task_{n}" for n in range(5, 0, -1)
    ]
    assert [r.url.params.get("cursor") for r in api.requests] == [None, "2", "4"]
    assert {r.url.params["status"] for r in api.requests} == {"succeeded"}


def test_events_prints_the_json_list() -> None:
    """Without --follow, one JSON document."""
    api = FakeApi()
    api.add("task_1")
    ran = run(api, "tasks", "events", "task_1")
    assert json.loads(ran.out) == {"task_id": "task_1", "events": [event(1, "queued")]}


def test_follow_prints_each_event_as_a_line_and_ignores_heartbeats() -> None:
    """SSE in, one JSON object per line out, until the terminal event."""
    api = FakeApi()
    api.add("task_1")
    events = [event(1, "queued"), event(2, "processing"), event(3, "succeeded")]
    api.streams = [
        httpx.Response(
            200, headers={"content-type": "text/event-stream"}, content=sse(*events, heartbeat=True)
        )
    ]
    ran = run(api, "tasks", "events", "task_1", "--follow")
    assert ran.code == 0
    assert [json.loads(line) for line in ran.out.splitlines()] == events
    assert api.requests[0].headers["accept"] == "text/event-stream"


def test_follow_resumes_with_last_event_id_after_a_dropped_stream() -> None:
    """A connection lost before the terminal event is reopened from the last id seen."""
    api = FakeApi()
    api.add("task_1")
    headers = {"content-type": "text/event-stream"}
    api.streams = [
        httpx.Response(200, headers=headers, stream=Stream(sse(event(1, "queued")), drops=True)),
        httpx.Response(200, headers=headers, stream=Stream(sse(event(2, "processing")))),
        httpx.Response(200, headers=headers, stream=Stream(sse(event(3, "failed")))),
    ]
    ran = run(api, "tasks", "events", "task_1", "--follow")
    assert ran.code == 0
    assert [json.loads(line)["id"] for line in ran.out.splitlines()] == ["ev_1", "ev_2", "ev_3"]
    assert [r.headers.get("last-event-id") for r in api.requests] == [None, "ev_1", "ev_2"]


def test_follow_gives_up_after_bounded_reconnects() -> None:
    """A stream that keeps dropping with no new event ends in exit 1."""
    api = FakeApi()
    api.add("task_1")
    headers = {"content-type": "text/event-stream"}
    api.streams = [
        httpx.Response(200, headers=headers, stream=Stream(b"", drops=True)) for _ in range(4)
    ]
    ran = run(api, "tasks", "events", "task_1", "--follow")
    assert ran.code == 1
    assert len(api.requests) == 4
    assert ran.err.startswith("error: event stream lost")


def test_follow_skips_a_server_error_frame_and_resumes() -> None:
    """An ``event: error`` ending a stream is not printed as a task event; the stream resumes."""
    api = FakeApi()
    api.add("task_1")
    headers = {"content-type": "text/event-stream"}
    error = b'event: error\ndata: {"code":"store_unavailable","message":"down"}\n\n'
    api.streams = [
        httpx.Response(200, headers=headers, content=sse(event(1, "queued")) + error),
        httpx.Response(200, headers=headers, content=sse(event(2, "succeeded"))),
    ]
    ran = run(api, "tasks", "events", "task_1", "--follow")
    assert ran.code == 0
    assert [json.loads(line)["id"] for line in ran.out.splitlines()] == ["ev_1", "ev_2"]
    assert [r.headers.get("last-event-id") for r in api.requests] == [None, "ev_1"]
