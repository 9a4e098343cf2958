"""``deploy/``'s Grafana dashboard queries only metrics ``/metrics`` serves, and its Prometheus
configuration scrapes that path: the dashboard cannot drift from the code unnoticed."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.fakes import MODEL, seed_input

pytestmark = pytest.mark.anyio

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
#: The suffixes each metric type's samples carry in the exposition format.
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def dashboard_queries() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "mindvideo-adapter.json").read_text())
    queries = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return queries


async def served_names(client: httpx.AsyncClient) -> set[str]:
    """Every sample name ``/metrics`` declares, whether or not it has a sample yet."""
    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    names: set[str] = set()
    for family in text_string_to_metric_families(scrape.text):
        names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ("",)))
    return names


async def test_every_metric_the_dashboard_queries_is_served(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/tasks", json={"model": MODEL, "input": seed_input()})
    served = await served_names(client)
    queried = {name for query in dashboard_queries() for name in re.findall(r"\bmva_\w+", query)}
    assert queried, "the dashboard queries no mva_ metric"
    assert queried <= served, sorted(queried - served)
    # And it shows every adapter metric there is: a new one gets a panel.
    families = {name for name in served if name.startswith("mva_")}
    shown = {re.sub(r"_(total|bucket|count|sum)$", "", name) for name in queried}
    assert {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in families} <= shown


def test_the_prometheus_example_scrapes_the_metrics_path() -> None:
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"]
