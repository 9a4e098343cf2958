"""API keys: ``mv_live_...`` / ``mv_test_...``, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal

from adapter.core.errors import ApiKeyDisabled, InvalidApiKey, MissingApiKey
from adapter.core.values import ApiKey, SigningSecrets
from adapter.ports import KeyStore
from adapter.service.signing import new_secret

PREFIXES = ("mv_live_", "mv_test_")

#: After a rotation, deliveries carry the old secret's signature this long, too.
ROTATION_GRACE = timedelta(hours=24)


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyService:
    """Issues, checks and manages API keys. No key is cached: a disabled key is refused at once."""

    __slots__ = ("_clock", "_store")

    def __init__(self, store: KeyStore, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    async def create(
        self, *, name: str, owner: str | None = None, kind: Literal["live", "test"] = "live"
    ) -> tuple[ApiKey, str]:
        """Issue a new key; returns it and the secret, which is never stored or shown again."""
        secret = f"mv_{kind}_{secrets.token_hex(20)}"
        return await self.register(secret, name=name, owner=owner), secret

    async def register(self, secret: str, *, name: str, owner: str | None = None) -> ApiKey:
        """Store a key whose secret is already known (``MVA_BOOTSTRAP_KEY``); idempotent."""
        if not secret.startswith(PREFIXES):
            raise ValueError("API keys start with mv_live_ or mv_test_")
        existing = await self._store.key_by_hash(hash_key(secret))
        if existing is not None:
            return existing
        key = ApiKey(
            id=f"key_{secrets.token_hex(8)}",
            name=name,
            owner=owner or name,
            key_hash=hash_key(secret),
            status="active",
            created_at=self._clock(),
            prefix=secret[:12],
        )
        await self._store.add_key(key)
        return key

    async def authenticate(self, authorization: str | None) -> ApiKey:
        """The active key named by an ``Authorization: Bearer`` header value.

        Raises:
            MissingApiKey: no bearer token.
            InvalidApiKey: unknown (never issued, or deleted).
            ApiKeyDisabled: known but disabled.
        """
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise MissingApiKey("Send your API key as 'Authorization: Bearer mv_live_...'.")
        key = await self._store.key_by_hash(hash_key(token))
        if key is None:
            raise InvalidApiKey("The API key is not valid.")
        if key.status != "active":
            raise ApiKeyDisabled("The API key is disabled.")
        return key

    async def list(self) -> list[ApiKey]:
        return await self._store.list_keys()

    async def set_enabled(self, key_id: str, enabled: bool) -> bool:
        return await self._store.set_key_status(key_id, "active" if enabled else "disabled")

    async def delete(self, key_id: str) -> bool:
        return await self._store.delete_key(key_id)

    async def signing_secrets(self, key_id: str) -> SigningSecrets:
        """The key's webhook signing secrets, made on first use."""
        existing = await self._store.signing_secrets(key_id)
        if existing is not None:
            return existing
        return await self._store.add_signing_secrets(key_id, SigningSecrets(new_secret()))

    async def rotate_signing_secret(self, key_id: str) -> SigningSecrets:
        """A new secret; the one it replaces still signs for ``ROTATION_GRACE``."""
        await self.signing_secrets(key_id)  # a first secret, which the new one replaces
        return await self._store.rotate_signing_secrets(
            key_id, new_secret(), self._clock() + ROTATION_GRACE
        )

    def secrets_in_use(self, secrets: SigningSecrets) -> tuple[str, ...]:
        """The secrets a delivery is signed with now: the current, and the previous in grace."""
        if secrets.previous and secrets.until and self._clock() < secrets.until:
            return (secrets.current, secrets.previous)
        return (secrets.current,)
