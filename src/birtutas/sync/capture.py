"""Change capture: turn the rows that database triggers marked dirty into numbered, clocked changes.

Triggers on every travelling table (installed by this app's migrations, see `triggers`) write the
table and row id of each insert, update and delete into `sync_dirty`, in the writer's transaction, so
no write path (a service, a bulk COPY, the admin, a migration) escapes capture. `flush()` then, in
batches, gives each dirty row its uid, compares each field's value with the digest kept in its
`Record`, stamps the changed fields with a hybrid-logical-clock stamp later than every clock the
record had (so an edit made after seeing a value beats it, whatever the wall clocks say), and gives
the record a new counter of this database's origin in each partition it belongs to.

Capture runs before every sync and on its own in the background, never on a teacher's request:
the write stays as fast as it was. Counters are given out under a lock on the partition's counter
row held until commit, so a reader never sees counter n+1 committed before n.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict

from django.db import transaction
from django.db.models import Q

from birtutas.kernel import hlc
from birtutas.kernel.ids import uuid7

from .kinds import BY_LABEL, BY_TABLE, RANK, Kind, derive_uid
from .models import Change, Counter, Dirty, Origin, Record
from .wire import digest, read_rows, target_uids

DELETED = "~deleted"
BATCH = 2000


def self_origin() -> uuid.UUID:
    origin = Origin.objects.filter(is_self=True, retired_at__isnull=True).values_list("id", flat=True).first()
    if origin is None:
        origin = Origin.objects.create(is_self=True).id
    return origin


def retire_origin(reason: str) -> uuid.UUID:
    """Stop numbering changes under this database's origin (its counters may collide with ones already
    given out, after a restore from a backup) and open a new one."""
    from django.utils import timezone

    Origin.objects.filter(is_self=True, retired_at__isnull=True).update(
        retired_at=timezone.now(), retired_reason=reason[:200]
    )
    return self_origin()


def flush(*, progress=None) -> int:
    """Capture every dirty row; returns the number of records that changed. Safe to run at any time."""
    changed = 0
    _check_not_restored()
    while True:
        with transaction.atomic():
            batch = list(Dirty.objects.order_by("id").values_list("id", "tbl", "row_id", "uid")[:BATCH])
            if not batch:
                return changed
            changed += _capture(batch)
            Dirty.objects.filter(id__in=[b[0] for b in batch]).delete()
            transaction.on_commit(_keep_high_water)
        if progress:
            progress(changed)


def _high_water_file():
    """A node keeps the counters it gave out beside its database, in a file a restored database cannot rewind."""
    from pathlib import Path

    from django.conf import settings

    return Path(settings.NODE_FILE + ".counters") if settings.NODE_FILE else None


def _keep_high_water() -> None:
    path = _high_water_file()
    if path is None:
        return
    origin = self_origin()
    counters = {str(p): v for p, v in Counter.objects.filter(origin=origin).values_list("partition", "value")}
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"origin": str(origin), "counters": counters}))
    temporary.replace(path)


def _check_not_restored() -> None:
    """If this database gave out fewer counters than its file says, it was restored from a backup: the
    counters after its restore point were given to changes the centre may hold already, so this
    database numbers its new changes under a new origin."""
    path = _high_water_file()
    if path is None or not path.exists():
        return
    try:
        kept = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    origin = str(self_origin())
    if kept.get("origin") != origin:
        return
    mine = {str(p): v for p, v in Counter.objects.filter(origin=origin).values_list("partition", "value")}
    if any(value > mine.get(partition, 0) for partition, value in kept.get("counters", {}).items()):
        retire_origin("restored from a backup: this server had given out more counters than its database holds")
        _keep_high_water()


def flush_rows(kind: Kind, ids: list[int]) -> None:
    """Capture these rows now if they are dirty (before an incoming change is merged into them)."""
    batch = list(Dirty.objects.filter(tbl=kind.table, row_id__in=ids).values_list("id", "tbl", "row_id", "uid"))
    if batch:
        _capture(batch)
        Dirty.objects.filter(id__in=[b[0] for b in batch]).delete()


def _capture(batch) -> int:
    by_kind: dict[str, dict[int, uuid.UUID | None]] = defaultdict(dict)
    for _id, tbl, row_id, uid in batch:
        kind = BY_TABLE.get(tbl)
        if kind is not None:
            by_kind[kind.label][row_id] = uid
    origin = self_origin()
    changed = 0
    for label in sorted(by_kind, key=RANK.__getitem__):
        changed += capture_rows(BY_LABEL[label], by_kind[label], origin)
    return changed


def assign_uids(kind: Kind, ids: list[int]) -> None:
    """Give rows without one their uid: from the natural key where the kind has one."""
    attnames = [f.attname for f in kind.wire_fields()]
    raw = {
        row[0]: dict(zip(["pk", *attnames], row, strict=True))
        for row in kind.model.objects.filter(pk__in=ids, uid__isnull=True).values_list("pk", *attnames)
    }
    if not raw:
        return
    parents = {}
    for name in kind.key or ():
        f = kind.model._meta.get_field(name)
        if f.is_relation:
            parents[name] = target_uids(f.related_model, {r[f.attname] for r in raw.values() if r[f.attname]})
    wanted = {}
    for pk, values in raw.items():
        fk_uids = {name: uids.get(values[kind.model._meta.get_field(name).attname]) for name, uids in parents.items()}
        wanted[pk] = derive_uid(kind, values, fk_uids=fk_uids)
    taken = set(kind.model.objects.filter(uid__in=list(wanted.values())).values_list("uid", flat=True))
    seen = set()
    for pk, uid in wanted.items():
        if uid in taken or uid in seen:  # a natural key reused after an edit of the first record: a fresh id
            uid = uuid7()
        seen.add(uid)
        kind.model.objects.filter(pk=pk).update(uid=uid)


def capture_rows(kind: Kind, rows: dict[int, uuid.UUID | None], origin: uuid.UUID) -> int:
    ids = list(rows)
    assign_uids(kind, ids)
    current = read_rows(kind, ids, lock=True)
    gone = {pk: uid for pk, uid in rows.items() if pk not in current and uid is not None}
    if kind.immutable:
        known = set(
            Change.objects.filter(kind=kind.label, uid__in=[r["uid"] for r in current.values()]).values_list(
                "uid", flat=True
            )
        )
        fresh = {pk: r["uid"] for pk, r in current.items() if r["uid"] not in known}
        _number(kind, fresh, kind.partitions(list(fresh)), origin)
        return len(fresh)
    uids = [r["uid"] for r in current.values()] + list(gone.values())
    records = {r.uid: r for r in Record.objects.select_for_update().filter(kind=kind.label, uid__in=uids)}
    touched: dict[int, uuid.UUID] = {}
    new_records, updated = [], []
    for pk, values in current.items():
        uid = values["uid"]
        record = records.get(uid)
        clocks = dict(record.clocks) if record else {}
        changes = {}
        for name in kind.names():
            d = digest(values[name])
            if name not in clocks or clocks[name][3] != d:
                changes[name] = d
        if record is not None and record.deleted:
            changes[DELETED] = digest(False)
        if not changes:
            continue
        stamp = hlc.stamp(after=max((c[0] for c in clocks.values()), default=0))
        for name, d in changes.items():
            clocks[name] = [stamp, str(origin), clocks[name][0] if name in clocks else 0, d]
        if record is None:
            new_records.append(Record(kind=kind.label, uid=uid, clocks=clocks))
        else:
            record.clocks, record.deleted = clocks, False
            updated.append(record)
        touched[pk] = uid
    partitions = kind.partitions(list(touched))
    for pk, uid in gone.items():
        record = records.get(uid)
        if record is None or record.deleted:
            continue
        clocks = dict(record.clocks)
        stamp = hlc.stamp(after=max((c[0] for c in clocks.values()), default=0))
        clocks[DELETED] = [stamp, str(origin), clocks.get(DELETED, [0])[0], digest(True)]
        record.clocks, record.deleted = clocks, True
        updated.append(record)
        touched[pk] = uid
        partitions[pk] = set(
            Change.objects.filter(kind=kind.label, uid=uid).values_list("partition", flat=True).distinct()
        )
    Record.objects.bulk_create(new_records)
    for record in updated:
        Record.objects.filter(pk=record.pk).update(clocks=record.clocks, deleted=record.deleted)
    _number(kind, touched, partitions, origin)
    if kind.label in FANOUT:
        FANOUT[kind.label](list(current))
    return len(touched)


def _number(kind: Kind, uids: dict[int, uuid.UUID], partitions: dict[int, set], origin: uuid.UUID) -> None:
    """Give each (record, partition) the next counter of `origin` in that partition."""
    per_partition: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for pk, uid in uids.items():
        for p in partitions.get(pk, ()):
            per_partition[p].append(uid)
    for partition, members in per_partition.items():
        first = next_counters(origin, partition, len(members))
        existing = {
            c.uid: c
            for c in Change.objects.filter(kind=kind.label, uid__in=members, origin=origin, partition=partition)
        }
        new = []
        for n, uid in enumerate(members):
            if uid in existing:
                Change.objects.filter(pk=existing[uid].pk).update(counter=first + n)
            else:
                new.append(Change(partition=partition, origin=origin, counter=first + n, kind=kind.label, uid=uid))
        Change.objects.bulk_create(new)


def next_counters(origin: uuid.UUID, partition: uuid.UUID, n: int) -> int:
    """Reserve `n` counters; returns the first. The row stays locked until the transaction commits."""
    row = Counter.objects.select_for_update().filter(origin=origin, partition=partition).first()
    if row is None:
        Counter.objects.bulk_create([Counter(origin=origin, partition=partition, value=0)], ignore_conflicts=True)
        row = Counter.objects.select_for_update().get(origin=origin, partition=partition)
    first = row.value + 1
    Counter.objects.filter(pk=row.pk).update(value=row.value + n)
    from .have import raise_own

    raise_own(partition, origin, row.value + n)
    return first


def _fan_out_people(person_ids: set[int]) -> None:
    """A person newly in a school (a role, a class, a child there) joins that school's partition."""
    from birtutas.registry.models import Guardianship, User

    if not person_ids:
        return
    guardians = set(Guardianship.objects.filter(student_id__in=person_ids).values_list("guardian_id", flat=True))
    people = person_ids | guardians
    person_kind, user_kind = BY_LABEL["registry.person"], BY_LABEL["registry.user"]
    users = dict(User.objects.filter(person_id__in=people).values_list("pk", "person_id"))
    guardianships = list(
        Guardianship.objects.filter(Q(student_id__in=people) | Q(guardian_id__in=people)).values_list("pk", flat=True)
    )
    origin = self_origin()
    for kind, ids in (
        (person_kind, list(people)),
        (user_kind, list(users)),
        (BY_LABEL["registry.guardianship"], guardianships),
    ):
        if not ids:
            continue
        assign_uids(kind, ids)
        uids = dict(kind.model.objects.filter(pk__in=ids).values_list("pk", "uid"))
        wanted = kind.partitions(ids)
        held = defaultdict(set)
        for uid, p in Change.objects.filter(kind=kind.label, uid__in=list(uids.values())).values_list(
            "uid", "partition"
        ):
            held[uid].add(p)
        missing = {pk: wanted[pk] - held[uids[pk]] for pk in ids if wanted.get(pk, set()) - held[uids[pk]]}
        _number(kind, {pk: uids[pk] for pk in missing}, missing, origin)


def _fan_out(label: str, person_fields: tuple[str, ...]):
    def run(ids: list[int]) -> None:
        model = BY_LABEL[label].model
        people = set()
        for row in model.objects.filter(pk__in=ids).values_list(*person_fields):
            people |= {p for p in row if p}
        _fan_out_people(people)

    return run


FANOUT = {
    "registry.membership": _fan_out("registry.membership", ("person_id",)),
    "journal.enrollment": _fan_out("journal.enrollment", ("student_id",)),
    "registry.guardianship": _fan_out("registry.guardianship", ("guardian_id", "student_id")),
}


def pending() -> int:
    return Dirty.objects.count()
