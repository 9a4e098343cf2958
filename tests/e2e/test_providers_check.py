"""``mindvideo-adapter providers check`` against real loopback upstreams: the simulator's
dialects, its stock new-api, a web page where an API should be, a wrong key, a closed port."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapter.cli.main import main
from tests.e2e.live import Live, free_port

FILE = """
[[provider]]
name = "{name}"
dialect = "{dialect}"
base_url = "{url}"
{credentials}
models = [{models}]
"""
CREDENTIALS = {
    "kling-gateway": 'api_key_env = "GW_KEY"',
    "kling-official": 'access_key_env = "AK"\nsecret_key_env = "SK"',
    "dashscope": 'api_key_env = "DS_KEY"',
}
ENV = {"GW_KEY": "sim-key", "AK": "sim-ak", "SK": "sim-sk", "DS_KEY": "sim-dashscope-key"}


def check(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    *providers: tuple[str, str, str, str],
    **env: str,
) -> tuple[int, str]:
    """Run the command on a providers file of (name, dialect, url, models) rows; a provider
    named ``badkey`` gets a gateway token the upstream does not know."""
    rows = [
        FILE.format(
            name=n,
            dialect=d,
            url=u,
            credentials='api_key_env = "BAD_KEY"' if n == "badkey" else CREDENTIALS[d],
            models=m,
        )
        for n, d, u, m in providers
    ]
    path = tmp_path / "providers.toml"
    path.write_text("".join(rows), encoding="utf-8")
    code = main(["providers", "check"], environ={**ENV, "MVA_PROVIDERS_FILE": str(path), **env})
    return code, capsys.readouterr().out


def test_every_dialect_of_the_simulator_passes(
    upstream: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(
        tmp_path,
        capsys,
        ("gw", "kling-gateway", upstream.url, '"kling-v3", "kling-v2-6-motion-control"'),
        ("official", "kling-official", upstream.url, '"kling-v2-6"'),
        ("ds", "dashscope", upstream.url, '"wan2-6-i2v-flash"'),
    )
    assert code == 0, out
    assert out.count(": ok\n") == 3 and "All 3 providers passed the check." in out
    assert "credentials  accepted" in out and "answered that it has no such task (1203)" in out
    assert "models       kling-v2-6-motion-control, kling-v3" in out


def test_a_stock_new_api_passes_with_a_warning_for_routes_it_lacks(
    upstream: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its query answers task_not_exist (healthy), but motion-control answers its web UI."""
    models = '"kling-v2-6", "kling-v2-6-motion-control"'
    code, out = check(
        tmp_path, capsys, ("newapi", "kling-gateway", f"{upstream.url}/newapi", models)
    )
    assert code == 0, out
    assert "answered that it has no such task (task_not_exist)" in out
    [warning] = [line for line in out.splitlines() if "warning" in line]
    assert "no motion-control route" in warning and "kling-v2-6-motion-control" in warning


def test_a_wrong_key_a_web_page_and_a_closed_port_each_fail(
    upstream: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(
        tmp_path,
        capsys,
        ("good", "kling-gateway", upstream.url, '"kling-v3"'),
        ("badkey", "kling-gateway", upstream.url, '"kling-v3"'),
        ("webui", "dashscope", f"{upstream.url}/newapi", '"wan2-6-i2v-flash"'),
        ("closed", "kling-official", f"http://127.0.0.1:{free_port()}", '"kling-v3"'),
        BAD_KEY="sk-not-this-gateways",
    )
    assert code == 1
    assert "3 of 4 providers failed the check." in out
    by_name = _blocks(out)
    assert by_name["good"].splitlines()[0].endswith(": ok")
    assert "credentials  refused" in by_name["badkey"]
    assert "dialect      no: the upstream answered a web page" in by_name["webui"]
    assert (
        "reachable    no: could not reach the upstream: the connection was refused"
        in (by_name["closed"])
    )


def test_with_nothing_configured_it_says_the_simulator_is_used(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "check"], environ={}) == 0
    assert "built-in simulator" in capsys.readouterr().out


def _blocks(out: str) -> dict[str, str]:
    """Each provider's report, by name: its heading line and the indented lines under it."""
    found: dict[str, list[str]] = {}
    name = ""
    for line in out.splitlines():
        if line and not line.startswith(" ") and "(" in line:
            name = line.split(" ", 1)[0]
            found[name] = [line]
        elif line.startswith("  ") and name:
            found[name].append(line)
    return {name: "\n".join(lines) for name, lines in found.items()}
