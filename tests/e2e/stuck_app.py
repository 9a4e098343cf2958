"""An ASGI app whose shutdown never ends, for the supervisor's tests: only SIGKILL stops it.

Run it under ``Supervisor``: ``python -m tests.e2e.stuck_app PORT BOUND_S``.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import uvicorn

from adapter.cli.supervisor import run_workers


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                while True:  # a shutdown stuck for good, the event loop with it
                    time.sleep(1)  # noqa: ASYNC251 - blocking on purpose
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


if __name__ == "__main__":
    port, bound_s = int(sys.argv[1]), float(sys.argv[2])
    config = uvicorn.Config(
        "tests.e2e.stuck_app:app", port=port, workers=2, timeout_graceful_shutdown=1
    )
    run_workers(config, bound_s=bound_s)
