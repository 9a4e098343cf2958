"""``serve --workers N``: uvicorn's supervisor, with a stop that ends within a bound.

uvicorn's ``Multiprocess`` sends SIGTERM to each worker, then joins them one by one with no
timeout: a worker whose stop hangs holds the supervisor for good, and the signals that come
in meanwhile are queued and never read. :class:`Supervisor` keeps uvicorn's supervision
(health checks, restarts, SIGHUP, SIGTTIN/SIGTTOU) and changes only the stop: the workers
get SIGTERM, then, once they are gone, the companions (the simulator that served them).
Whatever still runs ``bound_s`` after the stop began, or at once after a second SIGINT or
SIGTERM, is killed with SIGKILL.

The workers keep their metrics in a directory the supervisor makes for them and removes after
(``PROMETHEUS_MULTIPROC_DIR``), so one scrape of any worker adds up all of them; a worker that
exits and is replaced has its live gauges dropped.
"""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess

from adapter.core.shutdown import STOP_BOUND_S
from adapter.telemetry.multiprocess import metrics_directory, process_dead

log = logging.getLogger("uvicorn.error")

_HURRY = (signal.SIGINT, signal.SIGTERM)


class Supervisor(Multiprocess):
    def __init__(
        self,
        config: uvicorn.Config,
        sockets: list[socket.socket],
        *,
        companions: Sequence[subprocess.Popen[bytes]] = (),
        bound_s: float = STOP_BOUND_S,
        metrics_dir: str | None = None,
    ) -> None:
        super().__init__(config, sockets)
        self._companions = companions
        self._bound_s = bound_s
        self._stop_by = 0.0
        self._metrics_dir = metrics_dir

    def keep_subprocess_alive(self) -> None:
        before = self._pids()
        super().keep_subprocess_alive()
        self._bury(before)

    def restart_all(self) -> None:
        before = self._pids()
        super().restart_all()
        self._bury(before)

    def _pids(self) -> set[int]:
        return {process.pid for process in self.processes if process.pid is not None}

    def _bury(self, before: set[int]) -> None:
        """Mark the workers that were replaced dead in the metrics directory."""
        if self._metrics_dir is not None:
            for pid in before - self._pids():
                process_dead(pid, self._metrics_dir)

    def terminate_all(self) -> None:
        self._stop_by = time.monotonic() + self._bound_s
        super().terminate_all()

    def join_all(self) -> None:
        # The workers first: the companions (the simulator) serve them until they are gone.
        if why := self._wait(self._workers_running):
            for process in self.processes:
                if process.process.is_alive():
                    log.error("Killing child process [%s]: %s", process.pid, why)
                    process.kill()
        for process in self.processes:
            process.process.join()
        for companion in self._companions:
            if companion.poll() is None:
                companion.terminate()
        if why := self._wait(self._companions_running):
            for companion in self._companions:
                if companion.poll() is None:
                    log.error("Killing process [%s]: %s", companion.pid, why)
                    companion.kill()
        for companion in self._companions:
            companion.wait()

    def _workers_running(self) -> bool:
        return any(process.process.is_alive() for process in self.processes)

    def _companions_running(self) -> bool:
        return any(companion.poll() is None for companion in self._companions)

    def _wait(self, running: Callable[[], bool]) -> str:
        """Wait while ``running()``; "" once it is not, else why to stop waiting."""
        while running():
            if time.monotonic() >= self._stop_by:
                return f"still running {self._bound_s:g} s after the stop began"
            if any(sig in _HURRY for sig in self.signal_queue):
                return "a second signal came"
            time.sleep(0.05)
        return ""


def run_workers(
    config: uvicorn.Config,
    *,
    companions: Sequence[subprocess.Popen[bytes]] = (),
    bound_s: float = STOP_BOUND_S,
) -> None:
    """``uvicorn.run(...)`` with ``workers`` above 1, under :class:`Supervisor`.

    ``config.app`` must be an import string (each worker imports it). The workers' metrics
    directory exists while they run.
    """
    sock = config.bind_socket()
    try:
        with metrics_directory() as metrics_dir:
            supervisor = Supervisor(
                config, [sock], companions=companions, bound_s=bound_s, metrics_dir=metrics_dir
            )
            supervisor.run()
    finally:
        sock.close()
