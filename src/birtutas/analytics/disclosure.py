"""When a figure may be shown: no cell drawn from fewer than 5 people, and no total that gives one away.

Pure rules, no database. A `Tally` holds what the database counted for one school under the page's
filters (or, added up, for a district, a region, a whole year); `figures()` turns it into the cells a
person sees, each shown, hidden ("too few to show") or empty (nothing to show).

Hiding a cell is not enough when a total is shown beside it: a district's absences minus those of
its schools that are shown would give the absences of the one school whose figure was hidden, and a
year's minus its terms' would give a hidden term. So every total here, over schools or over the
terms of a year, is the sum of the parts that are shown, never recounted from the database: a
hidden part is left out of every total above it, and no subtraction finds it. The price is that a
total can understate (the page says so); the alternative, complementary suppression, would hide a
second real figure beside each hidden one at every level, and still needs this care across levels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

MIN_GROUP = 5

SHOWN = "shown"
HIDDEN = "hidden"  # drawn from 1 to MIN_GROUP - 1 people: "too few to show"
EMPTY = "empty"  # nothing to show: no marks, no lessons, no year

# The measures whose parts can be left out of a total, and so hidden in it.
STUDENTS, MARKS, ABSENCES = "students", "marks", "absences"


@dataclass(frozen=True)
class Cell:
    state: str
    value: Decimal | int | None = None

    @property
    def shown(self) -> bool:
        return self.state == SHOWN


HIDDEN_CELL = Cell(HIDDEN)
EMPTY_CELL = Cell(EMPTY)


@dataclass(frozen=True)
class Tally:
    """Counts of one school (or sums over several), never shown as such."""

    students: int = 0  # students enrolled in the year's classes
    computers: int = 0  # the school's computers for students: a fact about the school, not a person
    mark_sum: int = 0  # formative marks: their sum, their number and how many students they belong to
    marks: int = 0
    marked: int = 0
    absences: int = 0  # absences (lateness is not one) and how many students they belong to
    absent: int = 0
    absence_base: int = 0  # the students over whom the absences are counted
    hidden: frozenset[str] = field(default_factory=frozenset)  # measures a hidden part was left out of


@dataclass(frozen=True)
class Figures:
    students: Cell
    mean_mark: Cell
    absences_per_student: Cell
    computers_per_100: Cell

    def cells(self) -> list[Cell]:
        return [self.students, self.mean_mark, self.absences_per_student, self.computers_per_100]


NO_FIGURES = Figures(EMPTY_CELL, EMPTY_CELL, EMPTY_CELL, EMPTY_CELL)


def _round(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _nothing(tally: Tally, measure: str) -> Cell:
    """The cell of a measure with no part in it: hidden if a hidden part was left out, else empty."""
    return HIDDEN_CELL if measure in tally.hidden else EMPTY_CELL


def figures(tally: Tally) -> Figures:
    """The cells of a tally: each shown only when drawn from MIN_GROUP people or more."""
    if 0 < tally.students < MIN_GROUP:
        return Figures(HIDDEN_CELL, HIDDEN_CELL, HIDDEN_CELL, HIDDEN_CELL)
    if tally.students == 0:
        if STUDENTS in tally.hidden:
            return Figures(HIDDEN_CELL, HIDDEN_CELL, HIDDEN_CELL, HIDDEN_CELL)
        # No students is a fact about no one: shown, and nothing can be drawn from it.
        return Figures(Cell(SHOWN, 0), EMPTY_CELL, EMPTY_CELL, EMPTY_CELL)
    students = Cell(SHOWN, tally.students)
    computers = Cell(SHOWN, _round(Decimal(tally.computers * 100) / tally.students, 1))
    if tally.marked == 0 or tally.marks == 0:
        mean = _nothing(tally, MARKS)
    elif tally.marked < MIN_GROUP:
        mean = HIDDEN_CELL  # the marks of a few students would be those students' marks
    else:
        mean = Cell(SHOWN, _round(Decimal(tally.mark_sum) / tally.marks, 2))
    if tally.absence_base < MIN_GROUP:
        absences = _nothing(tally, ABSENCES) if tally.absence_base == 0 else HIDDEN_CELL
    elif 0 < tally.absent < MIN_GROUP:
        # The absences of a few students would be theirs; none absent is a fact about everyone.
        absences = HIDDEN_CELL
    else:
        absences = Cell(SHOWN, _round(Decimal(tally.absences) / tally.absence_base, 1))
    return Figures(students, mean, absences, computers)


def shown_part(tally: Tally) -> Tally:
    """The parts of a tally that its own row shows: all that any total above it may add up."""
    shown = figures(tally)
    hidden = set(tally.hidden)
    if not shown.students.shown or tally.students == 0:
        if shown.students.state == HIDDEN:
            hidden |= {STUDENTS, MARKS, ABSENCES}
        return Tally(hidden=frozenset(hidden))
    part = Tally(students=tally.students, computers=tally.computers)
    if shown.mean_mark.shown:
        part = replace(part, mark_sum=tally.mark_sum, marks=tally.marks, marked=tally.marked)
    elif shown.mean_mark.state == HIDDEN:
        hidden.add(MARKS)
    if shown.absences_per_student.shown:
        part = replace(part, absences=tally.absences, absent=tally.absent, absence_base=tally.absence_base)
    elif shown.absences_per_student.state == HIDDEN:
        hidden.add(ABSENCES)
    return replace(part, hidden=frozenset(hidden))


def _sum(parts: list[Tally], name: str) -> int:
    return sum(getattr(p, name) for p in parts)


def over_schools(tallies: Iterable[Tally]) -> Tally:
    """A total over schools (a district, a region, the area): the sum of what each school's row shows."""
    parts = [shown_part(t) for t in tallies]
    return Tally(
        students=_sum(parts, "students"),
        computers=_sum(parts, "computers"),
        mark_sum=_sum(parts, "mark_sum"),
        marks=_sum(parts, "marks"),
        marked=_sum(parts, "marked"),
        absences=_sum(parts, "absences"),
        absent=_sum(parts, "absent"),
        absence_base=_sum(parts, "absence_base"),
        hidden=frozenset().union(*(p.hidden for p in parts)),
    )


def over_terms(tallies: Iterable[Tally]) -> Tally:
    """One school's whole year from its terms (same students in each): the sum of what each term shows.

    A student marked (or absent) in two terms counts twice in `marked` (`absent`): each part is
    drawn from MIN_GROUP people or more on its own, so the sum is too.
    """
    parts = [shown_part(t) for t in tallies]
    if not parts:
        return Tally()
    students = max(p.students for p in parts)
    computers = max(p.computers for p in parts)
    with_absences = [p for p in parts if p.absence_base]
    return Tally(
        students=students,
        computers=computers,
        mark_sum=_sum(parts, "mark_sum"),
        marks=_sum(parts, "marks"),
        marked=_sum(parts, "marked"),
        absences=_sum(with_absences, "absences"),
        absent=_sum(with_absences, "absent"),
        absence_base=students if with_absences else 0,
        hidden=frozenset().union(*(p.hidden for p in parts)),
    )
