"""``mindvideo-adapter submit`` and ``tasks``: a command-line client for the public task API.

Exit codes: 0 done (for ``submit --wait``: the task succeeded); 1 the API answered an error,
could not be reached, or the task failed, was cancelled or timed out; 2 a usage error;
130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import httpx
import msgspec

from adapter.client.api import TERMINAL, ApiClient, ApiError, Task

#: the top-level commands this module runs; none of them needs Settings or a store.
CLIENT_COMMANDS = frozenset({"submit", "tasks"})

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
POLL_S = 1.0
STATUSES = ("queued", "processing", "succeeded", "failed", "cancelled")

_decode_input = msgspec.json.Decoder(dict[str, Any]).decode


class UsageError(Exception):
    """The command line or its input cannot work; exit 2."""


@dataclass(frozen=True, slots=True)
class Console:
    stdin: TextIO
    stdout: TextIO
    stderr: TextIO
    clock: Callable[[], float]
    sleep: Callable[[float], None]


def add_client_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    api = argparse.ArgumentParser(add_help=False)
    api.add_argument("--base-url", help=f"$MINDVIDEO_BASE_URL, else {DEFAULT_BASE_URL}")
    api.add_argument("--api-key", help="$MINDVIDEO_API_KEY")
    submit = sub.add_parser("submit", parents=[api], help="submit a task, and --wait for it")
    submit.add_argument("--model", required=True)
    submit.add_argument("--input", required=True, metavar="JSON|@FILE|@-")
    submit.add_argument("--idempotency-key", help="default: a fresh one, reused on retries")
    submit.add_argument("--wait", action="store_true", help="poll until it ends; print URLs")
    submit.add_argument("--timeout", type=float, metavar="SECONDS", help="with --wait")
    tasks = sub.add_parser("tasks", help="get, follow, cancel and list tasks")
    verbs = tasks.add_subparsers(dest="tasks_command", required=True)
    verbs.add_parser("get", parents=[api], help="the task JSON").add_argument("id")
    events = verbs.add_parser("events", parents=[api], help="the task's events")
    events.add_argument("id")
    events.add_argument("--follow", action="store_true", help="stream them as they happen")
    verbs.add_parser("cancel", parents=[api], help="cancel a task").add_argument("id")
    listing = verbs.add_parser("list", parents=[api], help="your tasks, newest first")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--limit", type=int)
    listing.add_argument("--all", action="store_true", help="follow next_cursor to the end")


def run_client(
    args: argparse.Namespace,
    environ: Mapping[str, str],
    *,
    http: httpx.Client | None = None,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    console = Console(stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr, clock, sleep)
    try:
        api_key = args.api_key or environ.get("MINDVIDEO_API_KEY")
        if not api_key:
            raise UsageError("no API key: set MINDVIDEO_API_KEY or pass --api-key")
        payload = _read_input(args.input, console.stdin) if args.command == "submit" else {}
    except UsageError as exc:
        console.stderr.write(f"mindvideo-adapter: {exc}\n")
        return 2
    base_url = args.base_url or environ.get("MINDVIDEO_BASE_URL") or DEFAULT_BASE_URL
    client = http or httpx.Client(timeout=httpx.Timeout(30.0, connect=10.0))
    try:
        api = ApiClient(client, base_url, api_key, sleep=sleep)
        if args.command == "submit":
            return _submit(api, args, payload, console)
        return _TASKS[args.tasks_command](api, args, console)
    except ApiError as exc:
        console.stderr.write(f"error: {exc}\n")
        return 1
    except KeyboardInterrupt:
        console.stderr.write("\n")
        return 130
    finally:
        if http is None:
            client.close()


def _read_input(text: str, stdin: TextIO) -> dict[str, Any]:
    """``--input``: inline JSON, ``@path`` (a JSON file) or ``@-`` (standard input)."""
    raw: str | bytes = text
    if text.startswith("@"):
        name = text[1:]
        try:
            raw = stdin.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise UsageError(f"--input: cannot read {name}: {exc.strerror}") from exc
    try:
        return _decode_input(raw)
    except msgspec.DecodeError as exc:  # ValidationError too: valid JSON, but not an object
        raise UsageError(f"--input: not a JSON object: {exc}") from exc


def _submit(
    api: ApiClient, args: argparse.Namespace, payload: dict[str, Any], console: Console
) -> int:
    started = console.clock()
    key = args.idempotency_key or f"cli_{uuid.uuid4().hex}"
    reply = api.submit(args.model, payload, key)
    if not args.wait:
        _print_json(reply.body, console.stdout)
        return 0
    return _wait(api, reply.task, started, args.timeout, console)


def _wait(
    api: ApiClient, task: Task, started: float, timeout: float | None, console: Console
) -> int:
    """Poll ``GET /api/v1/tasks/{id}`` (public API only) until the task ends or time is up."""
    progress = Progress(console.stderr, task.task_id)
    while True:
        progress.show(task.status, console.clock() - started)
        if task.status in TERMINAL:
            break
        left = None if timeout is None else started + timeout - console.clock()
        if left is not None and left <= 0:
            progress.close()
            console.stderr.write(
                f"error: timed out after {timeout:g}s; {task.task_id} is still {task.status}\n"
            )
            return 1
        console.sleep(POLL_S if left is None else min(POLL_S, left))
        task = api.get(task.task_id).task
    progress.close()
    if task.status == "succeeded":
        for video in task.output.videos if task.output else []:
            console.stdout.write(f"{video.url}\n")
        return 0
    if task.status == "failed" and task.error is not None:
        console.stderr.write(f"error: {task.error.code}: {task.error.message}\n")
    else:
        console.stderr.write(f"error: {task.task_id} {task.status}\n")
    return 1


class Progress:
    """On a terminal, one line rewritten in place; elsewhere, one line per status change."""

    def __init__(self, stream: TextIO, task_id: str) -> None:
        self._stream = stream
        self._task_id = task_id
        self._is_live = stream.isatty()
        self._width = 0
        self._status: str | None = None

    def show(self, status: str, elapsed: float) -> None:
        line = f"{self._task_id}  {status}  {elapsed:.1f}s"
        if self._is_live:
            self._stream.write(f"\r{line.ljust(self._width)}")
            self._width = len(line)
        elif status != self._status:
            self._stream.write(f"{line}\n")
        self._status = status
        self._stream.flush()

    def close(self) -> None:
        if self._is_live and self._width:
            self._stream.write("\n")
            self._stream.flush()


def _get(api: ApiClient, args: argparse.Namespace, console: Console) -> int:
    _print_json(api.get(args.id).body, console.stdout)
    return 0


def _cancel(api: ApiClient, args: argparse.Namespace, console: Console) -> int:
    _print_json(api.cancel(args.id).body, console.stdout)
    return 0


def _events(api: ApiClient, args: argparse.Namespace, console: Console) -> int:
    if not args.follow:
        _print_json(api.events(args.id), console.stdout)
        return 0
    for event in api.follow_events(args.id):
        console.stdout.write(msgspec.json.encode(event).decode() + "\n")
        console.stdout.flush()
    return 0


def _list(api: ApiClient, args: argparse.Namespace, console: Console) -> int:
    cursor: str | None = None
    seen: set[str] = set()
    while True:
        page = api.list(status=args.status, limit=args.limit, cursor=cursor)
        for task in page.data:
            line = f"{task.task_id}  {task.status:<10}  {task.model}  {task.created_at}"
            console.stdout.write(f"{line}\n")
        cursor = page.next_cursor
        if cursor is None or cursor in seen or not args.all:
            break
        seen.add(cursor)
    if cursor is not None and not args.all:
        console.stderr.write("more tasks: add --all to list them all\n")
    return 0


def _print_json(body: object, stdout: TextIO) -> None:
    stdout.write(msgspec.json.format(msgspec.json.encode(body), indent=2).decode() + "\n")


_TASKS: dict[str, Callable[[ApiClient, argparse.Namespace, Console], int]] = {
    "get": _get,
    "events": _events,
    "cancel": _cancel,
    "list": _list,
}
