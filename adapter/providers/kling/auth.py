"""The official Kling API's bearer token: an HS256 JWT signed with the account's secret key.

Built exactly as the official Python sample: header ``{"alg": "HS256", "typ": "JWT"}`` and
claims ``iss`` (the access key), ``exp`` (now + 1800 s) and ``nbf`` (now - 5 s), no ``iat``.
See upstream-contracts.md section 3.1.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import jwt

TOKEN_TTL_S = 1800
#: Re-sign this long before expiry, so a token never expires in flight.
RENEW_BEFORE_S = 300
#: ``nbf`` is backdated to absorb clock skew, as the official sample does.
NOT_BEFORE_SKEW_S = 5


class KlingTokenSigner:
    """Signs the JWT and reuses it until it is ``RENEW_BEFORE_S`` from expiry."""

    __slots__ = ("_access_key", "_clock", "_expires_at", "_secret_key", "_token")

    def __init__(
        self, access_key: str, secret_key: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError(
                "the official Kling dialect needs KLING_ACCESS_KEY and KLING_SECRET_KEY"
            )
        self._access_key = access_key
        self._secret_key = secret_key
        self._clock = clock
        self._token: str | None = None
        self._expires_at = 0

    def token(self) -> str:
        """The current bearer token, signing a new one when the cached one is close to expiry."""
        now = int(self._clock())
        if self._token is None or now >= self._expires_at - RENEW_BEFORE_S:
            expires_at = now + TOKEN_TTL_S
            claims = {"iss": self._access_key, "exp": expires_at, "nbf": now - NOT_BEFORE_SKEW_S}
            with warnings.catch_warnings():
                # pyjwt warns about HMAC keys under 32 bytes; the key is Kling's to choose
                # (and the simulator's is short), so the warning is noise here.
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                self._token = jwt.encode(
                    claims, self._secret_key, algorithm="HS256", headers={"typ": "JWT"}
                )
            self._expires_at = expires_at
        return self._token

    def __repr__(self) -> str:
        return f"KlingTokenSigner(access_key={self._access_key[:4]}...)"
