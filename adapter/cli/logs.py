"""Where log lines go: the adapter's own loggers at ``MVA_LOG_LEVEL``, beside uvicorn's.

Without this only uvicorn's loggers had a handler: the adapter's warnings reached stderr as
bare lines through Python's last-resort handler, and its info lines (the access log, retry
notices) never printed. One ``dictConfig`` for every entry point; uvicorn applies it in each
worker process too. ``MVA_LOG_FORMAT=json`` makes every line, uvicorn's too, a JSON object
(``log_formats``).
"""

from __future__ import annotations

import copy
import logging.config
from typing import Any

from uvicorn.config import LOGGING_CONFIG

#: ``2026-11-29 15:20:01,123 WARNING adapter.http.errors http.unavailable request_id=...``
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def log_config(level: str, log_format: str = "text") -> dict[str, Any]:
    """uvicorn's own logging config, plus the ``adapter`` loggers at ``level``; in
    ``log_format`` ``json``, every formatter is the JSON one."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    if log_format == "json":
        json_formatter = {"()": "adapter.cli.log_formats.JsonFormatter"}
        for name in (*config["formatters"], "adapter"):
            config["formatters"][name] = json_formatter
    else:
        config["formatters"]["adapter"] = {
            "()": "adapter.cli.log_formats.TextFormatter",
            "format": FORMAT,
        }
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


def configure_logging(level: str, log_format: str = "text") -> None:
    """For entry points that run no uvicorn server (``worker``)."""
    logging.config.dictConfig(log_config(level, log_format))
