"""Parsing prompt markers into a scripted outcome (pure, no HTTP)."""

from __future__ import annotations

import pytest

from adapter.simulator.script import (
    DEFAULT_FAIL_REASON,
    MARKERS,
    PLAIN,
    InvalidMarker,
    Script,
    parse_script,
)


@pytest.mark.parametrize("prompt", [None, "", "a dancer, no markers", "[sim]", "sim:fail"])
def test_a_prompt_without_markers_runs_the_happy_path(prompt: str | None) -> None:
    """No ``[sim:...]`` marker means the plain script."""
    assert parse_script(prompt) is PLAIN


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("[sim:fail]", Script(fail_reason=DEFAULT_FAIL_REASON)),
        ("x [sim:fail=face not found] y", Script(fail_reason="face not found")),
        ("[sim:stay-queued]", Script(stay_queued=True)),
        ("[sim:429]", Script(submit_status=429)),
        ("[sim:500]", Script(submit_status=500)),
        ("[sim:slow=2.5]", Script(slow_s=2.5)),
        ("[sim:poll-429]", Script(poll_status=429)),
        ("[sim:poll-500]", Script(poll_status=500)),
        ("[sim:shape=taskdto]", Script(shape="taskdto")),
        ("[sim:shape=simple]", Script(shape="simple")),
        ("[sim:shape=openai]", Script(shape="openai")),
        ("[sim:callback-dup]", Script(callback_dup=True)),
    ],
)
def test_each_marker_sets_its_effect(prompt: str, expected: Script) -> None:
    """Each documented marker maps to one field of the script."""
    assert parse_script(prompt) == expected


def test_markers_combine_and_the_last_repeat_wins() -> None:
    """Several markers combine; a repeated marker takes its last value."""
    script = parse_script("[sim:fail=a] dance [sim:shape=simple][sim:poll-500] [sim:fail=b]")
    assert script == Script(fail_reason="b", shape="simple", poll_status=500)


@pytest.mark.parametrize(
    ("prompt", "named"),
    [
        ("[sim:FAIL]", "[sim:FAIL]"),
        ("[sim:fial]", "[sim:fial]"),
        ("[sim:fail=]", "[sim:fail=]"),
        ("[sim: fail]", "[sim: fail]"),
        ("[sim:stay-queued=1]", "[sim:stay-queued=1]"),
        ("[sim:slow=abc]", "[sim:slow=abc]"),
        ("[sim:slow=-1]", "[sim:slow=-1]"),
        ("[sim:slow=nan]", "[sim:slow=nan]"),
        ("[sim:slow=99999]", "[sim:slow=99999]"),
        ("[sim:shape=xml]", "[sim:shape=xml]"),
        ("[sim:404]", "[sim:404]"),
        ("ok [sim:fail", "[sim:fail"),
        ("[sim:fail [sim:429]", "[sim:fail"),
    ],
)
def test_an_unknown_or_malformed_marker_is_an_error_naming_it(prompt: str, named: str) -> None:
    """Typos, bad values and unclosed markers raise InvalidMarker naming the marker."""
    with pytest.raises(InvalidMarker) as caught:
        parse_script(prompt)
    assert named in str(caught.value)


def test_every_documented_marker_parses() -> None:
    """Every MARKERS entry, placeholders filled in, is accepted."""
    fills = {"<reason>": "blurry face", "<seconds>": "1"}
    for marker in MARKERS:
        for placeholder, value in fills.items():
            marker = marker.replace(placeholder, value)
        assert parse_script(marker) != PLAIN, marker
