"""Where log lines go: the adapter's own loggers at ``MVA_LOG_LEVEL``, beside uvicorn's.

Without this only uvicorn's loggers had a handler: the adapter's warnings reached stderr as
bare lines through Python's last-resort handler, and its info lines (the access log, retry
notices) never printed. One ``dictConfig`` for every entry point; uvicorn applies it in each
worker process too.
"""

from __future__ import annotations

import copy
import logging.config
from typing import Any

from uvicorn.config import LOGGING_CONFIG

#: ``2026-11-29 15:20:01,123 WARNING adapter.http.errors http.unavailable request_id=...``
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_config(level: str) -> dict[str, Any]:
    """uvicorn's own logging config, plus the ``adapter`` loggers at ``level``."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["adapter"] = {"format": FORMAT}
    config["handlers"]["adapter"] = {
        "class": "logging.StreamHandler",
        "formatter": "adapter",
        "stream": "ext://sys.stderr",
    }
    config["loggers"]["adapter"] = {
        "handlers": ["adapter"],
        "level": level.upper(),
        "propagate": False,
    }
    return config


def configure_logging(level: str) -> None:
    """For entry points that run no uvicorn server (``worker``)."""
    logging.config.dictConfig(log_config(level))
