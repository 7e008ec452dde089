"""Table-driven tests of the bar charts' layout maths (no database, no drawing)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from birtutas.analytics.charts import (
    CHAR,
    LABEL_WIDTH,
    ROW,
    TOP,
    WIDTH,
    bar_chart,
    bar_length,
    nice_ceiling,
    tick_values,
    truncate,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (D(0), D(1)),
        (D(-3), D(1)),
        (D("0.34"), D("0.5")),
        (D(1), D(1)),
        (D("1.2"), D(2)),
        (D("2.2"), D("2.5")),
        (D("7.3"), D(10)),
        (D(10), D(10)),
        (D(11), D(20)),
        (D(26), D(50)),
        (D(101), D(200)),
        (D("0.07"), D("0.1")),
    ],
)
def test_the_scale_ends_at_a_round_number(value, expected):
    assert nice_ceiling(value) == expected
    assert "E" not in str(nice_ceiling(value))  # 10, never 1E+1


@pytest.mark.parametrize(
    ("maximum", "expected"),
    [
        (D(10), ["0", "2", "4", "6", "8", "10"]),
        (D(1), ["0", "0.2", "0.4", "0.6", "0.8", "1"]),
        (D("2.5"), ["0", "0.5", "1", "1.5", "2", "2.5"]),
        (D(20), ["0", "5", "10", "15", "20"]),
        (D(50), ["0", "10", "20", "30", "40", "50"]),
        (D(0), ["0"]),
    ],
)
def test_ticks_are_round_and_end_at_the_maximum(maximum, expected):
    assert [str(t) for t in tick_values(maximum)] == expected


@pytest.mark.parametrize(
    ("value", "maximum", "length", "expected"),
    [
        (D(5), D(10), 168, 84.0),
        (D(10), D(10), 168, 168.0),
        (D(12), D(10), 168, 168.0),  # clamped to the plot
        (D(0), D(10), 168, 0.0),
        (None, D(10), 168, 0.0),
        (D(-1), D(10), 168, 0.0),
        (D("7.25"), D(10), 100, 72.5),
        (D(3), D(0), 100, 0.0),
    ],
)
def test_bar_length(value, maximum, length, expected):
    assert bar_length(value, maximum, length) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("Бурабай ауданы", 20, "Бурабай ауданы"),
        ("Бурабай ауданы", 14, "Бурабай ауданы"),
        ("Бурабай ауданы", 10, "Бурабай а…"),
        ("Бурабай ауданы", 9, "Бурабай…"),  # cut at a space: no space left before the ellipsis
        ("Абай атындағы №1 жалпы орта білім беретін мектеп", 19, "Абай атындағы №1 ж…"),
        ("  two   spaces  ", 20, "two spaces"),
        ("abc", 1, "…"),
        ("abc", 0, ""),
    ],
)
def test_labels_are_truncated_to_fit(text, limit, expected):
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= max(limit, 0)


@pytest.mark.parametrize(
    ("rows", "maximum", "lengths", "top_tick"),
    [
        ([("a", D(5), "5"), ("b", D(10), "10")], D(10), [84.0, 168.0], "10"),
        ([("a", D("0.3"), "0,3"), ("b", None, "too few"), ("c", D("0.1"), "0,1")], None, [100.8, 0.0, 33.6], "0.5"),
        ([("a", None, "—")], None, [0.0], "1"),
        ([], None, [], "1"),
    ],
)
def test_a_chart_has_one_bar_per_row(rows, maximum, lengths, top_tick):
    chart = bar_chart(rows, maximum=maximum)
    assert [b.length for b in chart.bars] == lengths
    assert [b.drawn for b in chart.bars] == [v is not None for _n, v, _t in rows]
    assert [b.text for b in chart.bars] == [t for _n, _v, t in rows]
    assert [b.y for b in chart.bars] == [TOP + i * ROW for i in range(len(rows))]
    assert chart.height == TOP + len(rows) * ROW + 4
    assert chart.width == WIDTH == 360  # drawn for the narrowest phone, scaled by its viewBox
    assert str(chart.ticks[-1].value) == top_tick
    assert chart.ticks[0].x == LABEL_WIDTH and chart.ticks[-1].x == LABEL_WIDTH + chart.plot_width
    assert all(b.value_x + 4 <= WIDTH for b in chart.bars)


def test_long_names_fit_the_names_column_and_keep_their_full_text():
    name = "Ақмола облысы, Бурабай ауданы, Абай атындағы жалпы орта білім беретін мектеп"
    bar = bar_chart([(name, D(7), "7")]).bars[0]
    assert bar.name == name and bar.label.endswith("…") and len(bar.label) * CHAR <= LABEL_WIDTH


def test_tick_labels_are_written_by_the_callers_number_format():
    chart = bar_chart([("a", D("0.5"), "0,5")], number=lambda d: str(d).replace(".", ","))
    assert [t.text for t in chart.ticks] == ["0", "0,1", "0,2", "0,3", "0,4", "0,5"]
