"""Prices come from schemas/pricing.toml and are exact decimals."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapter.service.pricing import PricingError, load_pricing, money

TABLE = (Path(__file__).resolve().parents[2] / "schemas" / "pricing.toml").read_text()


def test_the_seed_example_costs_exactly_0_06426() -> None:
    """Motion control, std, 8 s reference video: 0.06426 (seed 000)."""
    rule = load_pricing(TABLE)["kling-v2-6-motion-control"]
    assert str(rule.cost({"mode": "std"}, 8.0)) == "0.06426"


def test_part_seconds_are_billed_as_whole_seconds() -> None:
    """7.2 s bills as 8 s under the table's ceil rounding."""
    rule = load_pricing(TABLE)["kling-v2-6-motion-control"]
    assert rule.cost({"mode": "std"}, 7.2) == rule.cost({"mode": "std"}, 8)


def test_money_drops_float_noise_and_trailing_zeros() -> None:
    """0.0642600 is rendered 0.06426; 10 stays 10."""
    assert str(money(Decimal("0.0642600"))) == "0.06426"
    assert str(money(Decimal("1E+1"))) == "10"


def test_a_missing_rate_is_an_error_naming_it() -> None:
    """A combination the table does not price is an error, not a zero."""
    rule = load_pricing(TABLE)["kling-v2-6-motion-control"]
    with pytest.raises(PricingError, match="'turbo'"):
        rule.cost({"mode": "turbo"}, 5)


@pytest.mark.parametrize(
    "text",
    [
        '[models.m]\nrate_by=["mode"]\nseconds="reference_video"\n[models.m.rates]\nstd="abc"\n',
        '[models.m]\nrate_by=["mode"]\nseconds="somewhere"\n[models.m.rates]\nstd="1"\n',
        '[models.m]\nseconds="reference_video"\n[models.m.rates]\nstd="1"\n',
    ],
)
def test_a_malformed_table_is_refused_at_load(text: str) -> None:
    """Bad rates, unknown seconds sources and missing fields fail at start-up."""
    with pytest.raises(PricingError):
        load_pricing(text)
