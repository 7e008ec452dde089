"""Applying incoming records: merged field by field into the application tables, checked against scope.

Runs inside the caller's transaction (one per chunk). A record whose parent has not arrived yet is
parked and retried; a record outside the sender's scope, or that its author had no right to write,
is refused, recorded, and leaves no trace in the tables. The central server treats a school node as
untrusted: whatever a node sends, it can only ever write its own school's records.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from birtutas.kernel.ids import natural_id

from . import merge
from .capture import DELETED, flush_rows
from .kinds import BY_LABEL, RANK, Kind
from .models import Change, Conflict, Dirty, Parked, Record
from .scope import Refused, check_after, check_before, record_refusal
from .wire import digest, local_ids, read_rows


@dataclass
class Sender:
    """Who sent the records: a registered node (checked against its scope) or a trusted peer (None)."""

    node: object | None = None  # sync.Node
    session: uuid.UUID | None = None
    memo: dict = field(default_factory=dict)  # answers of the scope checks, kept for one chunk

    @property
    def partition(self) -> str | None:
        return None if self.node is None else str(self.node.organization.uid)


@dataclass
class Outcome:
    written: int = 0
    unchanged: int = 0
    parked: int = 0
    refused: list[dict] = field(default_factory=list)
    conflicts: int = 0


SECRET_FIELDS = {"password", "session_token"}


def apply(records: list[dict], sender: Sender) -> Outcome:
    out = Outcome()
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_kind[r["kind"]].append(r)
    for label in sorted(by_kind, key=RANK.__getitem__):
        _apply_kind(BY_LABEL[label], by_kind[label], sender, out)
    return out


def _apply_kind(kind: Kind, records: list[dict], sender: Sender, out: Outcome) -> None:
    relations = {f.name: f.related_model for f in kind.wire_fields() if f.is_relation}
    wanted: dict[str, set] = defaultdict(set)
    for r in records:
        for name, v in (r["values"] or {}).items():
            if name in relations and v:
                wanted[name].add(v)
            elif name in kind.many and v:
                wanted[name].update(v)
    resolved = {
        name: local_ids(relations[name] if name in relations else kind.model._meta.get_field(name).related_model, uids)
        for name, uids in wanted.items()
    }
    applied: list[dict] = []
    existing = dict(kind.model.objects.filter(uid__in=[r["uid"] for r in records]).values_list("uid", "pk"))
    existing = {str(u): pk for u, pk in existing.items()}
    if existing and not kind.immutable:
        flush_rows(kind, list(existing.values()))  # a local change not captured yet is stamped before merging
    records_by_uid = {
        str(r.uid): r
        for r in Record.objects.select_for_update().filter(kind=kind.label, uid__in=[r["uid"] for r in records])
    }
    written_ids = []
    if kind.immutable and sender.node is None:
        _insert_many(kind, records, existing, resolved, relations, out, written_ids)
        records = []
    for r in records:
        try:
            pk = existing.get(r["uid"])
            if sender.node is not None:
                check_before(kind, r, pk, sender)  # before parking too: a parked record is retried for its sender
            missing = _missing_parents(kind, r, resolved, relations)
            if missing:
                _park(kind, r, missing, sender)
                out.parked += 1
                continue
            with transaction.atomic():
                if kind.immutable:
                    if pk is not None:
                        out.unchanged += 1
                        continue
                    pk = _insert(kind, r, resolved)
                    changed = True
                else:
                    pk, changed, conflicts = _merge(kind, r, pk, records_by_uid.get(r["uid"]), resolved, sender)
                    out.conflicts += conflicts
                if sender.node is not None and pk is not None:
                    check_after(kind, r, pk, sender)
        except Refused as refusal:
            _refuse(kind, r, sender, refusal, out)
            continue
        applied.append(r)
        if changed:
            out.written += 1
            if pk is not None:
                written_ids.append(pk)
        else:
            out.unchanged += 1
    _record_changes(kind, applied)
    Parked.objects.filter(kind=kind.label, uid__in=[r["uid"] for r in applied]).delete()
    if written_ids:
        # The rows this chunk wrote are captured already: their clocks came with them.
        Dirty.objects.filter(tbl=kind.table, row_id__in=written_ids).delete()
        if kind.after_apply:
            kind.after_apply(written_ids)


def _missing_parents(kind: Kind, r: dict, resolved: dict, relations: dict) -> str:
    values = r["values"] or {}
    for name in kind.soft:  # a reference this database may never hold (an officer acting at the centre)
        if values.get(name) and values[name] not in resolved.get(name, {}):
            values[name] = None
    for name in list(relations) + list(kind.many):
        v = values.get(name)
        needed = v if isinstance(v, list) else ([v] if v else [])
        for uid in needed:
            if uid not in resolved.get(name, {}):
                return f"{name}={uid}"
    return ""


def _python_values(kind: Kind, values: dict, resolved: dict) -> dict:
    out = {}
    for f in kind.wire_fields():
        v = values.get(f.name)
        if f.is_relation:
            out[f.attname] = None if v is None else resolved[f.name][v]
        else:
            out[f.attname] = None if v is None else f.to_python(v)
    return out


def _insert(kind: Kind, r: dict, resolved: dict) -> int:
    values = _python_values(kind, r["values"], resolved)
    obj = kind.model(uid=uuid.UUID(r["uid"]), **values)
    try:
        with transaction.atomic():
            kind.model.objects.bulk_create([obj])
    except IntegrityError as error:
        raise Refused("duplicate", "another record holds the same key") from error
    pk = kind.model.objects.filter(uid=r["uid"]).values_list("pk", flat=True).get()
    _keep_creation_times(kind, pk, values)
    return pk


def _keep_creation_times(kind: Kind, pk: int, values: dict) -> None:
    stamped = {f.attname: values[f.attname] for f in kind.wire_fields() if getattr(f, "auto_now_add", False)}
    if stamped and not kind.immutable:
        kind.model.objects.filter(pk=pk).update(**stamped)


def _merge(kind: Kind, r: dict, pk: int | None, record: Record | None, resolved: dict, sender: Sender):
    names = kind.names()
    local_clocks = dict(record.clocks) if record else {}
    local_digests = {k: c[3] for k, c in local_clocks.items() if len(c) > 3}
    incoming_values = r["values"] or {}
    incoming_digests = {name: digest(incoming_values.get(name)) for name in names} if r["values"] is not None else {}
    incoming_digests[DELETED] = digest(bool(r["deleted"]))
    local_digests.setdefault(DELETED, digest(bool(record.deleted) if record else False))
    fields = names + [DELETED]
    if r["values"] is None:
        fields = [DELETED]
    outcomes = merge.merge(fields, local_clocks, r["clocks"], local_digests, incoming_digests)
    taken = [o.name for o in outcomes if o.take_incoming]
    conflicts = [o for o in outcomes if o.conflict]
    for o in conflicts:
        _conflict(kind, r, o, local_clocks, record, pk)
    if not taken:
        return pk, False, len(conflicts)
    clocks = dict(local_clocks)
    for name in taken:
        clocks[name] = [*r["clocks"][name][:3], incoming_digests[name]]
    if (record is None and pk is None) or DELETED in taken:
        deleted = bool(r["deleted"])
    else:
        deleted = record.deleted if record else False
    if deleted:
        if pk is not None:
            try:
                with transaction.atomic():
                    kind.model.objects.filter(pk=pk).delete()
            except (ProtectedError, IntegrityError) as error:
                raise Refused("in_use", "other records refer to it") from error
        pk = None
    elif pk is None:
        pk = _insert(kind, r, resolved)
        for name in kind.many:
            _set_many(kind, pk, name, incoming_values.get(name) or [], resolved)
    else:
        values = _python_values(kind, incoming_values, resolved)
        columns = {f.attname: values[f.attname] for f in kind.wire_fields() if f.name in taken}
        if columns:
            try:
                with transaction.atomic():
                    kind.model.objects.filter(pk=pk).update(**columns)
            except IntegrityError as error:
                raise Refused("duplicate", "another record holds the same key") from error
        for name in kind.many:
            if name in taken:
                _set_many(kind, pk, name, incoming_values.get(name) or [], resolved)
    Record.objects.update_or_create(kind=kind.label, uid=r["uid"], defaults={"clocks": clocks, "deleted": deleted})
    return pk, True, len(conflicts)


def _set_many(kind: Kind, pk: int, name: str, uids: list[str], resolved: dict) -> None:
    obj = kind.model.objects.get(pk=pk)
    getattr(obj, name).set([resolved[name][u] for u in uids])


def _conflict(kind: Kind, r: dict, outcome, local_clocks: dict, record, pk) -> None:
    mine, theirs = local_clocks.get(outcome.name), r["clocks"].get(outcome.name)
    kept, replaced = (theirs, mine) if outcome.take_incoming else (mine, theirs)
    local_value = _local_value(kind, pk, outcome.name, record)
    incoming_value = (r["values"] or {}).get(outcome.name) if outcome.name != DELETED else r["deleted"]
    kept_value, replaced_value = (
        (incoming_value, local_value) if outcome.take_incoming else (local_value, incoming_value)
    )
    if outcome.name in SECRET_FIELDS:  # a password hash is never shown, not even to a director
        kept_value = replaced_value = None
    partitions = [p for p, _o, _c in r["rmc"]] or [str(uuid.UUID(int=0))]
    cid = natural_id("sync.conflict", kind.label, r["uid"], outcome.name, replaced[0], replaced[1] or "")
    Conflict.objects.bulk_create(
        [
            Conflict(
                id=cid,
                partition=partitions[0],
                kind=kind.label,
                uid=r["uid"],
                field=outcome.name,
                kept=kept_value,
                replaced=replaced_value,
                kept_clock=list(kept[:3]),
                replaced_clock=list(replaced[:3]),
            )
        ],
        ignore_conflicts=True,
    )


def _local_value(kind: Kind, pk, name: str, record):
    if name == DELETED:
        return bool(record.deleted) if record else pk is None
    if pk is None:
        return None
    return read_rows(kind, [pk]).get(pk, {}).get(name)


def _record_changes(kind: Kind, records: list[dict]) -> None:
    """Keep the sender's record-max-counters, so this database can pass the records on."""
    wanted = {}
    for r in records:
        for partition, origin, counter in r["rmc"]:
            k = (r["uid"], origin, partition)
            wanted[k] = max(counter, wanted.get(k, 0))
    if not wanted:
        return
    uids = {k[0] for k in wanted}
    held = {
        (str(u), str(o), str(p)): (pk, c)
        for pk, u, o, p, c in Change.objects.filter(kind=kind.label, uid__in=list(uids)).values_list(
            "pk", "uid", "origin", "partition", "counter"
        )
    }
    new = []
    for (uid, origin, partition), counter in wanted.items():
        mine = held.get((uid, origin, partition))
        if mine is None:
            new.append(Change(kind=kind.label, uid=uid, origin=origin, partition=partition, counter=counter))
        elif mine[1] < counter:
            Change.objects.filter(pk=mine[0]).update(counter=counter)
    Change.objects.bulk_create(new, batch_size=1000)


def _insert_many(kind: Kind, records, existing, resolved, relations, out: Outcome, written_ids: list) -> None:
    """Immutable records from a trusted peer: the new ones inserted together."""
    new, seen, kept = [], set(), []
    for r in records:
        if r["uid"] in existing or r["uid"] in seen:
            out.unchanged += 1
            kept.append(r)
            continue
        missing = _missing_parents(kind, r, resolved, relations)
        if missing:
            _park(kind, r, missing, Sender())  # only a trusted peer's records come this way
            out.parked += 1
            continue
        seen.add(r["uid"])
        new.append(r)
        kept.append(r)
    objects = [kind.model(uid=uuid.UUID(r["uid"]), **_python_values(kind, r["values"], resolved)) for r in new]
    kind.model.objects.bulk_create(objects, batch_size=1000)
    out.written += len(new)
    written_ids.extend(kind.model.objects.filter(uid__in=[r["uid"] for r in new]).values_list("pk", flat=True))
    _record_changes(kind, kept)


def _sender_key(sender: Sender) -> str | None:
    return None if sender.node is None else str(sender.node.pk)


def _park(kind: Kind, r: dict, missing: str, sender: Sender) -> None:
    payload = {**r, "_sender": _sender_key(sender)}
    Parked.objects.update_or_create(kind=kind.label, uid=r["uid"], defaults={"payload": payload, "missing": missing})


def retry_parked(sender: Sender) -> Outcome:
    """Apply again what waited for a parent, once a transfer is complete; what still lacks one stays parked."""
    mine = _sender_key(sender)
    parked = [p for p in Parked.objects.order_by("since") if p.payload.get("_sender") == mine]
    if not parked:
        return Outcome()
    Parked.objects.filter(pk__in=[p.pk for p in parked]).delete()
    return apply([{k: v for k, v in p.payload.items() if k != "_sender"} for p in parked], sender)


def _refuse(kind: Kind, r: dict, sender: Sender, refusal: Refused, out: Outcome) -> None:
    record_refusal(kind, r, sender, refusal)
    out.refused.append({"kind": kind.label, "uid": r["uid"], "reason": refusal.reason})
