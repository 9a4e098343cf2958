"""The admin API's key management: what an operator may set on a key, checked, then stored.

A key's scope (``models``, ``expires_at``, ``allowed_ips``) is enforced on every request by
``KeyService.authenticate`` and ``KeyService.allow_model``; here it is only validated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from adapter.core.errors import InvalidRequest, KeyNotFound
from adapter.core.values import ApiKey
from adapter.service.keys import KeyService, networks

#: A page of ``GET /admin/v1/keys`` at most.
MAX_PAGE = 200


class KeyChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The settable fields of a key; ``UNSET`` leaves a field as it is, ``None`` clears it."""

    name: str | msgspec.UnsetType = msgspec.UNSET
    owner: str | msgspec.UnsetType = msgspec.UNSET
    models: list[str] | msgspec.UnsetType | None = msgspec.UNSET
    expires_at: datetime | msgspec.UnsetType | None = msgspec.UNSET
    allowed_ips: list[str] | msgspec.UnsetType = msgspec.UNSET
    metadata: dict[str, Any] | msgspec.UnsetType = msgspec.UNSET
    rpm: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType | None = msgspec.UNSET
    max_concurrent: Annotated[int, msgspec.Meta(ge=1)] | msgspec.UnsetType | None = msgspec.UNSET


class NewKey(KeyChanges, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /admin/v1/keys``: a key's fields, and its mode."""

    mode: Literal["live", "test"] = "live"


class AdminKeys:
    """Create, change, page through and remove API keys, as the admin API does."""

    __slots__ = ("_clock", "_is_model", "_keys")

    def __init__(
        self,
        keys: KeyService,
        *,
        is_model: Callable[[str], bool],
        clock: Callable[[], datetime],
    ) -> None:
        """``is_model``: whether a slug names a model a key may be limited to."""
        self._keys = keys
        self._is_model = is_model
        self._clock = clock

    async def create(self, raw: Any) -> tuple[ApiKey, str]:
        """A new key from the request body; returns it and its secret (shown this once)."""
        new = _convert(raw, NewKey)
        if not isinstance(new.name, str):
            raise InvalidRequest("name is required.", "name")
        key, secret = await self._keys.create(
            name=new.name,
            owner=new.owner if isinstance(new.owner, str) else None,
            kind=new.mode,
        )
        key = self._changed(key, new)
        await self._keys.replace(key)
        return key, secret

    async def update(self, key_id: str, raw: Any) -> ApiKey:
        key = self._changed(await self.get(key_id), _convert(raw, KeyChanges))
        if not await self._keys.replace(key):
            raise KeyNotFound(f"No API key {key_id!r}.")
        return key

    async def get(self, key_id: str) -> ApiKey:
        key = await self._keys.get(key_id)
        if key is None:
            raise KeyNotFound(f"No API key {key_id!r}.")
        return key

    async def last_used(self, keys: list[ApiKey]) -> dict[str, datetime]:
        """When each of ``keys`` was last used, to the minute."""
        return await self._keys.last_used([key.id for key in keys])

    async def all(self) -> list[ApiKey]:
        """Every key, oldest first."""
        return await self._keys.list()

    async def page(self, *, limit: int, cursor: str | None) -> tuple[list[ApiKey], str | None]:
        """Keys oldest first, ``limit`` at most, after the key ``cursor`` names."""
        keys = await self._keys.list()
        start = 0
        if cursor is not None:
            ids = [key.id for key in keys]
            if cursor not in ids:
                raise InvalidRequest(f"cursor {cursor!r} names no key.", "cursor")
            start = ids.index(cursor) + 1
        shown = keys[start : start + limit]
        more = start + limit < len(keys)
        return shown, shown[-1].id if more and shown else None

    async def set_enabled(self, key_id: str, enabled: bool) -> ApiKey:
        if not await self._keys.set_enabled(key_id, enabled):
            raise KeyNotFound(f"No API key {key_id!r}.")
        return await self.get(key_id)

    async def delete(self, key_id: str) -> None:
        if not await self._keys.delete(key_id):
            raise KeyNotFound(f"No API key {key_id!r}.")

    def _changed(self, key: ApiKey, changes: KeyChanges) -> ApiKey:
        """``key`` with ``changes``, each checked; ``InvalidRequest`` names a bad one."""
        fields: dict[str, Any] = {}
        for name in ("name", "owner"):
            value = getattr(changes, name)
            if value is msgspec.UNSET:
                continue
            if not value.strip() or len(value) > 100:
                raise InvalidRequest(f"{name} must be 1-100 characters.", name)
            fields[name] = value
        if changes.models is not msgspec.UNSET:
            fields["models"] = None if changes.models is None else self._served(changes.models)
        if changes.expires_at is not msgspec.UNSET:
            fields["expires_at"] = self._expiry(changes.expires_at)
        if changes.allowed_ips is not msgspec.UNSET:
            for index, cidr in enumerate(changes.allowed_ips):
                try:
                    networks([cidr])
                except ValueError as exc:
                    raise InvalidRequest(f"{exc}.", f"allowed_ips[{index}]") from None
            fields["allowed_ips"] = tuple(changes.allowed_ips)
        if changes.metadata is not msgspec.UNSET:
            fields["metadata"] = changes.metadata
        for limit in ("rpm", "max_concurrent"):
            if (value := getattr(changes, limit)) is not msgspec.UNSET:
                fields[limit] = value
        return msgspec.structs.replace(key, **fields)

    def _served(self, models: list[str]) -> tuple[str, ...]:
        for index, slug in enumerate(models):
            if not self._is_model(slug):
                raise InvalidRequest(
                    f"{slug!r} is not a model served here (GET /api/v1/models lists them).",
                    f"models[{index}]",
                )
        return tuple(dict.fromkeys(models))

    def _expiry(self, at: datetime | None) -> datetime | None:
        if at is None:
            return None
        if at.tzinfo is None:
            raise InvalidRequest("expires_at needs a time zone (RFC 3339).", "expires_at")
        if at <= self._clock():
            raise InvalidRequest("expires_at must be in the future.", "expires_at")
        return at


def _convert(raw: Any, kind: type[KeyChanges]) -> Any:
    if not isinstance(raw, Mapping):
        raise InvalidRequest("The request body must be a JSON object.")
    try:
        return msgspec.convert(raw, kind)
    except msgspec.ValidationError as exc:
        raise InvalidRequest(f"{exc}.", _param(str(exc))) from None


def _param(message: str) -> str | None:
    """The field a msgspec message names (``... - at `$.models[0]```, or ``unknown field
    `rpm```), if any."""
    for marker in ("at `$.", "unknown field `"):
        _, found, where = message.rpartition(marker)
        if found:
            return where.split("`", 1)[0] or None
    return None
