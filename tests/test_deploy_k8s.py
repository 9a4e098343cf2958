"""``deploy/k8s/`` is valid Kubernetes (checked offline against the schemas kubernetes-validate
bundles), probes the adapter's real health routes, drains it within its stop bound, and its
ConfigMap and Secret are settings the adapter accepts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from adapter.config.settings import Settings
from adapter.core.shutdown import STOP_BOUND_S
from adapter.http.routes import ROUTES

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
KUBERNETES = "1.37.0"


def manifests() -> dict[str, dict[str, Any]]:
    """Every document of deploy/k8s, by kind (and name for the two Deployments)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            key = doc["kind"] if doc["kind"] != "Deployment" else doc["metadata"]["name"]
            found[key] = doc
    return found


MANIFESTS = manifests()
API, WORKER = MANIFESTS["mindvideo-adapter"], MANIFESTS["mindvideo-adapter-worker"]


@pytest.mark.parametrize("name", sorted(MANIFESTS))
def test_each_manifest_is_valid_against_the_kubernetes_schema_strictly(name: str) -> None:
    kubernetes_validate.validate(MANIFESTS[name], KUBERNETES, strict=True)


def test_the_validator_refuses_what_the_schema_does_not_allow() -> None:
    """The check above can fail: a misspelt field is refused."""
    broken = yaml.safe_load(yaml.safe_dump(API))
    broken["spec"]["replica"] = broken["spec"].pop("replicas")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES, strict=True)


def test_the_api_is_ready_on_readyz_and_alive_on_healthz_which_the_app_serves() -> None:
    [container] = API["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"/readyz", "/healthz"} <= {getattr(route, "path", "") for route in ROUTES}


def test_a_stopping_pod_waits_for_the_endpoints_then_has_its_whole_stop_bound() -> None:
    """preStop keeps serving while the endpoints forget the pod; then SIGTERM has more than
    the adapter's bound (event streams drained, everything closed) before a SIGKILL."""
    spec = API["spec"]["template"]["spec"]
    [container] = spec["containers"]
    command = container["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    assert spec["terminationGracePeriodSeconds"] > int(command[1]) + STOP_BOUND_S
    assert WORKER["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > STOP_BOUND_S


def test_the_service_autoscaler_and_budget_all_point_at_the_api_pods() -> None:
    labels = API["spec"]["template"]["metadata"]["labels"]
    assert API["spec"]["selector"]["matchLabels"] == labels
    assert MANIFESTS["Service"]["spec"]["selector"] == labels
    assert MANIFESTS["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == labels
    assert (
        MANIFESTS["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"]
        == (API["metadata"]["name"])
    )
    worker_labels = WORKER["spec"]["template"]["metadata"]["labels"]
    assert worker_labels != labels  # the Service never sends requests to a worker


def test_the_api_and_the_worker_read_the_configmap_and_secret_as_settings() -> None:
    environ = {**MANIFESTS["ConfigMap"]["data"], **MANIFESTS["Secret"]["stringData"]}
    environ.update(KLING_BASE_URL="https://gw.example", KLING_API_KEY="tok")
    settings = Settings.from_env(environ)
    assert settings.redis_configured and not settings.reconciler
    for deployment in (API, WORKER):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        refs = {next(iter(source.values()))["name"] for source in container["envFrom"]}
        assert refs == {MANIFESTS["ConfigMap"]["metadata"]["name"]}
    [worker] = WORKER["spec"]["template"]["spec"]["containers"]
    assert worker["command"] == ["mindvideo-adapter", "worker"]
