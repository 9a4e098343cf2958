"""The console program refuses what cannot work, and says why."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from adapter.cli.main import main
from tests.e2e.live import ROOT, clean_env, delete_namespace, free_port
from tests.redis_server import RedisServer, needs_redis_server


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
    import secrets

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL")
    namespace = f"cli-{secrets.token_hex(4)}"  # never the default one: a shared Redis
    try:
        environ = {"REDIS_URL": url, "MVA_REDIS_NAMESPACE": namespace}
        assert main(["keys", "disable", "key_missing"], environ=environ) == 1
    finally:
        delete_namespace(url, namespace)  # the namespace's layout mark
    assert "key_missing" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [["serve"], ["serve", "--workers", "2"], ["worker"], ["keys", "list"]],
    ids=["serve", "serve-workers", "worker", "keys"],
)
def test_an_unreachable_redis_stops_the_program_at_once_with_one_line(command: list[str]) -> None:
    """Nothing starts: exit status 2 within seconds, and one line naming REDIS_URL and the
    error on stderr (no traceback, and no password)."""
    port = free_port()  # bound and let go: nothing listens there
    url = f"redis://app:s3cret@127.0.0.1:{port}/0"
    env = clean_env(
        REDIS_URL=url,
        KLING_BASE_URL="http://127.0.0.1:9",
        KLING_API_KEY="sim-key",
        MVA_BOOTSTRAP_KEY="mv_test_unreachable",
    )
    if command[0] == "serve":
        command = [*command, "--port", str(free_port())]
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "adapter", *command],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert time.monotonic() - started < 10
    assert done.returncode == 2
    assert done.stderr == (
        f"mindvideo-adapter: REDIS_URL redis://app:***@127.0.0.1:{port}/0 cannot be reached: "
        "Connection refused.\n"
    )
    assert done.stdout == ""


def test_a_malformed_redis_url_stops_the_program_naming_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Not a Redis URL at all: a settings error, before anything is tried."""
    assert main(["keys", "list"], environ={"REDIS_URL": "localhost:6379"}) == 2
    assert "REDIS_URL is not a Redis URL" in capsys.readouterr().err


@needs_redis_server
def test_a_redis_that_refuses_the_url_stops_the_program_with_its_answer(
    own_redis: RedisServer, capsys: pytest.CaptureFixture[str]
) -> None:
    """Reached, but the database does not exist: Redis's own words, on one line."""
    url = own_redis.url.removesuffix("/0") + "/99"
    assert main(["keys", "list"], environ={"REDIS_URL": url}) == 2
    assert capsys.readouterr().err == (
        f"mindvideo-adapter: REDIS_URL {url} answered with an error: DB index is out of range.\n"
    )


def test_keys_create_and_update_set_a_keys_scope(capsys: pytest.CaptureFixture[str]) -> None:
    """--models, --expires and --allow-ip on create; update changes them; a bad one is named."""
    import os
    import secrets

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL")
    namespace = f"cli-{secrets.token_hex(4)}"
    env = {"REDIS_URL": url, "MVA_REDIS_NAMESPACE": namespace}
    try:
        _check_key_scope(env, capsys)
    finally:
        delete_namespace(url, namespace)  # the namespace's layout mark (the key is deleted)


def _check_key_scope(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    created = ["keys", "create", "--name", "ci", "--models", "kling-v3,viduq3"]
    created += ["--expires", "30d", "--allow-ip", "10.0.0.0/8", "--allow-ip", "192.0.2.1"]
    created += ["--rpm", "30", "--max-concurrent", "2"]
    assert main(created, environ=env) == 0
    key_id = capsys.readouterr().out.split("id:", 1)[1].split()[0]
    listed = main(["keys", "list"], environ=env)
    assert listed == 0 and "live" in capsys.readouterr().out
    assert (
        main(["keys", "update", key_id, "--models", "all", "--expires", "never"], environ=env) == 0
    )
    assert "models all; expires never" in capsys.readouterr().out
    assert main(["keys", "update", key_id, "--models", "sora-9"], environ=env) == 1
    assert "models[0]" in capsys.readouterr().err
    assert main(["keys", "update", key_id, "--rpm", "fast"], environ=env) == 1
    assert "rpm" in capsys.readouterr().err
    assert main(["keys", "update", key_id, "--rpm", "none"], environ=env) == 0
    capsys.readouterr()
    assert main(["keys", "update", key_id, "--budget", "12.5/day"], environ=env) == 0
    assert main(["keys", "update", key_id, "--budget", "lots"], environ=env) == 1
    assert "budget.amount" in capsys.readouterr().err
    assert main(["keys", "delete", key_id], environ=env) == 0


def test_usage_prints_the_ledger_as_a_table_or_csv(capsys: pytest.CaptureFixture[str]) -> None:
    """The rows of GET /admin/v1/usage, from the same ledger, on the command line."""
    import asyncio
    import os
    import secrets
    from datetime import UTC, datetime

    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("needs REDIS_URL")
    namespace = f"cli-{secrets.token_hex(4)}"
    env = {"REDIS_URL": url, "MVA_REDIS_NAMESPACE": namespace}
    today = f"{datetime.now(UTC):%Y-%m-%d}"
    assert main(["keys", "create", "--name", "ci"], environ=env) == 0
    key_id = capsys.readouterr().out.split("id:", 1)[1].split()[0]

    async def record() -> None:
        import redis.asyncio as aioredis

        from adapter.stores.redis_keyspace import KeySpace

        client = aioredis.Redis.from_url(url)
        ledger = KeySpace(namespace).usage(key_id, today)
        await client.hset(ledger, mapping={"kling-v3|tasks": 2, "kling-v3|charged": 151200000})
        await client.aclose()

    try:
        asyncio.run(record())
        _check_usage_output(env, key_id, today, capsys)
    finally:
        delete_namespace(url, namespace)  # the ledger written above, and nothing else


def _check_usage_output(
    env: dict[str, str], key_id: str, today: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["usage", "--by", "day,key"], environ=env) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "DAY",
        "KEY_ID",
        "TASKS",
        "SUCCEEDED",
        "FAILED",
        "CANCELLED",
        "SECONDS",
        "CHARGED",
        "RESERVED",
    ]
    assert table[1].split() == [today, key_id, "2", "0", "0", "0", "0", "0.1512", "0"]
    assert main(["usage", "--by", "model", "--csv"], environ=env) == 0
    assert capsys.readouterr().out.splitlines()[1] == ",kling-v3,,2,0,0,0,0,0,0.1512,0"
    assert main(["usage", "--by", "week"], environ=env) == 1
    assert "group_by" in capsys.readouterr().err
    assert main(["keys", "delete", key_id], environ=env) == 0
