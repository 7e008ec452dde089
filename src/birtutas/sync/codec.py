"""The body of a chunk: records of each kind as columns, ids as one table of raw 16-byte values, then zlib.

Column order puts like next to like, which is what the compressor needs: a term of marks is a few
students, lessons and values repeated thousands of times. Every uid in a chunk (a record's own, a
foreign key's, an origin) is stored once, as 16 raw bytes, and referred to by its index. Stamps are
sent as differences from the previous record's in the same kind, records sorted by stamp.

Layout: u32 length of the JSON part, the JSON part, the id table. Decoding refuses anything that is
not exactly this (a truncated or altered body never half-applies: the frame's checksum and signature
are checked first, and decoding is all-or-nothing).
"""

from __future__ import annotations

import json
import struct
import uuid
import zlib

from .frames import BadChunk
from .kinds import BY_LABEL

CODEC = "zlib-columns/1"
DELETED = "~deleted"
NEVER = [0, None, 0]
MAX_INFLATED = 64 * 1024 * 1024


class _Ids:
    def __init__(self):
        self.index: dict[str, int] = {}
        self.values: list[bytes] = []

    def __call__(self, value: str | None):
        if value is None:
            return None
        i = self.index.get(value)
        if i is None:
            i = self.index[value] = len(self.values)
            self.values.append(uuid.UUID(value).bytes)
        return i


def encode(records: list[dict]) -> bytes:
    """`records`: {kind, uid, values (None for a tombstone), clocks, deleted, rmc: [[partition, origin, counter]]}."""
    ids = _Ids()
    kinds: dict[str, dict] = {}
    by_kind: dict[str, list[dict]] = {}
    for r in records:
        by_kind.setdefault(r["kind"], []).append(r)
    for label, rows in by_kind.items():
        kind = BY_LABEL[label]
        rows.sort(key=lambda r: _stamp(r))
        names = kind.names()
        relations = {f.name for f in kind.wire_fields() if f.is_relation} | set(kind.many)
        block = {"uid": [ids(r["uid"]) for r in rows], "deleted": [1 if r["deleted"] else 0 for r in rows]}
        columns = {}
        for name in names:
            values = [None if r["values"] is None else r["values"].get(name) for r in rows]
            if name in kind.many:
                values = [None if v is None else [ids(x) for x in v] for v in values]
            elif name in relations:
                values = [ids(v) for v in values]
            columns[name] = values
        block["cols"] = columns
        if not kind.immutable:
            block["clocks"] = _clocks(rows, names, ids)
        block["rmc"] = [[[ids(p), ids(o), c] for p, o, c in r["rmc"]] for r in rows]
        kinds[label] = block
    head = json.dumps({"kinds": kinds}, separators=(",", ":"), ensure_ascii=False).encode()
    raw = struct.pack(">I", len(head)) + head + b"".join(ids.values)
    return zlib.compress(raw, 9)


def _stamp(r: dict) -> int:
    return max((c[0] for c in (r.get("clocks") or {}).values()), default=0)


def _clocks(rows: list[dict], names: list[str], ids: _Ids) -> list:
    """Per record: [stamp delta, origin, prev, {field: [stamp, origin, prev]} for fields with another clock]."""
    out, last = [], 0
    for r in rows:
        clocks = {name: r["clocks"].get(name, NEVER) for name in [*names, DELETED]}
        stamp = _stamp(r)
        main = next((c for c in clocks.values() if c[0] == stamp), NEVER)
        others = {k: [c[0], ids(c[1]), c[2]] for k, c in clocks.items() if tuple(c[:3]) != tuple(main[:3])}
        out.append([stamp - last, ids(main[1]), main[2], others])
        last = stamp
    return out


def decode(body: bytes) -> list[dict]:
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(body, MAX_INFLATED)
        if inflater.unconsumed_tail or not inflater.eof:
            raise BadChunk("the chunk does not end where it should")
        (n,) = struct.unpack(">I", raw[:4])
        head = json.loads(raw[4 : 4 + n])
        table = raw[4 + n :]
        if len(table) % 16:
            raise BadChunk("the id table is cut")
        uids = [str(uuid.UUID(bytes=table[i : i + 16])) for i in range(0, len(table), 16)]
        return list(_records(head["kinds"], uids))
    except BadChunk:
        raise
    except (zlib.error, struct.error, ValueError, KeyError, IndexError, TypeError) as error:
        raise BadChunk(f"the chunk cannot be read: {error.__class__.__name__}") from error


def _records(kinds: dict, uids: list[str]):
    def at(i):
        return None if i is None else uids[i]

    for label, block in kinds.items():
        kind = BY_LABEL.get(label)
        if kind is None:
            raise BadChunk(f"unknown kind {label}")
        names = kind.names()
        relations = {f.name for f in kind.wire_fields() if f.is_relation}
        count = len(block["uid"])
        columns = block["cols"]
        if set(columns) != set(names) or any(len(v) != count for v in columns.values()):
            raise BadChunk(f"the columns of {label} do not match this version")
        last = 0
        for i in range(count):
            deleted = bool(block["deleted"][i])
            values = None
            if not deleted:
                values = {}
                for name in names:
                    v = columns[name][i]
                    if name in kind.many:
                        v = None if v is None else [at(x) for x in v]
                    elif name in relations:
                        v = at(v)
                    values[name] = v
            clocks = None
            if not kind.immutable:
                delta, origin, prev, others = block["clocks"][i]
                stamp = last + delta
                last = stamp
                main = [stamp, at(origin), prev]
                clocks = {name: list(main) for name in [*names, DELETED]}
                for name, c in others.items():
                    clocks[name] = [c[0], at(c[1]), c[2]]
            rmc = [[at(p), at(o), c] for p, o, c in block["rmc"][i]]
            yield {
                "kind": label,
                "uid": at(block["uid"][i]),
                "values": values,
                "clocks": clocks,
                "deleted": deleted,
                "rmc": rmc,
            }
