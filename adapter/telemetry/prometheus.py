"""``PrometheusMetrics``: the ``Metrics`` port on prometheus-client.

One process keeps its metrics in a registry of its own (with the process, platform and GC
collectors), so two apps in one process never clash. Under ``serve --workers N`` the
supervisor sets ``PROMETHEUS_MULTIPROC_DIR`` before it starts the workers: prometheus-client
then keeps every value in a file of that directory per process, and any worker's scrape adds
up the files of all of them (``MultiProcessCollector``).

Label children are cached by their label values: a request costs one dict lookup per metric.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from adapter.core.values import TaskStatus
from adapter.ports import CircuitEvent, Operation, Outcome, Schedule, WebhookOutcome

#: Seconds: from a Redis read served at once to an upstream's slowest answer.
UPSTREAM_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class PrometheusMetrics:
    """Every ``mva_`` metric, and their exposition (``/metrics``)."""

    def __init__(self, *, multiprocess_dir: str | None = None) -> None:
        """``multiprocess_dir``: ``PROMETHEUS_MULTIPROC_DIR``, when the server runs in several
        processes (prometheus-client read it from the environment when it was imported)."""
        # No ``*_created`` series: the multiprocess exposition has none, and neither should
        # one process's (process-wide in prometheus-client, and the same for every instance).
        disable_created_metrics()  # type: ignore[no-untyped-call]
        own = CollectorRegistry()
        self.requests = Histogram(
            "mva_http_request_duration_seconds",
            "HTTP requests served, by method, route template and status.",
            ["method", "route", "status"],
            registry=own,
        )
        self.upstream_seconds = Histogram(
            "mva_upstream_request_duration_seconds",
            "Calls to upstream providers, by provider, operation and model.",
            ["provider", "operation", "model"],
            buckets=UPSTREAM_BUCKETS,
            registry=own,
        )
        self.upstream_calls = Counter(
            "mva_upstream_requests",
            "Calls to upstream providers, by provider, operation, model and outcome.",
            ["provider", "operation", "model", "outcome"],
            registry=own,
        )
        self.created = Counter(
            "mva_tasks_created", "Tasks created, by model.", ["model"], registry=own
        )
        self.ended = Counter(
            "mva_tasks_ended",
            "Tasks that reached a terminal status, by model and status.",
            ["model", "status"],
            registry=own,
        )
        self.webhooks = Counter(
            "mva_webhook_attempts",
            "Webhook delivery attempts, by outcome (delivered, failed, gave_up).",
            ["outcome"],
            registry=own,
        )
        self.lag = Gauge(
            "mva_reconciler_lag_seconds",
            "Age of the oldest due entry of each reconciler schedule, set each round "
            "(the largest over the live processes).",
            ["schedule"],
            multiprocess_mode="livemax",
            registry=own,
        )
        self.store_errors = Counter(
            "mva_store_errors",
            "Store operations that failed with the store unavailable, by operation.",
            ["operation"],
            registry=own,
        )
        self.circuits = Counter(
            "mva_circuit_events",
            "Circuits opened (unavailable answers in a row) and submits that skipped an open "
            "one, by provider and model.",
            ["provider", "model", "event"],
            registry=own,
        )
        if multiprocess_dir is None:
            for collector in (ProcessCollector, PlatformCollector, GCCollector):
                collector(registry=own)
            self._registry = own
        else:
            self._registry = CollectorRegistry()
            MultiProcessCollector(self._registry, path=multiprocess_dir)  # type: ignore[no-untyped-call]
        self._request_children: dict[tuple[str, str, int], Histogram] = {}
        self._upstream_children: dict[tuple[str, str, str, str], tuple[Histogram, Counter]] = {}

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        child = self._request_children.get(key)
        if child is None:
            child = self._request_children[key] = self.requests.labels(method, route, str(status))
        child.observe(seconds)

    def upstream_call(
        self, provider: str, operation: Operation, model: str, outcome: Outcome, seconds: float
    ) -> None:
        key = (provider, operation, model, outcome)
        children = self._upstream_children.get(key)
        if children is None:
            children = self._upstream_children[key] = (
                self.upstream_seconds.labels(provider, operation, model),
                self.upstream_calls.labels(provider, operation, model, outcome),
            )
        children[0].observe(seconds)
        children[1].inc()

    def task_created(self, model: str) -> None:
        self.created.labels(model).inc()

    def task_ended(self, model: str, status: TaskStatus) -> None:
        self.ended.labels(model, status.value).inc()

    def webhook_attempt(self, outcome: WebhookOutcome) -> None:
        self.webhooks.labels(outcome).inc()

    def schedule_lag(self, schedule: Schedule, seconds: float) -> None:
        self.lag.labels(schedule).set(seconds)

    def store_unavailable(self, operation: str) -> None:
        self.store_errors.labels(operation).inc()

    def circuit_event(self, provider: str, model: str, event: CircuitEvent) -> None:
        self.circuits.labels(provider, model, event).inc()

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self._registry), CONTENT_TYPE_LATEST
