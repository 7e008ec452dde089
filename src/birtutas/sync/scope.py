"""What a school node may write at the central server: its own school's records, by its own people.

Headers and claimed partitions are not trusted: the organization of each record is recomputed at the
centre from the record's own parents (a lesson -> its assignment -> its class -> the school), before
and after the write, inside a savepoint that a refusal rolls back. Reference data (regions, subjects,
curriculum objectives, grading policies) only the centre writes. A mark or absence must come from
an account that may write it at the centre (the teacher of that subject in that class).
"""

from __future__ import annotations

from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting
from birtutas.kernel.events import Event

from .models import Refusal

FAN_OUT = {"registry.person", "registry.user", "registry.guardianship"}


def _refused(reason: str, detail: str = ""):
    from .apply import Refused

    return Refused(reason, detail)


def check_before(kind, r: dict, pk: int | None, sender) -> None:
    school = sender.partition
    if kind.central:
        raise _refused("reference_data", kind.label)
    for partition, _origin, _counter in r["rmc"]:
        if partition != school:
            raise _refused("other_school", f"partition {partition}")
    if pk is not None:
        held = kind.partitions([pk]).get(pk, set())
        if kind.label in FAN_OUT:
            if not any(str(p) == school for p in held):
                raise _refused("other_school", "a person of another school")
        elif {str(p) for p in held} != {school}:
            raise _refused("other_school", "a record of another school")


def check_after(kind, r: dict, pk: int, sender) -> None:
    if kind.label in FAN_OUT:
        return
    held = {str(p) for p in kind.partitions([pk]).get(pk, set())}
    if held != {sender.partition}:
        raise _refused("other_school", "the record belongs to another school")
    check = WRITE_CHECKS.get(kind.label)
    if check is not None:
        check(kind.model.objects.get(pk=pk))


def _entry_author_may_write(entry) -> None:
    from birtutas.journal.models import Mark
    from birtutas.registry.permissions import Action, Actor, may

    if entry.actor_id is None:
        raise _refused("no_author", "a mark without its author")
    mark = Mark(student_id=entry.student_id, lesson_id=entry.lesson_id, work_id=entry.work_id)
    if not may(Actor.for_user(entry.actor), Action.CREATE, mark):
        raise _refused("not_permitted", f"account {entry.actor_id} may not write this mark")


WRITE_CHECKS = {"journal.markentry": _entry_author_may_write}


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
