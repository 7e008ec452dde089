"""The director's reports and the journal's exports: attendance of a class over a period, a class
journal of one subject and term, and a class's term (and year) grades.

Each read starts from what the actor may see, and anything else is "not found": attendance and
grades are the school administration's; a class journal also its subject teacher's and its class
teacher's, who read the same journal on its page. Each costs a fixed number of SQL queries whatever
the class size, and returns `Table`s from which both the printable page and the spreadsheet are
made, so the two cannot disagree. Names are in the alphabetical order of the reader's language;
namesakes get a column with their birth date.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.formats import date_format
from django.utils.text import capfirst, slugify
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from birtutas.kernel import clock
from birtutas.kernel.collation import namesakes, sorted_by_name, sorted_people
from birtutas.kernel.errors import NotFound, ServiceError
from birtutas.kernel.parsing import require_date, to_int
from birtutas.registry.models import Person, Term
from birtutas.registry.permissions import Actor
from birtutas.registry.queries import terms_of
from birtutas.registry.rules import term_for

from . import queries, rules
from .models import Attendance, Enrollment, Lesson, SchoolClass, TermClosure, TermGrade, YearGrade

HUNDRED = Decimal(100)


# ------------------------------------------------------------------ tables


@dataclass
class Table:
    """One sheet of a spreadsheet and one table of a printable page: a header row and rows of values
    (int, Decimal, date, text or None); `foot` rows (totals) end both, marked as totals on the page."""

    title: str
    header: list[str]
    rows: list[list]
    foot: list[list] = field(default_factory=list)
    name_column: int = 1  # the column that names a row (after the row number)
    empty: str = ""  # what the page says when there are no rows

    def sheet(self) -> tuple[str, list[str], list[list]]:
        return self.title, self.header, [*self.rows, *self.foot]

    def _cells(self, row: list) -> list[tuple[object, str]]:
        def kind(column: int, value) -> str:
            if column == self.name_column:
                return "head"
            if isinstance(value, bool) or value is None:
                return ""
            if isinstance(value, int | Decimal | float):
                return "num"
            return "date" if isinstance(value, dt.date) else ""

        return [(value, kind(column, value)) for column, value in enumerate(row)]

    @property
    def lines(self) -> list[tuple[list[tuple[object, str]], bool]]:
        """The rows for the page, then the totals (flagged): each cell as (value, kind), the kind being
        "head" for the name of the row, "num" (right-aligned), "date" (local format) or ""."""
        return [(self._cells(row), False) for row in self.rows] + [(self._cells(row), True) for row in self.foot]


@dataclass
class Export:
    """What a page shows and a spreadsheet holds: a heading, lines that say what it covers, tables."""

    title: str
    lines: list[str]
    tables: list[Table]
    filename: str  # without the extension; never personal data

    def sheets(self) -> list:
        return [table.sheet() for table in self.tables]


def _name_header(same: set[int]) -> list[str]:
    """The header of the columns that name each row: number, name and, when there are namesakes
    (`same`), their birth date."""
    return [_("No."), _("Student")] + ([capfirst(_("birth date"))] if same else [])


def _name_cells(number: int, student: Person, same: set[int]) -> list:
    cells = [number, student.short_name]
    if same:
        cells.append(student.birth_date if student.pk in same else None)
    return cells


def _blank_name_cells(label: str, same: set[int]) -> list:
    return [None, label] + ([None] if same else [])


def _file_part(text: str) -> str:
    """Letters and digits only, case kept ("7Ә"): the file's name goes out with RFC 6266's filename*."""
    return re.sub(r"[\W_]+", "", text)


def _class_part(school_class: SchoolClass) -> str:
    return _file_part(f"{school_class.grade}{school_class.letter}") or str(school_class.grade)


def _day(day: dt.date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def _term_label(term: Term) -> str:
    if term.kind == Term.Kind.SEMESTER:
        return str(term)
    return _("Term %(n)s") % {"n": term.number}


def _rounded(percent) -> Decimal | None:
    """A percentage to one decimal place, as the journal shows it."""
    return None if percent is None else rules.round_half_up(Decimal(percent), "0.1")


def _percent(part: int, whole: int) -> Decimal | None:
    return _rounded(HUNDRED * part / whole) if whole else None


# ------------------------------------------------------------------ which class, which period


def _class_term(school_class: SchoolClass, terms: list[Term], raw, *, own_copy: bool) -> Term:
    """The term asked for by id: one of the class's year or, for dates only (`own_copy`), of the
    school's own copy of that year. Another year's, another school's, or no term: "not found"."""
    term_id = to_int(raw)
    found = next((t for t in terms if t.pk == term_id), None)
    if found is None and own_copy and term_id:
        found = (
            Term.objects.select_related("year")
            .filter(
                pk=term_id,
                year__organization_id=school_class.organization_id,
                year__name=school_class.year.name,
            )
            .first()
        )
    if found is None:
        raise NotFound()
    return found


def current_class_term(terms: list[Term]) -> Term | None:
    """The term of the class's year that today belongs to (between terms, the one that ended last)."""
    return term_for(clock.today(), terms)


@dataclass
class Period:
    first: dt.date
    last: dt.date
    term: Term | None = None  # the term the period is, if it is one


def report_period(school_class: SchoolClass, terms: list[Term], *, term=None, first="", last="") -> Period:
    """The period of an attendance report: the dates asked for (`from`, `to`), else the term asked
    for, else the current term (else the whole school year). Dates must be in order and inside the
    class's school year: anything else is a clear refusal (400) in the reader's language."""
    year = school_class.year
    start, end = require_date(first), require_date(last)
    if start is not None or end is not None:
        start, end = start or year.starts_on, end or year.ends_on
        if start > end:
            raise ServiceError(_("The first day of the period is after its last day."))
        if start < year.starts_on or end > year.ends_on:
            raise ServiceError(
                _("Choose days within the school year, from %(first)s to %(last)s.")
                % {"first": _day(year.starts_on), "last": _day(year.ends_on)}
            )
        return Period(start, end)
    chosen = _class_term(school_class, terms, term, own_copy=True) if term else current_class_term(terms)
    if chosen is None:
        return Period(year.starts_on, year.ends_on)
    return Period(chosen.starts_on, chosen.ends_on, chosen)


# ------------------------------------------------------------------ attendance


@dataclass
class AttendanceCounts:
    lessons: int = 0
    illness: int = 0
    excused: int = 0
    unexcused: int = 0
    late: int = 0

    def add(self, status: str, n: int) -> None:
        name = {
            rules.ABSENT_ILLNESS: "illness",
            rules.ABSENT_EXCUSED: "excused",
            rules.ABSENT_UNEXCUSED: "unexcused",
            rules.LATE: "late",
        }.get(status)
        if name:
            setattr(self, name, getattr(self, name) + n)

    def merge(self, other: AttendanceCounts) -> None:
        for name in ("lessons", "illness", "excused", "unexcused", "late"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def absences(self) -> int:
        return self.illness + self.excused + self.unexcused

    @property
    def attended(self) -> Decimal | None:
        """The share of lessons attended, in per cent; a late arrival attended."""
        return _percent(self.lessons - self.absences, self.lessons)

    def cells(self) -> list:
        return [self.lessons, self.illness, self.excused, self.unexcused, self.late, self.attended]


def _counts_header() -> list[str]:
    return [
        _("Lessons"),
        capfirst(_("absent: illness")),
        capfirst(_("absent: other reason")),
        capfirst(_("absent without reason")),
        _("Late"),
        _("Attended, %"),
    ]


@dataclass
class AttendanceReport:
    school_class: SchoolClass
    period: Period
    counted_until: dt.date  # lessons after today are not held yet, so not counted
    export: Export


def attendance_report(
    school_class: SchoolClass, terms: list[Term], *, term=None, first="", last="", language: str | None = None
) -> AttendanceReport:
    """Per student: lessons held while enrolled, absences by kind, lateness and the share attended;
    the class's totals; the same per subject. `school_class` is one the actor administers
    (`queries.directed_class`), `terms` its year's (`terms_of`). Five queries whatever the class
    size or period (six for a term of the school's own calendar)."""
    language = language or get_language()
    period = report_period(school_class, terms, term=term, first=first, last=last)
    until = min(period.last, clock.today())
    enrollments = list(
        Enrollment.objects.filter(school_class=school_class)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=period.first))
        .select_related("student")
    )
    left_on = {e.student_id: e.left_on for e in enrollments}
    lesson_dates: dict[int, list[dt.date]] = defaultdict(list)  # per class-subject, in date order
    for assignment_id, day in (
        Lesson.objects.filter(assignment__school_class=school_class, date__range=(period.first, until))
        .order_by("date")
        .values_list("assignment_id", "date")
    ):
        lesson_dates[assignment_id].append(day)
    counts: dict[tuple[int, int], AttendanceCounts] = defaultdict(AttendanceCounts)  # (student, class-subject)
    for student_id, leaving in left_on.items():
        for assignment_id, days in lesson_dates.items():
            # A student who left counts the lessons before the day they left.
            held = len(days) if leaving is None else bisect.bisect_left(days, leaving)
            if held:
                counts[(student_id, assignment_id)].lessons = held
    for student_id, assignment_id, status, day, n in (
        Attendance.objects.filter(
            lesson__assignment__school_class=school_class, lesson__date__range=(period.first, until)
        )
        .values_list("student_id", "lesson__assignment_id", "status", "lesson__date")
        .annotate(n=Count("id"))
        .order_by()
    ):
        if student_id in left_on and (left_on[student_id] is None or day < left_on[student_id]):
            counts[(student_id, assignment_id)].add(status, n)
    per_student: dict[int, AttendanceCounts] = defaultdict(AttendanceCounts)
    per_subject: dict[int, AttendanceCounts] = defaultdict(AttendanceCounts)
    for (student_id, assignment_id), found in counts.items():
        per_student[student_id].merge(found)
        per_subject[assignment_id].merge(found)
    students = sorted_people([e.student for e in enrollments], language)
    same = namesakes(students)
    head = _name_header(same)
    total = AttendanceCounts()
    rows = []
    for number, student in enumerate(students, start=1):
        found = per_student[student.pk]
        total.merge(found)
        rows.append([*_name_cells(number, student, same), *found.cells()])
    by_student = Table(
        _("Attendance"), head + _counts_header(), rows, [[*_blank_name_cells(_("Total"), same), *total.cells()]]
    )
    assignments = sorted_by_name(queries.class_assignments(school_class), language, lambda a: a.subject.name)
    # Per subject, "lessons" are the lessons held; the share attended is of every student's lessons.
    subject_rows = [[a.subject.name, len(lesson_dates[a.pk]), *per_subject[a.pk].cells()[1:]] for a in assignments]
    held = sum(len(days) for days in lesson_dates.values())
    by_subject = Table(
        _("By subject"), [_("Subject"), *_counts_header()], subject_rows, [[_("Total"), held, *total.cells()[1:]]], 0
    )
    span = f"{_day(period.first)} – {_day(period.last)}"
    what = f"{_term_label(period.term)}, {span}" if period.term else span
    name = f"term{period.term.number}" if period.term else f"{period.first.isoformat()}-{period.last.isoformat()}"
    export = Export(
        title=_("Attendance: %(class)s") % {"class": school_class.name},
        lines=[school_class.organization.name, what],
        tables=[by_student, by_subject],
        filename=f"attendance-{_class_part(school_class)}-{name}",
    )
    return AttendanceReport(school_class, period, until, export)


# ------------------------------------------------------------------ a class journal


def class_journal(actor: Actor, assignment_id: int, term_id: int, language: str | None = None) -> Export:
    """One subject's journal of a class for a term: students by lessons (marks and attendance in the
    reader's letters), summative points, percentage and grade; then the lessons with their topics.

    The journal's own read decides who may see it: the school's administration, the subject
    teacher and the class teacher; anyone else gets "not found"."""
    language = language or get_language()
    grid = queries.journal_grid(actor, assignment_id, term_id)  # its rows in the reader's order
    assignment, term, same = grid.assignment, grid.term, grid.namesakes
    header = [
        *_name_header(same),
        *(lesson.date.strftime("%d.%m") for lesson in grid.lessons),
        *(f"{work.title} (/{work.max_points})" for work in grid.works),
        "%",
        _("Grade"),
    ]
    rows = []
    for number, row in enumerate(grid.rows, start=1):
        cells = []
        for lesson in grid.lessons:
            mark, status = row.cells.get(lesson.pk, (None, None))
            # A mark alone stays a number in the spreadsheet; a letter (with a mark) is text.
            cells.append(rules.format_cell(mark, status, language) if status else mark)
        points = [row.points.get(work.pk) for work in grid.works]
        rows.append([*_name_cells(number, row.student, same), *cells, *points, _rounded(row.percent), row.grade])
    lessons = Table(
        _("Lessons"),
        [_("Date"), _("Period"), _("Topic")],
        [[lesson.date, lesson.period, lesson.topic] for lesson in grid.lessons],
        name_column=2,
        empty=_("No lessons."),
    )
    school_class = assignment.school_class
    letters = rules.letters_for(language)
    legend = ", ".join(
        f"{letters[status]} — {Attendance.Status(status).label}"
        for status in (rules.ABSENT_ILLNESS, rules.ABSENT_EXCUSED, rules.ABSENT_UNEXCUSED, rules.LATE)
    )
    subject_part = slugify(assignment.subject.code) or str(assignment.subject_id)
    teacher = _("Teacher: %(name)s") % {"name": assignment.teacher.short_name}
    return Export(
        title=f"{school_class.name} · {assignment.subject.name}",
        lines=[
            school_class.organization.name,
            f"{_term_label(term)}, {_day(term.starts_on)} – {_day(term.ends_on)} · {teacher}",
            legend,
        ],
        tables=[Table(_("Journal"), header, rows), lessons],
        filename=f"journal-{_class_part(school_class)}-{subject_part}-term{term.number}",
    )


# ------------------------------------------------------------------ term and year grades


@dataclass
class GradesReport:
    school_class: SchoolClass
    term: Term
    terms: list[Term]
    export: Export


def class_grades(actor: Actor, class_id: int, term=None) -> GradesReport:
    """A class's term grades: students by subjects, each with its grade and percentage (final when
    the term is closed, what the marks say now otherwise); when the year's grades exist, a second
    table of every term's final grade and the year grade per subject. Fixed queries whatever the size."""
    school_class = queries.directed_class(actor, class_id)
    terms = terms_of(school_class.year_id)
    chosen = _class_term(school_class, terms, term, own_copy=False) if term else current_class_term(terms)
    if chosen is None:
        raise NotFound()
    assignments, report_rows = queries.class_report(school_class, chosen)  # both in the reader's order
    students = [row.student for row in report_rows]
    same = namesakes(students)
    head = _name_header(same)
    by_student = {row.student.pk: row for row in report_rows}
    header = [*head]
    for a in assignments:
        header += [a.subject.name, f"{a.subject.name}, %"]
    rows = []
    for number, student in enumerate(students, start=1):
        cells = []
        for a in assignments:
            percent, grade = by_student[student.pk].grades.get(a.pk, (None, None))
            cells += [grade, _rounded(percent)]
        rows.append([*_name_cells(number, student, same), *cells])
    tables = [Table(_term_label(chosen), header, rows)]
    closed = set(
        TermClosure.objects.in_force()
        .filter(organization_id=school_class.organization_id, term__in=terms)
        .values_list("term_id", flat=True)
    )
    year_grades = {
        (s, a): g
        for s, a, g in YearGrade.objects.filter(assignment__school_class=school_class).values_list(
            "student_id", "assignment_id", "grade"
        )
    }
    if year_grades:
        tables.append(_year_table(school_class, terms, closed, assignments, students, same, head, year_grades))
    export = Export(
        title=_("Grades: %(class)s") % {"class": school_class.name},
        lines=[
            school_class.organization.name,
            f"{_term_label(chosen)}, {_day(chosen.starts_on)} – {_day(chosen.ends_on)}",
            *([_("The term is closed and its grades are final.")] if chosen.pk in closed else []),
        ],
        tables=tables,
        filename=f"grades-{_class_part(school_class)}-term{chosen.number}",
    )
    return GradesReport(school_class, chosen, terms, export)


def _year_table(school_class, terms, closed, assignments, students, same, head, year_grades) -> Table:
    """Every term's final grade (of the terms the school has `closed`) and the year grade, per subject."""
    final = {
        (s, a, t): g
        for s, a, t, g in TermGrade.objects.filter(
            assignment__school_class=school_class, term_id__in=closed
        ).values_list("student_id", "assignment_id", "term_id", "grade")
    }
    header = [*head]
    for a in assignments:
        header += [f"{a.subject.name}: {_term_label(t)}" for t in terms]
        header.append(_("%(subject)s: Year grade") % {"subject": a.subject.name})
    rows = []
    for number, student in enumerate(students, start=1):
        cells = []
        for a in assignments:
            cells += [final.get((student.pk, a.pk, t.pk)) for t in terms]
            cells.append(year_grades.get((student.pk, a.pk)))
        rows.append([*_name_cells(number, student, same), *cells])
    return Table(_("Year grade"), header, rows)
