"""An area report as a person reads it: one table (columns, rows, the total), the charts beside it,
and the same table for the CSV and XLSX files, so a file holds exactly what the page shows.

A hidden figure is the words "too few to show" in the page, the charts and the files alike; its
number never leaves `disclosure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext as _

from . import charts
from .disclosure import EMPTY, HIDDEN, MIN_GROUP, Cell
from .queries import DISTRICTS, REGIONS, SCHOOLS, AreaReport, Row

NOTHING = "—"


def too_few() -> str:
    return _("too few to show")


@dataclass(frozen=True)
class Entry:
    text: str  # as the page writes it, in the reader's language
    value: object  # as a file holds it: a number, a text, or None (empty)
    numeric: bool = False
    hidden: bool = False


@dataclass(frozen=True)
class Table:
    caption: str
    header: list[str]
    rows: list[tuple[Row, list[Entry]]]
    total: list[Entry]


def _number(value: Decimal | int, places: int) -> str:
    return number_format(value, decimal_pos=places, use_l10n=True)


def _entry(cell: Cell, places: int) -> Entry:
    if cell.state == HIDDEN:
        return Entry(too_few(), too_few(), numeric=True, hidden=True)
    if cell.state == EMPTY:
        return Entry(NOTHING, None, numeric=True)
    return Entry(_number(cell.value, places), cell.value, numeric=True)


MEASURES = (  # (figure, decimal places)
    ("students", 0),
    ("mean_mark", 2),
    ("absences_per_student", 1),
    ("computers_per_100", 1),
)


def _measures() -> list[str]:
    return [_("Students"), _("Mean formative mark"), _("Absences per student"), _("Computers per 100 students")]


def _internet(organization) -> str:
    text = organization.get_connection_display()
    if organization.connection_mbps:
        text += ", " + _("%(speed)s Mbit/s") % {"speed": _number(organization.connection_mbps, 0)}
    return text


def _cells(row: Row, level: str) -> list[Entry]:
    """Name, the figures, then what describes a school or counts a group's schools: on a phone the
    figures come first, beside the name, and the rest is a swipe away."""
    cells = [Entry(row.name, row.name)]
    cells += [_entry(getattr(row.figures, name), places) for name, places in MEASURES]
    if level == SCHOOLS and row.organization is not None:
        o = row.organization
        cells += [Entry(o.get_locality_display(), o.get_locality_display()), Entry(_internet(o), _internet(o))]
    elif level == SCHOOLS:
        cells += [Entry("", None), Entry("", None)]
    else:
        cells.append(Entry(str(row.schools), row.schools, numeric=True))
    return cells


def table(report: AreaReport) -> Table:
    first = {SCHOOLS: _("School"), DISTRICTS: _("District"), REGIONS: _("Region")}[report.level]
    middle = [_("Locality"), _("Internet")] if report.level == SCHOOLS else [_("Schools")]
    caption = {
        SCHOOLS: _("Schools: %(place)s"),
        DISTRICTS: _("Districts: %(place)s"),
        REGIONS: _("Regions: %(place)s"),
    }[report.level] % {"place": report.place}
    total = _cells(Row(name=_("Total"), figures=report.total.figures, schools=report.total.schools), report.level)
    return Table(
        caption=caption,
        header=[first, *_measures(), *middle],
        rows=[(row, _cells(row, report.level)) for row in report.rows],
        total=total,
    )


def period(report: AreaReport) -> str:
    """The school year shown, or one term of it; nothing when there is no year yet."""
    if report.year is None:
        return ""
    if report.term:
        return _("Term %(number)d, %(year)s") % {"number": report.term, "year": report.year}
    return _("School year %(name)s") % {"name": report.year}


def notes() -> list[str]:
    return [
        _(
            "Aggregates only: no personal data. A figure drawn from fewer than %(n)s people (students, "
            "students with marks, absent students) is not shown: it reads “too few to show”."
        )
        % {"n": MIN_GROUP},
        _(
            "Totals, and the rows of districts and regions, add up only the figures shown for their schools, "
            "and a whole year only those shown for its terms, so that no hidden figure can be found by "
            "subtraction; such a total can be lower than the real one."
        ),
    ]


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    layout: charts.BarChart


def chart_list(report: AreaReport, entries: Table) -> list[Chart]:
    """A bar chart per figure that differs from school to school, one bar per row of the table."""
    found = []
    titles = _measures()
    for index, (name, _places) in enumerate(MEASURES):
        if name == "students":
            continue  # sizes of schools are in the table; a chart of them says little of their state
        column = 1 + index
        rows = []
        for row, cells in entries.rows:
            cell = getattr(row.figures, name)
            rows.append((row.name, cell.value if cell.state not in (HIDDEN, EMPTY) else None, cells[column].text))
        layout = charts.bar_chart(
            rows,
            maximum=Decimal(10) if name == "mean_mark" else None,  # formative marks are out of 10
            number=lambda value: _number(value, max(0, -value.as_tuple().exponent)),
        )
        found.append(Chart(name.replace("_", "-"), titles[index], layout))
    return found


def export_rows(entries: Table) -> list[list]:
    return [[e.value for e in cells] for _row, cells in entries.rows] + [[e.value for e in entries.total]]
