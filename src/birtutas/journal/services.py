"""Every write to the journal: one function per use case, transactional, audited.

Nothing else writes marks, attendance or grades, so the audit log is complete by construction.
Setting a cell is idempotent ("make the cell hold X"), so a second click or a retried request
never doubles a record.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from birtutas.kernel import notify
from birtutas.kernel.audit import record, record_many
from birtutas.kernel.bulk import insert_rows
from birtutas.kernel.context import Acting
from birtutas.kernel.errors import Conflict, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.registry.models import Organization, Person, Term, User
from birtutas.registry.permissions import Actor, visible

from . import queries, rules
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

# ------------------------------------------------------------------ access helpers for writes


def _user_actor(user: User) -> Actor:
    return Actor.for_user(user)


def teachable_assignment(user: User, assignment_id: int) -> TeachingAssignment:
    """The class-subject, if the user teaches it; a 404 otherwise (also for other schools)."""
    actor = _user_actor(user)
    assignment = (
        visible(TeachingAssignment, actor)
        .select_related("school_class__organization", "subject")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise NotFound(gettext_lazy("Not found."))
    if assignment.teacher_id != actor.person_id:
        raise ServiceError(gettext_lazy("Only the teacher of this subject in this class can change it."), status=403)
    return assignment


def directed_organization(user: User, organization_id: int) -> Organization:
    return queries.directed_organization(_user_actor(user), organization_id)


def is_term_closed(organization_id: int, term_id: int) -> bool:
    return TermClosure.objects.in_force().filter(organization_id=organization_id, term_id=term_id).exists()


def _refuse_if_closed(organization_id: int, term_id: int) -> None:
    if is_term_closed(organization_id, term_id):
        raise Conflict(
            gettext_lazy(
                "This term is closed, so its marks are locked. To correct one, send a change request "
                "with the reason; the director approves it."
            )
        )


def _enrolled(school_class_id: int, student_id: int) -> None:
    if not Enrollment.objects.filter(school_class_id=school_class_id, student_id=student_id).exists():
        raise NotFound(gettext_lazy("Not found."))


def _lock_open_term(organization_id: int, term_id: int) -> None:
    """Inside a write's transaction: hold the school's row so closing the term waits, then check again.

    `close_term` takes the same lock, so a mark is either in before the grades are computed or
    refused after: never written into a term whose final grades were computed without it.
    """
    list(Organization.objects.select_for_update().filter(pk=organization_id).values_list("pk"))
    _refuse_if_closed(organization_id, term_id)


def _cell_key(student_id: int, lesson_id: int) -> str:
    return f"{student_id}:{lesson_id}"


# ------------------------------------------------------------------ marks and attendance

UNCHANGED = object()


def set_cell(user: User, lesson_id: int, student_id: int, text: str, *, reason: str = "") -> rules.CellEntry:
    """Make one journal cell hold what the teacher typed: a formative mark, an attendance status, or both."""
    entry = rules.parse_cell(text)
    return update_cell(user, lesson_id, student_id, mark=entry.mark, attendance=entry.attendance, reason=reason)


def update_cell(
    user: User, lesson_id: int, student_id: int, *, mark=UNCHANGED, attendance=UNCHANGED, reason: str = ""
) -> rules.CellEntry:
    """Set the mark, the attendance status, or both, of one student at one lesson; the other is kept."""
    lesson = Lesson.objects.filter(pk=lesson_id).first()
    if lesson is None:
        raise NotFound(gettext_lazy("Not found."))
    assignment = teachable_assignment(user, lesson.assignment_id)
    _enrolled(assignment.school_class_id, student_id)
    if mark is UNCHANGED or attendance is UNCHANGED:
        current_mark = Mark.objects.filter(student_id=student_id, lesson=lesson).values_list("value", flat=True).first()
        current_status = (
            Attendance.objects.filter(student_id=student_id, lesson=lesson).values_list("status", flat=True).first()
        )
        mark = current_mark if mark is UNCHANGED else mark
        attendance = current_status if attendance is UNCHANGED else attendance
    if mark is not None:
        rules.check_formative(mark)
        if attendance in rules.ABSENCES:
            raise rules.RuleError(gettext_lazy("An absent student cannot get a mark for the lesson."))
    if attendance is not None and attendance not in Attendance.Status.values:
        raise ServiceError(gettext_lazy("Unknown attendance status."))
    entry = rules.CellEntry(mark=mark, attendance=attendance)
    return _apply_cell(user, lesson, assignment, student_id, entry, reason)


@transaction.atomic
def _apply_cell(
    user: User,
    lesson: Lesson,
    assignment: TeachingAssignment,
    student_id: int,
    entry: rules.CellEntry,
    reason: str,
    *,
    approved: bool = False,
) -> rules.CellEntry:
    if not approved:  # an approved change is the one write a closed term takes
        _lock_open_term(assignment.school_class.organization_id, lesson.term_id)
    audit = {
        "user": user,
        "organization_id": assignment.school_class.organization_id,
        "reason": reason,
        "key": _cell_key(student_id, lesson.pk),
    }
    messages = []
    if _write(Mark, "value", entry.mark, "mark", audit, student_id=student_id, lesson=lesson):
        messages.append(("mark", entry.mark))
    if _write(Attendance, "status", entry.attendance, "attendance", audit, student_id=student_id, lesson=lesson):
        messages.append(("attendance", entry.attendance))
    if messages:
        _notify_guardians(student_id, lesson, assignment, messages)
    return entry


def _write(model, field: str, value, subject: str, audit: dict, **lookup) -> bool:
    """Make the row identified by `lookup` hold `value` (None deletes it) and audit the change.

    Returns True when a new value was set, the case in which the family is told. Runs inside the
    caller's transaction, with the row locked, so concurrent writers queue instead of racing.
    """
    row = model.objects.select_for_update().filter(**lookup).first()
    before = getattr(row, field) if row else None
    if before == value:
        return False
    if value is None:
        row.delete()
    elif row is None:
        _create_once(model, defaults={field: value}, **lookup)
    else:
        setattr(row, field, value)
        row.save(update_fields=[field, "updated_at"])
    event = Event(f"{subject}.{'clear' if value is None else 'set'}")
    _audit(
        audit["user"],
        audit["organization_id"],
        event,
        audit["key"],
        before,
        value,
        audit["reason"],
        lookup["student_id"],
    )
    return value is not None


def _create_once(model, *, defaults: dict, **lookup):
    """Insert, or update the row a concurrent request inserted a moment ago: never two rows."""
    try:
        with transaction.atomic():
            return model.objects.create(**lookup, **defaults)
    except IntegrityError:
        model.objects.filter(**lookup).update(**defaults)
        return model.objects.get(**lookup)


def set_points(user: User, work_id: int, student_id: int, points: int | None, *, reason: str = "") -> None:
    """Set (or clear, with None) the points a student scored on a summative work."""
    work = SummativeWork.objects.filter(pk=work_id).first()
    if work is None:
        raise NotFound(gettext_lazy("Not found."))
    assignment = teachable_assignment(user, work.assignment_id)
    _enrolled(assignment.school_class_id, student_id)
    if points is not None:
        rules.check_points(points, work.max_points)
    _apply_points(user, work, assignment, student_id, points, reason)


@transaction.atomic
def _apply_points(
    user, work: SummativeWork, assignment, student_id: int, points: int | None, reason: str, *, approved: bool = False
) -> None:
    if not approved:
        _lock_open_term(assignment.school_class.organization_id, work.term_id)
    audit = {
        "user": user,
        "organization_id": assignment.school_class.organization_id,
        "reason": reason,
        "key": f"{student_id}:w{work.pk}",
    }
    if _write(Mark, "value", points, "points", audit, student_id=student_id, work=work):
        _notify_guardians(student_id, work, assignment, [("points", (points, work.max_points))])


def _notify_guardians(student_id: int, occasion, assignment: TeachingAssignment, events) -> None:
    guardian_user_ids = list(
        User.objects.filter(person__wards__student_id=student_id, is_active=True).values_list("pk", flat=True)
    )
    student = Person.objects.only("first_name").get(pk=student_id)
    subject = assignment.subject
    day = occasion.date
    statuses = dict(Attendance.Status.choices)

    def renderer(kind: str, value):
        def render() -> str:
            params = {"name": student.first_name, "subject": subject.name, "date": date_format(day, "j E")}
            if kind == "mark":
                return _("%(name)s got %(mark)s in %(subject)s on %(date)s.") % {**params, "mark": value}
            if kind == "points":
                return _("%(name)s scored %(points)s of %(max)s in %(subject)s on %(date)s.") % {
                    **params,
                    "points": value[0],
                    "max": value[1],
                }
            return _("%(name)s — %(status)s — %(subject)s, %(date)s.") % {**params, "status": statuses[value]}

        return render

    notify.send(
        [
            notify.Message(user_id=uid, kind=kind, render=renderer(kind, value), link=f"/diary/{student_id}/")
            for uid in guardian_user_ids
            for kind, value in events
        ]
    )


# ------------------------------------------------------------------ lessons and summatives


@transaction.atomic
def update_lesson(
    user: User,
    lesson_id: int,
    *,
    topic: str,
    homework: str,
    homework_due: dt.date | None,
    objective_ids: Iterable[int] = (),
) -> Lesson:
    lesson = Lesson.objects.filter(pk=lesson_id).first()
    if lesson is None:
        raise NotFound(gettext_lazy("Not found."))
    assignment = teachable_assignment(user, lesson.assignment_id)
    _refuse_if_closed(assignment.school_class.organization_id, lesson.term_id)
    if homework_due is not None and homework_due < lesson.date:
        raise ServiceError(gettext_lazy("The homework cannot be due before the lesson."))
    objectives = list(
        LearningObjective.objects.filter(
            pk__in=list(objective_ids), subject_id=assignment.subject_id, grade=assignment.school_class.grade
        )
    )
    before = _lesson_state(lesson)
    lesson.topic = topic.strip()[:300]
    lesson.homework = homework.strip()
    lesson.homework_due = homework_due if lesson.homework else None
    lesson.save(update_fields=["topic", "homework", "homework_due"])
    lesson.objectives.set(objectives)
    after = _lesson_state(lesson)
    if after != before:
        _audit(user, assignment.school_class.organization_id, Event.LESSON_UPDATE, str(lesson.pk), before, after)
    return lesson


def _lesson_state(lesson: Lesson) -> dict:
    return {
        "topic": lesson.topic,
        "homework": lesson.homework,
        "homework_due": lesson.homework_due.isoformat() if lesson.homework_due else None,
        "objectives": sorted(lesson.objectives.values_list("code", flat=True)),
    }


def _audit(user: User, organization_id: int, event: Event, key: str, before, after, reason="", person_id=None):
    record(
        Acting.of(user),
        event,
        key,
        before=before,
        after=after,
        organization_id=organization_id,
        person_id=person_id,
        reason=reason,
    )


@transaction.atomic
def create_summative(
    user: User, assignment_id: int, term_id: int, *, kind: str, title: str, max_points: int, date: dt.date
) -> SummativeWork:
    assignment = teachable_assignment(user, assignment_id)
    term = Term.objects.filter(pk=term_id).first()
    if term is None:
        raise NotFound(gettext_lazy("Not found."))
    _refuse_if_closed(assignment.school_class.organization_id, term.pk)
    if kind not in SummativeWork.Kind.values:
        raise ServiceError(gettext_lazy("Choose a unit or a term summative."))
    if not 1 <= max_points <= 100:
        raise ServiceError(gettext_lazy("The maximum must be from 1 to 100 points."))
    if not term.starts_on <= date <= term.ends_on:
        raise ServiceError(gettext_lazy("The date must fall within the term."))
    if (
        kind == SummativeWork.Kind.TERM
        and assignment.summatives.filter(term=term, kind=kind).exclude(title=title.strip(), date=date).exists()
    ):
        raise Conflict(gettext_lazy("This term already has a term summative."))
    title = title.strip()[:200] or str(SummativeWork.Kind(kind).label)
    # The same work submitted twice (a double click, a retry) is one work.
    work, _created = SummativeWork.objects.get_or_create(
        assignment=assignment, term=term, kind=kind, title=title, date=date, defaults={"max_points": max_points}
    )
    return work


def generate_lessons(
    school_class: SchoolClass, term: Term, *, holidays: Iterable[dt.date] = (), starting: dt.date | None = None
) -> int:
    """Create the term's lessons from the weekly timetable; running it again adds only what is missing.

    `starting` keeps a timetable changed mid-term from inventing lessons on days already past.
    """
    holidays = set(holidays)
    slots = list(TimetableSlot.objects.filter(school_class=school_class))
    by_weekday = defaultdict(list)
    for slot in slots:
        by_weekday[slot.weekday].append(slot)
    wanted = []
    day = max(term.starts_on, starting or term.starts_on)
    while day <= term.ends_on:
        if day not in holidays:
            for slot in by_weekday.get(day.isoweekday(), ()):
                wanted.append(Lesson(assignment_id=slot.assignment_id, term=term, date=day, period=slot.period))
        day += dt.timedelta(days=1)
    before = Lesson.objects.filter(assignment__school_class=school_class, term=term).count()
    Lesson.objects.bulk_create(wanted, ignore_conflicts=True, batch_size=2000)
    return Lesson.objects.filter(assignment__school_class=school_class, term=term).count() - before


def schedule_term(user: User, school_class_id: int, term_id: int, *, today: dt.date | None = None) -> int:
    """The director fills the rest of a term with lessons from the class's current timetable."""
    school_class = _directed_class(user, school_class_id)
    term = Term.objects.filter(pk=term_id, year_id=school_class.year_id).first()
    if term is None:
        raise NotFound(gettext_lazy("Not found."))
    _refuse_if_closed(school_class.organization_id, term.pk)
    return generate_lessons(school_class, term, starting=today or dt.date.today())


# ------------------------------------------------------------------ timetable and teaching load


@transaction.atomic
def set_teaching_assignment(
    user: User, school_class_id: int, subject_id: int, teacher_id: int | None, hours_per_week: int
) -> TeachingAssignment | None:
    school_class = _directed_class(user, school_class_id)
    if not 0 <= hours_per_week <= 12:
        raise ServiceError(gettext_lazy("Hours per week must be from 0 to 12."))
    existing = TeachingAssignment.objects.filter(school_class=school_class, subject_id=subject_id).first()
    if teacher_id is None or hours_per_week == 0:
        if existing is not None:
            before = {"teacher": existing.teacher_id, "hours": existing.hours_per_week}
            try:
                with transaction.atomic():
                    existing.delete()
            except ProtectedError:
                raise Conflict(
                    gettext_lazy("This subject already has marks in this class, so it cannot be removed.")
                ) from None
            _audit(
                user, school_class.organization_id, Event.LOAD_CLEAR, f"{school_class.pk}:{subject_id}", before, None
            )
        return None
    if not school_class.organization.memberships.filter(person_id=teacher_id, role="teacher").exists():
        raise ServiceError(gettext_lazy("This person is not a teacher of this school."))
    before = {"teacher": existing.teacher_id, "hours": existing.hours_per_week} if existing else None
    after = {"teacher": teacher_id, "hours": hours_per_week}
    if before == after:
        return existing
    if existing is None:
        existing = TeachingAssignment.objects.create(
            school_class=school_class, subject_id=subject_id, teacher_id=teacher_id, hours_per_week=hours_per_week
        )
    else:
        existing.teacher_id = teacher_id
        existing.hours_per_week = hours_per_week
        existing.save(update_fields=["teacher", "hours_per_week"])
    # Who teaches a subject decides who may write its marks: every change is on record.
    _audit(user, school_class.organization_id, Event.LOAD_SET, f"{school_class.pk}:{subject_id}", before, after)
    return existing


@transaction.atomic
def set_timetable_slot(
    user: User, school_class_id: int, weekday: int, period: int, assignment_id: int | None, room: str = ""
) -> TimetableSlot | None:
    school_class = _directed_class(user, school_class_id)
    if not (1 <= weekday <= 6 and 1 <= period <= 10):
        raise ServiceError(gettext_lazy("A lesson must be on a weekday 1–6 and in a period 1–10."))
    TimetableSlot.objects.filter(school_class=school_class, weekday=weekday, period=period).delete()
    if assignment_id is None:
        return None
    assignment = TeachingAssignment.objects.filter(pk=assignment_id, school_class=school_class).first()
    if assignment is None:
        raise NotFound(gettext_lazy("Not found."))
    clash = (
        TimetableSlot.objects.filter(assignment__teacher_id=assignment.teacher_id, weekday=weekday, period=period)
        .exclude(school_class=school_class)
        .select_related("school_class")
        .first()
    )
    if clash is not None:
        raise Conflict(
            gettext_lazy("The teacher already has a lesson in class %(class)s at that time.")
            % {"class": clash.school_class.name}
        )
    return TimetableSlot.objects.create(
        school_class=school_class, assignment=assignment, weekday=weekday, period=period, room=room.strip()[:20]
    )


def _directed_class(user: User, school_class_id: int) -> SchoolClass:
    return queries.directed_class(_user_actor(user), school_class_id)


# ------------------------------------------------------------------ grades and term closing


def policy_for(term: Term) -> GradingPolicy:
    found = queries.policy_in_force(term)
    if found is None:
        raise ServiceError(gettext_lazy("No grading policy applies to this term."))
    return found


def compute_term_grades(
    term: Term, assignments, *, actor_id: int | None = None, policy: GradingPolicy | None = None
) -> int:
    """Compute and store term grades for the given class-subjects; returns how many rows changed.

    Three aggregate reads for the whole batch, the maths in `rules`, bulk writes (COPY on
    PostgreSQL) of the new grades and their audit events; unchanged grades cost nothing.
    `policy` defaults to the one in force for the term.
    """
    policy = policy or policy_for(term)
    grading = policy.as_rules()
    assignment_ids = list(assignments.values_list("pk", flat=True))
    inputs = collect_grade_inputs(term, assignment_ids)
    existing = {
        (student_id, assignment_id): (pk, percent, grade, policy_id)
        for pk, student_id, assignment_id, percent, grade, policy_id in TermGrade.objects.filter(
            term=term, assignment_id__in=assignment_ids
        ).values_list("pk", "student_id", "assignment_id", "percent", "grade", "policy_id")
    }
    now = timezone.now()
    via = Acting.of(None).via
    new_rows, changed, events = [], [], []
    for (student_id, assignment_id), data in inputs.items():
        result = rules.term_result(grading, data["class_grade"], data["formative"], data["unit"], data["term"])
        if result is None:
            continue
        current = existing.get((student_id, assignment_id))
        if current is None:
            new_rows.append((student_id, assignment_id, term.pk, result.percent, result.grade, policy.pk))
            before = None
        elif current[1:] != (result.percent, result.grade, policy.pk):
            changed.append(
                TermGrade(pk=current[0], percent=result.percent, grade=result.grade, policy=policy, computed_at=now)
            )
            before = {"percent": str(current[1]), "grade": current[2]}
        else:
            continue
        after = {"percent": str(result.percent), "grade": result.grade, "policy": policy.pk}
        key = f"{student_id}:{assignment_id}:{term.pk}"
        events.append(
            (actor_id, via, data["organization_id"], student_id, Event.TERM_GRADE_COMPUTE, key, before, after, "")
        )
    with transaction.atomic():
        insert_rows(TermGrade, ("student_id", "assignment_id", "term_id", "percent", "grade", "policy_id"), new_rows)
        TermGrade.objects.bulk_update(changed, ["percent", "grade", "policy", "computed_at"], batch_size=5000)
        record_many(events)
    return len(events)


def collect_grade_inputs(term: Term, assignment_ids: list[int]) -> dict:
    """Every (student, class-subject) of the batch with its formative marks and summative points."""
    inputs: dict = {}
    enrolled = Enrollment.objects.filter(school_class__assignments__in=assignment_ids).values_list(
        "student_id", "school_class__assignments", "school_class__grade", "school_class__organization_id"
    )
    for student_id, assignment_id, grade, org_id in enrolled.iterator(chunk_size=10000):
        inputs[(student_id, assignment_id)] = {
            "class_grade": grade,
            "organization_id": org_id,
            "formative": [],
            "unit": [],
            "term": [],
        }
    formative = Mark.objects.filter(lesson__term=term, lesson__assignment_id__in=assignment_ids).values_list(
        "student_id", "lesson__assignment_id", "value"
    )
    for student_id, assignment_id, value in formative.iterator(chunk_size=20000):
        row = inputs.get((student_id, assignment_id))
        if row is not None:
            row["formative"].append(value)
    summative = Mark.objects.filter(work__term=term, work__assignment_id__in=assignment_ids).values_list(
        "student_id", "work__assignment_id", "work__kind", "value", "work__max_points"
    )
    for student_id, assignment_id, kind, value, maximum in summative.iterator(chunk_size=20000):
        row = inputs.get((student_id, assignment_id))
        if row is not None:
            row[kind].append(rules.Points(value, maximum))
    return inputs


def close_term(user: User, organization_id: int, term_id: int) -> TermClosure:
    """Compute the final term grades of a school with the policy in force, then lock the term."""
    organization = directed_organization(user, organization_id)
    term = Term.objects.filter(pk=term_id).first()
    if term is None:
        raise NotFound(gettext_lazy("Not found."))
    with transaction.atomic():
        list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk"))
        if TermClosure.objects.in_force().filter(organization=organization, term=term).exists():
            raise Conflict(gettext_lazy("This term is already closed."))
        assignments = TeachingAssignment.objects.filter(
            school_class__organization=organization, school_class__year=term.year
        )
        compute_term_grades(term, assignments, actor_id=user.pk)
        closure = TermClosure.objects.create(organization=organization, term=term, closed_by=user)
        _audit(user, organization.pk, Event.TERM_CLOSE, f"{organization.pk}:{term.pk}", None, {"term": term.pk})
        if term.number == 4:
            compute_year_grades(organization, term)
    return closure


def compute_year_grades(organization: Organization, last_term: Term) -> int:
    grades = defaultdict(list)
    for student_id, assignment_id, grade in TermGrade.objects.filter(
        term__year=last_term.year, assignment__school_class__organization=organization
    ).values_list("student_id", "assignment_id", "grade"):
        grades[(student_id, assignment_id)].append(grade)
    rows = [YearGrade(student_id=s, assignment_id=a, grade=rules.year_grade(g)) for (s, a), g in grades.items() if g]
    YearGrade.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["student", "assignment"], update_fields=["grade", "computed_at"]
    )
    return len(rows)


# ------------------------------------------------------------------ changes after closing


def request_change(
    user: User, *, student_id: int, lesson_id: int | None, work_id: int | None, new_value: str, reason: str
):
    """A teacher asks to change a cell of a closed term; nothing changes until the director approves."""
    if not reason.strip():
        raise ServiceError(gettext_lazy("Give the reason for the change."))
    if lesson_id:
        lesson = Lesson.objects.filter(pk=lesson_id).first()
        if lesson is None:
            raise NotFound(gettext_lazy("Not found."))
        assignment, term_id = teachable_assignment(user, lesson.assignment_id), lesson.term_id
        rules.parse_cell(new_value)
    else:
        work = SummativeWork.objects.filter(pk=work_id).first()
        if work is None:
            raise NotFound(gettext_lazy("Not found."))
        assignment, term_id = teachable_assignment(user, work.assignment_id), work.term_id
        if new_value.strip():
            rules.check_points(_int(new_value), work.max_points)
    _enrolled(assignment.school_class_id, student_id)
    org_id = assignment.school_class.organization_id
    if not is_term_closed(org_id, term_id):
        raise ServiceError(gettext_lazy("The term is open: change the cell directly."))
    request, _created = ChangeRequest.objects.get_or_create(
        student_id=student_id,
        lesson_id=lesson_id,
        work_id=work_id,
        new_value=new_value.strip(),
        organization_id=org_id,
        requested_by=user,
        state=ChangeRequest.State.PENDING,
        defaults={"reason": reason.strip()},
    )
    return request


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ServiceError(gettext_lazy("Points must be a whole number.")) from None


def decide_change(user: User, request_id: int, *, approve: bool) -> ChangeRequest:
    """The director approves (the change is applied, audited with the teacher's reason) or rejects."""
    actor = _user_actor(user)
    with transaction.atomic():
        change = (
            visible(ChangeRequest, actor)
            .select_for_update()
            .filter(pk=request_id, organization_id__in=actor.organization_ids(("director", "deputy")))
            .first()
        )
        if change is None:
            raise NotFound(gettext_lazy("Not found."))
        if change.state != ChangeRequest.State.PENDING:
            raise Conflict(gettext_lazy("This request has already been decided."))
        if change.requested_by_id == user.pk:
            raise ServiceError(gettext_lazy("A change you asked for must be decided by another director."), status=403)
        reason = _("Approved change after term closing: %(reason)s") % {"reason": change.reason}
        if approve:
            if change.lesson_id:
                lesson = Lesson.objects.select_related("term", "assignment__school_class", "assignment__subject").get(
                    pk=change.lesson_id
                )
                entry = rules.parse_cell(change.new_value)
                _apply_cell(user, lesson, lesson.assignment, change.student_id, entry, reason, approved=True)
                term, assignment = lesson.term, lesson.assignment
            else:
                work = SummativeWork.objects.select_related(
                    "term", "assignment__school_class", "assignment__subject"
                ).get(pk=change.work_id)
                points = _int(change.new_value) if change.new_value else None
                _apply_points(user, work, work.assignment, change.student_id, points, reason, approved=True)
                term, assignment = work.term, work.assignment
            # A closed term keeps the policy its grades were computed with.
            stored = TermGrade.objects.filter(term=term, assignment=assignment).select_related("policy").first()
            compute_term_grades(
                term,
                TeachingAssignment.objects.filter(pk=assignment.pk),
                actor_id=user.pk,
                policy=stored.policy if stored else None,
            )
            if term.number == 4:
                compute_year_grades(change.organization, term)
        change.state = ChangeRequest.State.APPROVED if approve else ChangeRequest.State.REJECTED
        change.decided_by = user
        change.decided_at = timezone.now()
        change.save(update_fields=["state", "decided_by", "decided_at"])
        _audit(
            user,
            change.organization_id,
            Event.CHANGE_DECIDE,
            str(change.pk),
            "pending",
            change.state,
            change.reason,
        )
    return change
