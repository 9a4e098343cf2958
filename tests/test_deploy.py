"""``deploy/compose/docker-compose.yml`` can configure what a real deployment needs (replicas
behind a proxy, a worker, Redis or a Redis Cluster), and its simulator links videos where
clients can fetch them; ``deploy/k8s/`` is valid Kubernetes that probes, drains and scales the
adapter as it works. (No Docker engine or cluster runs here: the compose file is read as
Compose reads it, the manifests are checked against Kubernetes' schemas, bundled by
kubernetes-validate, and both environments against the settings parser.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapter.config.settings import Settings, SettingsError
from adapter.http.routes import ROUTES

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
COMPOSE = DEPLOY / "compose" / "docker-compose.yml"
#: ``${NAME}``, ``${NAME:-default}``, ``${NAME:?message}``, as Compose interpolates them.
_VARIABLE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?:(?P<op>:[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    found: dict[str, Any] = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return found


@pytest.fixture(scope="module")
def adapter(compose: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = compose["services"]["adapter"]
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


def test_the_simulator_is_one_service_for_every_replica_and_links_videos_at_its_published_port(
    compose: dict[str, Any], adapter: dict[str, Any]
) -> None:
    """Any replica may poll any task, so all submit to the one simulator; its output URLs
    start with MVA_SIM_PUBLIC_URL, whose port is published to the host."""
    settings = Settings.from_env(environment(adapter, {"MVA_BOOTSTRAP_KEY": "mv_live_k"}))
    assert settings.uses_simulator and settings.simulator_url == "http://simulator:9100"
    simulator = compose["services"]["simulator"]
    assert simulator["command"][-2:] == ["--port", "9100"]
    ports = [interpolate(str(port), {}).split(":") for port in simulator["ports"]]
    published = {inside: outside for outside, inside in ports}
    sim = Settings.from_env(environment(simulator, {}))
    assert sim.sim_public_url == f"http://localhost:{published['9100']}"


def test_the_adapter_runs_as_replicas_behind_the_proxy_which_alone_is_published(
    compose: dict[str, Any], adapter: dict[str, Any]
) -> None:
    assert interpolate(str(adapter["deploy"]["replicas"]), {}) == "3"
    assert "ports" not in adapter  # replicas cannot share a host port: the proxy has it
    proxy = compose["services"]["proxy"]
    assert interpolate(proxy["ports"][0], {}) == "8000:8000"
    [mount] = proxy["volumes"]
    conf = (COMPOSE.parent / mount.split(":")[0]).read_text(encoding="utf-8")
    assert "server adapter:8000 resolve;" in conf and "proxy_buffering off;" in conf


def test_every_long_running_service_has_a_health_check_the_adapter_its_readiness(
    compose: dict[str, Any], adapter: dict[str, Any]
) -> None:
    for name in ("proxy", "adapter", "simulator", "redis", "redis-node-1", "redis-node-6"):
        assert compose["services"][name]["healthcheck"]["test"], name
    assert "/readyz" in " ".join(adapter["healthcheck"]["test"])
    assert {"/readyz", "/healthz"} <= {getattr(route, "path", "") for route in ROUTES}


def test_redis_keeps_its_data_in_an_append_only_file_on_a_volume(compose: dict[str, Any]) -> None:
    for name in ("redis", "redis-node-1", "redis-node-4"):
        service = compose["services"][name]
        assert "--appendonly" in service["command"] and "yes" in service["command"]
        assert service["volumes"][0].endswith(":/data")


def test_the_cluster_profile_forms_six_nodes_that_the_adapter_reaches_in_cluster_mode(
    compose: dict[str, Any], adapter: dict[str, Any]
) -> None:
    services = compose["services"]
    nodes = [name for name, s in services.items() if s.get("profiles") == ["cluster"]]
    assert sorted(nodes) == ["redis-cluster-init", *(f"redis-node-{n}" for n in range(1, 7))]
    assert all("--cluster-enabled" in services[n]["command"] for n in nodes if n[-1].isdigit())
    join = services["redis-cluster-init"]["command"][0]
    assert "redis-cli --cluster create" in join and "--cluster-replicas 1" in join
    assert adapter["depends_on"]["redis-cluster-init"]["required"] is False
    shell = {
        "MVA_BOOTSTRAP_KEY": "mv_live_k",
        "MVA_REDIS_MODE": "cluster",
        "REDIS_URL": "redis://redis-node-1:6379",
    }
    settings = Settings.from_env(environment(adapter, shell))
    assert settings.redis_topology.mode == "cluster"


def test_the_worker_service_is_a_profile_running_the_worker_command(
    compose: dict[str, Any],
) -> None:
    worker = compose["services"]["worker"]
    assert worker["profiles"] == ["worker"]
    assert worker["command"] == ["mindvideo-adapter", "worker"]
    assert worker["environment"] == compose["services"]["adapter"]["environment"]
