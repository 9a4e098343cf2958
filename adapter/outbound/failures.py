"""What went wrong on an outbound connection, said plainly: refused, DNS, TLS, timeout, ...

httpx-aiohttp raises ``httpx.ConnectTimeout`` for every ``aiohttp.ClientConnectionError``
(a refused connection, a failed lookup, a TLS error alike), so the words come from the
aiohttp exception it chains as ``__cause__``; httpx's own class is the fallback (the
``MockTransport`` raises those directly).
"""

from __future__ import annotations

import errno
import ssl

import aiohttp
import httpx


class NonPublicAddress(OSError):
    """A host refused at connect time by a vetting resolver; aiohttp hands it on as the cause
    of its connection error."""


_REFUSED = (errno.ECONNREFUSED,)
_UNREACHABLE = (errno.ENETUNREACH, errno.EHOSTUNREACH)


#: Causes said in fixed words, most specific first: the first ``isinstance`` match wins.
_PHRASES: tuple[tuple[type[BaseException], str], ...] = (
    (aiohttp.ClientConnectorDNSError, "DNS failure: the host name could not be resolved"),
    (aiohttp.ConnectionTimeoutError, "timeout: the connection was not accepted in time"),
    (aiohttp.ServerDisconnectedError, "the server closed the connection without answering"),
    (ConnectionResetError, "the connection was reset"),
    (aiohttp.ClientPayloadError, "the server's answer was cut off"),
)


def refused_address(exc: BaseException) -> NonPublicAddress | None:
    """The connect-time refusal of a non-public address behind ``exc``, if that is what it is."""
    cause = _cause(exc)
    if isinstance(cause, aiohttp.ClientConnectorError) and isinstance(
        cause.os_error, NonPublicAddress
    ):
        return cause.os_error
    return None


def describe(exc: BaseException, *, timeout_s: float | None = None) -> str:
    """A phrase for a failed exchange, e.g. "the connection was refused by the server"."""
    refused = refused_address(exc)
    if refused is not None:
        return f"refused: {refused}"
    cause = _cause(exc)
    for kind, phrase in _PHRASES:
        if isinstance(cause, kind):
            return phrase
    if isinstance(cause, aiohttp.ClientConnectorCertificateError):
        return f"TLS failure: the server's certificate was not accepted ({_reason(cause.os_error)})"
    if isinstance(cause, aiohttp.ClientSSLError):
        return f"TLS failure: no secure connection could be set up ({_reason(cause.os_error)})"
    if isinstance(cause, aiohttp.ClientConnectorError):
        return _connect_failure(cause.os_error)
    if isinstance(cause, aiohttp.ServerTimeoutError | TimeoutError | httpx.TimeoutException):
        within = "" if timeout_s is None else f" within {timeout_s:g} s"
        return f"timeout: the server did not answer{within}"
    if isinstance(cause, aiohttp.ClientConnectionError | httpx.ConnectError):
        return f"the connection failed ({type(cause).__name__})"
    if isinstance(cause, aiohttp.ClientError):
        return f"the server's answer was malformed ({type(cause).__name__})"
    return f"the transfer failed ({type(cause).__name__})"


def _cause(exc: BaseException) -> BaseException:
    """The aiohttp error an httpx error was mapped from, else ``exc`` itself."""
    if isinstance(exc, httpx.HTTPError) and isinstance(exc.__cause__, aiohttp.ClientError):
        return exc.__cause__
    return exc


def _connect_failure(error: OSError) -> str:
    # Several addresses that all failed come as one OSError, "Multiple exceptions: ...".
    text = str(error)
    if error.errno in _REFUSED or f"[Errno {errno.ECONNREFUSED}]" in text:
        return "the connection was refused by the server"
    if error.errno in _UNREACHABLE:
        return "the server's network is unreachable"
    if error.errno == errno.ETIMEDOUT or isinstance(error, TimeoutError):
        return "timeout: the connection was not accepted in time"
    return f"the connection failed ({_reason(error)})"


def _reason(error: OSError) -> str:
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return str(error.verify_message)
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    return error.strerror or str(error) or type(error).__name__
