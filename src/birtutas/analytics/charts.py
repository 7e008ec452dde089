"""The geometry of the area overview's bar charts: scales, bar lengths, ticks, label truncation.

Pure layout maths, no Django and no drawing: `bar_chart()` returns where everything goes, and the
template `analytics/_bar_chart.html` writes it as inline SVG. Our own instead of a charting
library: one kind of chart, horizontal bars, needs about a hundred lines; a library (pygal,
leather) would bring its own styles, fixed pixel sizes or script, and less control over the text
a screen reader gets, for a page that must stay small and work without JavaScript.

The chart is drawn in a box 360 units wide (the narrowest phone), shown at the width of its column
(`width="100%"`, `viewBox`), so text keeps its proportion to the bars on any screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

WIDTH = 360
LABEL_WIDTH = 132  # the names column, left of the bars
VALUE_WIDTH = 60  # room right of the longest bar for its value ("too few to show" may run into the margin)
ROW = 20  # height of one row
BAR = 14  # height of one bar within its row
TOP = 18  # the tick labels above the first bar
CHAR = 7.2  # advance of a wide character at the chart's font size (11) in DejaVu Sans, for truncation
NICE_STEPS = (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10))


@dataclass(frozen=True)
class Tick:
    x: float
    value: Decimal
    text: str


@dataclass(frozen=True)
class Bar:
    name: str  # in full, for the bar's own <title>
    label: str  # as it fits the names column
    text: str  # the value as written beside the bar (or why there is none)
    y: float  # top of the row
    length: float  # 0 when there is no value to draw
    value: Decimal | None

    @property
    def drawn(self) -> bool:
        return self.value is not None

    @property
    def bar_y(self) -> float:
        return self.y + (ROW - BAR) / 2

    @property
    def text_y(self) -> float:
        return self.y + ROW / 2 + 4  # baseline near the middle of the row

    @property
    def value_x(self) -> float:
        return LABEL_WIDTH + self.length + 4

    @property
    def label_x(self) -> float:
        return LABEL_WIDTH - 4


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick]
    width: int
    height: int
    plot_x: int
    plot_width: int
    plot_top: int
    plot_bottom: int

    @property
    def tick_y(self) -> int:
        return self.plot_top - 3

    @property
    def bar_height(self) -> int:
        return BAR


def _plain(value: Decimal) -> Decimal:
    """The value without trailing zeros and never in exponent form (10, not 1E+1)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `value` (1 for nothing)."""
    value = Decimal(value)
    if value <= 0:
        return Decimal(1)
    power = Decimal(1).scaleb(value.adjusted())
    for step in NICE_STEPS:
        if step * power >= value:
            return _plain(step * power)
    return _plain(10 * power)  # pragma: no cover - 10 × power always reaches it


def tick_values(maximum: Decimal, count: int = 5) -> list[Decimal]:
    """Round values from 0 to `maximum` (itself a nice number), at most `count` + 1 of them."""
    maximum = Decimal(maximum)
    if maximum <= 0:
        return [Decimal(0)]
    step = nice_ceiling(maximum / count)
    ticks, value = [], Decimal(0)
    while value <= maximum:
        ticks.append(_plain(value))
        value += step
    return ticks


def bar_length(value: Decimal | None, maximum: Decimal, length: float) -> float:
    """The length of a bar on a scale from 0 to `maximum` drawn over `length` units, clamped to it."""
    if value is None or maximum <= 0 or value <= 0:
        return 0.0
    return round(float(min(Decimal(value), maximum) / maximum) * length, 1)


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, an ellipsis showing where it was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    if limit <= 1:
        return "…"[:limit]
    return text[: limit - 1].rstrip() + "…"


def bar_chart(
    rows: Sequence[tuple[str, Decimal | None, str]],
    *,
    maximum: Decimal | None = None,
    number: Callable[[Decimal], str] = str,
) -> BarChart:
    """The layout of a horizontal bar chart with one row per (name, value or None, text beside it).

    The scale runs from 0 to `maximum` when given (a mark is out of 10 whatever the data), else to
    the nice number above the largest value. `number` writes a tick's value in the reader's language.
    """
    values = [Decimal(v) for _name, v, _text in rows if v is not None]
    top = Decimal(maximum) if maximum is not None else nice_ceiling(max(values, default=Decimal(0)))
    plot_width = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    limit = int((LABEL_WIDTH - 6) // CHAR)
    bars = [
        Bar(
            name=name,
            label=truncate(name, limit),
            text=text,
            y=TOP + i * ROW,
            length=bar_length(value, top, plot_width),
            value=value,
        )
        for i, (name, value, text) in enumerate(rows)
    ]
    ticks = [Tick(LABEL_WIDTH + bar_length(t, top, plot_width), t, number(t)) for t in tick_values(top)]
    bottom = TOP + len(rows) * ROW
    return BarChart(
        bars=bars,
        ticks=ticks,
        width=WIDTH,
        height=bottom + 4,
        plot_x=LABEL_WIDTH,
        plot_width=plot_width,
        plot_top=TOP - 4,
        plot_bottom=bottom,
    )
