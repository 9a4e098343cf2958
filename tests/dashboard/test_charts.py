"""Bar chart geometry: bars scaled to the largest value, labels thinned when many."""

from __future__ import annotations

from decimal import Decimal

from adapter.dashboard.charts import HEIGHT, WIDTH, bar_chart


def test_bars_are_scaled_to_the_largest_value_and_stand_on_the_axis() -> None:
    chart = bar_chart("t", [("a", Decimal(2)), ("b", Decimal(4)), ("c", Decimal(0))])
    a, b, c = chart.bars
    assert b.height == 2 * a.height and c.height == 0
    assert {bar.y + bar.height for bar in chart.bars} == {chart.base}
    assert b.y >= 0 and chart.top == "4"
    assert all(bar.x >= 0 and bar.x + bar.width <= WIDTH for bar in chart.bars)
    assert a.x < b.x < c.x


def test_no_data_and_all_zero_draw_no_bar_heights() -> None:
    assert bar_chart("t", []).bars == []
    assert [bar.height for bar in bar_chart("t", [("a", Decimal(0))]).bars] == [0]


def test_many_bars_label_only_some() -> None:
    points = [(f"d{n}", Decimal(n)) for n in range(30)]
    chart = bar_chart("t", points, show=lambda value: f"${value}")
    labelled = [bar.label for bar in chart.bars if bar.labelled]
    assert labelled[0] == "d0" and 0 < len(labelled) <= 12
    assert chart.bars[5].shown == "$5" and chart.height == HEIGHT
