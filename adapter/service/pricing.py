"""Prices from each model's spec file: exact decimals, cost = rate x billed seconds (or x 1 for
a per-task price)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import msgspec


class PricingError(ValueError):
    """The pricing table is malformed; the message names the model and field."""


class PriceRule(msgspec.Struct, frozen=True):
    """How one model is priced."""

    rate_by: tuple[str, ...]
    seconds: str
    rounding: Literal["ceil", "exact"]
    rates: dict[str, Decimal]

    def rate_key(self, values: Mapping[str, Any]) -> str:
        """The rate's key: the ``rate_by`` values joined with ``+`` (``"pro+true"``)."""
        return "+".join(_key_part(values.get(field, "")) for field in self.rate_by)

    def is_priced(self, values: Mapping[str, Any]) -> bool:
        """Whether the table has a rate for these input values."""
        return self.rate_key(values) in self.rates

    def rate(self, values: Mapping[str, Any]) -> Decimal:
        key = self.rate_key(values)
        try:
            return self.rates[key]
        except KeyError:
            raise PricingError(f"no rate for {key!r} in the pricing table") from None

    def table(self, schema: Mapping[str, Any]) -> list[tuple[dict[str, Any], Decimal]]:
        """Each rate with the input values that select it, typed as in the model's schema."""
        props = schema.get("properties", {})
        rows = []
        for key, rate in self.rates.items():
            parts = key.split("+")
            when = {
                field: _typed(part, props.get(field, {}))
                for field, part in zip(self.rate_by, parts, strict=True)
            }
            rows.append((when, rate))
        return rows

    def billed_seconds(self, seconds: float) -> Decimal:
        exact = Decimal(str(seconds))
        return Decimal(math.ceil(exact)) if self.rounding == "ceil" else exact

    def cost(self, values: Mapping[str, Any], seconds: float) -> Decimal:
        return money(self.rate(values) * self.billed_seconds(seconds))

    @property
    def is_per_task(self) -> bool:
        """True when a task is billed one unit whatever its length (``seconds = "task"``)."""
        return self.seconds == "task"

    @property
    def is_billed_by_input(self) -> bool:
        """True when the input alone fixes the cost (an input field's seconds, or per task),
        not the output's real length."""
        return self.is_per_task or self.seconds.startswith("input:")

    def input_seconds(self, values: Mapping[str, Any]) -> float | None:
        """The billed units the input fixes (1 for a per-task price), or None when they come
        from media."""
        if self.is_per_task:
            return 1.0
        if not self.is_billed_by_input:
            return None
        return float(values[self.seconds.removeprefix("input:")])


def _key_part(value: Any) -> str:
    # JSON spelling, so a boolean input reads ``true`` as in the request, not Python's ``True``.
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _typed(part: str, prop: Mapping[str, Any]) -> Any:
    """A rate key's part as the input value it stands for (``"true"`` -> ``True``)."""
    for value in prop.get("enum", ()):
        if _key_part(value) == part:
            return value
    if prop.get("type") == "boolean":
        return part == "true"
    return part


def money(value: Decimal) -> Decimal:
    """Drop trailing zeros so 0.0642600 renders as 0.06426; whole numbers stay plain."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value  # type: ignore[operator]


class PriceTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A spec file's ``[pricing]`` table, as written (rates as strings: exact decimals).

    - ``rate_by``: input fields whose values pick the rate (joined with ``+``: ``"pro+true"``);
    - ``seconds``: ``"reference_video"`` (the probed length of ``input.video_url``; the output
      follows it), ``"input:<field>"`` (an input field holding seconds) or ``"task"`` (a flat
      price per task: the rate is the task's price, whatever the video's length);
    - ``rounding``: ``"ceil"`` bills part of a second as a whole one, ``"exact"`` as is;
    - ``rates``: the rate per second for each combination of the ``rate_by`` values.
    """

    rate_by: tuple[str, ...]
    seconds: str
    rounding: str = "ceil"
    rates: dict[str, str]

    def rule(self) -> PriceRule:
        """The rule it states; ``PricingError`` names what is wrong."""
        try:
            rates = {key: Decimal(value) for key, value in self.rates.items()}
        except InvalidOperation:
            raise PricingError("[pricing] rates must be decimal numbers as strings") from None
        if self.rounding not in ("ceil", "exact"):
            raise PricingError("[pricing] rounding must be 'ceil' or 'exact'")
        sources = ("reference_video", "task")
        if self.seconds not in sources and not self.seconds.startswith("input:"):
            raise PricingError(f"[pricing] unknown seconds source {self.seconds!r}")
        if not rates:
            raise PricingError("[pricing] lists no rates")
        return PriceRule(
            rate_by=self.rate_by,
            seconds=self.seconds,
            rounding="ceil" if self.rounding == "ceil" else "exact",
            rates=rates,
        )
