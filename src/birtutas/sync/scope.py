"""What a school node may write at the central server: its own school's records, by its own people.

Headers and claimed partitions are not trusted: the organization of each record is recomputed at the
centre from the record's own parents (a lesson -> its assignment -> its class -> the school), before
and after the write, inside a savepoint that a refusal rolls back. Reference data (regions, subjects,
curriculum objectives, grading policies) only the centre writes. A mark or absence must come from
an account that may write it at the centre (the teacher of that subject in that class).
"""

from __future__ import annotations

from birtutas.journal.models import Lesson, Mark, SummativeWork
from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting
from birtutas.kernel.events import Event
from birtutas.registry.models import Person, User
from birtutas.registry.permissions import Action, Actor, may
from birtutas.registry.roles import AREA_ROLES, Role

from .kinds import BY_LABEL, derive_uid
from .models import Refusal

FAN_OUT = {"registry.person", "registry.user", "registry.guardianship"}


class Refused(Exception):
    """An incoming record not written: `reason` is a code for machines, `detail` says more."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


def check_before(kind, r: dict, pk: int | None, sender) -> None:
    school = sender.partition
    if kind.central:
        raise Refused("reference_data", kind.label)
    for partition, _origin, _counter in r["rmc"]:
        if partition != school:
            raise Refused("other_school", f"partition {partition}")
    if pk is not None:
        held = {str(p) for p in kind.partitions([pk]).get(pk, set())}
        # Someone who is also in another school (a teacher of two schools, a pupil who moved) is
        # changed at the centre, never from one school's server.
        if held != {school}:
            raise Refused("other_school", "a record or person of another school")
    placed = PLACES_PERSON.get(kind.label)
    if placed and (r["values"] or {}).get(placed):
        _only_here(r["values"][placed], school)


# Records that place a person in a school: the person must be new, or in this school alone, at the
# centre, before the write; else a node could pull anyone of another school into its own.
PLACES_PERSON = {"registry.membership": "person", "journal.enrollment": "student", "registry.guardianship": "student"}


def _only_here(person_uid: str, school: str) -> None:
    pk = Person.objects.filter(uid=person_uid).values_list("pk", flat=True).first()
    if pk is None:
        return  # not at the centre: parked or refused by the foreign key
    if not {str(p) for p in _person_partitions(pk)} <= {school}:
        raise Refused("other_school", "a person of another school")


def check_after(kind, r: dict, pk: int, sender) -> None:
    if kind.label in FAN_OUT:
        PEOPLE_CHECKS[kind.label](kind.model.objects.get(pk=pk), sender.partition)
        return
    if kind.label == "journal.markentry":
        _entry_may_be_written(kind.model.objects.filter(pk=pk).values_list(*ENTRY).get(), sender)
        return
    held = {str(p) for p in kind.partitions([pk]).get(pk, set())}
    if held != {sender.partition}:
        raise Refused("other_school", "the record belongs to another school")
    check = WRITE_CHECKS.get(kind.label)
    if check is not None:
        check(kind.model.objects.get(pk=pk))


ENTRY = ("organization_id", "actor_id", "lesson_id", "work_id")


def _entry_may_be_written(row, sender) -> None:
    """A mark or absence: of the node's school (its lesson's, not only the school it names), by someone who
    teaches that subject there. A chunk holds thousands of entries of a few lessons: each answer is kept."""
    organization_id, actor_id, lesson_id, work_id = row
    memo = sender.memo
    where = ("school", lesson_id, work_id)
    if where not in memo:
        occasion = Lesson.objects.filter(pk=lesson_id) if lesson_id else SummativeWork.objects.filter(pk=work_id)
        memo[where] = occasion.values_list("assignment__school_class__organization_id", flat=True).first()
    if {organization_id, memo[where]} != {sender.node.organization_id}:
        raise Refused("other_school", "a mark of another school's lesson")
    if actor_id is None:
        raise Refused("no_author", "a mark without its author")
    allowed = ("may", actor_id, lesson_id, work_id)
    if allowed not in memo:
        actor = memo.setdefault(("actor", actor_id), Actor.for_user(User.objects.get(pk=actor_id)))
        memo[allowed] = may(actor, Action.CREATE, Mark(lesson_id=lesson_id, work_id=work_id))
    if not memo[allowed]:
        raise Refused("not_permitted", f"account {actor_id} may not write this mark")


def _school_role(membership) -> None:
    """Roles a school gives: never an officer's, an analyst's or a system administrator's."""
    if membership.role in (*AREA_ROLES, Role.SYSADMIN) or membership.district_id or membership.region_id:
        raise Refused("not_permitted", f"the role {membership.role} is not a school's to give")


WRITE_CHECKS = {"registry.membership": _school_role}


def _person_partitions(person_id: int) -> set:
    return BY_LABEL["registry.person"].partitions([person_id]).get(person_id, set())


def _in_school(person_id: int, school: str) -> bool:
    return {str(p) for p in _person_partitions(person_id)} == {school}


def _person(person, school: str) -> None:
    """A node registers new people (a new pupil's row comes before the enrollment that places them); it
    never changes an IIN, which would move someone's identity and records."""
    if derive_uid(BY_LABEL["registry.person"], {"iin": person.iin}, fk_uids={}) != person.uid:
        raise Refused("identity", "an IIN that does not match the person's id")


def _account(user, school: str) -> None:
    """An account comes from a node only for a person of its school, and never with the keys of the system."""
    if user.is_superuser or user.is_staff:
        raise Refused("not_permitted", "a system administrator's account")
    if user.person_id is None or not _in_school(user.person_id, school):
        raise Refused("other_school", "an account of someone outside the school")


def _family_link(guardianship, school: str) -> None:
    """A node links a parent only to a child of its school: never a door into another school's diary."""
    if not _in_school(guardianship.student_id, school):
        raise Refused("other_school", "a child of another school")


PEOPLE_CHECKS = {"registry.person": _person, "registry.user": _account, "registry.guardianship": _family_link}


def record_refusal(kind, r: dict, sender, refusal) -> None:
    Refusal.objects.create(
        node=sender.node,
        session=sender.session,
        kind=kind.label,
        uid=r["uid"],
        reason=refusal.reason,
        detail=refusal.detail,
    )
    record(
        Acting.of(None, reason=refusal.reason),
        Event.SYNC_REFUSE,
        f"{kind.label}:{r['uid']}",
        after={"node": str(sender.node.pk) if sender.node else None, "detail": refusal.detail[:200]},
    )
