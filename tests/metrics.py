"""Reading a metric back from an exposition, as Prometheus would scrape it."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from adapter.ports import Metrics


def sample(metrics: Metrics | str, name: str, **labels: str) -> float:
    """The value of sample ``name`` with exactly ``labels`` in ``metrics``' exposition (or in
    a scraped text); 0 when there is none."""
    text = metrics if isinstance(metrics, str) else metrics.exposition()[0].decode()
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return float(found.value)
    return 0.0
