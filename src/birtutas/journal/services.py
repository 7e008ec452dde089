"""Every write to the journal: one function per use case, transactional, permission-checked, audited.

Each public function is a `@service`: it asks the model's write permission (`require`), locks
what it changes, returns early when nothing changes, writes, and records the audit event in the
same transaction; notifications go out after commit. Nothing else writes journal records, so the
audit log is complete by construction (the suite fails a write made outside a service). Setting
a cell is idempotent ("make the cell hold X"), so a second click or a retried request never
doubles a record.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from birtutas.kernel import clock, hlc, notify
from birtutas.kernel.audit import record, record_many
from birtutas.kernel.bulk import insert_rows
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import Conflict, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.registry import queries as registry_queries
from birtutas.registry.models import Organization, Person, Term, User
from birtutas.registry.permissions import Action, Actor, require, visible
from birtutas.registry.roles import Role

from . import entries, queries, rules
from .models import (
    Attendance,
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

NOT_FOUND = gettext_lazy("Not found.")
ONLY_THE_TEACHER = gettext_lazy("Only the teacher of this subject in this class can change it.")

# ------------------------------------------------------------------ access helpers for writes


def _actor(user: User) -> Actor:
    return Actor.for_user(user)


def teachable_assignment(user: User, assignment_id: int) -> TeachingAssignment:
    """The class-subject, if the user teaches it: 404 if they cannot see it, 403 if they may not write it."""
    actor = _actor(user)
    assignment = (
        visible(TeachingAssignment, actor)
        .select_related("school_class__organization", "subject")
        .filter(pk=assignment_id)
        .first()
    )
    if assignment is None:
        raise NotFound(NOT_FOUND)
    # Writing a lesson's records is the subject teacher's alone: the rule of Lesson "change".
    require(actor, Action.CHANGE, Lesson(assignment=assignment), ONLY_THE_TEACHER)
    return assignment


def directed_organization(user: User, organization_id: int) -> Organization:
    return queries.directed_organization(_actor(user), organization_id)


def _refuse_if_closed(organization_id: int, term_id: int) -> None:
    if queries.is_term_closed(organization_id, term_id):
        raise Conflict(
            gettext_lazy(
                "This term is closed, so its marks are locked. To correct one, send a change request "
                "with the reason; the director approves it."
            )
        )


def _enrolled(school_class_id: int, student_id: int) -> None:
    if not Enrollment.objects.filter(school_class_id=school_class_id, student_id=student_id).exists():
        raise NotFound(NOT_FOUND)


def _lock_school(organization_id: int) -> None:
    """Hold the school's row until the transaction ends: writes, closing and batch grading queue on it."""
    list(Organization.objects.select_for_update().filter(pk=organization_id).values_list("pk"))


def _lock_open_term(organization_id: int, term_id: int) -> None:
    """Inside a write's transaction: hold the school's row so closing the term waits, then check again.

    `close_term` takes the same lock, so a mark is either in before the grades are computed or
    refused after: never written into a term whose final grades were computed without it.
    """
    _lock_school(organization_id)
    _refuse_if_closed(organization_id, term_id)


def _cell_key(student_id: int, lesson_id: int) -> str:
    return f"{student_id}:{lesson_id}"


def _audit(
    user, organization_id: int | None, event: Event, key: str, before=None, after=None, reason="", person_id=None
):
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


# ------------------------------------------------------------------ marks and attendance

UNCHANGED = object()


def set_cell(user: User, lesson_id: int, student_id: int, text: str, *, reason: str = "") -> rules.CellEntry:
    """Make one journal cell hold what the teacher typed: a formative mark, an attendance status, or both."""
    entry = rules.parse_cell(text)
    return update_cell(user, lesson_id, student_id, mark=entry.mark, attendance=entry.attendance, reason=reason)


@service
def update_cell(
    user: User, lesson_id: int, student_id: int, *, mark=UNCHANGED, attendance=UNCHANGED, reason: str = ""
) -> rules.CellEntry:
    """Set the mark, the attendance status, or both, of one student at one lesson; the other is kept."""
    lesson = Lesson.objects.filter(pk=lesson_id).first()
    if lesson is None:
        raise NotFound(NOT_FOUND)
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
    if mark is not None or attendance is not None:
        rules.check_not_future(lesson.date, clock.today())
    entry = rules.CellEntry(mark=mark, attendance=attendance)
    return _apply_cell(user, lesson, assignment, student_id, entry, reason)


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
        "approved": approved,
    }
    changed = _write(Mark, "value", entry.mark, "mark", audit, student_id=student_id, lesson=lesson)
    changed |= _write(Attendance, "status", entry.attendance, "attendance", audit, student_id=student_id, lesson=lesson)
    if changed:
        _notify_guardians(student_id, lesson, assignment, entry.mark, entry.attendance)
    return entry


def _write(model, field: str, value, subject: str, audit: dict, **lookup) -> bool:
    """Make the row identified by `lookup` hold `value` (None deletes it) and audit the change.

    Returns whether anything changed (a value set or cleared): only then is the family told. Runs inside the
    caller's transaction, with the row locked, so concurrent writers queue instead of racing. The write
    is kept as a new entry of the cell's history (`entries`), stamped after every entry of the cell, so
    the row written here is the one `entries.settle` would make: the entry is the cell's winner.
    """
    row = model.objects.select_for_update().filter(**lookup).first()
    before = getattr(row, field) if row else None
    if before == value:
        return False
    place = lookup.get("lesson") or lookup["work"]
    entries.append(
        organization_id=audit["organization_id"],
        student_id=lookup["student_id"],
        field_name=subject,
        value=value,
        lesson_id=place.pk if "lesson" in lookup else None,
        work_id=place.pk if "work" in lookup else None,
        user=audit["user"],
        reason=audit["reason"],
        approved=audit.get("approved", False),
    )
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
    return True


def _create_once(model, *, defaults: dict, **lookup):
    """Insert, or update the row a concurrent request inserted a moment ago: never two rows."""
    try:
        with transaction.atomic():
            return model.objects.create(**lookup, **defaults)
    except IntegrityError:
        model.objects.filter(**lookup).update(**defaults)
        return model.objects.get(**lookup)


@service
def set_points(user: User, work_id: int, student_id: int, points: int | None, *, reason: str = "") -> None:
    """Set (or clear, with None) the points a student scored on a summative work."""
    work = SummativeWork.objects.filter(pk=work_id).first()
    if work is None:
        raise NotFound(NOT_FOUND)
    assignment = teachable_assignment(user, work.assignment_id)
    _enrolled(assignment.school_class_id, student_id)
    if points is not None:
        rules.check_points(points, work.max_points)
        rules.check_not_future(work.date, clock.today())
    _apply_points(user, work, assignment, student_id, points, reason)


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
        "approved": approved,
    }
    if _write(Mark, "value", points, "points", audit, student_id=student_id, work=work):
        _notify_guardians(student_id, work, assignment, points)


def _notify_guardians(student_id: int, occasion, assignment: TeachingAssignment, mark=None, attendance=None) -> None:
    """Restate the family's notice of a student's records at one lesson (or summative work), as they stand now.

    One notice per guardian, lesson and student, keyed so that every change replaces it (its text,
    its time, unread again) instead of adding another: the mark and the attendance together, in
    each guardian's own language. Called after a write that changed the cell, so a repeated save
    tells nobody anything (whatever language the family reads today). When nothing is recorded any
    more the notice is withdrawn: deleted if nobody has seen it yet, else it says the entry was
    removed, so that nobody keeps believing a mark that is gone.
    """
    guardian_user_ids = list(
        User.objects.filter(person__wards__student_id=student_id, is_active=True).values_list("pk", flat=True)
    )
    if not guardian_user_ids:
        return
    student = Person.objects.only("first_name").get(pk=student_id)
    subject = assignment.subject
    day = occasion.date
    is_work = isinstance(occasion, SummativeWork)
    gone = mark is None and attendance is None

    def render() -> str:
        if gone:
            parts = [_("entry removed")]
        elif is_work:
            points = _("%(points)s of %(max)s points") % {"points": mark, "max": occasion.max_points}
            parts = [points, occasion.title]
        else:
            parts = [str(mark)] if mark is not None else []
            if attendance is not None:
                parts.append(str(Attendance.Status(attendance).label))
        return _("%(name)s: %(what)s — %(subject)s, %(date)s.") % {
            "name": student.first_name,
            "what": ", ".join(parts),
            "subject": subject.name,
            "date": date_format(day, "j E"),
        }

    key = f"{'points' if is_work else 'marks'}:{occasion.pk}:{student_id}"
    link = f"{reverse('diary:week', args=[student_id])}?week={day.isoformat()}"
    notify.restate(
        [
            notify.Message(user_id=uid, kind="marks", render=render, link=link, key=key, gone=gone)
            for uid in guardian_user_ids
        ]
    )


# ------------------------------------------------------------------ lessons and summatives


@service
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
        raise NotFound(NOT_FOUND)
    assignment = teachable_assignment(user, lesson.assignment_id)
    _lock_open_term(assignment.school_class.organization_id, lesson.term_id)
    if homework_due is not None and homework_due < lesson.date:
        raise ServiceError(gettext_lazy("The homework cannot be due before the lesson."))
    wanted = set(objective_ids)
    objectives = list(
        LearningObjective.objects.filter(
            pk__in=list(wanted), subject_id=assignment.subject_id, grade=assignment.school_class.grade
        )
    )
    if len(objectives) != len(wanted):  # another subject's or grade's, or none at all: never dropped silently
        raise ServiceError(gettext_lazy("Choose the learning objectives from the list."))
    before = _lesson_state(lesson)
    lesson.topic = topic.strip()[:300]
    lesson.homework = homework.strip()
    lesson.homework_due = homework_due if lesson.homework else None
    after = {**_lesson_fields(lesson), "objectives": sorted(o.code for o in objectives)}
    if after == before:
        return lesson
    lesson.save(update_fields=["topic", "homework", "homework_due"])
    lesson.objectives.set(objectives)
    _audit(user, assignment.school_class.organization_id, Event.LESSON_UPDATE, str(lesson.pk), before, after)
    return lesson


def _lesson_fields(lesson: Lesson) -> dict:
    return {
        "topic": lesson.topic,
        "homework": lesson.homework,
        "homework_due": lesson.homework_due.isoformat() if lesson.homework_due else None,
    }


def _lesson_state(lesson: Lesson) -> dict:
    return {**_lesson_fields(lesson), "objectives": sorted(lesson.objectives.values_list("code", flat=True))}


@service
def create_summative(
    user: User, assignment_id: int, term_id: int, *, kind: str, title: str, max_points: int, date: dt.date
) -> SummativeWork:
    assignment = teachable_assignment(user, assignment_id)
    term = Term.objects.filter(pk=term_id, year_id=assignment.school_class.year_id).first()
    if term is None:
        raise NotFound(NOT_FOUND)
    if kind not in SummativeWork.Kind.values:
        raise ServiceError(gettext_lazy("Choose a unit or a term summative."))
    if not 1 <= max_points <= 100:
        raise ServiceError(gettext_lazy("The maximum must be from 1 to 100 points."))
    if not term.starts_on <= date <= term.ends_on:
        raise ServiceError(gettext_lazy("The date must fall within the term."))
    title = title.strip()[:200] or str(SummativeWork.Kind(kind).label)
    _lock_open_term(assignment.school_class.organization_id, term.pk)
    work = SummativeWork(assignment=assignment, term=term, kind=kind, title=title, date=date, max_points=max_points)
    require(_actor(user), Action.CREATE, work, ONLY_THE_TEACHER)
    # The same work submitted twice (a double click, a retry) is one work; the database's unique
    # constraints decide between concurrent submissions.
    same = SummativeWork.objects.filter(assignment=assignment, term=term, kind=kind, title=title, date=date).first()
    if same is not None:
        return same
    if kind == SummativeWork.Kind.TERM and assignment.summatives.filter(term=term, kind=kind).exists():
        raise Conflict(gettext_lazy("This term already has a term summative."))
    try:
        with transaction.atomic():
            work.save()
    except IntegrityError:
        same = SummativeWork.objects.filter(assignment=assignment, term=term, kind=kind, title=title, date=date).first()
        if same is not None:
            return same
        raise Conflict(gettext_lazy("This term already has a term summative.")) from None
    _audit(
        user,
        assignment.school_class.organization_id,
        Event.SUMMATIVE_CREATE,
        str(work.pk),
        after={"kind": kind, "title": title, "max_points": max_points, "date": date.isoformat()},
    )
    return work


def _wanted_lessons(school_class: SchoolClass, term: Term, starting: dt.date, holidays: set) -> set:
    """The lessons the timetable asks for from `starting` to the term's end, on the school's school
    days only (no Sundays, no holidays of its calendar, nothing outside its terms)."""
    by_weekday = defaultdict(list)
    for assignment_id, weekday, period in TimetableSlot.objects.filter(school_class=school_class).values_list(
        "assignment_id", "weekday", "period"
    ):
        by_weekday[weekday].append((assignment_id, period))
    first = max(term.starts_on, starting)
    days = (
        registry_queries.school_days(school_class.organization_id, first, term.ends_on) if first <= term.ends_on else []
    )
    return {
        (assignment_id, day, period)
        for day in days
        if day not in holidays
        for assignment_id, period in by_weekday.get(day.isoweekday(), ())
    }


def fit_lessons_to_timetable(
    acting_user: User | None,
    school_class: SchoolClass,
    term: Term,
    *,
    starting: dt.date,
    holidays: Iterable[dt.date] = (),
) -> rules.LessonPlan:
    """Make the lessons from `starting` on follow the class's current timetable.

    Lessons with a mark, points or an absence are never touched; the others move to their
    subject's new place in the week (keeping topic and homework), and what the timetable no longer
    has is removed, what it newly has is created. Audited as moves, removals and one creation.
    Runs inside the caller's service.
    """
    wanted = _wanted_lessons(school_class, term, starting, set(holidays))
    future = Lesson.objects.filter(assignment__school_class=school_class, term=term, date__gte=starting)
    recorded = future.filter(
        Exists(Mark.objects.filter(lesson=OuterRef("pk")))
        | Exists(Attendance.objects.filter(lesson=OuterRef("pk")))
        | Exists(MarkEntry.objects.filter(lesson=OuterRef("pk")))  # a cleared cell keeps its history
    )
    locked = set(recorded.values_list("assignment_id", "date", "period"))
    free = list(future.exclude(pk__in=recorded.values("pk")).values_list("pk", "assignment_id", "date", "period"))
    plan = rules.plan_lessons(free, wanted - locked)
    probe = Lesson(assignment=TeachingAssignment(school_class=school_class))
    if plan.create:
        require(_actor(acting_user), Action.CREATE, probe)
    if plan.remove:
        require(_actor(acting_user), Action.DELETE, probe)
    org_id = school_class.organization_id
    if plan.remove:
        removed = {
            pk: {"assignment": a, "date": d.isoformat(), "period": p, "topic": t, "homework": h}
            for pk, a, d, p, t, h in Lesson.objects.filter(pk__in=plan.remove).values_list(
                "pk", "assignment_id", "date", "period", "topic", "homework"
            )
        }
        Lesson.objects.filter(pk__in=plan.remove).delete()
        for pk, before in removed.items():
            _audit(acting_user, org_id, Event.LESSON_REMOVE, str(pk), before, None)
    if plan.move:
        places = {
            pk: (d, p)
            for pk, d, p in Lesson.objects.filter(pk__in=[m[0] for m in plan.move]).values_list("pk", "date", "period")
        }
        # Two passes through a free period so that swapping two lessons never meets the unique constraint.
        for pk, _day, _period in plan.move:
            Lesson.objects.filter(pk=pk).update(period=100 + (pk % 1000))
        for pk, day, period in plan.move:
            Lesson.objects.filter(pk=pk).update(date=day, period=period)
            old_day, old_period = places[pk]
            _audit(
                acting_user,
                org_id,
                Event.LESSON_MOVE,
                str(pk),
                {"date": old_day.isoformat(), "period": old_period},
                {"date": day.isoformat(), "period": period},
            )
    if plan.create:
        Lesson.objects.bulk_create(
            [Lesson(assignment_id=a, term=term, date=d, period=p) for a, d, p in plan.create],
            ignore_conflicts=True,
            batch_size=2000,
        )
        _audit(
            acting_user,
            org_id,
            Event.LESSON_CREATE,
            f"{school_class.pk}:{term.pk}",
            after={
                "count": len(plan.create),
                "from": plan.create[0][1].isoformat(),
                "to": plan.create[-1][1].isoformat(),
            },
        )
    return plan


@service
def generate_lessons(
    school_class: SchoolClass, term: Term, *, holidays: Iterable[dt.date] = (), starting: dt.date | None = None
) -> int:
    """Create the term's lessons from the weekly timetable (a system task: demo data, a new school year).

    Running it again adds only what is missing; lessons already there are not moved.
    """
    wanted = _wanted_lessons(school_class, term, starting or term.starts_on, set(holidays))
    before = Lesson.objects.filter(assignment__school_class=school_class, term=term).count()
    Lesson.objects.bulk_create(
        [
            Lesson(assignment_id=a, term=term, date=d, period=p)
            for a, d, p in sorted(wanted, key=lambda w: (w[1], w[2]))
        ],
        ignore_conflicts=True,
        batch_size=2000,
    )
    created = Lesson.objects.filter(assignment__school_class=school_class, term=term).count() - before
    if created:
        _audit(
            None,
            school_class.organization_id,
            Event.LESSON_CREATE,
            f"{school_class.pk}:{term.pk}",
            None,
            {"count": created},
        )
    return created


@service
def schedule_term(user: User, school_class_id: int, term_id: int, *, today: dt.date | None = None) -> int:
    """The director fits the rest of a term's lessons to the class's current timetable."""
    school_class = _directed_class(user, school_class_id)
    term = Term.objects.filter(pk=term_id, year_id=school_class.year_id).first()
    if term is None:
        raise NotFound(NOT_FOUND)
    require(_actor(user), Action.CREATE, Lesson(assignment=TeachingAssignment(school_class=school_class)))
    _lock_open_term(school_class.organization_id, term.pk)
    plan = fit_lessons_to_timetable(user, school_class, term, starting=(today or clock.today()) + dt.timedelta(days=1))
    return len(plan.create) + len(plan.move)


# ------------------------------------------------------------------ timetable and teaching load


@service
def set_teaching_assignment(
    user: User, school_class_id: int, subject_id: int, teacher_id: int | None, hours_per_week: int
) -> TeachingAssignment | None:
    school_class = _directed_class(user, school_class_id)
    actor = _actor(user)
    if not 0 <= hours_per_week <= 12:
        raise ServiceError(gettext_lazy("Hours per week must be from 0 to 12."))
    _lock_school(school_class.organization_id)
    existing = TeachingAssignment.objects.filter(school_class=school_class, subject_id=subject_id).first()
    key = f"{school_class.pk}:{subject_id}"
    if teacher_id is None or hours_per_week == 0:
        if existing is not None:
            require(actor, Action.DELETE, existing)
            before = {"teacher": existing.teacher_id, "hours": existing.hours_per_week}
            try:
                with transaction.atomic():
                    existing.delete()
            except ProtectedError:
                raise Conflict(
                    gettext_lazy("This subject already has marks in this class, so it cannot be removed.")
                ) from None
            _audit(user, school_class.organization_id, Event.LOAD_CLEAR, key, before, None)
        return None
    if not school_class.organization.memberships.filter(
        person_id=teacher_id, role=Role.TEACHER, ended_on__isnull=True
    ).exists():
        raise ServiceError(gettext_lazy("This person is not a teacher of this school."))
    before = {"teacher": existing.teacher_id, "hours": existing.hours_per_week} if existing else None
    after = {"teacher": teacher_id, "hours": hours_per_week}
    if before == after:
        return existing
    if existing is None:
        existing = TeachingAssignment(
            school_class=school_class, subject_id=subject_id, teacher_id=teacher_id, hours_per_week=hours_per_week
        )
        require(actor, Action.CREATE, existing)
        existing.save()
    else:
        require(actor, Action.CHANGE, existing)
        existing.teacher_id = teacher_id
        existing.hours_per_week = hours_per_week
        existing.save(update_fields=["teacher", "hours_per_week"])
    # Who teaches a subject decides who may write its marks: every change is on record.
    _audit(user, school_class.organization_id, Event.LOAD_SET, key, before, after)
    return existing


@service
def set_timetable_slot(
    user: User,
    school_class_id: int,
    weekday: int,
    period: int,
    assignment_id: int | None,
    room: str = "",
    *,
    moving_from: tuple[int, int] | None = None,
) -> TimetableSlot | None:
    """Put a class-subject (or nothing) in one period of the week, and fit the future lessons to it.

    `moving_from` (weekday, period) empties that period in the same change, so the subject's future
    lessons move to the new place with their topics and homework instead of being recreated.
    """
    school_class = _directed_class(user, school_class_id)
    actor = _actor(user)
    places = [(weekday, period), *([moving_from] if moving_from else [])]
    if any(not (1 <= d <= 6 and 1 <= p <= 10) for d, p in places):
        raise ServiceError(gettext_lazy("A lesson must be on a weekday 1–6 and in a period 1–10."))
    assignment = None
    if assignment_id is not None:
        assignment = TeachingAssignment.objects.filter(pk=assignment_id, school_class=school_class).first()
        if assignment is None:
            raise NotFound(NOT_FOUND)
    _lock_school(school_class.organization_id)
    room = room.strip()[:20]
    changed = False
    if moving_from and moving_from != (weekday, period):
        changed |= _put_in_slot(user, actor, school_class, *moving_from, None, "")
    changed |= _put_in_slot(user, actor, school_class, weekday, period, assignment, room)
    if changed:
        # The lessons from tomorrow on follow the new timetable, in every open term of the class's year.
        tomorrow = clock.today() + dt.timedelta(days=1)
        for term in Term.objects.filter(year_id=school_class.year_id, ends_on__gte=tomorrow):
            if not queries.is_term_closed(school_class.organization_id, term.pk):
                fit_lessons_to_timetable(user, school_class, term, starting=tomorrow)
    return TimetableSlot.objects.filter(school_class=school_class, weekday=weekday, period=period).first()


def _put_in_slot(user, actor, school_class, weekday, period, assignment, room) -> bool:
    current = TimetableSlot.objects.filter(school_class=school_class, weekday=weekday, period=period).first()
    before = {"assignment": current.assignment_id, "room": current.room} if current else None
    after = {"assignment": assignment.pk, "room": room} if assignment else None
    if before == after:
        return False
    if assignment is not None:
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
    if current is not None:
        require(actor, Action.DELETE, current)
        current.delete()
    if assignment is not None:
        slot = TimetableSlot(
            school_class=school_class, assignment=assignment, weekday=weekday, period=period, room=room
        )
        require(actor, Action.CREATE, slot)
        slot.save()
    key = f"{school_class.pk}:{weekday}:{period}"
    _audit(user, school_class.organization_id, Event.TIMETABLE_SET, key, before, after)
    return True


def _directed_class(user: User, school_class_id: int) -> SchoolClass:
    return queries.directed_class(_actor(user), school_class_id)


# ------------------------------------------------------------------ grades and term closing


def policy_for(term: Term) -> GradingPolicy:
    found = queries.policy_in_force(term)
    if found is None:
        raise ServiceError(gettext_lazy("No grading policy applies to this term."))
    return found


def compute_term_grades(
    term: Term,
    assignments,
    *,
    actor_id: int | None = None,
    policy: GradingPolicy | None = None,
    inputs: dict | None = None,
) -> int:
    """Make the stored term grades of these class-subjects what the marks say; returns how many changed.

    Three aggregate reads for the whole batch (`queries.grade_inputs`, the function the grid, the
    diary and the report use too), the maths in `rules`, bulk writes (COPY on PostgreSQL) of the
    new grades and their audit events; a stored grade whose inputs vanished is removed;
    unchanged grades cost nothing. `policy` defaults to the one in force for the term. Runs in
    the caller's transaction, under the school's lock.
    """
    policy = policy or policy_for(term)
    grading = policy.as_rules()
    assignment_ids = list(assignments.values_list("pk", flat=True))
    if inputs is None:  # closing passes the inputs its preview has just read under the same lock
        inputs = queries.grade_inputs(term, assignment_ids=assignment_ids)
    existing = {
        (student_id, assignment_id): (pk, percent, grade, policy_id, org_id)
        for pk, student_id, assignment_id, percent, grade, policy_id, org_id in TermGrade.objects.filter(
            term=term, assignment_id__in=assignment_ids
        ).values_list(
            "pk",
            "student_id",
            "assignment_id",
            "percent",
            "grade",
            "policy_id",
            "assignment__school_class__organization_id",
        )
    }
    now = timezone.now()
    via = Acting.of(None).via
    new_rows, changed, removed, events = [], [], [], []
    results = {}
    for key, data in inputs.items():
        result = rules.term_result(grading, data.class_grade, data.formative, data.unit, data.term)
        if result is not None:
            results[key] = (result, data.organization_id)
    for (student_id, assignment_id), (result, org_id) in results.items():
        current = existing.get((student_id, assignment_id))
        if current is None:
            new_rows.append((student_id, assignment_id, term.pk, result.percent, result.grade, policy.pk))
            before = None
        elif current[1:4] != (result.percent, result.grade, policy.pk):
            changed.append(
                TermGrade(pk=current[0], percent=result.percent, grade=result.grade, policy=policy, computed_at=now)
            )
            before = {"percent": str(current[1]), "grade": current[2]}
        else:
            continue
        after = {"percent": str(result.percent), "grade": result.grade, "policy": policy.pk}
        key = f"{student_id}:{assignment_id}:{term.pk}"
        events.append((actor_id, via, org_id, student_id, Event.TERM_GRADE_COMPUTE, key, before, after, ""))
    for (student_id, assignment_id), (pk, percent, grade, _policy, org_id) in existing.items():
        if (student_id, assignment_id) not in results:
            removed.append(pk)
            before = {"percent": str(percent), "grade": grade}
            key = f"{student_id}:{assignment_id}:{term.pk}"
            events.append((actor_id, via, org_id, student_id, Event.TERM_GRADE_REMOVE, key, before, None, ""))
    with transaction.atomic():
        insert_rows(TermGrade, ("student_id", "assignment_id", "term_id", "percent", "grade", "policy_id"), new_rows)
        TermGrade.objects.bulk_update(changed, ["percent", "grade", "policy", "computed_at"], batch_size=5000)
        if removed:
            TermGrade.objects.filter(pk__in=removed).delete()
        record_many(events)
    return len(events)


@service
def grade_open_term(organization_id: int, term: Term) -> int:
    """The batch recomputation of one school's open term (the `term_grades` command).

    Takes the school's lock and checks closure under it, as closing does: a term closed a moment
    ago keeps the grades its closing computed.
    """
    _lock_school(organization_id)
    if queries.is_term_closed(organization_id, term.pk):
        return 0
    assignments = TeachingAssignment.objects.filter(
        school_class__organization_id=organization_id, school_class__year_id=term.year_id
    )
    return compute_term_grades(term, assignments)


def preview_digest(preview: queries.ClosePreview) -> str:
    """A fingerprint of what the director saw before confirming a closing."""
    return hashlib.sha256(json.dumps(preview.as_data(), sort_keys=True, default=str).encode()).hexdigest()[:32]


@service
def close_term(user: User, organization_id: int, term_id: int, *, confirmed_digest: str) -> TermClosure:
    """Compute the final term grades of a school with the policy in force, then lock the term.

    Refused before the term's last school day, and unless the director confirms the very preview
    of what is missing that is true now (`confirmed_digest`). When it closes the year's last open
    term, the year grades are computed.
    """
    organization = directed_organization(user, organization_id)
    term = queries.get_term(term_id, organization_id=organization.pk)
    closure = TermClosure(organization=organization, term=term, closed_by=user)
    require(_actor(user), Action.CREATE, closure)
    rules.check_term_ended(queries.last_school_day(organization.pk, term), clock.today())
    _lock_school(organization.pk)
    if queries.is_term_closed(organization.pk, term.pk):
        raise Conflict(gettext_lazy("This term is already closed."))
    preview = queries.close_preview(organization, term)
    if confirmed_digest != preview_digest(preview):
        raise Conflict(
            gettext_lazy("What is missing has changed since you looked: check the preview again and confirm it.")
        )
    assignments = TeachingAssignment.objects.filter(
        school_class__organization=organization, school_class__year=term.year
    )
    compute_term_grades(term, assignments, actor_id=user.pk, inputs=preview.inputs)
    # Stamped after every entry of the term this server holds: they all count; an entry stamped later
    # arrived from another server after the closing, and is held (see `entries`).
    closure.stamp = hlc.stamp(after=entries.term_stamp(organization.pk, term.pk))
    closure.save()
    _audit(
        user,
        organization.pk,
        Event.TERM_CLOSE,
        f"{organization.pk}:{term.pk}",
        None,
        {"term": term.pk, "missing": preview.counts()},
    )
    update_year_grades(user, organization, term.year_id)
    return closure


@service
def reopen_term(user: User, organization_id: int, term_id: int, *, reason: str) -> TermClosure:
    """An officer of the school's district or region reopens a closed term, with the reason.

    The term's marks open again; the year grades, which need every term closed, are withdrawn
    until it closes again, when its grades are computed anew from the marks.
    """
    actor = _actor(user)
    closure = (
        visible(TermClosure, actor)
        .in_force()
        .select_related("organization", "term")
        .filter(organization_id=organization_id, term_id=term_id)
        .first()
    )
    if closure is None:
        raise NotFound(NOT_FOUND)
    require(
        actor,
        Action.CHANGE,
        closure,
        gettext_lazy("Only an officer of the school's district or region can reopen a term."),
    )
    if not (reason or "").strip():
        raise ServiceError(gettext_lazy("Give the reason for reopening the term."))
    _lock_school(organization_id)
    closure = TermClosure.objects.select_for_update().get(pk=closure.pk)
    if closure.reopened_at is not None:
        raise Conflict(gettext_lazy("This term is already open."))
    closure.reopened_by = user
    closure.reopened_at = timezone.now()
    closure.reopen_reason = reason.strip()
    closure.save(update_fields=["reopened_by", "reopened_at", "reopen_reason"])
    entries.settle(entries.later_than_closing(closure))  # what the closing held counts again
    _audit(
        user,
        organization_id,
        Event.TERM_REOPEN,
        f"{organization_id}:{term_id}",
        {"term": term_id, "closed_at": closure.closed_at.isoformat()},
        None,
        reason.strip(),
    )
    update_year_grades(user, closure.organization, closure.term.year_id)
    return closure


def update_year_grades(user: User | None, organization: Organization, year_id: int) -> int:
    """Make the school's year grades what the closed terms say: computed when every term of the
    year is closed, withdrawn otherwise. Runs inside the caller's service; audited per grade."""
    terms = list(Term.objects.filter(year_id=year_id).values_list("pk", flat=True))
    closed = set(
        TermClosure.objects.in_force()
        .filter(organization=organization, term_id__in=terms)
        .values_list("term_id", flat=True)
    )
    stored = {
        (s, a): (pk, g)
        for pk, s, a, g in YearGrade.objects.filter(
            assignment__school_class__organization=organization, assignment__school_class__year_id=year_id
        ).values_list("pk", "student_id", "assignment_id", "grade")
    }
    wanted: dict[tuple[int, int], int] = {}
    if terms and closed == set(terms):
        grades = defaultdict(list)
        for student_id, assignment_id, grade in TermGrade.objects.filter(
            term_id__in=terms, assignment__school_class__organization=organization
        ).values_list("student_id", "assignment_id", "grade"):
            grades[(student_id, assignment_id)].append(grade)
        wanted = {key: rules.year_grade(g) for key, g in grades.items() if g}
    via = Acting.of(user).via
    actor_id = user.pk if user else None
    events, create, update, remove = [], [], [], []
    for key, grade in wanted.items():
        current = stored.get(key)
        if current and current[1] == grade:
            continue
        if current:
            update.append(YearGrade(pk=current[0], grade=grade, computed_at=timezone.now()))
        else:
            create.append(YearGrade(student_id=key[0], assignment_id=key[1], grade=grade))
        before = {"grade": current[1]} if current else None
        events.append(
            (
                actor_id,
                via,
                organization.pk,
                key[0],
                Event.YEAR_GRADE_COMPUTE,
                f"{key[0]}:{key[1]}",
                before,
                {"grade": grade},
                "",
            )
        )
    for key, (pk, grade) in stored.items():
        if key not in wanted:
            remove.append(pk)
            events.append(
                (
                    actor_id,
                    via,
                    organization.pk,
                    key[0],
                    Event.YEAR_GRADE_REMOVE,
                    f"{key[0]}:{key[1]}",
                    {"grade": grade},
                    None,
                    "",
                )
            )
    YearGrade.objects.bulk_create(create, batch_size=5000)
    YearGrade.objects.bulk_update(update, ["grade", "computed_at"], batch_size=5000)
    if remove:
        YearGrade.objects.filter(pk__in=remove).delete()
    record_many(events)
    return len(events)


# ------------------------------------------------------------------ changes after closing


@service
def request_change(
    user: User, *, student_id: int, lesson_id: int | None, work_id: int | None, new_value: str, reason: str
):
    """A teacher asks to change a cell of a closed term; nothing changes until the director approves."""
    if lesson_id:
        lesson = Lesson.objects.filter(pk=lesson_id).first()
        if lesson is None:
            raise NotFound(NOT_FOUND)
        assignment, term_id = teachable_assignment(user, lesson.assignment_id), lesson.term_id
        rules.parse_cell(new_value)
    else:
        work = SummativeWork.objects.filter(pk=work_id).first()
        if work is None:
            raise NotFound(NOT_FOUND)
        assignment, term_id = teachable_assignment(user, work.assignment_id), work.term_id
        if new_value.strip():
            rules.check_points(_int(new_value), work.max_points)
    _enrolled(assignment.school_class_id, student_id)
    if not reason.strip():
        raise ServiceError(gettext_lazy("Give the reason for the change."))
    org_id = assignment.school_class.organization_id
    if not queries.is_term_closed(org_id, term_id):
        raise ServiceError(gettext_lazy("The term is open: change the cell directly."))
    fields = {
        "student_id": student_id,
        "lesson_id": lesson_id,
        "work_id": work_id,
        "new_value": new_value.strip(),
        "organization_id": org_id,
        "requested_by": user,
        "state": ChangeRequest.State.PENDING,
    }
    existing = ChangeRequest.objects.filter(**fields).first()
    if existing is not None:
        return existing
    change = ChangeRequest(**fields, reason=reason.strip())
    require(_actor(user), Action.CREATE, change, ONLY_THE_TEACHER)
    change.save()
    key = f"{student_id}:{lesson_id}" if lesson_id else f"{student_id}:w{work_id}"
    _audit(
        user,
        org_id,
        Event.CHANGE_REQUEST,
        key,
        None,
        {"request": change.pk, "value": change.new_value},
        change.reason,
        student_id,
    )
    return change


def _int(text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ServiceError(gettext_lazy("Points must be a whole number.")) from None


@service
def decide_change(user: User, request_id: int, *, approve: bool) -> ChangeRequest:
    """The director approves (the change is applied, audited with the teacher's reason) or rejects."""
    actor = _actor(user)
    change = visible(ChangeRequest, actor).select_for_update().filter(pk=request_id).first()
    if change is None:
        raise NotFound(NOT_FOUND)
    require(actor, Action.CHANGE, change)
    if change.state != ChangeRequest.State.PENDING:
        raise Conflict(gettext_lazy("This request has already been decided."))
    if change.requested_by_id == user.pk:
        raise ServiceError(gettext_lazy("A change you asked for must be decided by another director."), status=403)
    _lock_school(change.organization_id)
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
            work = SummativeWork.objects.select_related("term", "assignment__school_class", "assignment__subject").get(
                pk=change.work_id
            )
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
        update_year_grades(user, change.organization, term.year_id)
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
        change.student_id,
    )
    return change
