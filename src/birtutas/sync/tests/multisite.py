"""Several sites of the sync in one test process: the central server and school nodes, each its own SQLite file.

Django holds one `default` database per process. `at(site)` makes `site` the process's database for
a while: it swaps `connections["default"]` for that site's own connection, points `NODE_FILE` and
`SYNC_KEYS_DIR` at the site's identity, gives the site its own wall-clock skew
(`BIRTUTAS_CLOCK_SKEW_MS`) and its own hybrid-logical-clock memory (each site is a process of its own
in reality, and one site's clock must not drag another's), and puts everything back on the way out.

`transfer(src, dst)` moves what `dst` lacks from `src` as the link protocol does: `dst` says what it
holds, `src` plans and cuts chunks, `dst` applies them one transaction each, settles what was parked
and raises what it holds; the centre receiving from a node applies as that registered `sync.Node`,
so every scope check runs. Nothing is mocked: the sites' own engine, services and triggers do the work.

`Sites.build(folder)` makes, once, a centre holding a tiny world (school A: one class of four
students, a teacher, a director, five lessons of a closed-able term, a summative work; school B: a
class of one student) and three nodes that received their school by sync from an empty migrated
database: two of school A, one of school B. `Sites.copy(folder)` gives an independent set of copies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connections, transaction
from django.db.utils import ConnectionHandler
from django.test import override_settings

SKEW = "BIRTUTAS_CLOCK_SKEW_MS"
DAY_MS = 24 * 3600 * 1000
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; PRAGMA busy_timeout=5000;",
    "transaction_mode": "IMMEDIATE",
}
TERM_1 = (dt.date(2026, 9, 1), dt.date(2026, 10, 24))
TERM_2 = (dt.date(2026, 11, 3), dt.date(2026, 12, 26))
LESSON_DAYS = [dt.date(2026, 10, d) for d in (19, 20, 21, 22, 23)]  # term 1, over by the test world's TODAY


def database_settings(path: Path) -> dict:
    """A complete settings dict for a SQLite file, whatever database the test run itself uses."""
    wanted = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path), "OPTIONS": dict(SQLITE_OPTIONS)}
    wanted["TIME_ZONE"] = settings.DATABASES["default"].get("TIME_ZONE")
    return ConnectionHandler({"default": wanted}).settings["default"]


@dataclass
class Site:
    """One database of the sync: the centre (`node_file` empty) or a school node."""

    name: str
    database: Path
    keys_dir: Path
    node_file: str = ""
    node_id: uuid.UUID | None = None  # a node: its `sync.Node` id at the centre
    organization_uid: uuid.UUID | None = None  # a node: its school
    skew_ms: int = 0
    hlc_last: int = 0
    wrapper: object | None = None

    @property
    def is_node(self) -> bool:
        return bool(self.node_file)

    def connection(self):
        if self.wrapper is None:
            from django.db.backends.sqlite3.base import DatabaseWrapper

            self.wrapper = DatabaseWrapper(database_settings(self.database), "default")
        return self.wrapper

    def close(self) -> None:
        if self.wrapper is not None:
            self.wrapper.close()
            self.wrapper = None

    def __repr__(self) -> str:
        return f"<{self.name}>"


@contextlib.contextmanager
def at(site: Site):
    """Run the block as `site`: its database, identity, clock skew and clock memory."""
    from birtutas.kernel import hlc

    previous = connections["default"]
    previous_skew = os.environ.get(SKEW)
    previous_last = hlc._last
    connections["default"] = site.connection()
    if site.skew_ms:
        os.environ[SKEW] = str(site.skew_ms)
    else:
        os.environ.pop(SKEW, None)
    hlc._last = site.hlc_last
    try:
        with override_settings(NODE_FILE=site.node_file, SYNC_KEYS_DIR=site.keys_dir):
            yield site
    finally:
        site.hlc_last = hlc._last
        hlc._last = previous_last
        if previous_skew is None:
            os.environ.pop(SKEW, None)
        else:
            os.environ[SKEW] = previous_skew
        connections["default"] = previous


# ------------------------------------------------------------------ transfers


@dataclass
class Transfer:
    """One transfer's chunks and what applying them did."""

    src: str
    dst: str
    planned: int
    chunks: list[dict]
    applied: int = 0
    written: int = 0
    refused: list = field(default_factory=list)
    parked: int = 0


def partitions_between(src: Site, dst: Site) -> set[str]:
    """What travels: a node pushes its school's partition; the centre sends a node its school and the shared data."""
    from birtutas.sync import engine

    node = src if src.is_node else dst
    return engine.scope_partitions(node.organization_uid, writable=src.is_node)


def sender_at(dst: Site, src: Site):
    """Who `dst` takes the records from: at the centre, the registered node (its scope is checked); at a node,
    the centre."""
    from birtutas.sync.apply import Sender
    from birtutas.sync.models import Node

    if not dst.is_node:
        return Sender(node=Node.objects.select_related("organization").get(pk=src.node_id), session=uuid.uuid4())
    return Sender(node=None, session=uuid.uuid4())


def transfer(
    src: Site,
    dst: Site,
    *,
    limit: int | None = None,
    duplicate: bool = False,
    cut: int | None = None,
    shuffle: int | None = None,
) -> Transfer:
    """Move what `dst` lacks from `src`, as the link (or a USB bundle) does.

    `duplicate`: every chunk arrives twice. `cut`: the link breaks after that many chunks (nothing is
    settled nor raised: the next transfer plans again). `shuffle`: the chunks arrive in an order
    shuffled with that seed (the link refuses that; a bundle carried by hand may be read so).
    """
    from birtutas.sync import engine, have

    if src.is_node == dst.is_node:
        raise ValueError("a transfer is between the centre and a node")
    partitions = partitions_between(src, dst)
    scope = engine.scope_partitions((src if src.is_node else dst).organization_uid)
    with at(dst):
        engine.prepare()
        held = have.vector({uuid.UUID(p) for p in scope})
    with at(src):
        engine.prepare()
        plan = engine.make_plan(held, partitions)
        kwargs = {} if limit is None else {"limit": limit}
        chunks = list(engine.chunks(plan, partitions, **kwargs))
    done = Transfer(src.name, dst.name, engine.plan_size(plan), chunks)
    order = list(chunks)
    if shuffle is not None:
        random.Random(shuffle).shuffle(order)
    if duplicate:
        order = [c for c in order for _twice in (1, 2)]
    if cut is not None:
        order = order[:cut]
    with at(dst):
        sender = sender_at(dst, src)
        for chunk in order:
            with transaction.atomic():
                outcome = engine.apply_chunk(chunk["body"], sender)
                # as the link and bundles do: the conflicts found on these records travel with them
                engine.take_conflicts(chunk["conflicts"], school=sender.partition)
            done.applied += 1
            done.written += outcome.written
            done.refused += outcome.refused
        if cut is not None and cut < len(chunks) * (2 if duplicate else 1):
            return done
        with transaction.atomic():
            settled = engine.settle(sender)
            engine.finish(plan)
        done.refused += settled.refused
        done.parked = settled.parked
    if not src.is_node:  # the centre keeps what the node now holds (link: pull done)
        with at(src), transaction.atomic():
            have.raise_all(
                {p: {o: top for o, (_h, top) in origins.items()} for p, origins in plan.items()}, peer=dst.node_id
            )
    return done


def replay(old: Transfer, src: Site, dst: Site) -> None:
    """An old transfer's chunks arrive again, after newer ones (an old bundle read again): applied and settled."""
    from birtutas.sync import engine

    with at(dst):
        sender = sender_at(dst, src)
        for chunk in old.chunks:
            with transaction.atomic():
                engine.apply_chunk(chunk["body"], sender)
        with transaction.atomic():
            engine.settle(sender)


# ------------------------------------------------------------------ the world and the sites


@dataclass
class WorldIds:
    """The test world by travelling ids (local ids differ from database to database)."""

    school_a: uuid.UUID
    school_b: uuid.UUID
    term: uuid.UUID
    students: list[uuid.UUID]
    lessons: list[uuid.UUID]
    work: uuid.UUID
    school_class: uuid.UUID
    teacher: str = "teacher_a"  # usernames
    director: str = "director_a"
    officer: str = "officer_a"


def build_tiny_world() -> dict:
    """At the centre: school A (one class of four students, its teacher and director, five lessons of term 1,
    a summative work) and school B (one class of one student), a district officer; returns local ids."""
    from birtutas.journal.models import Enrollment, Lesson, SchoolClass, SummativeWork, TeachingAssignment
    from birtutas.kernel.context import writing
    from birtutas.registry.models import (
        AcademicYear,
        District,
        Guardianship,
        Membership,
        Organization,
        Region,
        Term,
        User,
    )
    from birtutas.registry.roles import Role
    from birtutas.testing import account, person

    with writing():
        from birtutas.curriculum.models import LearningObjective, Subject

        region = Region.objects.get(code="KZ-11")
        district = District.objects.create(region=region, name_kk="Бурабай ауданы", name_ru="Бурабайский район")
        year = AcademicYear.objects.create(
            name="2026-2027", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 5, 25)
        )
        terms = [
            Term.objects.create(year=year, number=n, starts_on=s, ends_on=e) for n, (s, e) in ((1, TERM_1), (2, TERM_2))
        ]
        subject = Subject.objects.create(code="algebra", name_kk="Алгебра", name_ru="Алгебра", name_en="Algebra")
        for code in ("7.1.1.1", "7.1.1.2"):
            LearningObjective.objects.create(subject=subject, grade=7, code=code, text_kk=code, text_ru=code)
        out = {"term": terms[0].pk}
        for tag, size in (("a", 4), ("b", 1)):
            org = Organization.objects.create(
                district=district,
                name_kk=f"{tag.upper()} мектебі",
                name_ru=f"Школа {tag.upper()}",
                bin=f"12345678901{'ab'.index(tag)}",
                locality="rural",
                language="kk",
                connection="mobile",
            )
            director = account(person(f"Директор{tag}", "Айгүл", dt.date(1975, 1, 5)), f"director_{tag}")
            teacher = account(person(f"Мұғалім{tag}", "Асқар", dt.date(1988, 2, 3), "M"), f"teacher_{tag}")
            for user, role in ((director, Role.DIRECTOR), (teacher, Role.TEACHER)):
                Membership.objects.create(person=user.person, role=role, organization=org)
            klass = SchoolClass.objects.create(
                organization=org, year=year, grade=7, letter="А", language="kk", class_teacher=teacher.person
            )
            assignment = TeachingAssignment.objects.create(
                school_class=klass, subject=subject, teacher=teacher.person, hours_per_week=3
            )
            students = []
            for n in range(size):
                student = person(f"Оқушы{tag}{n}", "Әсел", dt.date(2013, 5, 6), "FM"[n % 2])
                Enrollment.objects.create(school_class=klass, student=student)
                Membership.objects.create(person=student, role=Role.STUDENT, organization=org)
                students.append(student.pk)
            guardian = person(f"Ата-ана{tag}", "Мөлдір", dt.date(1984, 7, 8))
            Guardianship.objects.create(guardian=guardian, student_id=students[0])
            Membership.objects.create(person=guardian, role=Role.GUARDIAN, organization=org)
            User.objects.create(username=f"parent_{tag}", person=guardian, language="kk")  # no e-mail: nothing is sent
            lessons = [
                Lesson.objects.create(assignment=assignment, term=terms[0], date=day, period=2, topic="Көпмүшелер").pk
                for day in (LESSON_DAYS if tag == "a" else LESSON_DAYS[:1])
            ]
            work = SummativeWork.objects.create(
                assignment=assignment, term=terms[0], kind="unit", title="БЖБ 1", max_points=20, date=LESSON_DAYS[2]
            )
            out[tag] = {
                "org": org.pk,
                "students": students,
                "lessons": lessons,
                "work": work.pk,
                "director": director,
                "class": klass.pk,
            }
        officer = account(person("Омаров", "Ерлан", dt.date(1985, 6, 7), "M"), "officer_a")
        Membership.objects.create(person=officer.person, role=Role.DISTRICT_OFFICER, district=district)
    return out


def uids_of(model, pks) -> list[uuid.UUID]:
    found = dict(model.objects.filter(pk__in=pks).values_list("pk", "uid"))
    return [found[pk] for pk in pks]


@dataclass
class Sites:
    """The centre and the nodes (two of school A, one of school B), with the world's travelling ids."""

    centre: Site
    node1: Site
    node2: Site
    node_b: Site
    world: WorldIds

    @property
    def all(self) -> list[Site]:
        return [self.centre, self.node1, self.node2, self.node_b]

    @property
    def school_a(self) -> list[Site]:
        return [self.centre, self.node1, self.node2]

    def by_name(self, name: str) -> Site:
        return {s.name: s for s in self.all}[name]

    def close(self) -> None:
        for site in self.all:
            site.close()

    @classmethod
    def build(cls, folder: Path) -> Sites:
        """Migrate an empty database, build the world at the centre, register three nodes, and let each
        node receive its school by sync from a copy of the empty database."""
        from django.core.management import call_command

        from birtutas.journal.models import Lesson, SchoolClass, SummativeWork
        from birtutas.registry.models import Organization, Person, Term
        from birtutas.sync import capture, nodes

        folder.mkdir(parents=True, exist_ok=True)
        keys = folder / "centre-keys"
        empty = Site("empty", folder / "empty.sqlite3", keys)
        with at(empty):
            call_command("migrate", verbosity=0, interactive=False)
        empty.close()
        centre = Site("centre", folder / "centre.sqlite3", keys)
        shutil.copyfile(empty.database, centre.database)
        registrations = {}
        with at(centre):
            made = build_tiny_world()
            capture.flush()
            a, b = made["a"], made["b"]
            for name, school in (("node1", a), ("node2", a), ("node_b", b)):
                node, registration = nodes.register_node(school["director"], school["org"], f"Server {name}")
                registrations[name] = (node.pk, registration, Organization.objects.get(pk=school["org"]).uid)
            capture.flush()
            world = WorldIds(
                school_a=Organization.objects.get(pk=a["org"]).uid,
                school_b=Organization.objects.get(pk=b["org"]).uid,
                term=Term.objects.get(pk=made["term"]).uid,
                students=uids_of(Person, a["students"]),
                lessons=uids_of(Lesson, a["lessons"]),
                work=SummativeWork.objects.get(pk=a["work"]).uid,
                school_class=SchoolClass.objects.get(pk=a["class"]).uid,
            )
        made_nodes = {}
        for name, (node_id, registration, org_uid) in registrations.items():
            site = Site(
                name,
                folder / f"{name}.sqlite3",
                folder / f"{name}-keys",
                node_file=str(folder / f"{name}.json"),
                node_id=node_id,
                organization_uid=org_uid,
            )
            shutil.copyfile(empty.database, site.database)
            nodes.install_registration(registration, Path(site.node_file))
            first = transfer(centre, site)
            assert first.planned and not first.refused, first
            made_nodes[name] = site
        sites = cls(centre, made_nodes["node1"], made_nodes["node2"], made_nodes["node_b"], world)
        sites.close()
        return sites

    def copy(self, folder: Path) -> Sites:
        """Independent copies of every site's database (identities are shared: the same registered nodes)."""
        folder.mkdir(parents=True, exist_ok=True)
        copies = []
        for site in self.all:
            site.close()
            target = folder / site.database.name
            shutil.copyfile(site.database, target)
            for extra in ("-wal", "-shm"):
                Path(str(target) + extra).unlink(missing_ok=True)
            copies.append(
                Site(
                    site.name,
                    target,
                    site.keys_dir,
                    node_file=site.node_file,
                    node_id=site.node_id,
                    organization_uid=site.organization_uid,
                )
            )
        return Sites(*copies, world=self.world)


# ------------------------------------------------------------------ what a teacher, a director and an officer do


KEEP = "keep"  # leave this half of the cell as it is


def _new_entries(before: int) -> list[str]:
    from birtutas.journal.models import MarkEntry

    return [str(u) for u in MarkEntry.objects.filter(pk__gt=before).values_list("uid", flat=True)]


def _last_entry() -> int:
    from birtutas.journal.models import MarkEntry

    return MarkEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _user(username: str):
    from birtutas.registry.models import User

    return User.objects.get(username=username)


def _pk(model, uid) -> int:
    return model.objects.filter(uid=uid).values_list("pk", flat=True).get()


def edit_cell(site: Site, world: WorldIds, student: int, lesson: int, mark, attendance) -> tuple[str, list[str]]:
    """The teacher sets a cell at `site` through the journal's service; returns the outcome and the new entries."""
    from birtutas.journal import services
    from birtutas.journal.models import Lesson
    from birtutas.journal.rules import RuleError
    from birtutas.kernel.errors import ServiceError
    from birtutas.registry.models import Person

    kwargs = {}
    if mark != KEEP:
        kwargs["mark"] = mark
    if attendance != KEEP:
        kwargs["attendance"] = attendance
    with at(site):
        before = _last_entry()
        try:
            services.update_cell(
                _user(world.teacher),
                _pk(Lesson, world.lessons[lesson]),
                _pk(Person, world.students[student]),
                **kwargs,
            )
        except (ServiceError, RuleError) as error:  # a rule of the journal (an absent student's mark, a closed term)
            return type(error).__name__, _new_entries(before)
        return "ok", _new_entries(before)


def edit_points(site: Site, world: WorldIds, student: int, points) -> tuple[str, list[str]]:
    from birtutas.journal import services
    from birtutas.journal.models import SummativeWork
    from birtutas.journal.rules import RuleError
    from birtutas.kernel.errors import ServiceError
    from birtutas.registry.models import Person

    with at(site):
        before = _last_entry()
        try:
            services.set_points(
                _user(world.teacher), _pk(SummativeWork, world.work), _pk(Person, world.students[student]), points
            )
        except (ServiceError, RuleError) as error:
            return type(error).__name__, _new_entries(before)
        return "ok", _new_entries(before)


def edit_lesson(site: Site, world: WorldIds, lesson: int, topic: str, homework: str, objectives=()) -> str:
    """The teacher writes a lesson's topic, homework and learning objectives (by code) at `site`."""
    from birtutas.curriculum.models import LearningObjective
    from birtutas.journal import services
    from birtutas.journal.models import Lesson
    from birtutas.journal.rules import RuleError
    from birtutas.kernel.errors import ServiceError

    with at(site):
        try:
            services.update_lesson(
                _user(world.teacher),
                _pk(Lesson, world.lessons[lesson]),
                topic=topic,
                homework=homework,
                homework_due=None,
                objective_ids=list(LearningObjective.objects.filter(code__in=objectives).values_list("pk", flat=True)),
            )
        except (ServiceError, RuleError) as error:
            return type(error).__name__
        return "ok"


def close_term(site: Site, world: WorldIds) -> str:
    """The director closes term 1 at `site`, confirming the preview shown there."""
    from birtutas.journal import queries, services
    from birtutas.journal.rules import RuleError
    from birtutas.kernel.errors import ServiceError
    from birtutas.registry.models import Organization, Term

    with at(site):
        organization = Organization.objects.get(uid=world.school_a)
        term = Term.objects.get(uid=world.term)
        try:
            digest = services.preview_digest(queries.close_preview(organization, term))
            services.close_term(_user(world.director), organization.pk, term.pk, confirmed_digest=digest)
        except (ServiceError, RuleError) as error:
            return type(error).__name__
        return "ok"


def reopen_term(site: Site, world: WorldIds) -> str:
    """The district officer reopens term 1 (at the centre: an officer's account lives there only)."""
    from birtutas.journal import services
    from birtutas.journal.rules import RuleError
    from birtutas.kernel.errors import ServiceError
    from birtutas.registry.models import Organization, Term

    with at(site):
        try:
            services.reopen_term(
                _user(world.officer),
                Organization.objects.get(uid=world.school_a).pk,
                Term.objects.get(uid=world.term).pk,
                reason="Қате",
            )
        except (ServiceError, RuleError) as error:
            return type(error).__name__
        return "ok"


# ------------------------------------------------------------------ what a site holds


def partition_rows(partition: uuid.UUID) -> dict:
    """Every record of `partition` this database holds, by kind and uid, as it travels (the wire values:
    local row numbers and "last written" times never travel), and the partition's tombstones."""
    from birtutas.sync.kinds import KINDS
    from birtutas.sync.models import Change, Record
    from birtutas.sync.wire import read_rows

    out: dict = {}
    for kind in KINDS:
        ids = list(kind.model.objects.values_list("pk", flat=True))
        held = kind.partitions(ids)
        wanted = [pk for pk in ids if partition in held.get(pk, ())]
        rows = read_rows(kind, wanted)
        out[kind.label] = {str(r["uid"]): {k: v for k, v in r.items() if k != "uid"} for r in rows.values()}
    uids = Change.objects.filter(partition=partition).values_list("uid", flat=True)
    out["~tombstones"] = sorted(
        f"{k}:{u}" for k, u in Record.objects.filter(deleted=True, uid__in=uids).values_list("kind", "uid")
    )
    return out


def cells() -> dict:
    """The settled journal cells, by travelling ids: (student, lesson, work, field) -> value."""
    from birtutas.journal.models import Attendance, Mark

    found = {}
    for student, lesson, work, value in Mark.objects.values_list("student__uid", "lesson__uid", "work__uid", "value"):
        found[(str(student), str(lesson), str(work), "points" if work else "mark")] = str(value)
    for student, lesson, status in Attendance.objects.values_list("student__uid", "lesson__uid", "status"):
        found[(str(student), str(lesson), "None", "attendance")] = status
    return found


def cells_from_entries() -> dict:
    """What the cells must hold: for each cell, the winner among its entries that count (`rules.cell_value`),
    given the closings in force. A pure function of the entries and closings the database holds."""
    from collections import defaultdict

    from birtutas.journal import rules
    from birtutas.journal.models import MarkEntry, TermClosure

    closings = defaultdict(list)
    for org, term, stamp in TermClosure.objects.in_force().values_list("organization_id", "term_id", "stamp"):
        closings[(org, term)].append(stamp)
    by_cell = defaultdict(list)
    rows = MarkEntry.objects.values_list(
        "uid",
        "student__uid",
        "lesson__uid",
        "work__uid",
        "field",
        "value",
        "stamp",
        "approved",
        "organization_id",
        "lesson__term_id",
        "work__term_id",
    )
    places = {}
    for uid, student, lesson, work, field_name, value, stamp, approved, org, lesson_term, work_term in rows:
        cell = (str(student), str(lesson), str(work), field_name)
        places[cell] = (org, lesson_term or work_term)
        if rules.entry_value_ok(field_name, value):
            by_cell[cell].append(rules.Entry(id=uid, stamp=stamp, value=value, approved=approved))
    expected = {}
    for cell, entries in by_cell.items():
        stamps = closings.get(places[cell], [])
        value = rules.cell_value(entries, stamps[0] if len(stamps) == 1 else None)
        if value is not None:
            expected[cell] = value if cell[3] == "attendance" else str(int(value))
    return expected


def term_grades() -> dict:
    from birtutas.journal.models import TermGrade

    return {
        (str(s), str(a), str(t)): (str(p), g)
        for s, a, t, p, g in TermGrade.objects.values_list(
            "student__uid", "assignment__uid", "term__uid", "percent", "grade"
        )
    }


@dataclass
class Snapshot:
    rows: dict  # the school's partition, as it travels
    shared: dict  # the shared partition (reference data, the ministry's calendar)
    cells: dict
    expected_cells: dict
    grades: dict
    entries: set[str]
    closings_in_force: int
    conflicts: set[str]
    refusals: list
    parked: list
    have: dict
    pending: int


def snapshot(site: Site, partition: uuid.UUID) -> Snapshot:
    from birtutas.journal.models import MarkEntry, TermClosure
    from birtutas.kernel.ids import SHARED
    from birtutas.sync import engine, have
    from birtutas.sync.models import Conflict, Dirty, Parked, Refusal

    with at(site):
        engine.prepare()
        return Snapshot(
            rows=partition_rows(partition),
            shared=partition_rows(SHARED),
            cells=cells(),
            expected_cells=cells_from_entries(),
            grades=term_grades(),
            entries={str(u) for u in MarkEntry.objects.values_list("uid", flat=True)},
            closings_in_force=TermClosure.objects.in_force().count(),
            conflicts={str(u) for u in Conflict.objects.values_list("pk", flat=True)},
            refusals=list(Refusal.objects.values_list("kind", "uid", "reason", "detail")),
            parked=list(Parked.objects.values_list("kind", "uid", "missing")),
            have=have.vector({partition}),
            pending=Dirty.objects.count(),
        )


def quiesce(sites: Sites, rounds: int = 6) -> int:
    """Push and pull between the centre and school A's nodes until nothing is left to move; returns the rounds run."""
    pairs = [
        (sites.node1, sites.centre),
        (sites.node2, sites.centre),
        (sites.centre, sites.node1),
        (sites.centre, sites.node2),
    ]
    for n in range(1, rounds + 1):
        moved = sum(transfer(src, dst).planned for src, dst in pairs)
        if not moved:
            return n
    raise AssertionError(f"still moving records after {rounds} rounds of push and pull")


def set_slot(site: Site, world: WorldIds, weekday: int, put: bool) -> str:
    """The director puts algebra in (or takes it out of) period 2 of a weekday at `site`: the lessons from
    tomorrow on follow (created, moved or removed)."""
    from birtutas.journal import services
    from birtutas.journal.models import SchoolClass, TeachingAssignment
    from birtutas.journal.rules import RuleError
    from birtutas.kernel.errors import ServiceError

    with at(site):
        klass = SchoolClass.objects.get(uid=world.school_class)
        assignment = TeachingAssignment.objects.filter(school_class=klass).values_list("pk", flat=True).first()
        try:
            services.set_timetable_slot(_user(world.director), klass.pk, weekday, 2, assignment if put else None)
        except (ServiceError, RuleError) as error:
            return type(error).__name__
        return "ok"


LESSON_FIELDS = ("topic", "homework", "objectives")


def lesson_clocks(site: Site, world: WorldIds, lesson: int) -> dict:
    """A lesson's fields as `site` holds them now, each with the clock of the write that made it:
    {field: ((stamp, origin), value)}. Captures first, so a write just made has its clock."""
    from birtutas.journal.models import Lesson
    from birtutas.sync import capture, merge
    from birtutas.sync.kinds import BY_LABEL
    from birtutas.sync.models import Record
    from birtutas.sync.wire import read_rows

    with at(site):
        capture.flush()
        uid = world.lessons[lesson]
        values = read_rows(BY_LABEL["journal.lesson"], [_pk(Lesson, uid)]).popitem()[1]
        clocks = Record.objects.get(kind="journal.lesson", uid=uid).clocks
        return {name: (merge.key(clocks[name]), values[name]) for name in LESSON_FIELDS}
