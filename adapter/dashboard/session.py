"""The dashboard's signed session and CSRF tokens: pure HMAC, no storage.

Everything is signed with a key derived from ``MVA_ADMIN_TOKEN`` under a fixed label, so every
process of a deployment agrees with no setting of its own, and a new admin token signs everyone
out. A session cookie is ``<id>.<expires>.<mac>``: the expiry is inside what is signed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

import msgspec

#: How long a sign-in lasts.
LIFETIME_S = 12 * 3600
_LABEL = b"mindvideo-adapter dashboard session v1"


def signing_key(admin_token: str) -> bytes:
    """The key that signs sessions and CSRF tokens, derived from the admin token."""
    return hmac.new(admin_token.encode(), _LABEL, hashlib.sha256).digest()


class Session(msgspec.Struct, frozen=True):
    """One sign-in: a random id (what its CSRF token is bound to) and when it ends."""

    id: str
    #: Unix seconds.
    expires: int


def issue(key: bytes, now: float) -> tuple[Session, str]:
    """A new session and its cookie value."""
    session = Session(secrets.token_urlsafe(18), int(now) + LIFETIME_S)
    payload = f"{session.id}.{session.expires}"
    return session, f"{payload}.{_mac(key, 'session', payload)}"


def verify(key: bytes, cookie: str | None, now: float) -> Session | None:
    """The session ``cookie`` carries if its signature holds and it has not expired."""
    if not cookie:
        return None
    payload, _, mac = cookie.rpartition(".")
    if not hmac.compare_digest(mac.encode(), _mac(key, "session", payload).encode()):
        return None
    session_id, _, expires = payload.partition(".")
    if not session_id or not expires.isdigit() or int(expires) <= now:
        return None
    return Session(session_id, int(expires))


def csrf_token(key: bytes, bound_to: str) -> str:
    """The CSRF token of a session (``session:<id>``) or of a sign-in form (``login:<nonce>``)."""
    return _mac(key, "csrf", bound_to)


def csrf_holds(key: bytes, bound_to: str, given: str | None) -> bool:
    """Whether ``given`` is the CSRF token of ``bound_to`` (constant-time)."""
    return given is not None and hmac.compare_digest(
        given.encode(), csrf_token(key, bound_to).encode()
    )


def _mac(key: bytes, purpose: str, text: str) -> str:
    digest = hmac.new(key, f"{purpose}\0{text}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
