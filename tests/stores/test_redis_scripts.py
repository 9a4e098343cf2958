"""The Lua scripts name their KEYS and ARGV once, at their top, and use only the names after."""

from __future__ import annotations

import re

import pytest

from adapter.stores import redis_scripts

SCRIPTS = [
    "CREATE",
    "UPDATE",
    "DELETE",
    "CLAIM_DUE",
    "ATTEMPT",
    "PAGE",
    "CLAIM_IDEMPOTENCY",
    "RELEASE_IDEMPOTENCY",
]
POSITIONAL = re.compile(r"\b(KEYS|ARGV)\[")


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_script_reads_its_keys_and_arguments_only_into_named_locals(name: str) -> None:
    """Every KEYS[i] and ARGV[i] sits in the ``local`` lines that open the script."""
    lines = [line for line in getattr(redis_scripts, name).strip().splitlines() if line]
    opening = 0
    while opening < len(lines) and lines[opening].startswith("local "):
        opening += 1
    assert any(POSITIONAL.search(line) for line in lines[:opening])
    assert [line for line in lines[opening:] if POSITIONAL.search(line)] == []
