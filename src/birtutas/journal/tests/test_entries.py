"""Marks, points and absences are entries that never conflict: every write is kept, the cell holds the winner.

The settling rule is a pure function (table-tested here); the rest runs against a real database: the
services append an entry per change, entries "from another server" (written here as the sync would
insert them) settle into the cells, a closed term holds what arrived after its closing, and the
migration turns existing marks and absences into entries.
"""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from birtutas.journal import entries, queries, rules, services
from birtutas.journal.models import Attendance, ChangeRequest, Lesson, Mark, MarkEntry, TermClosure, TermGrade
from birtutas.kernel import hlc
from birtutas.kernel.ids import natural_id, uuid7
from birtutas.kernel.models import AuditEvent
from birtutas.testing import TODAY, close_term, on_day

E = rules.Entry


def uid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


# ------------------------------------------------------------------ the rule


@pytest.mark.parametrize(
    ("entries_", "closure", "winner"),
    [
        ([], None, None),
        ([E(uid(1), 10, "7")], None, uid(1)),
        ([E(uid(1), 10, "7"), E(uid(2), 20, "9")], None, uid(2)),  # the later stamp
        ([E(uid(2), 20, "9"), E(uid(1), 10, "7")], None, uid(2)),  # whatever the order they came in
        ([E(uid(1), 20, "7"), E(uid(2), 20, "9")], None, uid(2)),  # a tie: the greater id, everywhere alike
        ([E(uid(9), 20, "7"), E(uid(2), 20, "9")], None, uid(9)),
        ([E(uid(1), 10, "7"), E(uid(2), 20, None)], None, uid(2)),  # a clear wins like a value
        ([E(uid(1), 10, "7"), E(uid(2), 20, "9")], 15, uid(1)),  # stamped after the closing: held
        ([E(uid(1), 10, "7"), E(uid(2), 15, "9")], 15, uid(2)),  # stamped at the closing: counts
        ([E(uid(1), 10, "7"), E(uid(2), 20, "9", approved=True)], 15, uid(2)),  # an approved change counts
        ([E(uid(1), 20, "7"), E(uid(2), 30, "9")], 15, None),  # nothing counts: no row
        ([E(uid(1), 10, "7"), E(uid(2), 20, "9")], None, uid(2)),  # reopened: nothing held any more
    ],
)
def test_the_cell_holds_the_latest_entry_that_counts(entries_, closure, winner):
    found = rules.cell_winner(entries_, closure)
    assert (found.id if found else None) == winner
    assert rules.cell_value(entries_, closure) == (found.value if found else None)


@pytest.mark.parametrize(
    ("entry", "closure", "held"),
    [
        (E(uid(1), 20, "7"), None, False),
        (E(uid(1), 20, "7"), 19, True),
        (E(uid(1), 20, "7"), 20, False),
        (E(uid(1), 20, "7", approved=True), 19, False),
        (E(uid(1), 20, None), 19, True),  # a clear is held like a value
    ],
)
def test_an_entry_is_held_only_after_a_closing_and_unless_approved(entry, closure, held):
    assert rules.entry_held(entry, closure) is held


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("mark", "7", True),
        ("mark", "10", True),
        ("mark", "0", False),
        ("mark", "11", False),
        ("mark", "7.5", False),
        ("mark", "٧", False),  # a decimal digit of another script
        ("mark", None, True),
        ("points", "0", True),
        ("points", "25", True),
        ("points", "-1", False),
        ("attendance", "illness", True),
        ("attendance", "late", True),
        ("attendance", "present", False),
        ("other", "7", False),
    ],
)
def test_a_value_that_cannot_stand_in_its_cell_never_counts(field, value, ok):
    assert rules.entry_value_ok(field, value) is ok


# ------------------------------------------------------------------ local writes


def history(**cell) -> list[str | None]:
    return list(MarkEntry.objects.filter(**cell).order_by("stamp").values_list("value", flat=True))


@pytest.mark.django_db
def test_every_correction_is_kept_and_the_cell_holds_the_last(world):
    a = world.a
    lesson, student = a.lessons_a[0], a.student
    for text in ("7", "9", ""):
        services.set_cell(a.teacher, lesson.pk, student.pk, text, reason="" if text == "7" else "typo")
    assert not Mark.objects.filter(lesson=lesson, student=student).exists()
    kept = list(MarkEntry.objects.filter(lesson=lesson, student=student).order_by("stamp"))
    assert [e.value for e in kept] == ["7", "9", None]
    assert [e.field for e in kept] == ["mark"] * 3
    assert kept[0].stamp < kept[1].stamp < kept[2].stamp
    assert {(e.actor_id, e.organization_id, e.approved) for e in kept} == {(a.teacher.pk, a.organization.pk, False)}
    assert [e.reason for e in kept] == ["", "typo", "typo"]
    assert all(e.uid for e in kept) and len({e.uid for e in kept}) == 3
    # The audit keeps its own history beside it.
    marks = list(AuditEvent.objects.filter(event__startswith="mark.").values_list("before", "after"))
    assert marks == [(None, 7), (7, 9), (9, None)]
    # Settling what is stored changes nothing: the row written by the service is the winner's.
    with transaction.atomic():
        assert entries.settle([(student.pk, lesson.pk, None, "mark")]).changed == []


@pytest.mark.django_db
def test_the_same_value_twice_appends_nothing(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "к8")
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "к8")
    services.set_points(a.teacher, a.work_a.pk, a.student.pk, 15)
    services.set_points(a.teacher, a.work_a.pk, a.student.pk, 15)
    assert history(lesson=a.lessons_a[0], field="mark") == ["8"]
    assert history(lesson=a.lessons_a[0], field="attendance") == ["late"]
    assert history(work=a.work_a) == ["15"]
    assert MarkEntry.objects.get(work=a.work_a).field == "points"


@pytest.mark.django_db
def test_entries_are_never_changed_nor_deleted(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "7")
    entry = MarkEntry.objects.get()
    with pytest.raises(PermissionError):
        MarkEntry.objects.filter(pk=entry.pk).update(value="9")
    with pytest.raises(PermissionError):
        MarkEntry.objects.filter(pk=entry.pk).delete()
    entry.value = "9"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    assert MarkEntry.objects.get().value == "7"


# ------------------------------------------------------------------ entries from elsewhere


def arrived(cell_of, value, stamp, *, approved=False, entry_id=None) -> MarkEntry:
    """An entry written on another server, inserted as the sync inserts it (then settled by the caller)."""
    student, lesson, work, field = cell_of
    place = lesson or work
    entry = MarkEntry(
        uid=entry_id or uuid7(),
        organization_id=place.assignment.school_class.organization_id,
        student_id=student.pk,
        lesson=lesson,
        work=work,
        field=field,
        value=value,
        stamp=stamp,
        approved=approved,
        via="sync",
    )
    MarkEntry.objects.bulk_create([entry])
    return MarkEntry.objects.get(uid=entry.uid)


def mark_of(student, lesson) -> int | None:
    return Mark.objects.filter(student=student, lesson=lesson).values_list("value", flat=True).first()


@pytest.mark.django_db
def test_an_entry_from_elsewhere_wins_only_if_it_is_later(world):
    a = world.a
    lesson, student = a.lessons_a[0], a.student
    services.set_cell(a.teacher, lesson.pk, student.pk, "7")
    mine = MarkEntry.objects.get().stamp
    older = arrived((student, lesson, None, "mark"), "3", mine - 1)
    assert entries.settle_entries([older.pk]).changed == []
    assert mark_of(student, lesson) == 7
    newer = arrived((student, lesson, None, "mark"), "4", mine + 1)
    assert entries.settle_entries([newer.pk]).changed == [(student.pk, lesson.pk, None, "mark")]
    assert mark_of(student, lesson) == 4
    # A clear from elsewhere removes the row; an absence from elsewhere creates one.
    gone = arrived((student, lesson, None, "mark"), None, mine + 2)
    absent = arrived((student, lesson, None, "attendance"), "illness", mine + 2)
    entries.settle_entries([gone.pk, absent.pk])
    assert mark_of(student, lesson) is None
    assert Attendance.objects.get(student=student, lesson=lesson).status == "illness"
    # A correction made here after seeing them beats them all, whatever the clocks said.
    services.set_cell(a.teacher, lesson.pk, student.pk, "б")  # unchanged: nothing appended
    services.set_cell(a.teacher, lesson.pk, student.pk, "5")
    assert mark_of(student, lesson) == 5
    assert MarkEntry.objects.filter(lesson=lesson, field="mark").order_by("-stamp").first().value == "5"


@pytest.mark.django_db
def test_a_value_that_cannot_stand_never_reaches_the_cell(world):
    a = world.a
    lesson, student = a.lessons_a[0], a.student
    services.set_cell(a.teacher, lesson.pk, student.pk, "7")
    bad = arrived((student, lesson, None, "mark"), "42", MarkEntry.objects.get().stamp + 1)
    entries.settle_entries([bad.pk])
    assert mark_of(student, lesson) == 7


@pytest.mark.django_db
def test_every_order_of_arrival_settles_to_the_same_cells(world):
    """Two servers receive the same entries in different orders, settling after each: the cells end the same."""
    a = world.a
    lesson, student, work = a.lessons_a[1], a.classmate, a.work_a
    base = hlc.stamp()
    made = [
        ((student, lesson, None, "mark"), "6", base + 5, uid(1)),
        ((student, lesson, None, "mark"), "8", base + 9, uid(2)),
        ((student, lesson, None, "mark"), "3", base + 9, uid(3)),  # the same stamp: the greater id wins
        ((student, lesson, None, "mark"), None, base + 7, uid(4)),
        ((student, None, work, "points"), "12", base + 9, uid(5)),
        ((student, None, work, "points"), "17", base + 3, uid(6)),
    ]
    outcomes = set()
    for order in itertools.permutations(range(len(made)), len(made)):
        if order[0] % 2:  # a sample of the orders is enough
            continue
        with transaction.atomic():
            for i in order:
                cell_of, value, stamp, entry_id = made[i]
                entries.settle_entries([arrived(cell_of, value, stamp, entry_id=entry_id).pk])
            outcomes.add(
                (mark_of(student, lesson), Mark.objects.filter(student=student, work=work).values_list("value").first())
            )
            transaction.set_rollback(True)
    assert outcomes == {(3, (12,))}


# ------------------------------------------------------------------ closed terms


def closed(world):
    a = world.a
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "7")
    services.set_cell(a.teacher, a.lessons_a[1].pk, a.student.pk, "8")
    closure = close_term(a.director, a.organization, world.term)
    return closure


def grade_of(world):
    a = world.a
    return TermGrade.objects.filter(student=a.student, assignment=a.assignment_a, term=world.term).values_list(
        "percent", "grade"
    )[0]


@pytest.mark.django_db
def test_closing_is_stamped_after_every_entry_of_the_term(world):
    a = world.a
    lesson = a.lessons_a[0]
    services.set_cell(a.teacher, lesson.pk, a.student.pk, "7")
    # An entry from a server whose clock runs a day ahead arrived before the closing: it counts.
    ahead = arrived((a.classmate, lesson, None, "mark"), "9", hlc.stamp() + hlc.pack(86_400_000))
    entries.settle_entries([ahead.pk])
    closure = close_term(a.director, a.organization, world.term)
    assert closure.stamp > ahead.stamp
    assert mark_of(a.classmate, lesson) == 9
    assert not queries.held_entries(a.organization.pk).exists()


@pytest.mark.django_db
def test_an_entry_made_after_the_closing_is_held_kept_shown_and_released_by_reopening(world):
    a = world.a
    lesson, student = a.lessons_a[0], a.student
    closure = closed(world)
    before = grade_of(world)
    # Written at the centre by a teacher who had not heard of the node's closing.
    late = arrived((student, lesson, None, "mark"), "2", closure.stamp + 10)
    settled = entries.settle_entries([late.pk])
    assert settled.changed == [] and settled.held == [late.pk]
    assert mark_of(student, lesson) == 7 and grade_of(world) == before
    assert list(queries.held_entries(a.organization.pk)) == [late]
    assert not queries.held_entries(world.b.organization.pk).exists()
    # Reopening the term releases it: it counts again.
    services.reopen_term(world.district_officer, a.organization.pk, world.term.pk, reason="held marks")
    assert mark_of(student, lesson) == 2
    assert not queries.held_entries(a.organization.pk).exists()
    assert MarkEntry.objects.filter(pk=late.pk).exists()


@pytest.mark.django_db
def test_an_approved_change_counts_in_a_closed_term(world):
    a = world.a
    lesson, student = a.lessons_a[0], a.student
    closed(world)
    change = ChangeRequest.objects.get(student=student, lesson=lesson)
    services.decide_change(a.director, change.pk, approve=True)
    entry = MarkEntry.objects.filter(lesson=lesson, student=student).order_by("-stamp").first()
    assert (entry.value, entry.approved) == ("9", True)
    assert mark_of(student, lesson) == 9
    assert not queries.held_entries(a.organization.pk).exists()
    # The same from elsewhere, stamped after the closing: it counts too.
    approved = arrived((student, lesson, None, "mark"), "10", entry.stamp + 5, approved=True)
    assert entries.settle_entries([approved.pk]).held == []
    assert mark_of(student, lesson) == 10


@pytest.mark.django_db
def test_a_late_entry_made_before_the_closing_changes_the_closed_terms_grade(world):
    a = world.a
    lesson, student = a.lessons_a[0], a.student
    closure = closed(world)
    before = grade_of(world)
    mine = MarkEntry.objects.filter(lesson=lesson, student=student).get().stamp
    # Made elsewhere before the closing (its stamp says so) and carried here after it.
    TermClosure.objects.filter(pk=closure.pk).update(stamp=mine + 1000)
    events = AuditEvent.objects.filter(event="term_grade.compute").count()
    late = arrived((student, lesson, None, "mark"), "2", mine + 500)
    settled = entries.settle_entries([late.pk])
    assert settled.changed == [(student.pk, lesson.pk, None, "mark")]
    assert settled.regraded == [(a.organization.pk, world.term.pk)]
    assert mark_of(student, lesson) == 2
    after = grade_of(world)
    assert after[0] < before[0]
    # Computed from the settled marks (2 and 8), with the policy the term was closed with.
    policy = TermGrade.objects.get(student=student, assignment=a.assignment_a, term=world.term).policy
    expected = rules.term_result(policy.as_rules(), 7, [2, 8], [], [])
    assert after == (expected.percent, expected.grade)
    event = AuditEvent.objects.filter(event="term_grade.compute").order_by("-id").first()
    assert AuditEvent.objects.filter(event="term_grade.compute").count() == events + 1
    assert event.actor_id is None and event.after["percent"] == str(expected.percent)
    assert TermClosure.objects.in_force().filter(organization=a.organization, term=world.term).count() == 1


@pytest.mark.django_db
def test_a_closing_from_elsewhere_holds_what_came_after_it_and_a_reopening_releases_it(world):
    """The node closes the term while a teacher at the centre edits a mark: both end in one state."""
    a = world.a
    lesson, student = a.lessons_a[0], a.student
    services.set_cell(a.teacher, lesson.pk, student.pk, "7")
    mine = MarkEntry.objects.get().stamp
    edit = arrived((student, lesson, None, "mark"), "4", mine + 1000)  # the centre's edit, after the closing
    entries.settle_entries([edit.pk])
    assert mark_of(student, lesson) == 4
    # The node's closing arrives (as the sync writes it), stamped before the edit.
    closure = TermClosure.objects.create(organization=a.organization, term=world.term, stamp=mine + 500)
    settled = entries.settle_closures([closure.pk])
    assert settled.held == [edit.pk] and settled.regraded == [(a.organization.pk, world.term.pk)]
    assert mark_of(student, lesson) == 7
    assert TermGrade.objects.filter(student=student, term=world.term).exists()  # computed as the node did
    assert list(queries.held_entries(a.organization.pk)) == [edit]
    # The reopening arrives: the edit counts.
    TermClosure.objects.filter(pk=closure.pk).update(reopened_at=timezone.now(), reopen_reason="held marks")
    entries.settle_closures([closure.pk])
    assert mark_of(student, lesson) == 4
    assert not queries.held_entries(a.organization.pk).exists()


# ------------------------------------------------------------------ the timetable


@pytest.mark.django_db
def test_a_lesson_with_a_history_is_never_removed_by_a_timetable_change(world):
    a = world.a
    monday, later_monday = TODAY + dt.timedelta(days=3), TODAY + dt.timedelta(days=10)
    kept = Lesson.objects.create(assignment=a.assignment_a, term=world.term, date=monday, period=2)
    free = Lesson.objects.create(assignment=a.assignment_a, term=world.term, date=later_monday, period=2)
    arrived((a.student, kept, None, "mark"), None, hlc.stamp())  # set and cleared elsewhere: a history, no row
    with on_day(TODAY):
        services.set_timetable_slot(a.director, a.class_a.pk, 1, 2, None)
    assert Lesson.objects.filter(pk=kept.pk).exists()
    assert not Lesson.objects.filter(pk=free.pk).exists()


# ------------------------------------------------------------------ the migration

BEFORE = [("journal", "0008_travel_ids")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_the_migration_makes_one_entry_per_mark_and_absence():
    executor = _migrate(BEFORE)
    try:
        old = executor._create_project_state(with_applied_migrations=True).apps
        rows = _old_rows(old)
        # Run its data step twice: the second adds nothing.
        migration = executor.loader.get_migration("journal", "0009_mark_entries")
    finally:
        executor = _migrate(executor.loader.graph.leaf_nodes())
    migrate_cells = migration.operations[-1].code
    from django.apps import apps

    migrate_cells(apps, None)

    found = {e.uid: e for e in MarkEntry.objects.all()}
    assert len(found) == 3
    mark = found[natural_id("journal.markentry.migrated", "journal_mark", rows["mark"])]
    points = found[natural_id("journal.markentry.migrated", "journal_mark", rows["points"])]
    absence = found[natural_id("journal.markentry.migrated", "journal_attendance", rows["absence"])]
    assert (mark.field, mark.value, mark.lesson_id, mark.work_id) == ("mark", "8", rows["lesson"], None)
    assert (points.field, points.value, points.lesson_id, points.work_id) == ("points", "17", None, rows["work"])
    assert (absence.field, absence.value, absence.lesson_id) == ("attendance", "illness", rows["lesson"])
    at = dt.datetime(2026, 9, 2, 10, 0, tzinfo=dt.UTC)
    for e in found.values():
        assert (e.organization_id, e.actor_id, e.via, e.reason, e.approved) == (
            rows["organization"],
            None,
            "command",
            "migrated",
            False,
        )
        assert e.stamp == hlc.pack(int(at.timestamp() * 1000) - hlc.EPOCH_MS) and e.at == at
    # The closing in force is stamped after every entry: they all count, and settle to what they were.
    closure = TermClosure.objects.get(pk=rows["closure"])
    assert closure.stamp > max(e.stamp for e in found.values())
    with transaction.atomic():
        assert entries.settle(set(MarkEntry.objects.values_list("student_id", "lesson_id", "work_id", "field"))) == (
            entries.Settled()
        )
    assert Mark.objects.get(pk=rows["mark"]).value == 8
    # The entries travel: the sync's migration marked them for the next capture.
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM sync_dirty WHERE tbl = 'journal_markentry'")
        assert cursor.fetchone()[0] == 3


def _old_rows(apps) -> dict[str, int]:
    model = apps.get_model
    region, _ = model("registry", "Region").objects.get_or_create(
        code="KZ-11", defaults={"kind": "region", "name_kk": "Ақмола", "name_ru": "Акмолинская"}
    )
    district = model("registry", "District").objects.create(region=region, name_kk="Аудан", name_ru="Район")
    organization = model("registry", "Organization").objects.create(
        district=district, name_kk="Мектеп", name_ru="Школа", locality="rural", language="kk", connection="none"
    )
    year = model("registry", "AcademicYear").objects.create(
        name="2026-2027", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 5, 25)
    )
    term = model("registry", "Term").objects.create(
        year=year, number=1, starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 10, 24)
    )
    subject = model("curriculum", "Subject").objects.create(code="geometry", name_kk="Геометрия", name_ru="Геометрия")
    teacher, student = (
        model("registry", "Person").objects.create(
            iin=iin, last_name="Әлиева", first_name="Айгүл", birth_date=dt.date(1980, 1, 1), sex="F"
        )
        for iin in ("800101400012", "130101400013")
    )
    school_class = model("journal", "SchoolClass").objects.create(
        organization=organization, year=year, grade=8, letter="А", language="kk"
    )
    assignment = model("journal", "TeachingAssignment").objects.create(
        school_class=school_class, subject=subject, teacher=teacher
    )
    lesson = model("journal", "Lesson").objects.create(
        assignment=assignment, term=term, date=dt.date(2026, 9, 2), period=1
    )
    work = model("journal", "SummativeWork").objects.create(
        assignment=assignment, term=term, kind="unit", title="БЖБ", max_points=20, date=dt.date(2026, 9, 2)
    )
    mark_model, attendance_model = model("journal", "Mark"), model("journal", "Attendance")
    mark = mark_model.objects.create(student=student, lesson=lesson, value=8)
    points = mark_model.objects.create(student=student, work=work, value=17)
    absence = attendance_model.objects.create(student=student, lesson=lesson, status="illness")
    at = dt.datetime(2026, 9, 2, 10, 0, tzinfo=dt.UTC)
    mark_model.objects.update(updated_at=at)
    attendance_model.objects.update(updated_at=at)
    closure = model("journal", "TermClosure").objects.create(organization=organization, term=term)
    model("journal", "TermClosure").objects.filter(pk=closure.pk).update(closed_at=at - dt.timedelta(days=30))
    return {
        "organization": organization.pk,
        "lesson": lesson.pk,
        "work": work.pk,
        "mark": mark.pk,
        "points": points.pk,
        "absence": absence.pk,
        "closure": closure.pk,
    }
