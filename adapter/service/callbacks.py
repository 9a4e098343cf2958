"""Upstream callbacks: the URL each submission carries, and the check of its token.

A callback is only a hint that a task moved: the task is re-queried from its upstream before
anything is applied, so a forged or replayed callback can at most cause one extra query, and
only with a token made for that provider and task.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from urllib.parse import quote

from adapter.core.errors import InvalidCallbackToken


class CallbackTokens:
    """Makes and checks ``/callbacks/{provider}/{task_id}?token=...`` URLs."""

    __slots__ = ("_base", "_secret")

    def __init__(self, public_url: str | None, secret: bytes) -> None:
        self._base = None if public_url is None else public_url.rstrip("/")
        self._secret = secret

    def url_for(self, provider: str, task_id: str) -> str | None:
        """The callback URL to send upstream; None when no public URL is configured."""
        if self._base is None:
            return None
        token = self._token(provider, task_id)
        return f"{self._base}/callbacks/{quote(provider, safe='')}/{task_id}?token={token}"

    def check(self, provider: str, task_id: str, token: str | None) -> None:
        """Raise ``InvalidCallbackToken`` unless ``token`` was made for this provider and task."""
        expected = self._token(provider, task_id)
        if token is None or not hmac.compare_digest(token.encode(), expected.encode()):
            raise InvalidCallbackToken(
                "The callback token does not match this provider and task; callbacks are "
                "accepted only at the URL this adapter sent upstream."
            )

    def _token(self, provider: str, task_id: str) -> str:
        digest = hmac.new(self._secret, f"{provider}/{task_id}".encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")
