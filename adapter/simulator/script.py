"""Prompt markers that script a simulated task's outcome, like a payment API's test card numbers.

A marker is ``[sim:<name>]`` or ``[sim:<name>=<value>]`` anywhere in the prompt. Markers are
exact and case-sensitive. Any other ``[sim:...]`` text (a typo, an unknown name, a bad value,
an unclosed bracket) makes the submit fail with HTTP 400 (Kling: code 1201; DashScope:
``InvalidParameter``) naming the marker, so a mistyped marker never silently runs the happy
path. Several markers may be combined; when one is repeated, the last wins.

Kling reads the markers of ``prompt`` (and of ``multi_prompt`` shots); the table below gives
their Kling effects. DashScope reads ``input.prompt``, with the same effects in its own codes
and statuses, and refuses ``[sim:shape=...]`` (see ``dashscope.DASHSCOPE_MARKERS``).

=============================  ============================================================
marker                         effect
=============================  ============================================================
``[sim:fail]``                 ends ``failed``, ``task_status_msg`` "content risk control"
``[sim:fail=<reason>]``        ends ``failed`` with ``task_status_msg`` = ``<reason>``
``[sim:stay-queued]``          stays ``submitted`` forever (wins over ``fail``)
``[sim:429]``                  submit answers HTTP 429, code 1302; no task is recorded
``[sim:500]``                  submit answers HTTP 500, code 5000; no task is recorded
``[sim:slow=<seconds>]``       submit records the task, then waits before answering
``[sim:poll-429]``             queries of the task answer HTTP 429 (it still progresses)
``[sim:poll-500]``             queries of the task answer HTTP 500 (it still progresses)
``[sim:shape=taskdto]``        queries answer new-api's ``{code:"success", data: TaskDto}``
``[sim:shape=simple]``         queries answer new-api's simple envelope
``[sim:shape=openai]``         queries answer an OpenAI-video object
``[sim:callback-dup]``         each ``callback_url`` POST is sent twice (see ``callbacks.py``)
=============================  ============================================================

:func:`parse_script` turns a prompt into a :class:`Script` (pure). A :class:`ScriptQueue` holds
scripts queued for the next tasks, whatever their prompts say: the Python API of the pytest
plugin (``adapter.testing``), for a test that cannot put a marker in the prompt its code sends.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Mapping
from typing import Final, Literal

import msgspec

Shape = Literal["kling", "taskdto", "simple", "openai"]

DEFAULT_FAIL_REASON: Final = "content risk control"

#: Longest ``[sim:slow=...]`` accepted, in seconds.
MAX_SLOW_S: Final = 3600.0

#: Every marker and its effect, for the README and ``--help`` texts.
MARKERS: Final[Mapping[str, str]] = {
    "[sim:fail]": f'the task ends `failed` with task_status_msg "{DEFAULT_FAIL_REASON}"',
    "[sim:fail=<reason>]": "the task ends `failed` with task_status_msg `<reason>`",
    "[sim:stay-queued]": "the task stays `submitted` forever",
    "[sim:429]": "submit answers HTTP 429, code 1302 (rate limit); no task is recorded",
    "[sim:500]": "submit answers HTTP 500, code 5000 (internal error); no task is recorded",
    "[sim:slow=<seconds>]": (
        "submit records the task, then waits <seconds> before answering, so a client "
        "timeout leaves a task to reconcile by external_task_id"
    ),
    "[sim:poll-429]": "queries of the task answer HTTP 429; the task still progresses",
    "[sim:poll-500]": "queries of the task answer HTTP 500; the task still progresses",
    "[sim:shape=taskdto]": 'queries answer new-api\'s {"code":"success","data":TaskDto}',
    "[sim:shape=simple]": "queries answer new-api's simple envelope (status, url, error)",
    "[sim:shape=openai]": "queries answer an OpenAI-video object (object: video)",
    "[sim:callback-dup]": "each callback_url POST is sent twice, as a retrying upstream may",
}


class Script(msgspec.Struct, frozen=True):
    """What the markers of one prompt ask the simulator to do."""

    #: The failure reason, or ``None`` for a task that succeeds.
    fail_reason: str | None = None
    stay_queued: bool = False
    #: The HTTP status the submit answers instead of accepting the task.
    submit_status: Literal[429, 500] | None = None
    #: Seconds the submit waits, after recording the task, before it answers.
    slow_s: float = 0.0
    #: The HTTP status every query of the task answers.
    poll_status: Literal[429, 500] | None = None
    #: The body shape queries of the task answer in.
    shape: Shape = "kling"
    #: Send each ``callback_url`` POST twice.
    callback_dup: bool = False


#: The script of a prompt without markers.
PLAIN: Final = Script()


class InvalidMarker(ValueError):
    """A ``[sim:...]`` marker that is unknown, malformed or has a bad value."""

    def __init__(self, marker: str, why: str = "unknown simulator marker") -> None:
        super().__init__(f"{why}: {marker}")
        self.marker = marker


_MARKER = re.compile(r"\[sim:([^\[\]]*)\]")
_FLAGS: Final[Mapping[str, dict[str, object]]] = {
    "fail": {"fail_reason": DEFAULT_FAIL_REASON},
    "stay-queued": {"stay_queued": True},
    "429": {"submit_status": 429},
    "500": {"submit_status": 500},
    "poll-429": {"poll_status": 429},
    "poll-500": {"poll_status": 500},
    "callback-dup": {"callback_dup": True},
}
_SHAPES: Final = frozenset({"taskdto", "simple", "openai"})
#: The markers that mean something on Kling alone: its query shapes and its callbacks.
_KLING_ONLY_MARKER: Final = re.compile(r"\[sim:(?:shape=[^\[\]]*|callback-dup)\]")


def parse_script(prompt: str | None) -> Script:
    """Return the :class:`Script` the markers in ``prompt`` ask for.

    Raises:
        InvalidMarker: a ``[sim:...]`` marker is unknown, malformed or has a bad value.
    """
    if not prompt or "[sim:" not in prompt:
        return PLAIN
    changes: dict[str, object] = {}
    for match in _MARKER.finditer(prompt):
        changes.update(_effect(match.group(0), match.group(1)))
    leftover = _MARKER.sub("", prompt)
    if "[sim:" in leftover:
        start = leftover.index("[sim:")
        raise InvalidMarker(leftover[start : start + 40], "unterminated simulator marker")
    return msgspec.structs.replace(PLAIN, **changes)


def _effect(marker: str, body: str) -> dict[str, object]:
    if body in _FLAGS:
        return _FLAGS[body]
    name, sep, value = body.partition("=")
    if not sep:
        raise InvalidMarker(marker)
    if name == "fail":
        if not value:
            raise InvalidMarker(marker, "empty failure reason in simulator marker")
        return {"fail_reason": value}
    if name == "slow":
        return {"slow_s": _seconds(marker, value)}
    if name == "shape":
        if value not in _SHAPES:
            raise InvalidMarker(marker, "unknown shape (taskdto, simple, openai) in marker")
        return {"shape": value}
    raise InvalidMarker(marker)


def _seconds(marker: str, value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise InvalidMarker(marker, "bad seconds in simulator marker") from None
    if not (math.isfinite(seconds) and 0 <= seconds <= MAX_SLOW_S):
        raise InvalidMarker(marker, f"seconds must be 0..{MAX_SLOW_S:g} in simulator marker")
    return seconds


class ScriptQueue:
    """Scripts for the next tasks submitted (any dialect), first queued first used.

    A queued script replaces the markers of the prompt of the task that takes it. Appending
    from another thread is safe (the pytest plugin's server runs in one of its own).
    """

    __slots__ = ("_next",)

    def __init__(self) -> None:
        self._next: deque[Script] = deque()

    def __len__(self) -> int:
        return len(self._next)

    def push(self, script: Script) -> None:
        self._next.append(script)

    def clear(self) -> None:
        self._next.clear()

    def script_for(self, prompt: str | None) -> Script:
        """The next queued script, or else what the markers of ``prompt`` ask for.

        Raises:
            InvalidMarker: nothing is queued and a marker of ``prompt`` is bad.
        """
        try:
            return self._next.popleft()
        except IndexError:
            return parse_script(prompt)


def script_on(scripted: ScriptQueue, prompt: str | None, host: str) -> Script:
    """The script of the next task on ``host``, an upstream with one answer shape and no
    Kling callbacks (DashScope, fal, Replicate): the shape markers and ``[sim:callback-dup]``
    mean nothing there, so they are refused as a bad marker is.

    Raises:
        InvalidMarker: a marker of ``prompt`` is bad, or one that ``host`` cannot honour.
    """
    script = scripted.script_for(prompt)
    if script.shape != "kling" or script.callback_dup:
        markers = _KLING_ONLY_MARKER.findall(prompt or "") or ["(a queued script)"]
        raise InvalidMarker(markers[-1], f"simulator marker not supported by {host}")
    return script
