"""``deploy/docker-compose.yml`` can configure what a real deployment needs, and its simulator
mode links videos where clients can fetch them. (No Docker engine runs here: the file is read
as Compose reads it, and its environment is checked against the settings parser.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapter.config.settings import Settings, SettingsError

COMPOSE = Path(__file__).resolve().parents[1] / "deploy" / "docker-compose.yml"
#: ``${NAME}``, ``${NAME:-default}``, ``${NAME:?message}``, as Compose interpolates them.
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def adapter() -> dict[str, Any]:
    service: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"][
        "adapter"
    ]
    return service


def interpolate(value: str, shell: dict[str, str]) -> str:
    """What Compose makes of ``value`` with the variables ``shell`` sets."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if shell.get(name):
            return shell[name]
        if op == ":?":
            raise ValueError(arg)
        return arg if op == ":-" else ""

    return _VARIABLE.sub(one, value)


def environment(adapter: dict[str, Any], shell: dict[str, str]) -> dict[str, str]:
    return {name: interpolate(str(value), shell) for name, value in adapter["environment"].items()}


@pytest.mark.parametrize(
    "name",
    [
        "DASHSCOPE_API_KEY",
        "DASHSCOPE_BASE_URL",
        "MVA_PUBLIC_URL",
        "MVA_CALLBACK_SECRET",
        "MVA_PROVIDERS_FILE",
        "KLING_BASE_URL",
        "KLING_API_KEY",
        "KLING_ACCESS_KEY",
        "KLING_SECRET_KEY",
        "NEWAPI_BASE_URL",
        "NEWAPI_API_KEY",
        "MVA_ADMIN_TOKEN",
        "MVA_TRUSTED_PROXIES",
    ],
)
def test_each_upstream_and_callback_setting_passes_through_from_the_shell(
    adapter: dict[str, Any], name: str
) -> None:
    assert environment(adapter, {"MVA_BOOTSTRAP_KEY": "mv_live_k", name: "given"})[name] == "given"


def test_there_is_no_default_api_key(adapter: dict[str, Any]) -> None:
    """A fixed key in a public file is a key everyone knows: Compose refuses to start without."""
    with pytest.raises(ValueError, match="MVA_BOOTSTRAP_KEY"):
        environment(adapter, {})


def test_a_dashscope_and_callback_setup_parses_as_settings(adapter: dict[str, Any]) -> None:
    shell = {
        "MVA_BOOTSTRAP_KEY": "mv_live_compose",
        "DASHSCOPE_API_KEY": "sk-ds",
        "DASHSCOPE_BASE_URL": "https://dashscope-intl.aliyuncs.com",
        "MVA_PUBLIC_URL": "https://adapter.example.com",
        "MVA_CALLBACK_SECRET": "s3cret",
    }
    settings = Settings.from_env(environment(adapter, shell))
    [dashscope] = settings.providers
    assert dashscope.base_url == "https://dashscope-intl.aliyuncs.com"
    assert settings.public_url == "https://adapter.example.com"


def test_callbacks_without_their_secret_are_refused_at_start_up(adapter: dict[str, Any]) -> None:
    shell = {"MVA_BOOTSTRAP_KEY": "mv_live_k", "MVA_PUBLIC_URL": "https://adapter.example.com"}
    with pytest.raises(SettingsError, match="MVA_CALLBACK_SECRET"):
        Settings.from_env(environment(adapter, shell))


def test_the_simulator_listens_on_the_published_port_and_links_videos_there(
    adapter: dict[str, Any],
) -> None:
    """Its output URLs start with MVA_SIM_PUBLIC_URL, whose port is published to the host."""
    settings = Settings.from_env(environment(adapter, {"MVA_BOOTSTRAP_KEY": "mv_live_k"}))
    assert settings.uses_simulator and settings.sim_host == "0.0.0.0"
    ports = [interpolate(str(port), {}).split(":") for port in adapter["ports"]]
    published = {inside: outside for outside, inside in ports}
    assert str(settings.sim_port) in published
    assert settings.sim_public_url == f"http://localhost:{published[str(settings.sim_port)]}"
