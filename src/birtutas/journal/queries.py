"""Every read the journal pages and API use, starting from what the actor may see.

Each function costs a fixed number of SQL queries whatever the class size: rows are fetched
per table for the whole page and joined in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from birtutas.kernel.errors import NotFound
from birtutas.registry.models import Organization, Person, Term
from birtutas.registry.permissions import Actor, visible

from . import rules
from .models import (
    Attendance,
    ChangeRequest,
    Enrollment,
    GradingPolicy,
    LearningObjective,
    Lesson,
    Mark,
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


def current_term(on: dt.date | None = None) -> Term | None:
    on = on or dt.date.today()
    term = Term.objects.select_related("year").filter(starts_on__lte=on, ends_on__gte=on).first()
    if term is None:
        term = (
            Term.objects.select_related("year").filter(starts_on__lte=on).order_by("-starts_on").first()
            or Term.objects.select_related("year").order_by("starts_on").first()
        )
    return term


def get_term(term_id) -> Term:
    try:
        term_id = int(term_id)
    except (TypeError, ValueError):
        raise _not_found() from None
    term = Term.objects.select_related("year").filter(pk=term_id).first()
    if term is None:
        raise _not_found()
    return term


def requested_term(term_id) -> Term | None:
    """The term a page was asked for (?term=), or the current one; a bad id is "not found"."""
    return get_term(term_id) if term_id else current_term()


def year_terms(term: Term) -> list[Term]:
    return list(Term.objects.filter(year_id=term.year_id).order_by("number"))


def policy_in_force(term: Term) -> GradingPolicy | None:
    """The newest version of the grading policy in effect when the term began."""
    return (
        GradingPolicy.objects.filter(effective_from__lte=term.starts_on).order_by("-effective_from", "-version").first()
    )


def policy_rules(term: Term) -> rules.GradingRules | None:
    policy = policy_in_force(term)
    return policy.as_rules() if policy else None


# ------------------------------------------------------------------ teacher


def teacher_assignments(actor: Actor):
    """The class-subjects the actor teaches or whose class they lead, current year first."""
    return (
        visible(TeachingAssignment, actor)
        .filter(Q(teacher_id=actor.person_id) | Q(school_class__class_teacher_id=actor.person_id))
        .select_related("school_class", "subject", "school_class__year")
        .order_by("-school_class__year__starts_on", "school_class__grade", "school_class__letter", "subject__name_kk")
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
    can_edit: bool


def journal_grid(actor: Actor, assignment_id: int, term_id: int) -> JournalGrid:
    assignment = (
        visible(TeachingAssignment, actor)
        .select_related("school_class__organization", "subject", "teacher")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise _not_found()
    term = get_term(term_id)
    closed = TermClosure.objects.in_force().filter(organization_id=assignment.school_class.organization_id, term=term).exists()
    students = list(
        Person.objects.filter(enrollments__school_class_id=assignment.school_class_id).order_by(
            "last_name", "first_name"
        )
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
    _fill_results(assignment, term, closed, rows, works)
    return JournalGrid(
        assignment=assignment,
        term=term,
        terms=year_terms(term),
        lessons=lessons,
        works=works,
        rows=list(rows.values()),
        closed=closed,
        can_edit=assignment.teacher_id == actor.person_id and not closed,
    )


def _fill_results(assignment, term, closed, rows: dict[int, GridRow], works) -> None:
    if closed:
        for g in TermGrade.objects.filter(assignment=assignment, term=term):
            if g.student_id in rows:
                rows[g.student_id].percent, rows[g.student_id].grade = g.percent, g.grade
        return
    grading = policy_rules(term)
    if grading is None:
        return
    works_by_id = {w.pk: w for w in works}
    for row in rows.values():
        formative = [v for v, _s in row.cells.values() if v is not None]
        unit = [
            rules.Points(v, works_by_id[w].max_points) for w, v in row.points.items() if works_by_id[w].kind == "unit"
        ]
        term_points = [
            rules.Points(v, works_by_id[w].max_points) for w, v in row.points.items() if works_by_id[w].kind == "term"
        ]
        result = rules.term_result(grading, assignment.school_class.grade, formative, unit, term_points)
        if result:
            row.percent, row.grade = result.percent, result.grade


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


# ------------------------------------------------------------------ student and guardian


def diary_students(actor: Actor) -> list[Person]:
    """The students whose diary the actor may open: themself, or their children."""
    ids = list(actor.ward_ids)
    if actor.person_id and actor.has_role("student"):
        ids.append(actor.person_id)
    return list(Person.objects.filter(pk__in=ids).order_by("birth_date"))


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
    mark: int | None = None
    attendance: str | None = None
    works: list[tuple[SummativeWork, int]] = field(default_factory=list)

    @property
    def attendance_label(self) -> str:
        return Attendance.Status(self.attendance).label if self.attendance else ""


@dataclass
class DiaryDay:
    date: dt.date
    entries: list[DiaryEntry]


def diary_week(actor: Actor, student_id: int, week_start: dt.date) -> tuple[Person, SchoolClass | None, list[DiaryDay]]:
    student = visible_student(actor, student_id)
    monday = week_start - dt.timedelta(days=week_start.weekday())
    saturday = monday + dt.timedelta(days=5)
    school_class = current_class(actor, student_id, saturday)
    days = [DiaryDay(date=monday + dt.timedelta(days=i), entries=[]) for i in range(6)]
    if school_class is None:
        return student, None, days
    lessons = list(
        Lesson.objects.filter(assignment__school_class=school_class, date__range=(monday, saturday))
        .select_related("assignment__subject")
        .order_by("date", "period")
    )
    entries = {}
    for lesson in lessons:
        entry = DiaryEntry(lesson=lesson, subject=lesson.assignment.subject.name)
        entries[lesson.pk] = entry
        days[lesson.date.weekday()].entries.append(entry)
    for lesson_id, value in Mark.objects.filter(student_id=student_id, lesson_id__in=entries).values_list(
        "lesson_id", "value"
    ):
        entries[lesson_id].mark = value
    for lesson_id, status in Attendance.objects.filter(student_id=student_id, lesson_id__in=entries).values_list(
        "lesson_id", "status"
    ):
        entries[lesson_id].attendance = status
    by_slot = {(e.lesson.assignment_id, e.lesson.date): e for e in entries.values()}
    for mark in Mark.objects.filter(
        student_id=student_id, work__assignment__school_class=school_class, work__date__range=(monday, saturday)
    ).select_related("work"):
        entry = by_slot.get((mark.work.assignment_id, mark.work.date))
        if entry is not None:
            entry.works.append((mark.work, mark.value))
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
    if school_class is None:
        return student, None, [], False
    closed = TermClosure.objects.in_force().filter(organization_id=school_class.organization_id, term=term).exists()
    assignments = list(
        TeachingAssignment.objects.filter(school_class=school_class)
        .select_related("subject")
        .order_by("subject__name_kk")
    )
    data = {a.pk: SubjectSummary(a.subject.name, [], [], [], 0, 0, None, None) for a in assignments}
    for assignment_id, grade in YearGrade.objects.filter(student_id=student_id, assignment__in=assignments).values_list(
        "assignment_id", "grade"
    ):
        data[assignment_id].year_grade = grade
    for assignment_id, value in Mark.objects.filter(
        student_id=student_id, lesson__term=term, lesson__assignment__school_class=school_class
    ).values_list("lesson__assignment_id", "value"):
        data[assignment_id].formative.append(value)
    for assignment_id, kind, value, maximum in Mark.objects.filter(
        student_id=student_id, work__term=term, work__assignment__school_class=school_class
    ).values_list("work__assignment_id", "work__kind", "value", "work__max_points"):
        getattr(data[assignment_id], kind).append(rules.Points(value, maximum))
    for assignment_id, status in Attendance.objects.filter(
        student_id=student_id, lesson__term=term, lesson__assignment__school_class=school_class
    ).values_list("lesson__assignment_id", "status"):
        if status == rules.LATE:
            data[assignment_id].late += 1
        else:
            data[assignment_id].absences += 1
    if closed:
        for g in TermGrade.objects.filter(student_id=student_id, term=term, assignment__in=assignments):
            data[g.assignment_id].percent, data[g.assignment_id].grade = g.percent, g.grade
    else:
        grading = policy_rules(term)
        for summary in data.values():
            result = grading and rules.term_result(
                grading, school_class.grade, summary.formative, summary.unit, summary.term
            )
            if result:
                summary.percent, summary.grade = result.percent, result.grade
    return student, school_class, list(data.values()), closed


# ------------------------------------------------------------------ director


def directed_organizations(actor: Actor) -> list[Organization]:
    return list(Organization.objects.filter(pk__in=actor.organization_ids(("director", "deputy"))))


def directed_organization(actor: Actor, organization_id: int) -> Organization:
    if organization_id not in actor.organization_ids(("director", "deputy")):
        raise _not_found()
    return Organization.objects.get(pk=organization_id)


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
        SchoolClass.objects.select_related("organization", "year")
        .filter(pk=class_id, organization_id__in=actor.organization_ids(("director", "deputy")))
        .first()
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
    assignments = list(class_assignments(school_class).order_by("subject__name_kk"))
    students = list(Person.objects.filter(enrollments__school_class=school_class).order_by("last_name", "first_name"))
    rows = {s.pk: ReportRow(s, {}, 0, 0, 0, 0) for s in students}
    closed = TermClosure.objects.in_force().filter(organization_id=school_class.organization_id, term=term).exists()
    grading = policy_rules(term)
    inputs: dict = defaultdict(lambda: {"formative": [], "unit": [], "term": []})
    for student_id, assignment_id, value in Mark.objects.filter(
        lesson__term=term, lesson__assignment__school_class=school_class
    ).values_list("student_id", "lesson__assignment_id", "value"):
        inputs[(student_id, assignment_id)]["formative"].append(value)
        if student_id in rows:
            rows[student_id].marks += 1
    for student_id, assignment_id, kind, value, maximum in Mark.objects.filter(
        work__term=term, work__assignment__school_class=school_class
    ).values_list("student_id", "work__assignment_id", "work__kind", "value", "work__max_points"):
        inputs[(student_id, assignment_id)][kind].append(rules.Points(value, maximum))
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
    stored = {}
    if closed:
        stored = {
            (g.student_id, g.assignment_id): (g.percent, g.grade)
            for g in TermGrade.objects.filter(term=term, assignment__in=assignments)
        }
    for row in rows.values():
        for a in assignments:
            if closed:
                row.grades[a.pk] = stored.get((row.student.pk, a.pk), (None, None))
                continue
            data = inputs.get((row.student.pk, a.pk))
            result = (
                data
                and grading
                and rules.term_result(grading, school_class.grade, data["formative"], data["unit"], data["term"])
            )
            row.grades[a.pk] = (result.percent, result.grade) if result else (None, None)
    return assignments, list(rows.values())


def pending_change_requests(actor: Actor, organization: Organization):
    return (
        visible(ChangeRequest, actor)
        .filter(organization=organization, state=ChangeRequest.State.PENDING)
        .select_related("student", "lesson__assignment__subject", "work__assignment__subject", "requested_by__person")
    )


def closures(organization: Organization) -> dict[int, TermClosure]:
    return {c.term_id: c for c in TermClosure.objects.in_force().filter(organization=organization)}
