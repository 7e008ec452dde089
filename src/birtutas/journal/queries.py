"""Every read the journal pages and API use, starting from what the actor may see.

Each function costs a fixed number of SQL queries whatever the class size: rows are fetched
per table for the whole page and joined in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from birtutas.kernel import clock
from birtutas.kernel.collation import class_key, namesakes, sort_key, sorted_by_name, sorted_people
from birtutas.kernel.errors import NotFound
from birtutas.registry import queries as registry_queries
from birtutas.registry import rules as registry_rules
from birtutas.registry.models import Organization, Person, Term
from birtutas.registry.permissions import Action, Actor, StaffOfOrganization, may, visible
from birtutas.registry.roles import Role

from . import rules
from .models import (
    Attendance,
    BellPeriod,
    ChangeRequest,
    Enrollment,
    GradingPolicy,
    LearningObjective,
    Lesson,
    Mark,
    MarkEntry,
    SchoolClass,
    SummativeWork,
    TeachingAssignment,
    TermClosure,
    TermGrade,
    TimetableSlot,
    YearGrade,
)


def _not_found():
    return NotFound(_("Not found."))


def current_term(on: dt.date | None = None, organization_id: int | None = None) -> Term | None:
    """The school's term on a date (its own calendar, else the ministry's default); today by default."""
    return registry_queries.current_term(organization_id, on or clock.today())


def get_term(term_id, *, year_id: int | None = None, organization_id: int | None = None) -> Term:
    try:
        term_id = int(term_id)
    except (TypeError, ValueError):
        raise _not_found() from None
    term = Term.objects.select_related("year").filter(pk=term_id).first()
    if term is None or (year_id is not None and term.year_id != year_id):
        raise _not_found()
    if organization_id is not None and term.year.organization_id not in (None, organization_id):
        raise _not_found()  # a term of another school's own calendar
    return term


def requested_term(term_id, *, year_id: int | None = None, organization_id: int | None = None) -> Term | None:
    """The term a page was asked for (?term=), or the current one; a bad id, or a term of another
    year or school than the page's, is "not found"."""
    if term_id:
        return get_term(term_id, year_id=year_id, organization_id=organization_id)
    return current_term(organization_id=organization_id)


def is_term_closed(organization_id: int, term_id: int) -> bool:
    """Whether the school's closing of the term is in force (closed and not reopened)."""
    return TermClosure.objects.in_force().filter(organization_id=organization_id, term_id=term_id).exists()


def policy_in_force(term: Term) -> GradingPolicy | None:
    """The newest version of the grading policy in effect when the term began."""
    return (
        GradingPolicy.objects.filter(effective_from__lte=term.starts_on).order_by("-effective_from", "-version").first()
    )


def policy_rules(term: Term) -> rules.GradingRules | None:
    policy = policy_in_force(term)
    return policy.as_rules() if policy else None


# ------------------------------------------------------------------ teacher


def teacher_assignments(actor: Actor) -> list[TeachingAssignment]:
    """The class-subjects the actor teaches or whose class they lead, current year first, then by
    class and subject in the alphabet of the language being shown."""
    language = get_language()
    return sorted(
        visible(TeachingAssignment, actor)
        .filter(Q(teacher_id=actor.person_id) | Q(school_class__class_teacher_id=actor.person_id))
        .select_related("school_class", "subject", "school_class__year"),
        key=lambda a: (
            -a.school_class.year.starts_on.toordinal(),
            class_key(a.school_class.grade, a.school_class.letter, language),
            sort_key(a.subject.name, language),
        ),
    )


@dataclass
class GridRow:
    student: Person
    cells: dict[int, tuple[int | None, str | None]] = field(default_factory=dict)
    points: dict[int, int] = field(default_factory=dict)
    percent: Decimal | None = None
    grade: int | None = None


@dataclass
class JournalGrid:
    assignment: TeachingAssignment
    term: Term
    terms: list[Term]
    lessons: list[Lesson]
    works: list[SummativeWork]
    rows: list[GridRow]
    closed: bool
    can_edit: bool  # the cells take input: the subject's teacher, in an open term
    writable: bool = False  # the actor teaches the subject (closed or not): anyone else only reads
    namesakes: set[int] = field(default_factory=set)  # students shown with their birth date


def journal_grid(actor: Actor, assignment_id: int, term_id: int) -> JournalGrid:
    assignment = (
        visible(TeachingAssignment, actor)
        .select_related("school_class__organization", "subject", "teacher")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise _not_found()
    term = get_term(term_id, year_id=assignment.school_class.year_id)
    closed = is_term_closed(assignment.school_class.organization_id, term.pk)
    students = sorted_people(
        Person.objects.filter(
            Q(enrollments__left_on__isnull=True) | Q(enrollments__left_on__gt=term.starts_on),
            enrollments__school_class_id=assignment.school_class_id,
        ),
        get_language(),
    )
    lessons = list(Lesson.objects.filter(assignment=assignment, term=term).order_by("date", "period"))
    works = list(SummativeWork.objects.filter(assignment=assignment, term=term).order_by("date", "id"))
    rows = {s.pk: GridRow(student=s) for s in students}
    for student_id, lesson_id, value in Mark.objects.filter(
        lesson__assignment=assignment, lesson__term=term
    ).values_list("student_id", "lesson_id", "value"):
        if student_id in rows:
            rows[student_id].cells[lesson_id] = (value, None)
    for student_id, lesson_id, status in Attendance.objects.filter(
        lesson__assignment=assignment, lesson__term=term
    ).values_list("student_id", "lesson_id", "status"):
        if student_id in rows:
            mark = rows[student_id].cells.get(lesson_id, (None, None))[0]
            rows[student_id].cells[lesson_id] = (mark, status)
    for student_id, work_id, value in Mark.objects.filter(work__in=works).values_list("student_id", "work_id", "value"):
        if student_id in rows:
            rows[student_id].points[work_id] = value
    _fill_results(assignment, term, closed, rows)
    writable = may(actor, Action.CHANGE, Lesson(assignment=assignment))
    return JournalGrid(
        assignment=assignment,
        term=term,
        terms=registry_queries.terms_of(term.year_id),
        lessons=lessons,
        works=works,
        rows=list(rows.values()),
        closed=closed,
        can_edit=writable and not closed,
        writable=writable,
        namesakes=namesakes(students),
    )


def _fill_results(assignment, term, closed, rows: dict[int, GridRow]) -> None:
    results = term_results(term, closed, assignment_ids=[assignment.pk])
    for (student_id, _assignment_id), (percent, grade) in results.items():
        if student_id in rows:
            rows[student_id].percent, rows[student_id].grade = percent, grade


def visible_lesson(actor: Actor, lesson_id: int) -> Lesson:
    lesson = (
        visible(Lesson, actor)
        .select_related("assignment__school_class", "assignment__subject", "term")
        .filter(pk=lesson_id)
        .first()
    )
    if lesson is None:
        raise _not_found()
    return lesson


def lesson_objectives(lesson: Lesson):
    return LearningObjective.objects.filter(
        subject_id=lesson.assignment.subject_id, grade=lesson.assignment.school_class.grade
    )


def shift_bells(actor: Actor, shifts: Iterable[tuple[int, int]]) -> dict[tuple[int, int], dict[int, BellPeriod]]:
    """The bell schedules of (school, shift) pairs, period by period, among those the actor may read.

    One query for any number of pairs (none for no pair); a shift without a schedule is missing.
    """
    shifts = set(shifts)
    if not shifts:
        return {}
    wanted = Q()
    for organization_id, shift in shifts:
        wanted |= Q(organization_id=organization_id, shift=shift)
    found: dict[tuple[int, int], dict[int, BellPeriod]] = {}
    for bell in visible(BellPeriod, actor).filter(wanted).order_by("period"):
        found.setdefault((bell.organization_id, bell.shift), {})[bell.period] = bell
    return found


# ------------------------------------------------------------------ student and guardian


def diary_students(actor: Actor) -> list[Person]:
    """The students whose diary the actor may open: themself, or their children, eldest first."""
    ids = _diary_ids(actor)
    if not ids:
        return []
    language = get_language()
    people = Person.objects.filter(pk__in=ids)
    return sorted(people, key=lambda p: (p.birth_date or dt.date.max, sort_key(p.first_name, language), p.pk))


def _diary_ids(actor: Actor) -> list[int]:
    ids = list(actor.ward_ids)
    if actor.person_id and actor.has_role(Role.STUDENT) and actor.person_id not in ids:
        ids.append(actor.person_id)
    return ids


def diary_start(actor: Actor) -> int | None:
    """The student whose week the Diary link opens, as `diary_students` orders them; no query for one."""
    ids = _diary_ids(actor)
    if len(ids) <= 1:
        return ids[0] if ids else None
    return diary_students(actor)[0].pk


def visible_student(actor: Actor, student_id: int) -> Person:
    """A student whose diary the actor may open: self, own child, or a student of a class they teach or direct."""
    enrollment = visible(Enrollment, actor).filter(student_id=student_id).select_related("student").first()
    if enrollment is None:
        raise _not_found()
    return enrollment.student


def current_class(actor: Actor, student_id: int, on: dt.date) -> SchoolClass | None:
    """The student's class on a date, among the classes the actor may see (a former school sees nothing new)."""
    return (
        visible(SchoolClass, actor)
        .filter(enrollments__student_id=student_id, year__starts_on__lte=on)
        .select_related("organization", "year")
        .order_by("-year__starts_on")
        .first()
    )


@dataclass
class DiaryEntry:
    lesson: Lesson
    subject: str
    teacher: str = ""
    room: str = ""
    starts: dt.time | None = None  # from the school's bell schedule, if it has one
    ends: dt.time | None = None
    mark: int | None = None
    attendance: str | None = None
    works: list[tuple[SummativeWork, int]] = field(default_factory=list)
    due: list[Lesson] = field(default_factory=list)  # homework set earlier for this lesson

    @property
    def attendance_label(self) -> str:
        return Attendance.Status(self.attendance).label if self.attendance else ""


@dataclass
class DiaryDay:
    date: dt.date
    entries: list[DiaryEntry]
    due: list[Lesson] = field(default_factory=list)  # homework due this day for a subject without a lesson on it


def diary_week(actor: Actor, student_id: int, week_start: dt.date) -> tuple[Person, SchoolClass | None, list[DiaryDay]]:
    """A student's week, Monday to Saturday (and Sunday when something is due then).

    Each lesson carries its time from the bell schedule of the class's shift, its teacher, its
    room (from the timetable slot it is held in, while that slot still holds its subject), the
    student's mark and attendance, and the homework due at it. Homework is listed twice: under
    the lesson that set it, and under the day it is due. A fixed number of queries, whatever
    the class.
    """
    student = visible_student(actor, student_id)
    monday = week_start - dt.timedelta(days=week_start.weekday())
    saturday, sunday = monday + dt.timedelta(days=5), monday + dt.timedelta(days=6)
    school_class = current_class(actor, student_id, saturday)
    days = [DiaryDay(date=monday + dt.timedelta(days=i), entries=[]) for i in range(7)]
    if school_class is None:
        return student, None, days[:6]
    # The week's lessons, and the earlier lessons whose homework is due this week: one query.
    lessons = list(
        Lesson.objects.filter(assignment__school_class=school_class)
        .filter(Q(date__range=(monday, sunday)) | (Q(homework_due__range=(monday, sunday)) & ~Q(homework="")))
        .select_related("assignment__subject", "assignment__teacher")
        .order_by("date", "period")
    )
    shift = (school_class.organization_id, school_class.shift)
    bells = shift_bells(actor, [shift]).get(shift, {})
    rooms = {
        (weekday, period): (assignment_id, room)
        for weekday, period, assignment_id, room in TimetableSlot.objects.filter(school_class=school_class)
        .exclude(room="")
        .values_list("weekday", "period", "assignment_id", "room")
    }
    entries = {}
    for lesson in lessons:
        if not monday <= lesson.date <= sunday:
            continue
        assignment_id, room = rooms.get((lesson.date.isoweekday(), lesson.period), (None, ""))
        bell = bells.get(lesson.period)
        entry = DiaryEntry(
            lesson=lesson,
            subject=lesson.assignment.subject.name,
            teacher=lesson.assignment.teacher.short_name,
            room=room if assignment_id == lesson.assignment_id else "",
            starts=bell.starts if bell else None,
            ends=bell.ends if bell else None,
        )
        entries[lesson.pk] = entry
        days[lesson.date.weekday()].entries.append(entry)
    # Homework due this week: at the first lesson of its subject that day, else under the day.
    first_lesson = {}
    for entry in entries.values():
        first_lesson.setdefault((entry.lesson.assignment_id, entry.lesson.date), entry)
    for lesson in lessons:
        due = lesson.homework_due
        if lesson.homework and due and monday <= due <= sunday and due != lesson.date:
            entry = first_lesson.get((lesson.assignment_id, due))
            (entry.due if entry is not None else days[due.weekday()].due).append(lesson)
    for lesson_id, value in Mark.objects.filter(student_id=student_id, lesson_id__in=entries).values_list(
        "lesson_id", "value"
    ):
        entries[lesson_id].mark = value
    for lesson_id, status in Attendance.objects.filter(student_id=student_id, lesson_id__in=entries).values_list(
        "lesson_id", "status"
    ):
        entries[lesson_id].attendance = status
    for mark in Mark.objects.filter(
        student_id=student_id, work__assignment__school_class=school_class, work__date__range=(monday, sunday)
    ).select_related("work"):
        entry = first_lesson.get((mark.work.assignment_id, mark.work.date))
        if entry is not None:
            entry.works.append((mark.work, mark.value))
    # Sunday is shown only when something is on it.
    if not (days[6].entries or days[6].due):
        days = days[:6]
    return student, school_class, days


@dataclass
class SubjectSummary:
    subject: str
    formative: list[int]
    unit: list[rules.Points]
    term: list[rules.Points]
    absences: int
    late: int
    percent: Decimal | None
    grade: int | None
    year_grade: int | None = None


def term_summary(
    actor: Actor, student_id: int, term: Term
) -> tuple[Person, SchoolClass | None, list[SubjectSummary], bool]:
    student = visible_student(actor, student_id)
    school_class = current_class(actor, student_id, term.ends_on)
    if school_class is None or school_class.year_id != term.year_id:
        return student, None, [], False
    closed = is_term_closed(school_class.organization_id, term.pk)
    language = get_language()
    assignments = sorted(
        TeachingAssignment.objects.filter(school_class=school_class).select_related("subject"),
        key=lambda a: sort_key(a.subject.name, language),
    )
    data = {a.pk: SubjectSummary(a.subject.name, [], [], [], 0, 0, None, None) for a in assignments}
    for assignment_id, grade in YearGrade.objects.filter(student_id=student_id, assignment__in=assignments).values_list(
        "assignment_id", "grade"
    ):
        data[assignment_id].year_grade = grade
    inputs = grade_inputs(term, school_class_id=school_class.pk, student_id=student_id)
    for (_student_id, assignment_id), found in inputs.items():
        if assignment_id in data:
            summary = data[assignment_id]
            summary.formative, summary.unit, summary.term = found.formative, found.unit, found.term
    for assignment_id, status in Attendance.objects.filter(
        student_id=student_id, lesson__term=term, lesson__assignment__school_class=school_class
    ).values_list("lesson__assignment_id", "status"):
        if status == rules.LATE:
            data[assignment_id].late += 1
        else:
            data[assignment_id].absences += 1
    for (_student_id, assignment_id), (percent, grade) in term_results(
        term, closed, school_class_id=school_class.pk, student_id=student_id, inputs=inputs
    ).items():
        if assignment_id in data:
            data[assignment_id].percent, data[assignment_id].grade = percent, grade
    return student, school_class, list(data.values()), closed


# ------------------------------------------------------------------ director


# The school's administration: who runs a school, asked of the rows by the same permission objects.
RUNS_SCHOOL = StaffOfOrganization("id")
RUNS_CLASS = StaffOfOrganization("organization_id")
RUNS_LESSON_SCHOOL = StaffOfOrganization("assignment__school_class__organization_id")


def directed_organizations(actor: Actor) -> list[Organization]:
    return list(Organization.objects.filter(RUNS_SCHOOL.q(actor)))


def directed_organization(actor: Actor, organization_id: int) -> Organization:
    organization = Organization.objects.filter(RUNS_SCHOOL.q(actor), pk=organization_id).first()
    if organization is None:
        raise _not_found()
    return organization


def organization_classes(actor: Actor, organization: Organization):
    return (
        visible(SchoolClass, actor)
        .filter(organization=organization)
        .annotate(students=Count("enrollments", distinct=True))
        .select_related("class_teacher", "year")
        .order_by("-year__starts_on", "grade", "letter")
    )


def directed_class(actor: Actor, class_id: int) -> SchoolClass:
    school_class = (
        SchoolClass.objects.select_related("organization", "year").filter(RUNS_CLASS.q(actor), pk=class_id).first()
    )
    if school_class is None:
        raise _not_found()
    return school_class


def class_timetable(school_class: SchoolClass) -> dict[tuple[int, int], TimetableSlot]:
    slots = TimetableSlot.objects.filter(school_class=school_class).select_related(
        "assignment__subject", "assignment__teacher"
    )
    return {(s.weekday, s.period): s for s in slots}


def class_assignments(school_class: SchoolClass):
    return TeachingAssignment.objects.filter(school_class=school_class).select_related("subject", "teacher")


def school_teachers(actor: Actor, organization_id: int) -> list[Person]:
    """The teachers of a school the actor runs, in the alphabet of the language being shown."""
    return sorted_people(
        visible(Person, actor)
        .filter(memberships__organization_id=organization_id, memberships__role=Role.TEACHER)
        .distinct(),
        get_language(),
    )


@dataclass
class ReportRow:
    student: Person
    grades: dict[int, tuple[Decimal | None, int | None]]
    absences: int
    excused: int
    late: int
    marks: int


def class_report(school_class: SchoolClass, term: Term) -> tuple[list[TeachingAssignment], list[ReportRow]]:
    """Per student: term percentage and grade per subject, marks count, absences and lateness."""
    language = get_language()
    assignments = sorted_by_name(class_assignments(school_class), language, lambda a: a.subject.name)
    students = sorted_people(
        Person.objects.filter(
            Q(enrollments__left_on__isnull=True) | Q(enrollments__left_on__gt=term.starts_on),
            enrollments__school_class=school_class,
        ),
        language,
    )
    rows = {s.pk: ReportRow(s, {}, 0, 0, 0, 0) for s in students}
    closed = is_term_closed(school_class.organization_id, term.pk)
    inputs = grade_inputs(term, school_class_id=school_class.pk)
    for (student_id, _assignment_id), found in inputs.items():
        if student_id in rows:
            rows[student_id].marks += len(found.formative)
    for student_id, status, n in (
        Attendance.objects.filter(lesson__term=term, lesson__assignment__school_class=school_class)
        .values_list("student_id", "status")
        .annotate(n=Count("id"))
    ):
        if student_id not in rows:
            continue
        if status == rules.LATE:
            rows[student_id].late += n
        elif status == rules.ABSENT_UNEXCUSED:
            rows[student_id].absences += n
        else:
            rows[student_id].excused += n
    results = term_results(term, closed, school_class_id=school_class.pk, inputs=inputs)
    for row in rows.values():
        for a in assignments:
            row.grades[a.pk] = results.get((row.student.pk, a.pk), (None, None))
    return assignments, list(rows.values())


def pending_change_requests(actor: Actor, organization: Organization):
    return (
        visible(ChangeRequest, actor)
        .filter(organization=organization, state=ChangeRequest.State.PENDING)
        .select_related("student", "lesson__assignment__subject", "work__assignment__subject", "requested_by__person")
    )


def closures(organization: Organization) -> dict[int, TermClosure]:
    return {c.term_id: c for c in TermClosure.objects.in_force().filter(organization=organization)}


def held_entries(organization_id: int):
    """The school's entries held by a closed term, oldest first: written on another server into a term
    this school had already closed (stamped after its closing, not an approved change). They are kept,
    and count again if the term is reopened; the director sees them here."""
    closing = TermClosure.objects.in_force().filter(organization_id=organization_id, stamp__lt=OuterRef("stamp"))
    return (
        MarkEntry.objects.filter(organization_id=organization_id, approved=False)
        .filter(
            Exists(closing.filter(term_id=OuterRef("lesson__term_id")))
            | Exists(closing.filter(term_id=OuterRef("work__term_id")))
        )
        .select_related("student", "lesson__assignment__subject", "work__assignment__subject", "actor")
        .order_by("stamp", "uid")
    )


# ------------------------------------------------------------------ grade inputs, one function for all


@dataclass
class GradeInputs:
    """What one student's term grade in one class-subject is computed from."""

    class_grade: int
    organization_id: int
    formative: list[int] = field(default_factory=list)
    unit: list[rules.Points] = field(default_factory=list)
    term: list[rules.Points] = field(default_factory=list)


def grade_inputs(
    term: Term,
    *,
    assignment_ids: list[int] | None = None,
    school_class_id: int | None = None,
    student_id: int | None = None,
) -> dict[tuple[int, int], GradeInputs]:
    """Every (student, class-subject) in scope with its formative marks and summative points.

    The one function that the journal grid, the diary's term summary, the class report and the
    closing of a term (with the `term_grades` batch) collect grade inputs with, so the four
    cannot disagree. Three queries whatever the size. A student counts in a class while enrolled
    in it during the term (one who left before the term began does not).
    """
    enrolled = Enrollment.objects.filter(
        Q(left_on__isnull=True) | Q(left_on__gt=term.starts_on), school_class__year_id=term.year_id
    )
    formative = Mark.objects.filter(lesson__term=term)
    summative = Mark.objects.filter(work__term=term)
    if assignment_ids is not None:
        enrolled = enrolled.filter(school_class__assignments__in=assignment_ids)
        formative = formative.filter(lesson__assignment_id__in=assignment_ids)
        summative = summative.filter(work__assignment_id__in=assignment_ids)
    if school_class_id is not None:
        enrolled = enrolled.filter(school_class_id=school_class_id)
        formative = formative.filter(lesson__assignment__school_class_id=school_class_id)
        summative = summative.filter(work__assignment__school_class_id=school_class_id)
    if student_id is not None:
        enrolled = enrolled.filter(student_id=student_id)
        formative = formative.filter(student_id=student_id)
        summative = summative.filter(student_id=student_id)
    inputs: dict[tuple[int, int], GradeInputs] = {}
    rows = enrolled.values_list(
        "student_id", "school_class__assignments", "school_class__grade", "school_class__organization_id"
    )
    wanted = set(assignment_ids) if assignment_ids is not None else None
    # A batch (a school, a term) streams its rows; a page's few rows come in one round trip, since
    # on PostgreSQL streaming opens a server-side cursor with round trips of its own.
    batch = school_class_id is None and student_id is None and (assignment_ids is None or len(assignment_ids) > 1)

    def each(queryset, chunk_size):
        return queryset.iterator(chunk_size=chunk_size) if batch else queryset

    for sid, assignment_id, grade, org_id in each(rows, 10000):
        if assignment_id is not None and (wanted is None or assignment_id in wanted):
            inputs[(sid, assignment_id)] = GradeInputs(grade, org_id)
    for sid, assignment_id, value in each(formative.values_list("student_id", "lesson__assignment_id", "value"), 20000):
        found = inputs.get((sid, assignment_id))
        if found is not None:
            found.formative.append(value)
    for sid, assignment_id, kind, value, maximum in each(
        summative.values_list("student_id", "work__assignment_id", "work__kind", "value", "work__max_points"), 20000
    ):
        found = inputs.get((sid, assignment_id))
        if found is not None:
            getattr(found, kind).append(rules.Points(value, maximum))
    return inputs


def term_results(
    term: Term,
    closed: bool,
    *,
    assignment_ids: list[int] | None = None,
    school_class_id: int | None = None,
    student_id: int | None = None,
    inputs: dict | None = None,
) -> dict[tuple[int, int], tuple[Decimal, int]]:
    """(percent, grade) per (student, class-subject): the stored final grades of a closed term, else
    what the marks say now under the policy in force."""
    if closed:
        stored = TermGrade.objects.filter(term=term)
        if assignment_ids is not None:
            stored = stored.filter(assignment_id__in=assignment_ids)
        if school_class_id is not None:
            stored = stored.filter(assignment__school_class_id=school_class_id)
        if student_id is not None:
            stored = stored.filter(student_id=student_id)
        return {(s, a): (p, g) for s, a, p, g in stored.values_list("student_id", "assignment_id", "percent", "grade")}
    grading = policy_rules(term)
    if grading is None:
        return {}
    if inputs is None:
        inputs = grade_inputs(
            term, assignment_ids=assignment_ids, school_class_id=school_class_id, student_id=student_id
        )
    results = {}
    for key, found in inputs.items():
        result = rules.term_result(grading, found.class_grade, found.formative, found.unit, found.term)
        if result is not None:
            results[key] = (result.percent, result.grade)
    return results


# ------------------------------------------------------------------ closing a term


def last_school_day(organization_id: int, term: Term) -> dt.date:
    """The term's last school day in the school's calendar (a holiday at its end is not one)."""
    days = registry_queries.school_days(organization_id, term.starts_on, term.ends_on)
    return days[-1] if days else term.ends_on


@dataclass
class ClosePreview:
    """What is missing before a term's grades become final, shown to the director before closing."""

    students_without_marks: list[tuple[str, str, str]]  # (class, subject, student)
    works_without_points: list[tuple[str, str, str, int]]  # (class, subject, work, students missing)
    lessons_without_topic: list[tuple[str, str, int]]  # (class, subject, lessons)
    # What the preview was computed from; closing grades from it, not from a second read.
    inputs: dict = field(default_factory=dict, repr=False, compare=False)

    def counts(self) -> dict:
        return {
            "students_without_marks": len(self.students_without_marks),
            "works_without_points": sum(n for *_rest, n in self.works_without_points),
            "lessons_without_topic": sum(n for *_rest, n in self.lessons_without_topic),
        }

    def as_data(self) -> dict:
        return {
            "students_without_marks": self.students_without_marks,
            "works_without_points": self.works_without_points,
            "lessons_without_topic": self.lessons_without_topic,
        }

    @property
    def complete(self) -> bool:
        return not (self.students_without_marks or self.works_without_points or self.lessons_without_topic)


def close_preview(organization: Organization, term: Term) -> ClosePreview:
    """Students with no mark in a subject, summative works without everyone's points, lessons held
    without a topic: a fixed number of queries for the whole school."""
    assignments = {
        a.pk: a
        for a in TeachingAssignment.objects.filter(
            school_class__organization=organization, school_class__year_id=term.year_id
        ).select_related("school_class", "subject")
    }
    inputs = grade_inputs(term, assignment_ids=list(assignments))
    names = dict(
        (p.pk, p.short_name)
        for p in Person.objects.filter(pk__in={sid for sid, _a in inputs}).only("last_name", "first_name")
    )

    def label(assignment_id):
        a = assignments[assignment_id]
        return a.school_class.name, a.subject.name

    without_marks = sorted(
        (*label(a), names.get(sid, ""))
        for (sid, a), found in inputs.items()
        if not (found.formative or found.unit or found.term)
    )
    pupils = defaultdict(set)
    for sid, a in inputs:
        pupils[a].add(sid)
    scored = defaultdict(set)
    for work_id, sid in Mark.objects.filter(work__term=term, work__assignment_id__in=list(assignments)).values_list(
        "work_id", "student_id"
    ):
        scored[work_id].add(sid)
    works = []
    for work in SummativeWork.objects.filter(term=term, assignment_id__in=list(assignments)).order_by("date", "pk"):
        missing = len(pupils[work.assignment_id] - scored[work.pk])
        if missing:
            works.append((*label(work.assignment_id), work.title, missing))
    lessons = [
        (*label(a), n)
        for a, n in Lesson.objects.filter(
            term=term, assignment_id__in=list(assignments), date__lte=clock.today(), topic=""
        )
        .values_list("assignment_id")
        .annotate(n=Count("id"))
        .order_by()
    ]
    return ClosePreview(without_marks, sorted(works), sorted(lessons), inputs)


def area_closures(actor: Actor) -> list[TermClosure] | None:
    """The terms closed in force in an officer's district or region (None for anyone else)."""
    from birtutas.registry.roles import OFFICER_ROLES

    if actor.area(OFFICER_ROLES) is None:
        return None
    return list(
        visible(TermClosure, actor)
        .in_force()
        .filter(organization__in=Organization.objects.filter(actor.area(OFFICER_ROLES)))
        .select_related("organization", "term__year")
        .order_by("-closed_at")[:500]
    )


def school_person(actor: Actor, organization: Organization, person_id: int) -> Person:
    """A person who belongs (or belonged) to a school the actor runs."""
    person = visible(Person, actor).filter(pk=person_id, memberships__organization=organization).distinct().first()
    if person is None:
        raise _not_found()
    return person


def directed_lesson(actor: Actor, lesson_id: int) -> Lesson:
    """A lesson of a school the actor runs (for the history of its cells)."""
    lesson = (
        Lesson.objects.filter(RUNS_LESSON_SCHOOL.q(actor), pk=lesson_id)
        .select_related("assignment__school_class", "assignment__subject", "term")
        .first()
    )
    if lesson is None:
        raise _not_found()
    return lesson


# ------------------------------------------------------------------ a grid row, the teacher's day, the journals


def row_result(actor: Actor, student_id: int, *, lesson_id: int | None = None, work_id: int | None = None):
    """A grid row's term percent and grade, read after one of its cells (a lesson's or a work's) was saved.

    The same `term_results` the grid page fills its rows with, narrowed to the one student.
    """
    model, pk = (Lesson, lesson_id) if lesson_id is not None else (SummativeWork, work_id)
    found = (
        visible(model, actor)
        .filter(pk=pk)
        .values_list("assignment_id", "assignment__school_class__organization_id", "term_id")
        .first()
    )
    if found is None:
        raise _not_found()
    assignment_id, organization_id, term_id = found
    term = get_term(term_id)
    closed = is_term_closed(organization_id, term.pk)
    results = term_results(term, closed, assignment_ids=[assignment_id], student_id=student_id)
    return results.get((student_id, assignment_id), (None, None))


@dataclass
class DayLesson:
    """One of a teacher's lessons of a day, with its bell time, room and what is still missing."""

    lesson: Lesson
    starts: dt.time | None
    ends: dt.time | None
    room: str
    held: bool  # on or before the school's date
    recorded: bool  # a mark or an absence is entered

    @property
    def needs_topic(self) -> bool:
        return self.held and not self.lesson.topic

    @property
    def needs_record(self) -> bool:
        return self.held and not self.recorded


@dataclass
class TeacherDay:
    day: dt.date
    today: dt.date
    lessons: list[DayLesson]
    untitled: list[Lesson]  # the term's earlier lessons held without a topic, newest first (the first UNTITLED_SHOWN)
    untitled_count: int = 0  # how many there are in all


UNTITLED_SHOWN = 30


def teacher_day(actor: Actor, day: dt.date) -> TeacherDay:
    """The lessons the actor teaches on a day, in the order they are held. Six queries whatever their number."""
    today = clock.today()
    if not actor.person_id:
        return TeacherDay(day, today, [], [])
    taught = visible(TeachingAssignment, actor).filter(teacher_id=actor.person_id)
    mine = Lesson.objects.filter(assignment__in=taught).select_related(
        "assignment__school_class", "assignment__subject"
    )
    lessons = list(
        mine.filter(date=day)
        .annotate(
            has_marks=Exists(Mark.objects.filter(lesson=OuterRef("pk"))),
            has_absences=Exists(Attendance.objects.filter(lesson=OuterRef("pk"))),
        )
        .order_by("period")
    )
    untitled = mine.filter(term__starts_on__lte=day, term__ends_on__gte=day, date__lt=day, date__lte=today, topic="")
    untitled_count = untitled.count()
    untitled = list(untitled.order_by("-date", "-period")[:UNTITLED_SHOWN])
    if not lessons:
        return TeacherDay(day, today, [], untitled, untitled_count)
    classes = {lesson.assignment.school_class for lesson in lessons}
    bells = shift_bells(actor, {(c.organization_id, c.shift) for c in classes})
    rooms = {
        (assignment_id, period): room
        for assignment_id, period, room in TimetableSlot.objects.filter(
            assignment_id__in={lesson.assignment_id for lesson in lessons}, weekday=day.isoweekday()
        ).values_list("assignment_id", "period", "room")
    }
    found = []
    for lesson in lessons:
        school_class = lesson.assignment.school_class
        bell = bells.get((school_class.organization_id, school_class.shift), {}).get(lesson.period)
        found.append(
            DayLesson(
                lesson=lesson,
                starts=bell.starts if bell else None,
                ends=bell.ends if bell else None,
                room=rooms.get((lesson.assignment_id, lesson.period), ""),
                held=day <= today,
                recorded=lesson.has_marks or lesson.has_absences,
            )
        )
    # By the bell where the school has a schedule; a second shift's first period comes after the first's.
    found.sort(key=lambda d: (d.starts is None, d.starts or dt.time(), d.lesson.assignment.school_class.shift))
    return TeacherDay(day, today, found, untitled, untitled_count)


@dataclass
class ClassJournals:
    school_class: SchoolClass
    assignments: list[TeachingAssignment]


@dataclass
class SchoolJournals:
    term: Term | None  # the term the links open: the one of the school's date in its current year
    classes: list[ClassJournals]


def school_journals(actor: Actor, organization: Organization) -> SchoolJournals:
    """Every class of the school's current year (`registry.queries.current_year`) with its subjects,
    for its administration to open any journal. Five queries whatever the size of the school."""
    today = clock.today()
    year = registry_queries.current_year(organization.pk, today)
    if year is None:
        return SchoolJournals(None, [])
    language = get_language()
    classes = sorted(
        visible(SchoolClass, actor)
        .filter(organization=organization, year__name=year.name)
        .select_related("class_teacher"),
        key=lambda c: class_key(c.grade, c.letter, language),
    )
    if not classes:
        return SchoolJournals(None, [])
    # Classes point at the default year or at the school's copy of it, and a journal opens at a term
    # of its class's own year: the links are for the classes of the year most of them point at.
    counts = Counter(c.year_id for c in classes)
    year_id = max(counts, key=lambda pk: (counts[pk], pk))
    classes = [c for c in classes if c.year_id == year_id]
    term = registry_rules.term_for(today, registry_queries.terms_of(year_id))
    subjects = defaultdict(list)
    for assignment in (
        visible(TeachingAssignment, actor)
        .filter(school_class__in=[c.pk for c in classes])
        .select_related("subject", "teacher")
    ):
        subjects[assignment.school_class_id].append(assignment)
    return SchoolJournals(
        term, [ClassJournals(c, sorted_by_name(subjects[c.pk], language, lambda a: a.subject.name)) for c in classes]
    )
