"""Pure journal rules, no database: what a teacher types in a journal cell.

The grading maths (criteria-based term percentage, grade bands, year grade, letter scale) belongs
to the curriculum, whose grading policies it reads; it is re-exported here under the names the
journal has always used (`rules.term_result`, `rules.GradingRules`, ...).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from birtutas.curriculum.rules import (  # noqa: F401 - re-exported for the journal
    CRITERIA_BASED_2016,
    FORMATIVE_MAX,
    FORMATIVE_MIN,
    HUNDRED,
    LETTER_SCALE,
    GradingRules,
    Points,
    RuleError,
    TermResult,
    check_formative,
    check_points,
    exact_term_percent,
    grade_for_percent,
    letter_grade,
    round_half_up,
    term_percent,
    term_result,
    year_grade,
)

# ---------------------------------------------------------------- what a teacher types in a cell

ABSENT_ILLNESS = "illness"
ABSENT_EXCUSED = "excused"
ABSENT_UNEXCUSED = "unexcused"
LATE = "late"

# One keystroke per status, in each language's habit: Kazakh, Russian and Latin letters.
ATTENDANCE_CODES = {
    # Kazakh: ж(оқ), а(уырды), с(ебепті), к(ешікті)
    "ж": ABSENT_UNEXCUSED,
    "а": ABSENT_ILLNESS,
    "с": ABSENT_EXCUSED,
    "к": LATE,
    # Russian: н(ет), б(олел), у(важительная), о(поздал)
    "н": ABSENT_UNEXCUSED,
    "б": ABSENT_ILLNESS,
    "у": ABSENT_EXCUSED,
    "о": LATE,
    # Latin: n(o), i(ll), e(xcused), l(ate)
    "n": ABSENT_UNEXCUSED,
    "i": ABSENT_ILLNESS,
    "e": ABSENT_EXCUSED,
    "l": LATE,
}
ABSENCES = (ABSENT_ILLNESS, ABSENT_EXCUSED, ABSENT_UNEXCUSED)


@dataclass(frozen=True)
class CellEntry:
    """What a journal cell should hold after the teacher's input: a mark, a status, both, or neither."""

    mark: int | None
    attendance: str | None  # None means present


def parse_cell(text: str) -> CellEntry:
    """Parse a cell: "" clears it, "8" is a mark, "н" an absence, "к8" / "8 к" lateness with a mark."""
    # Any whitespace (a pasted no-break space, a tab) is ignored, not only the plain space.
    raw = "".join((text or "").lower().split())
    if not raw:
        return CellEntry(mark=None, attendance=None)
    # isdecimal, not isdigit: "²" or "①" are "digits" that int() refuses, which escaped as a bare
    # ValueError instead of a RuleError; now they are reported as an unknown code.
    letters = "".join(c for c in raw if not c.isdecimal())
    digits = "".join(c for c in raw if c.isdecimal())
    if digits and letters and not (raw.startswith(letters) or raw.endswith(letters)):
        raise RuleError(_("Type a mark from 1 to 10, or one attendance letter, or both."))
    attendance = None
    if letters:
        if len(letters) != 1 or letters not in ATTENDANCE_CODES:
            raise RuleError(
                _("Unknown code “%(code)s”. Use н/ж (absent), б/а (ill), у/с (excused), о/к (late).")
                % {"code": letters}
            )
        attendance = ATTENDANCE_CODES[letters]
    mark = None
    if digits:
        mark = check_formative(int(digits))
        if attendance in ABSENCES:
            raise RuleError(_("An absent student cannot get a mark for the lesson."))
    return CellEntry(mark=mark, attendance=attendance)


LETTERS = {
    "kk": {ABSENT_UNEXCUSED: "ж", ABSENT_ILLNESS: "а", ABSENT_EXCUSED: "с", LATE: "к"},
    "ru": {ABSENT_UNEXCUSED: "н", ABSENT_ILLNESS: "б", ABSENT_EXCUSED: "у", LATE: "о"},
    "en": {ABSENT_UNEXCUSED: "n", ABSENT_ILLNESS: "i", ABSENT_EXCUSED: "e", LATE: "l"},
}


def letters_for(language: str | None) -> dict[str, str]:
    """The attendance letters of a language ("ru", "ru-ru", ...); Kazakh for any other."""
    return LETTERS.get((language or "kk")[:2], LETTERS["kk"])


def format_cell(mark: int | None, attendance: str | None, language: str) -> str:
    """The inverse of parse_cell, in the letters of the teacher's language."""
    letter = letters_for(language)[attendance] if attendance else ""
    return f"{letter}{mark if mark is not None else ''}"


# ---------------------------------------------------------------- the school week

SCHOOL_WEEKDAYS = range(1, 7)  # ISO weekdays lessons run on: Monday to Saturday


def neighbouring_school_days(day: dt.date) -> tuple[dt.date, dt.date]:
    """The school days before and after a day: the days either side, stepping over a day without lessons."""
    previous, following = day - dt.timedelta(days=1), day + dt.timedelta(days=1)
    while previous.isoweekday() not in SCHOOL_WEEKDAYS:
        previous -= dt.timedelta(days=1)
    while following.isoweekday() not in SCHOOL_WEEKDAYS:
        following += dt.timedelta(days=1)
    return previous, following


# ---------------------------------------------------------------- what may become final, and when


def check_not_future(lesson_date, today) -> None:
    """Marks and absences record what happened: a lesson after today has none yet."""
    if lesson_date > today:
        raise RuleError(
            _("This lesson is on %(date)s, after today: marks and absences are entered on the day or later.")
            % {"date": lesson_date.strftime("%d.%m.%Y")}
        )


def check_term_ended(last_day, today) -> None:
    """A term is closed only after its last school day."""
    if today <= last_day:
        raise RuleError(
            _("The term ends on %(date)s: it can be closed from the next day on.")
            % {"date": last_day.strftime("%d.%m.%Y")}
        )


@dataclass(frozen=True)
class LessonPlan:
    """What a timetable change does to the future lessons: kept ones are not listed."""

    move: tuple[tuple[int, object, int], ...]  # (lesson id, new date, new period)
    remove: tuple[int, ...]  # lesson ids
    create: tuple[tuple[int, object, int], ...]  # (assignment id, date, period)


def plan_lessons(existing, wanted) -> LessonPlan:
    """Fit the future lessons to the timetable, moving rather than recreating where it can.

    `existing`: (lesson id, assignment id, date, period) of future lessons that nothing is recorded
    on (lessons with a mark or an absence are never passed in, so never touched). `wanted`:
    (assignment id, date, period) the timetable asks for. A lesson already in a wanted place stays;
    the others of a class-subject move, in date order, to that subject's unfilled places of the
    same week (so a lesson's topic and homework follow it), and what is left over is removed or
    created.
    """
    wanted_set = set(wanted)
    stay = {(a, d, p) for _id, a, d, p in existing if (a, d, p) in wanted_set}
    loose = defaultdict(list)  # (assignment, iso week) -> lessons not in a wanted place
    for lesson_id, a, d, p in sorted(existing, key=lambda e: (e[2], e[3], e[0])):
        if (a, d, p) not in wanted_set:
            loose[(a, d.isocalendar()[:2])].append(lesson_id)
    open_places = defaultdict(list)
    for a, d, p in sorted(wanted_set - stay, key=lambda w: (w[1], w[2], w[0])):
        open_places[(a, d.isocalendar()[:2])].append((d, p))
    move, create = [], []
    for key, places in open_places.items():
        lessons = loose.pop(key, [])
        for lesson_id, (d, p) in zip(lessons, places, strict=False):
            move.append((lesson_id, d, p))
        for d, p in places[len(lessons) :]:
            create.append((key[0], d, p))
        if len(lessons) > len(places):
            loose[key] = lessons[len(places) :]
    remove = sorted(lesson_id for lessons in loose.values() for lesson_id in lessons)
    return LessonPlan(move=tuple(move), remove=tuple(remove), create=tuple(sorted(create, key=lambda c: (c[1], c[2]))))


# ---------------------------------------------------------------- which entry a journal cell holds


@dataclass(frozen=True)
class Entry:
    """One recorded value of a journal cell, as the settling rule sees it (see `models.MarkEntry`)."""

    id: uuid.UUID  # the entry's identity on every server: breaks ties of equal stamps the same way everywhere
    stamp: int  # kernel.hlc
    value: str | None  # None: the cell was cleared
    approved: bool = False  # an approved change request, written into a closed term


def entry_held(entry: Entry, closure_stamp: int | None) -> bool:
    """An entry of a closed term (`closure_stamp`: the closing in force, else None) is held when it
    was stamped after the closing and is not an approved change: it arrived from another server
    after the term was closed. It stays stored and shown to the director, and counts if the term is
    reopened."""
    return closure_stamp is not None and entry.stamp > closure_stamp and not entry.approved


def cell_winner(entries: Iterable[Entry], closure_stamp: int | None = None) -> Entry | None:
    """The entry a cell holds: the greatest (stamp, id) among those that count; None if none counts.

    A pure function of the entries and the closing, so every server that holds the same ones settles
    the cell to the same value, whatever order they arrived in.
    """
    counted = [e for e in entries if not entry_held(e, closure_stamp)]
    return max(counted, key=lambda e: (e.stamp, e.id), default=None)


def cell_value(entries: Iterable[Entry], closure_stamp: int | None = None) -> str | None:
    """What the cell holds: the winner's value (None: no row, when it is a clear or nothing counts)."""
    winner = cell_winner(entries, closure_stamp)
    return None if winner is None else winner.value


def entry_value_ok(field: str, value: str | None) -> bool:
    """Whether an entry's value can stand in its cell: a received entry that cannot never counts."""
    if value is None:
        return True
    if field == "attendance":
        return value in (*ABSENCES, LATE)
    if not value.isascii() or not value.isdecimal():
        return False
    number = int(value)
    if field == "mark":
        return FORMATIVE_MIN <= number <= FORMATIVE_MAX
    return field == "points" and number <= POINTS_CEILING


POINTS_CEILING = 32767  # what the points column holds; a work's own maximum is the service's check
