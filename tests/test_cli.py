"""The console program refuses what cannot work, and says why."""

from __future__ import annotations

import pytest

from adapter.cli import main


def test_keys_commands_need_a_redis(capsys: pytest.CaptureFixture[str]) -> None:
    """The embedded store lives inside serve: keys commands say to use REDIS_URL."""
    assert main(["keys", "list"], environ={}) == 2
    assert "REDIS_URL" in capsys.readouterr().err


def test_several_workers_need_a_redis(capsys: pytest.CaptureFixture[str]) -> None:
    """Workers cannot share an in-process store."""
    assert main(["serve", "--workers", "2"], environ={}) == 2
    assert "REDIS_URL" in capsys.readouterr().err


def test_a_bad_setting_stops_the_program_with_its_name(capsys: pytest.CaptureFixture[str]) -> None:
    """Start-up errors are one clear line, not a traceback."""
    assert main(["serve"], environ={"MVA_MEDIA_PROBE": "maybe"}) == 2
    assert "MVA_MEDIA_PROBE" in capsys.readouterr().err


def test_unknown_key_ids_are_reported(capsys: pytest.CaptureFixture[str]) -> None:
    """Disabling a key that does not exist fails with exit code 1."""
    import os

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL")
    assert main(["keys", "disable", "key_missing"], environ={"REDIS_URL": url}) == 1
    assert "key_missing" in capsys.readouterr().err
