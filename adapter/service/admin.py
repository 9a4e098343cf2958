"""The admin API's key management: what an operator may set on a key, checked, then stored.

A key's scope (``models``, ``expires_at``, ``allowed_ips``) is enforced on every request by
``KeyService.authenticate`` and ``KeyService.allow_model``; here it is only validated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

import msgspec

from adapter.core.errors import InvalidRequest, KeyNotFound
from adapter.core.values import MAX_AMOUNT, ApiKey, Budget
from adapter.service import usage
from adapter.service.keys import KeyService, networks

#: A page of ``GET /admin/v1/keys`` at most.
MAX_PAGE = 200


class BudgetFields(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """``budget``: ``{"amount": "<decimal string>", "period": "day"|"month"|"total"}``."""

    amount: str
    period: Literal["day", "month", "total"]


class KeySpend(msgspec.Struct, frozen=True):
    """A key's budget as it stands: reserved by unfinished tasks, charged for ended ones."""

    budget: Budget
    #: The period it stands in (``total``, ``d2026-11-23``, ``m2026-11``).
    period: str
    reserved: Decimal
    charged: Decimal

    @property
    def remaining(self) -> Decimal:
        return max(Decimal(0), self.budget.amount - self.reserved - self.charged)


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
    budget: BudgetFields | msgspec.UnsetType | None = msgspec.UNSET


class NewKey(KeyChanges, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /admin/v1/keys``: a key's fields, and its mode."""

    mode: Literal["live", "test"] = "live"


class AdminKeys:
    """Create, change, page through and remove API keys, as the admin API does."""

    __slots__ = ("_clock", "_is_model", "_keys", "_ledgers", "_spend")

    def __init__(
        self,
        keys: KeyService,
        *,
        is_model: Callable[[str], bool],
        spend: Callable[[str, str], Awaitable[tuple[Decimal, Decimal]]],
        ledgers: usage.Ledgers,
        clock: Callable[[], datetime],
    ) -> None:
        """``is_model``: whether a slug names a model a key may be limited to; ``spend``: a
        key's reserved and charged amounts in a budget period (``TaskStore.key_spend``)."""
        self._keys = keys
        self._is_model = is_model
        self._spend = spend
        self._ledgers = ledgers
        self._clock = clock

    async def usage(
        self,
        key_ids: list[str] | None,
        *,
        since: str | None = None,
        until: str | None = None,
        model: str | None = None,
        group_by: str | None = None,
        upstream: bool = False,
    ) -> list[usage.UsageRow]:
        """Usage rows of ``key_ids`` (every key when ``None``) over UTC days ``since`` to
        ``until`` (the last 30 days by default), grouped by ``day``, ``model``, ``key``; with
        ``upstream`` (the operator's views, never a client's), what the hosts charged."""
        if key_ids is None:
            key_ids = [key.id for key in await self._keys.list()]
        asked = usage.query(
            key_ids,
            since=since,
            until=until,
            model=model,
            group_by=group_by,
            today=self._clock(),
        )
        return await usage.rows(self._ledgers, asked, upstream=upstream)

    async def spend(self, key: ApiKey) -> KeySpend | None:
        """``key``'s budget as it stands now; ``None`` without a budget."""
        if key.budget is None:
            return None
        period = key.budget.period_at(self._clock())
        reserved, charged = await self._spend(key.id, period)
        return KeySpend(key.budget, period, reserved, charged)

    async def create(self, raw: Any) -> tuple[ApiKey, str]:
        """A new key from the request body; returns it and its secret (shown this once)."""
        new = _convert(raw, NewKey)
        if not isinstance(new.name, str):
            raise InvalidRequest("name is required.", "name")
        fields = self._checked(new)  # before the key exists: a bad field leaves no key behind
        key, secret = await self._keys.create(
            name=new.name,
            owner=new.owner if isinstance(new.owner, str) else None,
            kind=new.mode,
        )
        key = msgspec.structs.replace(key, **fields)
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
        return msgspec.structs.replace(key, **self._checked(changes))

    def _checked(self, changes: KeyChanges) -> dict[str, Any]:
        """The fields ``changes`` sets, each checked; ``InvalidRequest`` names a bad one."""
        checks: dict[str, Callable[[Any, str], Any]] = {
            "name": _label,
            "owner": _label,
            "models": lambda value, _: None if value is None else self._served(value),
            "expires_at": lambda value, _: self._expiry(value),
            "allowed_ips": lambda value, _: _cidrs(value),
            "metadata": lambda value, _: value,
            "rpm": lambda value, _: value,
            "max_concurrent": lambda value, _: value,
            "budget": lambda value, _: None if value is None else _budget(value),
        }
        return {
            name: check(value, name)
            for name, check in checks.items()
            if (value := getattr(changes, name)) is not msgspec.UNSET
        }

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


def _label(value: str, name: str) -> str:
    if not value.strip() or len(value) > 100:
        raise InvalidRequest(f"{name} must be 1-100 characters.", name)
    return value


def _cidrs(given: list[str]) -> tuple[str, ...]:
    for index, cidr in enumerate(given):
        try:
            networks([cidr])
        except ValueError as exc:
            raise InvalidRequest(f"{exc}.", f"allowed_ips[{index}]") from None
    return tuple(given)


def _budget(given: BudgetFields) -> Budget:
    try:
        amount = Decimal(given.amount)
    except InvalidOperation:
        amount = Decimal("NaN")
    if not amount.is_finite() or not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest(
            f"budget.amount must be a decimal string above 0 and at most {MAX_AMOUNT}.",
            "budget.amount",
        )
    return Budget(amount.normalize(), given.period)


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
