"""In-process request metrics, exposed at ``/metrics`` in Prometheus' text format."""

from __future__ import annotations

from collections import defaultdict


class Metrics:
    """Counters and latency sums per (method, route template, status)."""

    __slots__ = ("_count", "_seconds")

    def __init__(self) -> None:
        self._count: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self._seconds: defaultdict[tuple[str, str, int], float] = defaultdict(float)

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        self._count[key] += 1
        self._seconds[key] += seconds

    def render(self) -> str:
        lines = [
            "# HELP mva_http_requests_total HTTP requests by method, route and status.",
            "# TYPE mva_http_requests_total counter",
        ]
        for (method, route, status), n in sorted(self._count.items()):
            labels = f'method="{method}",route="{route}",status="{status}"'
            lines.append(f"mva_http_requests_total{{{labels}}} {n}")
        lines += [
            "# HELP mva_http_request_seconds_sum Time spent serving requests.",
            "# TYPE mva_http_request_seconds_sum counter",
        ]
        for (method, route, status), s in sorted(self._seconds.items()):
            labels = f'method="{method}",route="{route}",status="{status}"'
            lines.append(f"mva_http_request_seconds_sum{{{labels}}} {s:.6f}")
        return "\n".join(lines) + "\n"
