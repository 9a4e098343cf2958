"""API keys: ``mv_live_...`` / ``mv_test_...``, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

import msgspec

from adapter.core.errors import (
    ApiKeyDisabled,
    ApiKeyExpired,
    InvalidApiKey,
    IpNotAllowed,
    MissingApiKey,
    ModelNotAllowed,
)
from adapter.core.shards import new_key_id
from adapter.core.values import ApiKey, Mode, SigningSecrets
from adapter.ports import KeyStore
from adapter.service.signing import new_secret

PREFIXES = ("mv_live_", "mv_test_")

#: ``last_used_at`` is kept to this: a key is written at most once this often per process.
USED_RESOLUTION = timedelta(minutes=1)

#: After a rotation, deliveries carry the old secret's signature this long, too.
ROTATION_GRACE = timedelta(hours=24)


#: The most key owners a process remembers (``KeyService._owners``); past it, it starts over.
_OWNERS_KEPT = 10_000


class Credential(NamedTuple):
    """The API key a request names, before it is read: the hash it is stored under, the
    caller's address, and its mode (from its prefix)."""

    key_hash: str
    client_ip: str | None
    mode: Mode
    #: Whose the key was when this process last admitted it; ``None``: not admitted here
    #: yet, or refused since. A hint, never an admission: a submit claims this owner's
    #: Idempotency-Key while the key is read, and gives the claim back if the key is refused
    #: or is now another owner's.
    owner: str | None


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class KeyService:
    """Issues, checks and manages API keys. No key is cached: a disabled key is refused at once."""

    __slots__ = ("_clock", "_marked", "_owners", "_store")

    def __init__(self, store: KeyStore, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        #: Key id -> when this process last recorded its use: at most one write a minute.
        self._marked: dict[str, datetime] = {}
        #: Key hash -> the owner of the key when this process last admitted it. Never used to
        #: admit a key (each request reads its key): only to know, before the read, whose
        #: Idempotency-Key a submit claims (see ``Credential``).
        self._owners: dict[str, str] = {}

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
            id=new_key_id(owner or name),
            name=name,
            owner=owner or name,
            key_hash=hash_key(secret),
            status="active",
            created_at=self._clock(),
            prefix=secret[:12],
        )
        await self._store.add_key(key)
        return key

    async def authenticate(self, authorization: str | None, client_ip: str | None = None) -> ApiKey:
        """The active key named by an ``Authorization: Bearer`` header value, used from
        ``client_ip`` (the caller's address, ``None`` when unknown).

        Raises:
            MissingApiKey: no bearer token.
            InvalidApiKey: unknown (never issued, or deleted).
            ApiKeyDisabled: known but disabled.
            ApiKeyExpired: its ``expires_at`` has passed.
            IpNotAllowed: ``client_ip`` is outside its ``allowed_ips``.
        """
        return await self.read(self.credential(authorization, client_ip))

    def credential(self, authorization: str | None, client_ip: str | None) -> Credential:
        """The key an ``Authorization: Bearer`` header value names, used from ``client_ip``,
        to be read (:meth:`read`, or with a request's first store read and then
        :meth:`confirm`); ``MissingApiKey`` when it names none."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise MissingApiKey("Send your API key as 'Authorization: Bearer mv_live_...'.")
        key_hash = hash_key(token)
        mode: Mode = "test" if token.startswith("mv_test_") else "live"
        return Credential(key_hash, client_ip, mode, self._owners.get(key_hash))

    async def for_submit(
        self, credential: Credential, idempotency_key: str | None
    ) -> ApiKey | None:
        """The key ``credential`` names, read now (:meth:`read`), or ``None`` when a submit
        with ``idempotency_key`` can read it with its claim: the key's owner is known here."""
        if credential.owner is None or idempotency_key is None:
            return await self.read(credential)
        return None

    async def read(self, credential: Credential) -> ApiKey:
        """The key ``credential`` names, read now and checked as :meth:`authenticate` says."""
        return await self.confirm(credential, await self._store.key_by_hash(credential.key_hash))

    async def confirm(self, credential: Credential, found: ApiKey | None) -> ApiKey:
        """``found``, the key stored under ``credential``'s hash, if it is active and may be
        used from its address; raises as :meth:`authenticate` does."""
        try:
            if found is None:
                raise InvalidApiKey("The API key is not valid.")
            if found.status != "active":
                raise ApiKeyDisabled("The API key is disabled.")
            if found.expires_at is not None and self._clock() >= found.expires_at:
                raise ApiKeyExpired(f"The API key expired at {found.expires_at.isoformat()}.")
            if found.allowed_ips and not _ip_allowed(credential.client_ip, found.allowed_ips):
                raise IpNotAllowed(
                    "The API key may not be used from "
                    f"{credential.client_ip or 'an unknown address'}."
                )
        except (InvalidApiKey, ApiKeyDisabled, ApiKeyExpired, IpNotAllowed):
            self._owners.pop(credential.key_hash, None)
            raise
        if len(self._owners) >= _OWNERS_KEPT and found.key_hash not in self._owners:
            self._owners.clear()
        self._owners[found.key_hash] = found.owner
        await self._mark_used(found.id)
        return found

    async def last_used(self, key_ids: list[str]) -> dict[str, datetime]:
        """When each key was last used, to the minute (keys never used are left out)."""
        return await self._store.last_used(key_ids)

    async def _mark_used(self, key_id: str) -> None:
        now = self._clock()
        marked = self._marked.get(key_id)
        if marked is not None and now - marked < USED_RESOLUTION:
            return
        self._marked[key_id] = now
        await self._store.mark_used(key_id, now)

    def allow_model(self, key: ApiKey, model: str) -> None:
        """Raise ``ModelNotAllowed`` unless ``key`` may submit ``model``."""
        if key.models is not None and model not in key.models:
            allowed = ", ".join(key.models) or "none"
            raise ModelNotAllowed(
                f"This API key may not submit {model!r}; it may submit: {allowed}."
            )

    async def list(self) -> list[ApiKey]:
        return await self._store.list_keys()

    async def get(self, key_id: str) -> ApiKey | None:
        return await self._store.key_by_id(key_id)

    async def replace(self, key: ApiKey) -> bool:
        """Store ``key``'s new settings (found by its id); False when it no longer exists."""
        return await self._store.replace_key(key)

    async def set_enabled(self, key_id: str, enabled: bool) -> bool:
        key = await self._store.key_by_id(key_id)
        if key is None:
            return False
        status: Literal["active", "disabled"] = "active" if enabled else "disabled"
        return await self._store.replace_key(msgspec.structs.replace(key, status=status))

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


def networks(cidrs: Iterable[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """``allowed_ips`` entries as networks; ``ValueError`` names one that is not a CIDR."""
    found = []
    for cidr in cidrs:
        try:
            found.append(ipaddress.ip_network(cidr.strip(), strict=False))
        except ValueError:
            raise ValueError(f"{cidr!r} is not an IP address or CIDR") from None
    return found


def _ip_allowed(client_ip: str | None, allowed: Iterable[str]) -> bool:
    if client_ip is None:
        return False
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return False
    return any(address in network for network in networks(allowed))
