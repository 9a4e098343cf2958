"""Who may call the simulated Kling upstream: a gateway Bearer key, or an official Kling JWT.

Failures answer as Kling does (HTTP 401): 1001 no ``Authorization``, 1002 invalid,
1003 not yet valid (``nbf``), 1004 expired (``exp``). JWT times are checked against the
simulator's injected clock, so a test controls expiry without sleeping.
"""

from __future__ import annotations

import hmac
import warnings
from collections.abc import Callable
from typing import Final

import jwt
from starlette.requests import Request

from adapter.simulator.config import SimulatorConfig
from adapter.simulator.wire import Rejection

#: The account of each dialect. The simulator has one key per dialect, so one owner each.
GATEWAY: Final = "gateway"
OFFICIAL: Final = "official"

_JWT_CACHE_SIZE: Final = 1024


def _empty() -> Rejection:
    return Rejection(401, 1001, "Authorization is empty")


def _invalid() -> Rejection:
    return Rejection(401, 1002, "Authorization is invalid")


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization")
    if not header:
        raise _empty()
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _invalid()
    return token.strip()


class Authenticator:
    """Checks a request's credentials for one dialect and returns its owner."""

    __slots__ = ("_claims", "_clock", "_config")

    def __init__(self, config: SimulatorConfig, clock: Callable[[], float]) -> None:
        self._config = config
        self._clock = clock
        #: Verified tokens -> (nbf, exp). Clients reuse one token for ~25 minutes, so this
        #: spares the HMAC and JSON work on most requests; times are still checked each time.
        self._claims: dict[str, tuple[float | None, float]] = {}

    def gateway(self, request: Request) -> str:
        """The owner of a gateway request (``Authorization: Bearer <api_key>``)."""
        if self._config.require_auth:
            token = _bearer(request)
            if not hmac.compare_digest(token.encode(), self._config.api_key.encode()):
                raise _invalid()
        return GATEWAY

    def official(self, request: Request) -> str:
        """The owner of an official request (``Authorization: Bearer <HS256 JWT>``)."""
        if self._config.require_auth:
            nbf, exp = self._verified(_bearer(request))
            now = self._clock()
            if nbf is not None and now < nbf:
                raise Rejection(401, 1003, "Authorization is not yet valid")
            if now >= exp:
                raise Rejection(401, 1004, "Authorization has expired")
        return OFFICIAL

    def _verified(self, token: str) -> tuple[float | None, float]:
        cached = self._claims.get(token)
        if cached is not None:
            return cached
        claims = self._decode(token)
        if claims.get("iss") != self._config.access_key:
            raise _invalid()
        nbf, exp = claims.get("nbf"), claims.get("exp")
        if not isinstance(exp, int | float) or not isinstance(nbf, int | float | None):
            raise _invalid()
        if len(self._claims) >= _JWT_CACHE_SIZE:
            self._claims.clear()
        self._claims[token] = times = (nbf, exp)
        return times

    def _decode(self, token: str) -> dict[str, object]:
        try:
            # Real Kling secret keys are 32 characters; the simulator's default is short on
            # purpose, and PyJWT would warn about it on every decode.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
                claims: dict[str, object] = jwt.decode(
                    token,
                    self._config.secret_key,
                    algorithms=["HS256"],
                    # exp and nbf are checked against the injected clock instead.
                    options={
                        "require": ["iss", "exp"],
                        "verify_exp": False,
                        "verify_nbf": False,
                        "verify_iat": False,
                        "verify_aud": False,
                    },
                )
        except jwt.InvalidTokenError:
            raise _invalid() from None
        return claims
