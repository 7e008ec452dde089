"""Journal services against a real database: idempotence, locks, audit, notifications, grades."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.utils import translation

from birtutas.journal import queries, rules, services
from birtutas.journal.models import Attendance, ChangeRequest, GradingPolicy, Mark, TermClosure, TermGrade, YearGrade
from birtutas.kernel.errors import Conflict, Forbidden, NotFound, ServiceError
from birtutas.kernel.models import AuditEvent, Notification
from birtutas.registry.permissions import Actor
from birtutas.testing import TODAY, close_term, on_day

pytestmark = pytest.mark.django_db(transaction=False)


def cell(world, lesson_index=0, student=None):
    return world.a.lessons_a[lesson_index].pk, (student or world.a.student).pk


def test_setting_a_mark_records_it_audits_it_and_tells_the_guardian(world, django_capture_on_commit_callbacks):
    lesson_id, student_id = cell(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_cell(world.a.teacher, lesson_id, student_id, "8")
    assert Mark.objects.get(lesson_id=lesson_id, student_id=student_id).value == 8
    event = AuditEvent.objects.get(event__startswith="mark.")
    assert (event.before, event.after, event.actor_id) == (None, 8, world.a.teacher.pk)
    note = Notification.objects.get(recipient=world.a.guardian)
    assert "8" in note.text and "Алгебра" in note.text
    assert [m.to for m in mail.outbox] == [[world.a.guardian.email]]
    # The classmate's guardian hears nothing.
    assert not Notification.objects.filter(recipient=world.a.classmate_guardian).exists()


def test_second_identical_entry_changes_nothing(world, django_capture_on_commit_callbacks):
    lesson_id, student_id = cell(world)
    with django_capture_on_commit_callbacks(execute=True):
        services.set_cell(world.a.teacher, lesson_id, student_id, "н")
        services.set_cell(world.a.teacher, lesson_id, student_id, "н")
    assert Attendance.objects.filter(lesson_id=lesson_id, student_id=student_id).count() == 1
    assert AuditEvent.objects.filter(event__startswith="attendance.").count() == 1
    assert Notification.objects.filter(recipient=world.a.guardian).count() == 1


def test_changing_and_clearing_a_cell_keeps_the_whole_history(world):
    lesson_id, student_id = cell(world)
    for text in ("6", "к7", ""):
        services.set_cell(world.a.teacher, lesson_id, student_id, text)
    assert not Mark.objects.filter(lesson_id=lesson_id).exists()
    assert not Attendance.objects.filter(lesson_id=lesson_id).exists()
    marks = list(AuditEvent.objects.filter(event__startswith="mark.").values_list("before", "after"))
    assert marks == [(None, 6), (6, 7), (7, None)]
    statuses = list(AuditEvent.objects.filter(event__startswith="attendance.").values_list("before", "after"))
    assert statuses == [(None, "late"), ("late", None)]


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("11", "en", "from 1 to 10"),
        ("0", "en", "from 1 to 10"),
        ("н8", "en", "absent"),
        ("x", "en", "Unknown code"),
    ],
)
def test_bad_input_is_refused_in_the_users_language_and_changes_nothing(world, text, language, expected):
    lesson_id, student_id = cell(world)
    with translation.override(language), pytest.raises(rules.RuleError) as refused:
        services.set_cell(world.a.teacher, lesson_id, student_id, text)
    with translation.override(language):
        assert expected in str(refused.value.message)
    assert not Mark.objects.exists() and not Attendance.objects.exists() and not AuditEvent.objects.exists()


def test_points_above_the_maximum_are_refused_with_the_range(world):
    with translation.override("en"), pytest.raises(rules.RuleError, match="0 to 20"):
        services.set_points(world.a.teacher, world.a.work_a.pk, world.a.student.pk, 21)
    services.set_points(world.a.teacher, world.a.work_a.pk, world.a.student.pk, 20)
    assert Mark.objects.get(work=world.a.work_a).value == 20


@pytest.mark.parametrize("who", ["other_teacher", "director", "guardian"])
def test_only_the_subjects_teacher_may_write(world, who):
    lesson_id, student_id = cell(world)
    user = getattr(world.a, who)
    with pytest.raises(ServiceError) as refused:
        services.set_cell(user, lesson_id, student_id, "5")
    assert refused.value.status in (403, 404)
    assert not Mark.objects.exists()


def test_a_student_of_another_class_cannot_be_marked_in_this_lesson(world):
    with pytest.raises(NotFound):
        services.set_cell(world.a.teacher, world.a.lessons_a[0].pk, world.a.student_b.pk, "5")
    with pytest.raises(NotFound):
        services.set_cell(world.a.teacher, world.b.lessons_a[0].pk, world.b.student.pk, "5")


def test_closing_a_term_freezes_grades_and_locks_marks(world):
    a = world.a
    for i, value in enumerate((8, 9, 10)):
        services.set_cell(a.teacher, a.lessons_a[i].pk, a.student.pk, str(value))
    services.set_points(a.teacher, a.work_a.pk, a.student.pk, 15)
    close_term(a.director, a.organization, world.term)
    grade = TermGrade.objects.get(student=a.student, assignment=a.assignment_a, term=world.term)
    # 50 % formative (mean 9/10) + 50 % unit summatives (15/20), no term summative.
    assert grade.percent == Decimal("82.50") and grade.grade == 4
    event = AuditEvent.objects.get(
        event="term_grade.compute", object_key=f"{a.student.pk}:{a.assignment_a.pk}:{world.term.pk}"
    )
    assert event.before is None and event.after["grade"] == 4 and event.actor_id == a.director.pk
    with translation.override("en"), pytest.raises(Conflict, match="change request"):
        services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "2")
    assert Mark.objects.get(lesson=a.lessons_a[0], student=a.student).value == 8
    with pytest.raises(Conflict):
        close_term(a.director, a.organization, world.term)


def test_a_new_policy_does_not_touch_a_closed_term(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "6")
    close_term(a.director, a.organization, world.term)
    old = TermGrade.objects.get(student=a.student, term=world.term)
    strict = rules.CRITERIA_BASED_2016.to_json() | {"bands": [[0, 2], [70, 3], [80, 4], [90, 5]]}
    GradingPolicy.objects.create(code="criteria-based", version=2, effective_from=dt.date(2026, 9, 1), rules=strict)
    grid = queries.journal_grid(Actor.for_user(a.teacher), a.assignment_a.pk, world.term.pk)
    row = next(r for r in grid.rows if r.student.pk == a.student.pk)
    assert (row.percent, row.grade) == (old.percent, old.grade) == (Decimal("60.00"), 3)


def test_a_change_after_closing_needs_the_directors_approval(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "4")
    close_term(a.director, a.organization, world.term)
    with pytest.raises(ServiceError):
        services.request_change(
            a.teacher, student_id=a.student.pk, lesson_id=a.lessons_a[0].pk, work_id=None, new_value="9", reason="  "
        )
    request = services.request_change(
        a.teacher, student_id=a.student.pk, lesson_id=a.lessons_a[0].pk, work_id=None, new_value="10", reason="misread"
    )
    again = services.request_change(
        a.teacher, student_id=a.student.pk, lesson_id=a.lessons_a[0].pk, work_id=None, new_value="10", reason="misread"
    )
    assert again.pk == request.pk  # a second click does not file a second request
    assert Mark.objects.get(lesson=a.lessons_a[0], student=a.student).value == 4
    with pytest.raises(NotFound):
        services.decide_change(world.b.director, request.pk, approve=True)
    services.decide_change(a.director, request.pk, approve=True)
    assert Mark.objects.get(lesson=a.lessons_a[0], student=a.student).value == 10
    event = AuditEvent.objects.filter(event__startswith="mark.").last()
    assert (event.before, event.after, event.actor_id) == (4, 10, a.director.pk)
    assert "misread" in event.reason
    assert TermGrade.objects.get(student=a.student, term=world.term).grade == 5
    with pytest.raises(Conflict):
        services.decide_change(a.director, request.pk, approve=False)
    assert ChangeRequest.objects.get(pk=request.pk).state == "approved"


def test_the_audit_log_cannot_be_changed_or_deleted(world):
    services.set_cell(world.a.teacher, *cell(world), "7")
    event = AuditEvent.objects.get()
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().update(after=1)
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.parametrize(
    "statement", ["UPDATE kernel_auditevent SET reason = 'forged'", "DELETE FROM kernel_auditevent"]
)
def test_the_database_itself_refuses_to_rewrite_the_audit_log(world, statement):
    """A trigger on SQLite and on PostgreSQL alike: raw SQL cannot rewrite history either."""
    from django.db import DatabaseError, transaction

    services.set_cell(world.a.teacher, *cell(world), "7")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert AuditEvent.objects.filter(reason="forged").count() == 0 and AuditEvent.objects.count() == 1


def test_timetable_refuses_a_teacher_in_two_places_at_once(world):
    a = world.a
    from birtutas.journal.models import TeachingAssignment

    # The teacher of class A also gets class B's subject, then both at Monday, period 2.
    other = TeachingAssignment.objects.get(pk=a.assignment_b.pk)
    other.teacher = a.teacher.person
    other.save()
    services.set_timetable_slot(a.director, a.class_a.pk, 1, 3, a.assignment_a.pk)
    with pytest.raises(Conflict):
        services.set_timetable_slot(a.director, a.class_b.pk, 1, 3, other.pk)
    with pytest.raises(NotFound):
        services.set_timetable_slot(world.b.director, a.class_a.pk, 1, 4, a.assignment_a.pk)


def test_lessons_are_generated_from_the_timetable_once(world):
    a = world.a
    services.set_timetable_slot(a.director, a.class_a.pk, 3, 1, a.assignment_a.pk)
    created = services.generate_lessons(a.class_a, world.term)
    assert created > 0
    assert services.generate_lessons(a.class_a, world.term) == 0


def test_homework_cannot_be_due_before_the_lesson(world):
    lesson = world.a.lessons_a[1]
    with pytest.raises(ServiceError):
        services.update_lesson(
            world.a.teacher, lesson.pk, topic="x", homework="§3", homework_due=lesson.date - dt.timedelta(days=1)
        )
    services.update_lesson(world.a.teacher, lesson.pk, topic="Көпмүшелер", homework="§3", homework_due=lesson.date)
    lesson.refresh_from_db()
    assert lesson.homework == "§3"


def test_a_lesson_takes_only_objectives_of_its_subject_and_grade(world):
    from birtutas.curriculum.models import LearningObjective, Subject

    lesson = world.a.lessons_a[1]
    own = LearningObjective.objects.create(subject=world.subject, grade=7, code="7.1.1.1", text_kk="а", text_ru="а")
    geometry = Subject.objects.create(code="geometry", name_kk="Геометрия", name_ru="Геометрия", name_en="Geometry")
    others = [
        LearningObjective.objects.create(subject=geometry, grade=7, code="7.1.1.2", text_kk="ә", text_ru="ә"),
        LearningObjective.objects.create(subject=world.subject, grade=8, code="8.1.1.1", text_kk="б", text_ru="б"),
    ]
    for other in others:
        with pytest.raises(ServiceError):
            services.update_lesson(
                world.a.teacher,
                lesson.pk,
                topic="Жаңа",
                homework="",
                homework_due=None,
                objective_ids=[own.pk, other.pk],
            )
    lesson.refresh_from_db()
    assert lesson.topic == "Көпмүшелер" and not lesson.objectives.exists()
    services.update_lesson(
        world.a.teacher, lesson.pk, topic="Жаңа", homework="", homework_due=None, objective_ids=[own.pk]
    )
    assert list(lesson.objectives.values_list("code", flat=True)) == ["7.1.1.1"]


def test_term_grades_command_computes_open_terms_and_is_repeatable(world, capsys):
    from django.core.management import call_command

    from birtutas.journal.models import TermGrade

    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "7")
    call_command("term_grades", term=world.term.pk, quiet=True)
    assert TermGrade.objects.get(student=a.student, term=world.term).percent == Decimal("70.00")
    call_command("term_grades", term=world.term.pk, quiet=True)
    assert "0 grades changed" in capsys.readouterr().out


def _future(assignment, after, term):
    return sorted(assignment.lessons.filter(date__gt=after, term=term).values_list("date", "period"))


def test_a_timetable_change_fits_only_future_lessons_and_keeps_recorded_ones(world):
    a = world.a
    services.generate_lessons(a.class_a, world.term)  # Mondays, period 2, the whole term
    monday = dt.date(2026, 11, 23)
    lesson = a.assignment_a.lessons.get(date=monday)
    services.update_lesson(a.teacher, lesson.pk, topic="Квадрат теңдеу", homework="§5", homework_due=None)
    past = set(a.assignment_a.lessons.filter(date__lte=TODAY).values_list("pk", "date", "period"))
    # Monday's period 2 moves to Tuesday's period 5.
    services.set_timetable_slot(a.director, a.class_a.pk, 2, 5, a.assignment_a.pk, moving_from=(1, 2))
    tuesdays = [(dt.date(2026, 11, 24) + dt.timedelta(days=7 * i), 5) for i in range(5)]
    assert _future(a.assignment_a, TODAY, world.term) == tuesdays
    assert set(a.assignment_a.lessons.filter(date__lte=TODAY).values_list("pk", "date", "period")) == past
    moved = a.assignment_a.lessons.get(pk=lesson.pk)  # the same lesson, with its topic, a day later
    assert (moved.date, moved.period, moved.topic) == (dt.date(2026, 11, 24), 5, "Квадрат теңдеу")
    assert AuditEvent.objects.filter(event="lesson.move", object_key=str(lesson.pk)).exists()
    assert AuditEvent.objects.filter(event="timetable.set").count() == 2
    assert services.schedule_term(a.director, a.class_a.pk, world.term.pk) == 0  # nothing left to fit
    with pytest.raises(NotFound):
        services.schedule_term(world.b.director, a.class_a.pk, world.term.pk)


def test_a_timetable_change_never_touches_a_lesson_with_a_mark(world):
    a = world.a
    services.generate_lessons(a.class_a, world.term)
    lesson = a.assignment_a.lessons.get(date=dt.date(2026, 11, 16), period=2)
    services.set_cell(a.teacher, lesson.pk, a.student.pk, "7")
    with on_day(dt.date(2026, 11, 15)):  # the director changes the timetable the day before
        services.set_timetable_slot(a.director, a.class_a.pk, 1, 2, None)
    assert a.assignment_a.lessons.filter(pk=lesson.pk, date=dt.date(2026, 11, 16), period=2).exists()
    assert Mark.objects.get(lesson=lesson, student=a.student).value == 7
    assert (
        not a.assignment_a.lessons.filter(date__gt=dt.date(2026, 11, 16))
        .exclude(pk__in=[x.pk for x in a.lessons_a])
        .exists()
    )


def test_marks_and_absences_on_a_future_lesson_are_refused_homework_is_not(world):
    a = world.a
    services.generate_lessons(a.class_a, world.term)
    future = a.assignment_a.lessons.get(date=dt.date(2026, 11, 23))
    before = AuditEvent.objects.count()
    for typed in ("8", "н", "о7"):
        with translation.override("en"), pytest.raises(rules.RuleError, match="after today"):
            services.set_cell(a.teacher, future.pk, a.student.pk, typed)
    assert not Mark.objects.filter(lesson=future).exists() and not Attendance.objects.filter(lesson=future).exists()
    assert AuditEvent.objects.count() == before and not Notification.objects.exists()
    services.update_lesson(a.teacher, future.pk, topic="Теңдеулер", homework="№ 12", homework_due=None)
    assert a.assignment_a.lessons.get(pk=future.pk).homework == "№ 12"
    with on_day(future.date):
        services.set_cell(a.teacher, future.pk, a.student.pk, "8")
    assert Mark.objects.get(lesson=future, student=a.student).value == 8


def test_a_term_closes_only_after_its_last_day_and_with_the_preview_confirmed(world):
    a = world.a
    before = (TermClosure.objects.count(), AuditEvent.objects.count())
    with translation.override("en"), pytest.raises(rules.RuleError, match="can be closed from"):
        services.close_term(a.director, a.organization.pk, world.term.pk, confirmed_digest="")
    with on_day(world.term.ends_on + dt.timedelta(days=1)):
        preview = queries.close_preview(a.organization, world.term)
        assert preview.counts()["students_without_marks"] == 3  # three students, algebra, nobody marked
        assert preview.works_without_points  # both unit summatives lack everyone's points
        with pytest.raises(Conflict):
            services.close_term(a.director, a.organization.pk, world.term.pk, confirmed_digest="stale")
        digest = services.preview_digest(preview)
        services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "9")  # the situation changes
        with pytest.raises(Conflict):
            services.close_term(a.director, a.organization.pk, world.term.pk, confirmed_digest=digest)
    assert TermClosure.objects.count() == before[0]
    close_term(a.director, a.organization, world.term)
    assert TermClosure.objects.in_force().filter(organization=a.organization, term=world.term).exists()
    event = AuditEvent.objects.get(event="term.close")
    assert event.after["missing"]["students_without_marks"] == 2


def test_only_an_officer_of_the_area_reopens_a_term_with_a_reason(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "9")
    for term in world.terms:
        close_term(a.director, a.organization, term)
    assert YearGrade.objects.filter(student=a.student).exists()
    state = (TermClosure.objects.in_force().count(), AuditEvent.objects.count())
    with pytest.raises(ServiceError):
        services.reopen_term(world.district_officer, a.organization.pk, world.term.pk, reason="  ")
    for outsider in (a.director, a.teacher, world.analyst):
        with pytest.raises((NotFound, Forbidden)):
            services.reopen_term(outsider, a.organization.pk, world.term.pk, reason="typo")
    assert (TermClosure.objects.in_force().count(), AuditEvent.objects.count()) == state
    services.reopen_term(world.district_officer, a.organization.pk, world.term.pk, reason="wrong mark")
    assert not queries.is_term_closed(a.organization.pk, world.term.pk)
    assert not YearGrade.objects.exists()  # year grades need every term closed
    assert AuditEvent.objects.get(event="term.reopen").reason == "wrong mark"
    with on_day(world.term.ends_on):
        services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "")  # the only mark goes
        services.set_cell(a.teacher, a.lessons_a[1].pk, a.student.pk, "4")
    close_term(a.director, a.organization, world.term)
    grade = TermGrade.objects.get(student=a.student, term=world.term)
    assert (grade.percent, grade.grade) == (Decimal("40.00"), 3)
    assert YearGrade.objects.get(student=a.student).grade == 3
    assert TermClosure.objects.filter(organization=a.organization, term=world.term).count() == 2


def test_a_grade_whose_marks_vanished_is_removed(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "9")
    services.grade_open_term(a.organization.pk, world.term)
    assert TermGrade.objects.filter(student=a.student, term=world.term).exists()
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "")
    services.grade_open_term(a.organization.pk, world.term)
    assert not TermGrade.objects.filter(student=a.student, term=world.term).exists()
    assert AuditEvent.objects.filter(event="term_grade.remove", person=a.student).count() == 1


def test_the_batch_never_regrades_a_term_closed_under_it(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "9")
    close_term(a.director, a.organization, world.term)
    stored = TermGrade.objects.get(student=a.student, term=world.term)
    GradingPolicy.objects.create(
        code="cba", version=99, effective_from=dt.date(2000, 1, 1), rules={**stored.policy.rules, "bands": [[0, 2]]}
    )
    assert services.grade_open_term(a.organization.pk, world.term) == 0
    assert TermGrade.objects.get(pk=stored.pk).grade == stored.grade


def test_nobody_approves_their_own_change_request(world):
    a = world.a
    from birtutas.registry.models import Membership

    Membership.objects.create(person=a.teacher.person, role="deputy", organization=a.organization)
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "3")
    close_term(a.director, a.organization, world.term)
    request = services.request_change(
        a.teacher, student_id=a.student.pk, lesson_id=a.lessons_a[0].pk, work_id=None, new_value="10", reason="x"
    )
    with pytest.raises(ServiceError) as refused:
        services.decide_change(a.teacher, request.pk, approve=True)
    assert refused.value.status == 403
    assert Mark.objects.get(lesson=a.lessons_a[0], student=a.student).value == 3


def test_an_approved_change_keeps_the_policy_of_the_closed_term(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "6")
    close_term(a.director, a.organization, world.term)
    first_policy = TermGrade.objects.get(student=a.student, term=world.term).policy_id
    strict = rules.CRITERIA_BASED_2016.to_json() | {"bands": [[0, 2], [70, 3], [80, 4], [90, 5]]}
    GradingPolicy.objects.create(code="criteria-based", version=2, effective_from=dt.date(2026, 9, 1), rules=strict)
    request = services.request_change(
        a.teacher, student_id=a.student.pk, lesson_id=a.lessons_a[0].pk, work_id=None, new_value="7", reason="x"
    )
    services.decide_change(a.director, request.pk, approve=True)
    grade = TermGrade.objects.get(student=a.student, term=world.term)
    assert (grade.policy_id, grade.grade) == (first_policy, 4)  # 70 %: a 4 by the old bands, a 3 by the new


def test_a_closed_terms_lessons_and_works_are_locked(world):
    a = world.a
    close_term(a.director, a.organization, world.term)
    with pytest.raises(Conflict):
        services.update_lesson(a.teacher, a.lessons_a[0].pk, topic="changed", homework="", homework_due=None)
    with pytest.raises(Conflict):
        services.set_points(a.teacher, a.work_a.pk, a.student.pk, 5)


def test_a_summative_submitted_twice_is_one_work(world):
    a = world.a
    for _ in range(2):
        services.create_summative(
            a.teacher,
            a.assignment_a.pk,
            world.term.pk,
            kind="term",
            title="ТЖБ",
            max_points=25,
            date=dt.date(2026, 12, 20),
        )
    assert a.assignment_a.summatives.filter(kind="term").count() == 1
    with pytest.raises(Conflict):
        services.create_summative(
            a.teacher,
            a.assignment_a.pk,
            world.term.pk,
            kind="term",
            title="ТЖБ 2",
            max_points=25,
            date=dt.date(2026, 12, 21),
        )


def test_lesson_edits_load_changes_and_decisions_are_on_record(world):
    a = world.a
    services.update_lesson(a.teacher, a.lessons_a[1].pk, topic="Дәреже", homework="§4", homework_due=None)
    lesson_event = AuditEvent.objects.get(event="lesson.update")
    assert lesson_event.before["topic"] == "Көпмүшелер" and lesson_event.after["topic"] == "Дәреже"
    services.set_teaching_assignment(a.director, a.class_a.pk, world.subject.pk, a.other_teacher.person.pk, 3)
    services.set_teaching_assignment(a.director, a.class_a.pk, world.subject.pk, a.other_teacher.person.pk, 3)
    load = AuditEvent.objects.get(event="load.set")
    assert (load.before["teacher"], load.after["teacher"]) == (a.teacher.person.pk, a.other_teacher.person.pk)
    services.decide_change(a.director, a.change_request.pk, approve=False)
    assert AuditEvent.objects.get(event="change_request.decide").after == "rejected"


def test_closing_the_fourth_term_gives_year_grades_shown_in_the_summary(world):
    from django.test import Client

    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "9")
    for term in world.terms:
        close_term(a.director, a.organization, term)
    from birtutas.journal.models import YearGrade

    assert YearGrade.objects.get(student=a.student, assignment=a.assignment_a).grade == 5
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(a.guardian)
    page = client.get(f"/diary/{a.student.pk}/summary/?term={world.terms[3].pk}").content.decode()
    assert "Year grade" in page


def test_guardians_with_a_phone_get_an_sms_through_the_configured_gateway(
    world, settings, django_capture_on_commit_callbacks
):
    from birtutas.kernel.notify import OutboxSmsGateway

    settings.SMS_GATEWAY = "birtutas.kernel.notify.OutboxSmsGateway"
    OutboxSmsGateway.outbox.clear()
    guardian = world.a.guardian.person
    guardian.phone = "+7 701 000 0000"
    guardian.save()
    with django_capture_on_commit_callbacks(execute=True), translation.override("en"):
        services.set_cell(world.a.teacher, *cell(world), "б")
    assert len(OutboxSmsGateway.outbox) == 1
    phone, text = OutboxSmsGateway.outbox[0]
    assert phone == "+7 701 000 0000" and world.a.student.first_name in text


@pytest.mark.parametrize("seed", range(4))
def test_grid_diary_report_and_closing_agree_for_a_random_class(world, seed):
    import random

    from birtutas.journal.models import Enrollment, Lesson
    from birtutas.registry.models import Guardianship
    from birtutas.testing import person

    a = world.a
    rng = random.Random(seed)
    for i in range(rng.randint(0, 4)):  # a few more pupils, some with a parent
        extra = person(f"Қосымша{seed}{i}", "Бала", dt.date(2013, 1, 1 + i))
        Enrollment.objects.create(school_class=a.class_a, student=extra)
        Guardianship.objects.create(guardian=a.guardian.person, student=extra)
    extra_lessons = [
        Lesson.objects.create(assignment=a.assignment_a, term=world.term, date=dt.date(2026, 11, 9 + i), period=3)
        for i in range(rng.randint(0, 3))
    ]
    works = [a.work_a]
    if rng.random() < 0.6:
        works.append(
            services.create_summative(
                a.teacher, a.assignment_a.pk, world.term.pk, kind="term", title="ТЖБ", max_points=25, date=TODAY
            )
        )
    pupils = list(a.class_a.enrollments.values_list("student_id", flat=True))
    for lesson in [*a.lessons_a, *extra_lessons]:
        for pupil in pupils:
            typed = rng.choice(["", "", "н", "о", str(rng.randint(1, 10)), f"о{rng.randint(1, 10)}"])
            services.set_cell(a.teacher, lesson.pk, pupil, typed)
    for work in works:
        for pupil in pupils:
            if rng.random() < 0.8:
                services.set_points(a.teacher, work.pk, pupil, rng.randint(0, work.max_points))
    teacher, parent = Actor.for_user(a.teacher), Actor.for_user(a.guardian)

    def views():
        grid = queries.journal_grid(teacher, a.assignment_a.pk, world.term.pk)
        from_grid = {row.student.pk: (row.percent, row.grade) for row in grid.rows}
        _assignments, report = queries.class_report(a.class_a, world.term)
        from_report = {row.student.pk: row.grades[a.assignment_a.pk] for row in report}
        from_diary = {}
        for pupil in pupils:
            if pupil in parent.ward_ids:
                subjects = queries.term_summary(parent, pupil, world.term)[2]
                from_diary[pupil] = next(
                    (s.percent, s.grade) for s in subjects if s.subject == a.assignment_a.subject.name
                )
        return from_grid, from_report, from_diary

    from_grid, from_report, from_diary = views()
    assert from_grid == from_report
    assert all(from_grid[p] == v for p, v in from_diary.items())
    close_term(a.director, a.organization, world.term)
    stored = {
        s: (p, g)
        for s, p, g in TermGrade.objects.filter(assignment=a.assignment_a, term=world.term).values_list(
            "student_id", "percent", "grade"
        )
    }
    assert stored == {p: v for p, v in from_grid.items() if v != (None, None)}
    assert views() == (from_grid, from_report, from_diary)  # and after closing, the stored grades show
