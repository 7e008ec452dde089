"""What to send and how to take it in: plans, chunks and their application, whatever carries them.

A plan is, per partition and origin, the counters a peer lacks: `(what the peer holds, what I hold]`.
The records it names are listed once each, in dependency order then by uid, and cut into chunks of
at most `MAX_CHUNK` bytes compressed; a key `[rank, uid]` marks where a chunk ends, so a transfer
resumes after the last chunk the receiver acknowledged, and a chunk that arrives twice is known.
The receiver applies a chunk in one transaction and raises what it holds only when the whole plan
is in: an interrupted transfer never claims what it did not get.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterator

from django.db import transaction
from django.db.models import Q

from birtutas.kernel.context import Via, acting_via, writing
from birtutas.kernel.ids import SHARED

from . import codec, have
from .apply import Outcome, Sender, apply, retry_parked
from .capture import flush
from .kinds import BY_LABEL, RANK
from .models import Change, Conflict, Record
from .wire import read_rows

MAX_CHUNK = 64 * 1024
FIRST_BATCH = 2000

Plan = dict[str, dict[str, list[int]]]  # {partition: {origin: [held by the peer, held by me]}}


def scope_partitions(organization_uid, *, writable: bool = False) -> set[str]:
    """A school node holds its school's partition and the reference data; it writes only its school's."""
    return {str(organization_uid)} if writable else {str(organization_uid), str(SHARED)}


def make_plan(peer_have: have.Vector, partitions: set[str] | None) -> Plan:
    mine = have.vector(None if partitions is None else {uuid.UUID(p) for p in partitions})
    plan: Plan = {}
    for partition, origins in mine.items():
        for origin, top in origins.items():
            held = peer_have.get(partition, {}).get(origin, 0)
            if top > held:
                plan.setdefault(partition, {})[origin] = [held, top]
    return plan


def plan_size(plan: Plan) -> int:
    return sum(top - held for origins in plan.values() for held, top in origins.values())


def listing(plan: Plan, after: list | None = None, page: int = 5000) -> Iterator[tuple[int, str, str]]:
    """Every record the plan names, once, as (rank, uid, kind): in dependency order, then by uid, after `after`.

    Read a page at a time from the change log's (kind, uid) index, so resuming deep into a large transfer
    costs no more than starting it.
    """
    if not plan:
        return
    wanted = Q()
    for partition, origins in plan.items():
        for origin, (held, top) in origins.items():
            wanted |= Q(partition=partition, origin=origin, counter__gt=held, counter__lte=top)
    start_rank = -1 if after is None else int(after[0])
    for label in sorted(RANK, key=RANK.__getitem__):
        rank = RANK[label]
        if rank < start_rank:
            continue
        last = str(after[1]) if after is not None and rank == start_rank else None
        while True:
            rows = Change.objects.filter(wanted, kind=label)
            if last is not None:
                rows = rows.filter(uid__gt=last)
            uids = list(rows.order_by("uid").values_list("uid", flat=True).distinct()[:page])
            for uid in uids:
                yield (rank, str(uid), label)
            if len(uids) < page:
                break
            last = str(uids[-1])


def chunks(
    plan: Plan, partitions: set[str] | None, *, after: list | None = None, limit: int = MAX_CHUNK
) -> Iterator[dict]:
    """Encoded chunks after the key `after`: {first_key, last_key, body, n}."""
    keys = listing(plan, after)
    pending: list = []
    size = FIRST_BATCH
    while True:
        pending.extend(itertools.islice(keys, max(0, size - len(pending))))
        if not pending:
            return
        batch = pending[:size]
        body = codec.encode(states(batch, partitions))
        if len(body) > limit and size > 1:
            size = max(1, size // 2)
            continue
        yield {
            "first_key": list(batch[0][:2]),
            "last_key": list(batch[-1][:2]),
            "body": body,
            "n": len(batch),
            "conflicts": conflicts_of([uid for _rank, uid, _kind in batch], partitions),
        }
        pending = pending[len(batch) :]
        size = max(1, min(size * 2, int(len(batch) * limit * 0.8 / max(1, len(body)))))


def states(keys: list[tuple[int, str, str]], partitions: set[str] | None) -> list[dict]:
    """The current state of each record (a tombstone for a deleted one), its clocks and counters."""
    by_kind: dict[str, list[str]] = defaultdict(list)
    for _rank, uid, kind in keys:
        by_kind[kind].append(uid)
    out = []
    for label, uids in by_kind.items():
        kind = BY_LABEL[label]
        pks = dict(kind.model.objects.filter(uid__in=uids).values_list("pk", "uid"))
        rows = {str(v["uid"]): v for v in read_rows(kind, list(pks)).values()}
        clocks = {str(r.uid): r for r in Record.objects.filter(kind=label, uid__in=uids)}
        rmc = defaultdict(list)
        changes = Change.objects.filter(kind=label, uid__in=uids)
        if partitions is not None:
            changes = changes.filter(partition__in=list(partitions))
        for uid, partition, origin, counter in changes.values_list("uid", "partition", "origin", "counter"):
            rmc[str(uid)].append([str(partition), str(origin), counter])
        for uid in uids:
            row, record = rows.get(uid), clocks.get(uid)
            if row is None and (record is None or not record.deleted):
                continue  # written and removed before it was ever captured: nothing to say
            values = None if row is None else {k: v for k, v in row.items() if k != "uid"}
            out.append(
                {
                    "kind": label,
                    "uid": uid,
                    "values": values,
                    "clocks": None
                    if kind.immutable
                    else {k: c[:3] for k, c in (record.clocks if record else {}).items()},
                    "deleted": row is None,
                    "rmc": sorted(rmc[uid]),
                }
            )
    return out


MAX_CONFLICTS = 200  # per chunk, in its signed header; conflicts are rare, and each is kept where it was found


def conflicts_of(uids: list[str], partitions: set[str] | None) -> list[dict]:
    """The conflicts this server found on these records: they travel with them, so that both sides keep
    them, whichever side happened to receive the losing value."""
    rows = Conflict.objects.filter(uid__in=uids)
    if partitions is not None:
        rows = rows.filter(partition__in=list(partitions))
    fields = ("id", "partition", "kind", "uid", "field", "kept", "replaced", "kept_clock", "replaced_clock")
    return [
        {k: str(v) if k in ("id", "partition", "uid") else v for k, v in zip(fields, row, strict=True)}
        for row in rows.values_list(*fields)[:MAX_CONFLICTS]
    ]


def take_conflicts(rows: list | None, *, school: str | None = None) -> int:
    """Keep the conflicts a peer found; a node's only for its own school (they are shown to its director)."""
    wanted = []
    for row in (rows or [])[:MAX_CONFLICTS]:
        if not isinstance(row, dict) or (school is not None and row.get("partition") != school):
            continue
        try:
            wanted.append(
                Conflict(
                    **{
                        k: row[k]
                        for k in (
                            "id",
                            "partition",
                            "kind",
                            "uid",
                            "field",
                            "kept",
                            "replaced",
                            "kept_clock",
                            "replaced_clock",
                        )
                    }
                )
            )
        except (KeyError, TypeError, ValueError):
            continue
    Conflict.objects.bulk_create(wanted, ignore_conflicts=True)
    return len(wanted)


def apply_chunk(body: bytes, sender: Sender) -> Outcome:
    """Decode a chunk (all or nothing) and apply it in the caller's transaction."""
    records = codec.decode(body)
    flush()  # local writes not captured yet get their clocks before anything is merged into them
    with acting_via(Via.SYNC), writing():
        return apply(records, sender)


def settle(sender: Sender) -> Outcome:
    """After a whole transfer: records that waited for a parent are applied, if it came."""
    with acting_via(Via.SYNC), writing():
        return retry_parked(sender)


def finish(plan: Plan, *, peer: uuid.UUID | None = None) -> None:
    """The whole plan is in: raise what this database (or, with `peer`, that peer) holds."""
    with transaction.atomic():
        have.raise_all({p: {o: top for o, (_held, top) in origins.items()} for p, origins in plan.items()}, peer=peer)


def prepare() -> int:
    """Capture local writes before planning: what is not captured cannot be sent."""
    return flush()
