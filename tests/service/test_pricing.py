"""Prices come from each model's spec file (``[pricing]``) and are exact decimals."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from adapter.service.pricing import PriceRule, PriceTable, PricingError, money
from tests.models import CATALOG


def motion_control() -> PriceRule:
    return CATALOG.get("kling-v2-6-motion-control").price


def test_the_seed_example_costs_exactly_0_06426() -> None:
    """Motion control, std, 8 s reference video: 0.06426 (seed 000)."""
    assert str(motion_control().cost({"mode": "std"}, 8.0)) == "0.06426"


def test_part_seconds_are_billed_as_whole_seconds() -> None:
    """7.2 s bills as 8 s under the table's ceil rounding."""
    rule = motion_control()
    assert rule.cost({"mode": "std"}, 7.2) == rule.cost({"mode": "std"}, 8)


def test_money_drops_float_noise_and_trailing_zeros() -> None:
    """0.0642600 is rendered 0.06426; 10 stays 10."""
    assert str(money(Decimal("0.0642600"))) == "0.06426"
    assert str(money(Decimal("1E+1"))) == "10"


def test_a_missing_rate_is_an_error_naming_it() -> None:
    """A combination the table does not price is an error, not a zero."""
    with pytest.raises(PricingError, match="'turbo'"):
        motion_control().cost({"mode": "turbo"}, 5)


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ('rate_by=["mode"]\nseconds="reference_video"\n[rates]\nstd="abc"\n', "decimal"),
        ('rate_by=["mode"]\nseconds="somewhere"\n[rates]\nstd="1"\n', "seconds source"),
        (
            'rate_by=["mode"]\nseconds="input:duration"\nrounding="up"\n[rates]\nstd="1"\n',
            "rounding",
        ),
        ('rate_by=["mode"]\nseconds="input:duration"\n[rates]\n', "no rates"),
    ],
)
def test_a_malformed_table_is_refused_at_load(text: str, wrong: str) -> None:
    """Bad rates, unknown seconds sources or roundings, and no rates fail at start-up."""
    table = msgspec.toml.decode(text.encode(), type=PriceTable)
    with pytest.raises(PricingError, match=wrong):
        table.rule()


def test_a_table_without_its_fields_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="rate_by"):
        msgspec.toml.decode(b'seconds="reference_video"\n[rates]\nstd="1"\n', type=PriceTable)
