"""Which media URLs are accepted, where they are really fetched from, and which are trusted."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import httpx

from adapter.core.errors import InvalidRequest

_ACCEPTED = "an https:// URL or a data URI (data:<type>;base64,<payload>)"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Target(NamedTuple):
    """A URL to fetch, and whether it skips the address check (allow-listed or rewritten)."""

    url: httpx.URL
    trusted: bool


class UrlPolicy:
    """Checks URL forms and applies the configured host rewrites.

    ``allow_hosts`` are exempt from the public-address rule and may use plain http.
    ``rewrites`` maps a host to a base URL that serves its paths instead (a local mirror,
    the simulator); rewritten URLs are trusted like allow-listed ones. ``allow_setting``
    is the variable that sets ``allow_hosts``, named in refusals. A URL with credentials
    (``user:password@``) is refused everywhere: they would be sent on, or logged, as given.
    """

    def __init__(
        self,
        allow_hosts: frozenset[str],
        rewrites: Mapping[str, str],
        *,
        allow_setting: str,
        accepted: str = _ACCEPTED,
    ) -> None:
        self._allow_setting = allow_setting
        self._accepted = accepted
        self._allow_hosts = frozenset(host.lower() for host in allow_hosts)
        self._rewrites = {host.lower(): httpx.URL(base) for host, base in rewrites.items()}
        for host, base in self._rewrites.items():
            if base.scheme not in _DEFAULT_PORTS or not base.host:
                raise ValueError(f"rewrite for {host!r} needs an http(s) base URL, got {base}")
        # Trusted by exact origin, so a rewrite to 127.0.0.1:9100 does not open 127.0.0.1:6379.
        self._trusted_origins = frozenset(_origin(base) for base in self._rewrites.values())

    def admit(self, value: str, *, param: str) -> Target:
        """The target for a URL a client sent; raises ``InvalidRequest`` if its form is wrong."""
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise InvalidRequest(
                f"{param} is not a valid URL; send {self._accepted}.", param
            ) from exc
        if url.scheme not in _DEFAULT_PORTS:
            got = f"a {url.scheme}: URL" if url.scheme else "not a URL"
            raise InvalidRequest(f"{param} is {got}; send {self._accepted}.", param)
        return self._target(url, param=param, what="is")

    def follow(self, current: httpx.URL, location: str, *, param: str) -> Target:
        """The target of a redirect from ``current``, held to the same rules."""
        try:
            url = current.join(location)
        except httpx.InvalidURL as exc:
            raise InvalidRequest(f"{param} redirects to an invalid URL.", param) from exc
        if url.scheme not in _DEFAULT_PORTS:
            raise InvalidRequest(
                f"{param} redirects to a {url.scheme}: URL; only https:// is followed.", param
            )
        return self._target(url, param=param, what="redirects to")

    def _target(self, url: httpx.URL, *, param: str, what: str) -> Target:
        if not url.host:
            raise InvalidRequest(
                f"{param} {what} a URL without a host; send {self._accepted}.", param
            )
        if url.userinfo:
            raise InvalidRequest(
                f"{param} {what} a URL with a user name or password in it (user:password@); "
                "send a URL without credentials (a signed URL carries them in its query).",
                param,
            )
        base = self._rewrites.get(url.host)
        if base is not None:
            # raw_path is the path and query as sent, still percent-encoded.
            path = base.raw_path.decode("ascii").split("?", 1)[0].rstrip("/")
            rewritten = base.copy_with(raw_path=(path.encode("ascii") + url.raw_path))
            return Target(rewritten, trusted=True)
        trusted = url.host in self._allow_hosts or _origin(url) in self._trusted_origins
        if url.scheme == "http" and not trusted:
            raise InvalidRequest(
                f"{param} {what} a plain http:// URL; only https:// URLs are accepted, unless "
                f"{self._allow_setting} lists the host.",
                param,
            )
        return Target(url, trusted)


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS[url.scheme]
