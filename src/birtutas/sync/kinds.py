"""The kinds of record that travel, in the order a receiver needs them (parents before children).

For each kind: its natural key (the parts its UUIDv5 is made of, or none for a UUIDv7), the
partitions it belongs to (an organization's id, or SHARED for the reference data every site holds),
whether only the central server may write it, and whether it is immutable (written once, never
changed: audit events). Fields travel by their values; a foreign key travels as the target's `uid`.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import models

from birtutas.curriculum.models import GradingPolicy, LearningObjective, Subject
from birtutas.journal import entries as journal_entries
from birtutas.journal import models as journal
from birtutas.kernel.ids import SHARED, keyed_id, natural_id, uuid7
from birtutas.kernel.models import AuditEvent
from birtutas.registry import models as registry

Partitioner = Callable[[list[int]], dict[int, set[uuid.UUID]]]


@dataclass
class Kind:
    label: str
    model: type[models.Model]
    key: tuple[str, ...] | None = None  # natural key fields; None: a UUIDv7
    partition: str | None = None  # ORM path to the owning organization's uid; None: SHARED
    partitioner: Partitioner | None = None  # instead of `partition`, for records of several schools
    central: bool = False  # only the central server writes it (reference data)
    immutable: bool = False
    many: tuple[str, ...] = ()  # many-to-many fields, travelling as a sorted list of uids
    skip: tuple[str, ...] = ()  # local fields that never travel
    shared_without_owner: bool = False  # no organization: the ministry's (the default calendar), held by all
    soft: tuple[str, ...] = ()  # references left empty where the target is outside this database's scope
    fields: list[models.Field] = field(default_factory=list)
    # Called with the local ids of the records an incoming chunk wrote, in the chunk's transaction:
    # the owning domain recomputes what it derives from them (a journal cell from its entries).
    after_apply: Callable[[list[int]], None] | None = None

    @property
    def table(self) -> str:
        return self.model._meta.db_table

    def wire_fields(self) -> list[models.Field]:
        if not self.fields:
            for f in self.model._meta.concrete_fields:
                if f.primary_key or f.name == "uid" or f.name in self.skip:
                    continue
                if getattr(f, "auto_now", False):
                    continue  # a local "last written" time: every database keeps its own
                self.fields.append(f)
        return self.fields

    def names(self) -> list[str]:
        return [f.name for f in self.wire_fields()] + list(self.many)

    def partitions(self, ids: list[int]) -> dict[int, set[uuid.UUID]]:
        if self.partitioner is not None:
            return self.partitioner(ids)
        if self.partition is None:
            return {i: {SHARED} for i in ids}
        rows = self.model.objects.filter(pk__in=ids).values_list("pk", self.partition)
        empty = {SHARED} if self.shared_without_owner else set()
        return {pk: {org} if org else empty for pk, org in rows}


def _person_partitions(ids: list[int]) -> dict[int, set[uuid.UUID]]:
    """A person is in every school where they hold a role, study, or have a child who studies, now."""
    found: dict[int, set[uuid.UUID]] = defaultdict(set)
    for pk, org in registry.Membership.objects.filter(
        person_id__in=ids, organization__isnull=False, ended_on__isnull=True
    ).values_list("person_id", "organization__uid"):
        found[pk].add(org)
    for pk, org in journal.Enrollment.objects.filter(student_id__in=ids, left_on__isnull=True).values_list(
        "student_id", "school_class__organization__uid"
    ):
        found[pk].add(org)
    wards = registry.Guardianship.objects.filter(guardian_id__in=ids).values_list("guardian_id", "student_id")
    by_ward = defaultdict(set)
    for guardian, ward in wards:
        by_ward[ward].add(guardian)
    if by_ward:
        for ward, orgs in _person_partitions(list(by_ward)).items():
            for guardian in by_ward[ward]:
                found[guardian] |= orgs
    return {i: found.get(i, set()) for i in ids}


def _audit_partitions(ids: list[int]) -> dict[int, set[uuid.UUID]]:
    """An event travels with its school's records; what the sync itself derived here (grades recomputed
    after a closing arrived) each server derives and records for itself."""
    rows = AuditEvent.objects.filter(pk__in=ids).exclude(via="sync").values_list("pk", "organization__uid")
    found = {pk: {org} for pk, org in rows if org}
    return {i: found.get(i, set()) for i in ids}


def _user_partitions(ids: list[int]) -> dict[int, set[uuid.UUID]]:
    people = dict(registry.User.objects.filter(pk__in=ids, person__isnull=False).values_list("pk", "person_id"))
    of_person = _person_partitions(list(set(people.values())))
    return {i: of_person.get(people.get(i), set()) for i in ids}


def _guardianship_partitions(ids: list[int]) -> dict[int, set[uuid.UUID]]:
    students = dict(registry.Guardianship.objects.filter(pk__in=ids).values_list("pk", "student_id"))
    of_student = _person_partitions(list(set(students.values())))
    return {i: of_student.get(students.get(i), set()) for i in ids}


KINDS: list[Kind] = [
    Kind("registry.region", registry.Region, key=("code",), central=True),
    Kind("registry.district", registry.District, key=("region", "name_kk"), central=True),
    Kind("registry.organization", registry.Organization, key=("bin",), central=True),
    Kind("curriculum.subject", Subject, key=("code",), central=True),
    Kind("curriculum.learningobjective", LearningObjective, key=("subject", "grade", "code"), central=True),
    Kind("curriculum.gradingpolicy", GradingPolicy, key=("code", "version"), central=True),
    Kind(
        "registry.academicyear",
        registry.AcademicYear,
        key=("organization", "name"),
        partition="organization__uid",
        shared_without_owner=True,
    ),
    Kind(
        "registry.term",
        registry.Term,
        key=("year", "number"),
        partition="year__organization__uid",
        shared_without_owner=True,
    ),
    Kind(
        "registry.holiday",
        registry.Holiday,
        key=("year", "starts_on", "ends_on"),
        partition="year__organization__uid",
        shared_without_owner=True,
    ),
    Kind("registry.person", registry.Person, key=("iin",), partitioner=_person_partitions),
    Kind(
        "registry.membership",
        registry.Membership,
        key=("person", "role", "organization"),
        partition="organization__uid",
    ),
    Kind(
        "journal.schoolclass",
        journal.SchoolClass,
        key=("organization", "year", "grade", "letter"),
        partition="organization__uid",
    ),
    Kind(
        "journal.enrollment",
        journal.Enrollment,
        key=("school_class", "student"),
        partition="school_class__organization__uid",
    ),
    # After the school's classes and enrollments: an account or a family link is checked against them.
    Kind("registry.user", registry.User, key=("person",), partitioner=_user_partitions, skip=("last_login",)),
    Kind(
        "registry.guardianship",
        registry.Guardianship,
        key=("guardian", "student"),
        partitioner=_guardianship_partitions,
    ),
    Kind(
        "journal.teachingassignment",
        journal.TeachingAssignment,
        key=("school_class", "subject"),
        partition="school_class__organization__uid",
    ),
    Kind(
        "journal.timetableslot",
        journal.TimetableSlot,
        key=("school_class", "weekday", "period"),
        partition="school_class__organization__uid",
    ),
    Kind(
        "journal.bellperiod", journal.BellPeriod, key=("organization", "shift", "period"), partition="organization__uid"
    ),
    Kind(
        "journal.lesson",
        journal.Lesson,
        key=("assignment", "date", "period"),
        partition="assignment__school_class__organization__uid",
        many=("objectives",),
    ),
    Kind(
        "journal.summativework",
        journal.SummativeWork,
        key=("assignment", "term", "kind", "title", "date"),
        partition="assignment__school_class__organization__uid",
    ),
    Kind(
        "journal.markentry",
        journal.MarkEntry,
        partition="organization__uid",
        immutable=True,
        after_apply=journal_entries.settle_entries,
    ),
    # One closing of a term per school and generation (closings before it, since reopened): two servers
    # closing the same term offline close it once. It may name an officer who reopened it, unknown at a node.
    Kind(
        "journal.termclosure",
        journal.TermClosure,
        key=("organization", "term"),
        partition="organization__uid",
        after_apply=journal_entries.settle_closures,
        soft=("reopened_by", "closed_by"),
    ),
    Kind("journal.changerequest", journal.ChangeRequest, partition="organization__uid", soft=("decided_by",)),
    Kind("journal.conversation", journal.Conversation, key=("student", "teacher"), partition="organization__uid"),
    Kind("journal.letter", journal.Letter, partition="conversation__organization__uid"),
    Kind("journal.announcement", journal.Announcement, partition="organization__uid"),
    Kind("registry.linkrequest", registry.LinkRequest, partition="organization__uid"),
    Kind(
        "kernel.auditevent",
        AuditEvent,
        partitioner=_audit_partitions,
        immutable=True,
        soft=("actor", "person"),
    ),
]

BY_LABEL = {k.label: k for k in KINDS}
BY_TABLE = {k.table: k for k in KINDS}
RANK = {k.label: i for i, k in enumerate(KINDS)}


def register(kind: Kind, after: str) -> None:
    """Add a kind defined by a domain (marks, attendance) right after the kind it depends on."""
    KINDS.insert(KINDS.index(BY_LABEL[after]) + 1, kind)
    BY_LABEL[kind.label] = kind
    BY_TABLE[kind.table] = kind
    RANK.clear()
    RANK.update({k.label: i for i, k in enumerate(KINDS)})


def kind_of(model: type[models.Model]) -> Kind | None:
    return BY_TABLE.get(model._meta.db_table)


def person_key() -> bytes:
    """The secret every site of one deployment shares to derive person ids from IINs (see kernel.ids)."""
    from .identity import person_id_key

    return person_id_key()


def derive_uid(kind: Kind, values: dict, *, fk_uids: dict) -> uuid.UUID:
    """The record's id from its natural key: `values` are the row's own, `fk_uids` the uids of its parents."""
    if kind.label == "registry.person":
        return keyed_id(person_key(), kind.label, values["iin"])
    if kind.key is None or (kind.label == "registry.organization" and not values.get("bin")):
        return uuid7()
    if kind.label == "registry.user" and values.get("person_id") is None:
        return uuid7()  # an account of no person (a system administrator) is its own thing on each server
    if kind.label == "journal.termclosure":
        generation = journal.TermClosure.objects.filter(
            organization_id=values["organization_id"], term_id=values["term_id"], pk__lt=values["pk"]
        ).count()
        return natural_id(kind.label, fk_uids["organization"], fk_uids["term"], generation)
    parts = [fk_uids.get(k, values.get(_column(kind, k))) for k in kind.key]
    return natural_id(kind.label, *parts)


def _column(kind: Kind, name: str) -> str:
    f = kind.model._meta.get_field(name)
    return f.attname


def in_rank_order(labels: Iterable[str]) -> list[str]:
    return sorted(labels, key=RANK.__getitem__)
