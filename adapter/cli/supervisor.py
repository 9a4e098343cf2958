"""``serve --workers N``: uvicorn's supervisor, with a stop that ends within a bound.

uvicorn's ``Multiprocess`` sends SIGTERM to each worker, then joins them one by one with no
timeout: a worker whose stop hangs holds the supervisor for good, and the signals that come
in meanwhile are queued and never read. :class:`Supervisor` keeps uvicorn's supervision
(health checks, restarts, SIGHUP, SIGTTIN/SIGTTOU) and changes only the stop: the workers
get SIGTERM, then, once they are gone, the companions (the simulator that served them).
Whatever still runs ``bound_s`` after the stop began, or at once after a second SIGINT or
SIGTERM, is killed with SIGKILL.
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
    ) -> None:
        super().__init__(config, sockets)
        self._companions = companions
        self._bound_s = bound_s
        self._stop_by = 0.0

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

    ``config.app`` must be an import string (each worker imports it).
    """
    sock = config.bind_socket()
    try:
        Supervisor(config, [sock], companions=companions, bound_s=bound_s).run()
    finally:
        sock.close()
