"""The two log formats (``MVA_LOG_FORMAT``): ``text``, a readable line per record, and ``json``,
one JSON object per line. Both keep secrets out (``redact``).

The adapter's messages are an event then ``key=value`` pairs (``task.refresh_failed
task_id=%s reason=%s``): in JSON the event is ``event`` and each pair a field of its own, the
value formatted as the text line has it (a number stays a number). A value may hold spaces: it
runs to the next `` key=``, and the last key takes the rest of the line. Messages of other
shapes (uvicorn's) are the ``event`` whole. The id of the HTTP request being served, when there
is one, is ``request_id``.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

import msgspec

from adapter.core import log_context

#: What a secret looks like wherever it can be told by its look: API keys, webhook signing
#: secrets, bearer tokens, ``token=`` query parameters (callback URLs), ``key=``/``secret=``
#: ones. Upstream credentials and the admin token have no look of their own: the code never
#: logs them (a test reads every line of a life at debug level for them).
_SECRETS = re.compile(
    r"(?P<keep>\bmv_(?:live|test)_|\bwhsec_|\b[Bb]earer\s+|[?&](?:token|key|secret|signature)=)"
    r"[^\s\"'&,;)]+"
)
_EVENT = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")
_KEY = re.compile(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=")
#: ``key=%s``, ``key=%d``, ``key=%.2f`` in a message's format string.
_FIELD = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=(%[-#0 +]*\d*(?:\.\d+)?[diufFeEgGsr])")
_DIRECTIVE = re.compile(r"%(?:%|[-#0 +]*[\d*]*(?:\.[\d*]+)?[a-zA-Z])")

_encode = msgspec.json.Encoder().encode


def redact(text: str) -> str:
    """``text`` with every secret of a recognisable look replaced by ``[redacted]``."""
    if not _SECRETS.search(text):
        return text
    return _SECRETS.sub(lambda m: f"{m['keep']}[redacted]", text)


class TextFormatter(logging.Formatter):
    """``logging.Formatter``, redacted."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ``time``, ``level``, ``logger``, ``event``, the message's
    fields, ``request_id`` when a request is being served, ``exception`` with a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        event, fields = _parsed(record)
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[
                :-3
            ]
            + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": redact(event),
        }
        request_id = log_context.request_id.get()
        if request_id is not None:
            doc["request_id"] = request_id
        for key, value in fields.items():
            if key not in ("time", "level", "logger", "event"):
                doc[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            doc["exception"] = redact(self.formatException(record.exc_info))
        if record.stack_info:
            doc["stack"] = redact(self.formatStack(record.stack_info))
        return _encode(doc).decode()


def _parsed(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """The record's event and fields: from its format string and arguments when they are
    ``event key=%s ...``, else from the formatted message."""
    if isinstance(record.msg, str) and isinstance(record.args, tuple) and record.args:
        found = _from_format(record.msg, record.args)
        if found is not None:
            return found
    return _from_text(record.getMessage())


def _from_format(msg: str, args: tuple[Any, ...]) -> tuple[str, dict[str, Any]] | None:
    event, _, rest = msg.partition(" ")
    if not _EVENT.fullmatch(event):
        return None
    fields = _FIELD.findall(rest)
    if len(fields) != len(args) or len(_DIRECTIVE.findall(rest)) != len(args):
        return None
    values: dict[str, Any] = {}
    for (key, directive), arg in zip(fields, args, strict=True):
        try:
            text = directive % (arg,)
        except (TypeError, ValueError):
            return None
        kind = directive[-1]
        if kind in "diu" and isinstance(arg, int):
            values[key] = int(arg)
        elif kind in "fFeEgG":
            values[key] = float(text)
        else:
            values[key] = text
    return event, values


def _from_text(message: str) -> tuple[str, dict[str, Any]]:
    event, _, rest = message.partition(" ")
    if not _EVENT.fullmatch(event):
        return message, {}
    keys = list(_KEY.finditer(rest))
    values: dict[str, Any] = {}
    for i, key in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(rest)
        values[key[1]] = rest[key.end() : end].strip()
    return event, values
