"""What caused an error: its chain of causes, as a log line or as one reason for a person."""

from __future__ import annotations

import os
import socket

from adapter.core.errors import AllProvidersFailed


def causes(exc: BaseException) -> list[BaseException]:
    """``exc``, what raised it, and so on down (at most 8: chains are short, loops are not)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return chain


def cause_chain(exc: BaseException) -> str:
    """``Class: message <- Class: message ...``: the error and, in turn, what caused it.

    For ``AllProvidersFailed``, each provider's error and its causes follow in brackets.
    """
    links: list[str] = []
    for error in causes(exc):
        kind = type(error)
        name = (
            kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        )
        text = " ".join(str(error).split())
        links.append(f"{name}: {text}" if text else name)
        if isinstance(error, AllProvidersFailed):
            links[-1] += f" [{'; '.join(cause_chain(e) for e in error.errors)}]"
    return " <- ".join(links)


def reason(exc: BaseException) -> tuple[bool, str]:
    """Whether the other end was reached, and why it failed: in the operating system's words
    when a socket error lies under ``exc``, else in the innermost error's own."""
    chain = causes(exc)
    for depth, error in enumerate(chain):
        if isinstance(error, socket.gaierror) and error.strerror:
            return False, error.strerror
        if isinstance(error, OSError):
            if error.errno:
                return False, os.strerror(error.errno)
            return False, _words(chain[max(0, depth - 1)])  # a timeout: the client's words
    return True, _words(chain[-1])


def _words(error: BaseException) -> str:
    return str(error).rstrip(".") or error.__class__.__name__
