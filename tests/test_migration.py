"""A database of the schema before records could travel migrates without losing a row.

The test database is taken back to the old schema (registry 0006, curriculum 0002, journal 0007,
kernel 0007, no sync app), a small world is written with the models of that time (`legacy`), and the
migrations are run forward to the latest state, whatever its last migrations are. Then: every old
row is there with every old value; the first capture gives every travelling row its uid (the
natural id of its key, recomputed here from the rows) and a change in each partition it belongs to;
the audit log is still append-only; every travelling table marks its writes dirty; and doing it all
again changes nothing. Runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import importlib
import uuid
from collections import defaultdict

import pytest
from django.core.management.color import no_style
from django.db import DatabaseError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.models import UUIDField

from birtutas.kernel.ids import SHARED, keyed_id, natural_id, uuid7
from birtutas.sync import capture, kinds
from birtutas.sync import triggers as sync_triggers
from birtutas.sync.models import Change, Dirty, Origin, Record

from . import legacy

OLD = [
    ("registry", "0006_calendar"),
    ("curriculum", "0002_curriculum_tables"),
    ("journal", "0007_bell_schedule_and_messages"),
    ("kernel", "0007_audit_person_index_once"),
    ("sync", None),
]
APPEND_ONLY = importlib.import_module("birtutas.kernel.migrations.0004_audit_append_only")

# The natural key of each kind, as (column, table of the parent whose uid stands for it), read from the
# rows themselves. A kind missing here (added after this test) is checked against its declared key.
KEYS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "registry.region": (("code", None),),
    "registry.district": (("region_id", "registry_region"), ("name_kk", None)),
    "registry.organization": (("bin", None),),
    "curriculum.subject": (("code", None),),
    "curriculum.learningobjective": (("subject_id", "curriculum_subject"), ("grade", None), ("code", None)),
    "curriculum.gradingpolicy": (("code", None), ("version", None)),
    "registry.academicyear": (("organization_id", "registry_organization"), ("name", None)),
    "registry.term": (("year_id", "registry_academicyear"), ("number", None)),
    "registry.holiday": (("year_id", "registry_academicyear"), ("starts_on", None), ("ends_on", None)),
    "registry.user": (("person_id", "registry_person"),),
    "registry.membership": (
        ("person_id", "registry_person"),
        ("role", None),
        ("organization_id", "registry_organization"),
    ),
    "registry.guardianship": (("guardian_id", "registry_person"), ("student_id", "registry_person")),
    "journal.schoolclass": (
        ("organization_id", "registry_organization"),
        ("year_id", "registry_academicyear"),
        ("grade", None),
        ("letter", None),
    ),
    "journal.enrollment": (("school_class_id", "journal_schoolclass"), ("student_id", "registry_person")),
    "journal.teachingassignment": (("school_class_id", "journal_schoolclass"), ("subject_id", "curriculum_subject")),
    "journal.timetableslot": (("school_class_id", "journal_schoolclass"), ("weekday", None), ("period", None)),
    "journal.bellperiod": (("organization_id", "registry_organization"), ("shift", None), ("period", None)),
    "journal.lesson": (("assignment_id", "journal_teachingassignment"), ("date", None), ("period", None)),
    "journal.summativework": (
        ("assignment_id", "journal_teachingassignment"),
        ("term_id", "registry_term"),
        ("kind", None),
        ("title", None),
        ("date", None),
    ),
    "journal.conversation": (("student_id", "registry_person"), ("teacher_id", "registry_person")),
}
# Kinds whose records have no natural key: a UUIDv7 each.
RANDOM = {
    "journal.changerequest",
    "journal.letter",
    "journal.announcement",
    "registry.linkrequest",
    "kernel.auditevent",
}
# The reference data every site holds.
SHARED_KINDS = {
    "registry.region",
    "registry.district",
    "registry.organization",
    "curriculum.subject",
    "curriculum.learningobjective",
    "curriculum.gradingpolicy",
}


def _migrate(targets) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader: it reads what is applied now


def _latest() -> list[tuple[str, str]]:
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


def _audit_triggers() -> set[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT trigger_name, event_manipulation FROM information_schema.triggers "
                "WHERE event_object_table = 'kernel_auditevent' AND trigger_name LIKE 'kernel_audit%%'"
            )
            return {f"{name}:{op}" for name, op in cursor.fetchall()}
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'kernel_auditevent'")
        return {name for (name,) in cursor.fetchall() if name.startswith("kernel_audit")}


@pytest.fixture
def old_database(transactional_db):
    """The test database at the old schema; afterwards at the latest again, emptied, its triggers in place."""
    triggers = _audit_triggers()
    assert triggers, "the audit log should be append-only before the test"
    capturing = sync_triggers.installed(connection)
    executor = _migrate(OLD)
    try:
        yield executor
    finally:
        if MigrationExecutor(connection).migration_plan(_latest()):
            _migrate(_latest())  # the test stopped half way
        _empty_every_table()
        assert _audit_triggers() == triggers
        assert sync_triggers.installed(connection) == capturing


def _empty_every_table() -> None:
    """What the transactional test's own flush does, done first: on SQLite that flush is a DELETE, which
    the audit log refuses and which would mark every deleted travelling row dirty again."""
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
    sqlite = connection.vendor == "sqlite"
    with connection.cursor() as cursor:
        if sqlite:
            cursor.execute(APPEND_ONLY.SQLITE_BACKWARD[1])
    try:
        connection.ops.execute_sql_flush(connection.ops.sql_flush(no_style(), tables))
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sync_dirty")
    finally:
        if sqlite:
            with connection.cursor() as cursor:
                cursor.execute(APPEND_ONLY.SQLITE[1])


def _snapshot() -> dict[str, tuple[list[str], dict]]:
    """Every table's rows, keyed by primary key: {table: (columns, {pk: values})}."""
    out = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            if table == "django_migrations":
                continue
            pk = connection.introspection.get_primary_key_column(cursor, table)
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the schema
            columns = [c[0] for c in cursor.description]
            at = columns.index(pk)
            out[table] = (columns, {row[at]: row for row in cursor.fetchall()})
    return out


def _losses(before: dict, after: dict) -> list[str]:
    """Every old table, row and value that is not in `after` as it was in `before`."""
    problems = []
    for table, (columns, rows) in before.items():
        if table not in after:
            problems.append(f"{table}: the table is gone")
            continue
        new_columns, new_rows = after[table]
        missing = [c for c in columns if c not in new_columns]
        if missing:
            problems.append(f"{table}: columns gone: {missing}")
        if len(new_rows) != len(rows):
            problems.append(f"{table}: {len(rows)} rows before, {len(new_rows)} after")
        at = [new_columns.index(c) if c in new_columns else None for c in columns]
        for pk, values in rows.items():
            row = new_rows.get(pk)
            if row is None:
                problems.append(f"{table} #{pk}: the row is gone")
                continue
            for column, old, i in zip(columns, values, at, strict=True):
                if i is not None and row[i] != old:
                    problems.append(f"{table} #{pk}.{column}: {old!r} became {row[i]!r}")
    return problems


def _nothing_lost(before: dict) -> None:
    problems = _losses(before, _snapshot())
    assert not problems, "\n".join(problems)


def _as_uuid(value) -> uuid.UUID | None:
    return None if value is None else value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _rows(table: str, columns) -> dict[int, dict]:
    names = ["id", "uid", *columns]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(names)} FROM {table}")  # noqa: S608 - names from the models
        return {r[0]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()}


def _uids(table: str) -> dict[int, uuid.UUID | None]:
    return {pk: _as_uuid(r["uid"]) for pk, r in _rows(table, ()).items()}


def _key_of(kind: kinds.Kind) -> tuple[tuple[str, str | None], ...] | None:
    if kind.label in KEYS:
        return KEYS[kind.label]
    if kind.key is None:
        return None
    spec = []
    for name in kind.key:
        f = kind.model._meta.get_field(name)
        spec.append((f.attname, f.related_model._meta.db_table if f.is_relation else None))
    return tuple(spec)


def _expected_uid(kind: kinds.Kind, row: dict, uids: dict[str, dict]):
    """The natural id of the row's key, from its stored values; None where the key gives no natural id."""
    if kind.label == "registry.person":
        return keyed_id(kinds.person_key(), "registry.person", row["iin"])
    if kind.label == "registry.organization" and not row["bin"]:
        return None  # no BIN, no natural key
    if kind.label == "registry.user" and row["person_id"] is None:
        return None  # an account without a person: a UUIDv7, its own on each server
    if kind.label == "journal.termclosure":  # the school, the term, and how many closings of it came before
        before = sum(
            1
            for other in _rows("journal_termclosure", ["organization_id", "term_id"]).values()
            if (other["organization_id"], other["term_id"]) == (row["organization_id"], row["term_id"])
            and other["id"] < row["id"]
        )
        org, term = uids["registry_organization"][row["organization_id"]], uids["registry_term"][row["term_id"]]
        return natural_id(kind.label, org, term, before)
    parts = []
    for column, parent in _key_of(kind):
        value = row[column]
        parts.append(uids[parent][value] if parent and value is not None else value)
    return natural_id(kind.label, *parts)


def _expected_partitions() -> dict[str, dict[int, set[uuid.UUID]]]:
    """{kind: {row id: partitions}} recomputed from the rows: a school's records in its organization's
    partition, reference data (the ministry's calendar included) in SHARED, people wherever they have
    a role, a class, or a child who has one."""
    org = _uids("registry_organization")

    def by(table, column):
        return {pk: r[column] for pk, r in _rows(table, (column,)).items()}

    def own(table, column="organization_id"):
        return {pk: ({org[o]} if o else set()) for pk, o in by(table, column).items()}

    year_org = by("registry_academicyear", "organization_id")
    year = {pk: ({org[o]} if o else {SHARED}) for pk, o in year_org.items()}
    class_org = by("journal_schoolclass", "organization_id")
    assignment_class = by("journal_teachingassignment", "school_class_id")
    conversation_org = by("journal_conversation", "organization_id")

    person = defaultdict(set)
    for r in _rows("registry_membership", ("person_id", "organization_id")).values():
        if r["organization_id"]:
            person[r["person_id"]].add(org[r["organization_id"]])
    for r in _rows("journal_enrollment", ("student_id", "school_class_id")).values():
        person[r["student_id"]].add(org[class_org[r["school_class_id"]]])
    guardianships = _rows("registry_guardianship", ("guardian_id", "student_id"))
    for r in guardianships.values():
        person[r["guardian_id"]] |= person[r["student_id"]]
    users = by("registry_user", "person_id")

    expected = {
        "registry.academicyear": year,
        "registry.term": {pk: year[y] for pk, y in by("registry_term", "year_id").items()},
        "registry.holiday": {pk: year[y] for pk, y in by("registry_holiday", "year_id").items()},
        "registry.person": {pk: set(person[pk]) for pk in _uids("registry_person")},
        "registry.user": {pk: set(person[p]) if p else set() for pk, p in users.items()},
        "registry.membership": own("registry_membership"),
        "registry.guardianship": {pk: set(person[r["student_id"]]) for pk, r in guardianships.items()},
        "journal.schoolclass": own("journal_schoolclass"),
        "journal.bellperiod": own("journal_bellperiod"),
        "journal.termclosure": own("journal_termclosure"),
        "journal.changerequest": own("journal_changerequest"),
        "journal.conversation": own("journal_conversation"),
        "journal.announcement": own("journal_announcement"),
        "registry.linkrequest": own("registry_linkrequest"),
        "kernel.auditevent": own("kernel_auditevent"),
        "journal.markentry": own("journal_markentry"),
        "journal.letter": {pk: {org[conversation_org[c]]} for pk, c in by("journal_letter", "conversation_id").items()},
    }
    for label, table in (
        ("journal.enrollment", "journal_enrollment"),
        ("journal.teachingassignment", "journal_teachingassignment"),
        ("journal.timetableslot", "journal_timetableslot"),
    ):
        expected[label] = {pk: {org[class_org[c]]} for pk, c in by(table, "school_class_id").items()}
    for label, table in (("journal.lesson", "journal_lesson"), ("journal.summativework", "journal_summativework")):
        expected[label] = {pk: {org[class_org[assignment_class[a]]]} for pk, a in by(table, "assignment_id").items()}
    for label in SHARED_KINDS:
        expected[label] = {pk: {SHARED} for pk in _uids(kinds.BY_LABEL[label].table)}
    return expected


@pytest.mark.django_db(transaction=True)
def test_an_old_database_migrates_without_losing_a_row(old_database, monkeypatch):
    old_apps = old_database.loader.project_state(OLD[:-1]).apps
    assert "sync_dirty" not in connection.introspection.table_names()
    assert not any(f.name == "uid" for f in old_apps.get_model("registry", "Person")._meta.fields)
    legacy.build(old_apps)
    before = _snapshot()
    assert all(before[k.table][1] for k in kinds.KINDS if k.table in before), "a travelling table left empty"

    executor = _migrate(_latest())
    assert not executor.migration_plan(_latest())
    _nothing_lost(before)
    _every_mark_and_absence_is_an_entry(before)

    # The first capture numbers every existing row. It is resumable: stopped after its first batch, it
    # goes on where it stopped.
    monkeypatch.setattr(capture, "BATCH", 40)

    def stop(_count):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        capture.flush(progress=stop)
    assert Dirty.objects.exists()
    assert capture.flush() > 0
    assert not Dirty.objects.exists()
    _nothing_lost(before)  # nor by the capture

    origin = capture.self_origin()
    assert list(Origin.objects.values_list("id", flat=True)) == [origin]
    changes = defaultdict(set)
    for label, uid, partition, change_origin in Change.objects.values_list("kind", "uid", "partition", "origin"):
        assert change_origin == origin
        changes[label, uid].add(partition)
    records = set(Record.objects.values_list("kind", "uid"))
    partitions = _expected_partitions()
    problems = []
    all_uids: dict[str, dict] = {k.table: _uids(k.table) for k in kinds.KINDS}
    for kind in kinds.KINDS:
        uids = all_uids[kind.table]
        if None in uids.values():
            problems.append(f"{kind.label}: rows without a uid: {sorted(pk for pk, u in uids.items() if u is None)}")
        if len(set(uids.values())) != len(uids):
            problems.append(f"{kind.label}: a uid used twice")
        key = _key_of(kind)
        columns = ["iin"] if kind.label == "registry.person" else [c for c, _ in key or ()]
        for pk, row in _rows(kind.table, columns).items():
            uid = _as_uuid(row["uid"])
            if uid is None:
                continue
            if kind.label == "registry.person" or key is not None:
                wanted = _expected_uid(kind, row, all_uids)
                if wanted is None and uid.version != 7:
                    problems.append(f"{kind.label} #{pk}: uid {uid} is v{uid.version}, not a UUIDv7 (no natural key)")
                elif wanted is not None and uid != wanted:
                    problems.append(f"{kind.label} #{pk}: uid {uid} is not the natural id {wanted} of its key")
            elif kind.label in RANDOM and uid.version != 7:
                problems.append(f"{kind.label} #{pk}: uid {uid} is v{uid.version}, not a UUIDv7")
            want = partitions[kind.label][pk] if kind.label in partitions else kind.partitions([pk])[pk]
            if changes[kind.label, uid] != want:
                problems.append(f"{kind.label} #{pk}: changes in {changes[kind.label, uid]}, wanted {want}")
            if not kind.immutable and (kind.label, uid) not in records:
                problems.append(f"{kind.label} #{pk}: no sync record")
    assert not problems, "\n".join(problems)

    # Migrating forward again does nothing, and a second capture finds nothing to capture.
    executor = MigrationExecutor(connection)
    assert executor.migration_plan(_latest()) == []
    counts = (Change.objects.count(), Record.objects.count())
    _migrate(_latest())
    assert not Dirty.objects.exists()
    assert capture.flush() == 0
    assert (Change.objects.count(), Record.objects.count()) == counts
    _nothing_lost(before)

    _old_audit_events_keep_their_time(set(before["kernel_auditevent"][1]))
    _the_audit_log_is_append_only()
    _every_travelling_table_marks_its_writes(all_uids)


def _every_mark_and_absence_is_an_entry(before: dict):
    """Each old mark, points and absence is one journal entry of its school, with its value and an id
    derived from its row (journal 0009)."""
    school = {}
    with connection.cursor() as cursor:
        for table, column in (("journal_lesson", "lesson"), ("journal_summativework", "work")):
            cursor.execute(
                f"SELECT x.id, c.organization_id FROM {table} x "  # noqa: S608 - fixed names
                "JOIN journal_teachingassignment a ON a.id = x.assignment_id "
                "JOIN journal_schoolclass c ON c.id = a.school_class_id"
            )
            school.update({(column, pk): org for pk, org in cursor.fetchall()})
    wanted = {}
    for table, field in (("journal_mark", None), ("journal_attendance", "attendance")):
        columns, rows = before[table]
        for pk, values in rows.items():
            row = dict(zip(columns, values, strict=True))
            lesson, work = row["lesson_id"], row.get("work_id")
            value = row["status"] if field else row["value"]
            org = school["lesson", lesson] if lesson else school["work", work]
            cell = (row["student_id"], lesson, work, field or ("mark" if lesson else "points"), str(value), org)
            wanted[natural_id("journal.markentry.migrated", table, pk)] = cell
    names = ("student_id", "lesson_id", "work_id", "field", "value", "organization_id")
    found = {_as_uuid(r["uid"]): tuple(r[n] for n in names) for r in _rows("journal_markentry", names).values()}
    assert found == wanted


def _old_audit_events_keep_their_time(ids: set[int]):
    """The events written before the migration got a UUIDv7 of the millisecond they happened (kernel 0008)."""
    from birtutas.kernel.models import AuditEvent

    for uid, at in AuditEvent.objects.filter(pk__in=ids).values_list("uid", "at"):
        assert uid.version == 7 and uid.int >> 80 == int(at.timestamp() * 1000), (uid, at)


def _the_audit_log_is_append_only():
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(id) FROM kernel_auditevent")
        (first,) = cursor.fetchone()
    for statement in (
        "UPDATE kernel_auditevent SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM kernel_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [first])
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM kernel_auditevent WHERE id = %s", [first])
        assert cursor.fetchone() == ("",)


def _every_travelling_table_marks_its_writes(all_uids: dict[str, dict]):
    """Raw SQL, which no service sees: an insert, an update and a delete each leave a dirty row."""
    assert not Dirty.objects.exists()
    with connection.cursor() as cursor:
        for kind in kinds.KINDS:
            if kind.immutable:
                continue
            pk = min(all_uids[kind.table])
            cursor.execute(f"UPDATE {kind.table} SET id = id WHERE id = %s", [pk])  # noqa: S608 - model names
        cursor.execute(  # as every writer of the audit log does now, with its uid
            "INSERT INTO kernel_auditevent (uid, at, via, event, object_key, reason) "
            "VALUES (%s, %s, 'command', 'x.y', 'k', '')",
            [UUIDField().get_db_prep_value(uuid7(), connection), connection.ops.adapt_datetimefield_value(_now())],
        )
        cursor.execute("SELECT MAX(id) FROM kernel_auditevent")
        (audit,) = cursor.fetchone()
        slot = min(all_uids["journal_timetableslot"])
        cursor.execute("DELETE FROM journal_timetableslot WHERE id = %s", [slot])
        cursor.execute("SELECT lesson_id FROM journal_lesson_objectives ORDER BY id")
        (lesson,) = cursor.fetchone()
        cursor.execute("DELETE FROM journal_lesson_objectives WHERE lesson_id = %s", [lesson])
    dirty = {(tbl, row_id): _as_uuid(uid) for tbl, row_id, uid in Dirty.objects.values_list("tbl", "row_id", "uid")}
    wanted = {(k.table, min(all_uids[k.table])) for k in kinds.KINDS if not k.immutable}
    wanted |= {("kernel_auditevent", audit), ("journal_timetableslot", slot), ("journal_lesson", lesson)}
    assert wanted <= set(dirty), sorted(wanted - set(dirty))
    assert dirty["journal_timetableslot", slot] == all_uids["journal_timetableslot"][slot]  # for its tombstone
    # What changed is captured: the new audit row, the deleted slot (a tombstone), the lesson's objectives.
    capture.flush()
    slot_uid = all_uids["journal_timetableslot"][slot]
    assert Record.objects.get(kind="journal.timetableslot", uid=slot_uid).deleted
    assert _uids("kernel_auditevent")[audit] is not None


def _now():
    from django.utils import timezone

    return timezone.now()
