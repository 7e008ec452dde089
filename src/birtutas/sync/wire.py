"""Field values as they travel: plain JSON values, a foreign key as the uid of the record it points to."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import uuid
from collections import defaultdict

from django.db import models

from .kinds import BY_TABLE, Kind


def to_wire(value):
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def digest(value) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def read_rows(kind: Kind, ids: list[int], *, lock: bool = False) -> dict[int, dict]:
    """The wire values of rows of `kind` (by local id), with their own `uid` under "uid"."""
    fields = kind.wire_fields()
    qs = kind.model.objects.filter(pk__in=ids)
    if lock:
        qs = qs.select_for_update()
    columns = ["pk", "uid"] + [f.attname for f in fields]
    rows = {r[0]: dict(zip(columns, r, strict=True)) for r in qs.values_list(*columns)}
    # foreign keys: local id -> uid of the target
    for f in fields:
        if not f.is_relation:
            continue
        targets = {r[f.attname] for r in rows.values() if r[f.attname] is not None}
        uids = target_uids(f.related_model, targets)
        for r in rows.values():
            r[f.attname] = None if r[f.attname] is None else uids.get(r[f.attname])
    out = {}
    for pk, r in rows.items():
        values = {f.name: to_wire(r[f.attname]) for f in fields}
        out[pk] = {"uid": r["uid"], **values}
    for name in kind.many:
        through = kind.model._meta.get_field(name).remote_field.through
        src = f"{kind.model._meta.model_name}_id"
        dst_field = kind.model._meta.get_field(name)
        dst = f"{dst_field.related_model._meta.model_name}_id"
        pairs = through.objects.filter(**{f"{src}__in": list(out)}).values_list(src, dst)
        linked = defaultdict(list)
        for a, b in pairs:
            linked[a].append(b)
        uids = target_uids(dst_field.related_model, {b for _, b in pairs})
        for pk, values in out.items():
            values[name] = sorted(str(uids[b]) for b in linked.get(pk, ()) if uids.get(b))
    return out


def target_uids(model: type[models.Model], ids: set[int]) -> dict[int, uuid.UUID]:
    """Local ids -> uids, giving a uid first to any target that has none yet (captured in the same flush)."""
    if not ids:
        return {}
    found = dict(model.objects.filter(pk__in=ids).values_list("pk", "uid"))
    lacking = [pk for pk, uid in found.items() if uid is None]
    if lacking and model._meta.db_table in BY_TABLE:
        from .capture import assign_uids

        assign_uids(BY_TABLE[model._meta.db_table], lacking)
        found.update(model.objects.filter(pk__in=lacking).values_list("pk", "uid"))
    return {pk: uid for pk, uid in found.items() if uid is not None}


def local_ids(model: type[models.Model], uids: set[str]) -> dict[str, int]:
    if not uids:
        return {}
    return {str(u): pk for pk, u in model.objects.filter(uid__in=list(uids)).values_list("pk", "uid")}
