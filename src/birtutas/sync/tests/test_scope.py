"""The central server takes from a school node only that school's records, written by those allowed.

Each case takes a record as a node would send it (its wire state, from `engine.states`), alters it
the way a faulty or hostile node could, and applies it as coming from school A's node: it must be
refused, recorded, and leave the tables as they were.
"""

import uuid

import pytest

from birtutas.journal import services
from birtutas.journal.models import Lesson, MarkEntry
from birtutas.kernel.ids import SHARED, natural_id
from birtutas.sync import capture, engine
from birtutas.sync.apply import Sender
from birtutas.sync.kinds import BY_LABEL, RANK
from birtutas.sync.models import Node, Refusal
from birtutas.testing import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(settings):
    w = build_world()
    capture.flush()
    w.a.organization.refresh_from_db()
    node = Node.objects.create(organization=w.a.organization, name="A", signing_key="00" * 32, box_key="age1x")
    return w, Sender(node=node, session=uuid.uuid4())


def state(obj, label):
    obj.refresh_from_db()
    school = {str(obj.uid)}
    [record] = engine.states([(RANK[label], str(obj.uid), label)], None)
    assert record["uid"] in school
    return record


NODE_ORIGIN = str(uuid.uuid4())


def own_partition(record, org):
    record["rmc"] = [[str(org.uid), str(uuid.uuid4()), 1]]
    return record


def send(record, sender):
    return engine.apply_chunk(engine.codec.encode([record]), sender)


def bump(record, field, value):
    record["values"][field] = value
    clock = record["clocks"][field]
    record["clocks"][field] = [clock[0] + 10**9, NODE_ORIGIN, clock[0]]
    return record


def test_an_edit_of_its_own_school_is_taken(world):
    w, sender = world
    lesson = w.a.lessons_a[0]
    record = own_partition(bump(state(lesson, "journal.lesson"), "topic", "Квадрат теңдеулер"), w.a.organization)
    outcome = send(record, sender)
    assert (outcome.written, outcome.refused) == (1, [])
    assert Lesson.objects.get(pk=lesson.pk).topic == "Квадрат теңдеулер"


@pytest.mark.parametrize("how", ["as_is", "claiming_its_own_partition"])
def test_a_record_of_another_school_is_refused_however_it_is_labelled(world, how):
    w, sender = world
    lesson = w.b.lessons_a[0]
    record = bump(state(lesson, "journal.lesson"), "topic", "hijacked")
    if how == "claiming_its_own_partition":
        own_partition(record, w.a.organization)
    outcome = send(record, sender)
    assert outcome.refused and outcome.refused[0]["reason"] == "other_school"
    assert Lesson.objects.get(pk=lesson.pk).topic != "hijacked"
    assert Refusal.objects.filter(node=sender.node, reason="other_school").exists()


def test_moving_its_own_lesson_into_another_school_is_refused_and_undone(world):
    w, sender = world
    lesson = w.a.lessons_a[0]
    w.b.assignment_a.refresh_from_db()
    record = bump(state(lesson, "journal.lesson"), "assignment", str(w.b.assignment_a.uid))
    record = own_partition(bump(record, "date", "2027-05-20"), w.a.organization)  # a free day: no clash
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["other_school"]
    assert Lesson.objects.get(pk=lesson.pk).assignment_id == w.a.assignment_a.pk


def test_a_new_record_under_another_schools_parent_is_refused(world):
    w, sender = world
    lesson = w.b.lessons_a[0]
    record = own_partition(state(lesson, "journal.lesson"), w.a.organization)
    record["uid"] = str(natural_id("journal.lesson", "forged", 1))
    record["values"]["date"] = "2027-05-20"  # no lesson of that class on that day yet
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["other_school"]
    assert not Lesson.objects.filter(uid=record["uid"]).exists()


def test_reference_data_is_the_centres_alone(world):
    w, sender = world
    record = state(w.subject, "curriculum.subject")
    record = bump(record, "name_kk", "Өзгертілген")
    record["rmc"] = [[str(SHARED), str(uuid.uuid4()), 1]]
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["reference_data"]
    w.subject.refresh_from_db()
    assert w.subject.name_kk != "Өзгертілген"


def test_a_mark_by_someone_who_does_not_teach_the_subject_is_refused(world):
    w, sender = world
    lesson = w.a.lessons_a[0]
    services.set_cell(w.a.teacher, lesson.pk, w.a.student.pk, "8")
    capture.flush()
    entry = MarkEntry.objects.get(lesson=lesson, student=w.a.student)
    record = own_partition(state(entry, "journal.markentry"), w.a.organization)
    w.a.other_teacher.refresh_from_db()
    record["uid"] = str(uuid.uuid4())
    record["values"]["actor"] = str(w.a.other_teacher.uid)  # teaches class b, not class a
    record["values"]["value"] = "2"
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["not_permitted"]
    assert not MarkEntry.objects.filter(uid=record["uid"]).exists()


def test_the_same_chunk_twice_changes_nothing_the_second_time(world):
    w, sender = world
    lesson = w.a.lessons_a[1]
    record = own_partition(bump(state(lesson, "journal.lesson"), "homework", "№ 12"), w.a.organization)
    assert send(record, sender).written == 1
    again = send(record, sender)
    assert (again.written, again.unchanged) == (0, 1)


def test_kinds_cover_every_table_the_capture_triggers_watch():
    from django.db import connection

    from birtutas.sync import triggers

    watched = triggers.installed(connection)
    assert {k.table for k in BY_LABEL.values()} <= watched


def test_a_missing_capture_trigger_stops_the_server():
    from django.db import connection

    from birtutas.sync import triggers
    from birtutas.sync.apps import capture_triggers_installed

    class Editor:  # the statements alone, in the test's transaction, which undoes them
        @staticmethod
        def execute(sql, params=()):
            with connection.cursor() as cursor:
                cursor.execute(sql, None if params is None else params)

    Editor.connection = connection

    assert capture_triggers_installed(databases=["default"]) == []
    triggers.uninstall(Editor, ["journal_lesson"])  # what a SQLite table rebuild does silently
    [error] = capture_triggers_installed(databases=["default"])
    assert error.id == "sync.E001" and "journal_lesson" in error.msg
    triggers.install(Editor, ["journal_lesson"])
    assert capture_triggers_installed(databases=["default"]) == []


def test_an_account_for_someone_of_another_school_is_refused(world):
    from birtutas.registry.models import User

    w, sender = world
    record = own_partition(state(w.a.guardian, "registry.user"), w.a.organization)
    record["uid"] = str(uuid.uuid4())
    record["values"]["username"] = "takeover"
    record["values"]["password"] = "argon2$forged"
    person = w.b.classmate  # no account yet: whoever holds one may read their diary at the centre
    assert not User.objects.filter(person=person).exists()
    person.refresh_from_db()
    record["values"]["person"] = str(person.uid)
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["other_school"]
    assert not User.objects.filter(username="takeover").exists()


def test_a_system_administrator_account_from_a_node_is_refused(world):
    from birtutas.registry.models import User

    w, sender = world
    record = own_partition(bump(state(w.a.teacher, "registry.user"), "is_superuser", True), w.a.organization)
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["not_permitted"]
    assert not User.objects.get(pk=w.a.teacher.pk).is_superuser


def test_a_family_link_to_a_child_of_another_school_is_refused(world):
    from birtutas.registry.models import Guardianship

    w, sender = world
    link = Guardianship.objects.get(guardian=w.a.guardian.person, student=w.a.student)
    record = own_partition(state(link, "registry.guardianship"), w.a.organization)
    w.b.student.refresh_from_db()
    record["uid"] = str(uuid.uuid4())
    record["values"]["student"] = str(w.b.student.uid)
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["other_school"]
    assert not Guardianship.objects.filter(guardian=w.a.guardian.person, student=w.b.student).exists()


def test_an_iin_is_never_changed_from_a_node(world):
    w, sender = world
    student = w.a.student
    record = own_partition(bump(state(student, "registry.person"), "iin", "080215650123"), w.a.organization)
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["identity"]
    student.refresh_from_db()
    assert student.iin != "080215650123"


@pytest.mark.parametrize("role", ["ministry_analyst", "district_officer", "sysadmin"])
def test_a_node_cannot_give_a_role_above_the_school(world, role):
    from birtutas.registry.models import Membership

    w, sender = world
    membership = Membership.objects.filter(person=w.a.teacher.person, organization=w.a.organization).first()
    record = own_partition(state(membership, "registry.membership"), w.a.organization)
    record["uid"] = str(uuid.uuid4())
    record["values"]["role"] = role
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["not_permitted"]
    assert not Membership.objects.filter(person=w.a.teacher.person, role=role).exists()


def test_a_push_claims_only_its_own_school_and_never_the_centres_changes(world):
    from birtutas.sync.link import _clamped

    w, sender = world
    a, b, shared = str(w.a.organization.uid), str(w.b.organization.uid), str(SHARED)
    mine, theirs = str(capture.self_origin()), str(uuid.uuid4())
    plan = {b: {theirs: [0, 10**15]}, shared: {mine: [0, 10**15]}, a: {mine: [0, 10**15], theirs: [3, 9]}}
    assert _clamped(plan, sender.node) == {a: {theirs: [3, 9]}}


def test_a_parked_record_is_retried_only_for_the_node_that_sent_it(world):
    from birtutas.sync.apply import retry_parked
    from birtutas.sync.models import Parked

    w, sender = world
    other = Sender(
        node=Node.objects.create(organization=w.b.organization, name="B", signing_key="11" * 32, box_key="x")
    )
    lesson = w.a.lessons_a[2]
    record = own_partition(state(lesson, "journal.lesson"), w.a.organization)
    record["uid"] = str(uuid.uuid4())
    record["values"]["assignment"] = str(uuid.uuid4())  # a parent that has not arrived
    assert send(record, sender).parked == 1
    with engine.acting_via(engine.Via.SYNC), engine.writing():
        assert retry_parked(other).parked == 0  # B's settling leaves A's record alone
    assert Parked.objects.filter(uid=record["uid"]).exists()
    with engine.acting_via(engine.Via.SYNC), engine.writing():
        assert retry_parked(sender).parked == 1  # still waiting for its parent, for A


def test_a_mark_naming_its_own_school_on_another_schools_lesson_is_refused(world):
    w, sender = world
    services.set_cell(w.a.teacher, w.a.lessons_a[0].pk, w.a.student.pk, "8")
    capture.flush()
    entry = MarkEntry.objects.get(lesson=w.a.lessons_a[0], student=w.a.student)
    record = own_partition(state(entry, "journal.markentry"), w.a.organization)
    lesson_b = w.b.lessons_a[0]
    for obj in (lesson_b, w.b.student, w.b.teacher):
        obj.refresh_from_db()
    record["uid"] = str(uuid.uuid4())
    record["values"].update(lesson=str(lesson_b.uid), student=str(w.b.student.uid), actor=str(w.b.teacher.uid))
    outcome = send(record, sender)
    assert [r["reason"] for r in outcome.refused] == ["other_school"]
    assert not MarkEntry.objects.filter(uid=record["uid"]).exists()
