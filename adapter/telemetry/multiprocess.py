"""The metrics of several worker processes, added up: the directory prometheus-client keeps
their values in, made and removed by the supervisor, and the files of a worker that is gone."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from prometheus_client import multiprocess

#: The variable prometheus-client reads (when it is imported) to keep values in files.
VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextlib.contextmanager
def metrics_directory() -> Iterator[str]:
    """A fresh directory for the workers' metrics, named in this process's environment (which
    the workers inherit) for the duration of the block, then removed with its files."""
    path = tempfile.mkdtemp(prefix="mva-metrics-")
    before = os.environ.get(VARIABLE)
    os.environ[VARIABLE] = path
    try:
        yield path
    finally:
        if before is None:
            os.environ.pop(VARIABLE, None)
        else:
            os.environ[VARIABLE] = before
        shutil.rmtree(path, ignore_errors=True)


def process_dead(pid: int, path: str) -> None:
    """Drop the live gauges of worker ``pid``, which has exited (its counters stay counted)."""
    multiprocess.mark_process_dead(pid, path)  # type: ignore[no-untyped-call]
