"""The chunk codec: whatever records go in come out exactly, in a few bytes each; a damaged, cut,
random or inflating body is refused whole with `BadChunk` and nothing else."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import random
import uuid
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from birtutas.kernel import hlc
from birtutas.sync import codec
from birtutas.sync.frames import BadChunk
from birtutas.sync.kinds import BY_LABEL

DELETED = codec.DELETED
KINDS = [
    "journal.markentry",  # immutable: an HLC stamp beside the time it was taken at
    "kernel.auditevent",  # immutable, JSON fields
    "journal.lesson",  # a many-to-many list of ids, dates
    "registry.person",
    "journal.termclosure",
    "curriculum.gradingpolicy",  # a JSON field
]


def canonical(records: list[dict]) -> list[str]:
    """Records as comparable text: order of records and of dict keys aside, tuples as lists."""
    return sorted(json.dumps(r, sort_keys=True, ensure_ascii=False) for r in records)


def rfc(version: int, bits: int) -> str:
    """An RFC 9562 id of `version` (5: a natural key's, 7: time-ordered, 8: a person's) from 128 bits."""
    value = bits & ~(0xF << 76) | version << 76
    return str(uuid.UUID(int=value & ~(0x3 << 62) | 0x2 << 62))


def uid7(ms: int, rand: int) -> str:
    return rfc(7, (ms & ((1 << 48) - 1)) << 80 | rand & ((1 << 80) - 1))


def stamp_at(moment: str) -> int:
    at = dt.datetime.fromisoformat(moment)
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return hlc.pack(int(at.timestamp() * 1000) - hlc.EPOCH_MS)


# --- values as the wire has them ----------------------------------------------------------------

uids = st.one_of(
    st.uuids(),
    st.integers(0, (1 << 128) - 1).map(lambda n: uuid.UUID(int=n)),  # any version, any variant
    st.builds(uid7, st.integers(0, (1 << 48) - 1), st.integers(0, (1 << 80) - 1)).map(uuid.UUID),
).map(str)
texts = st.one_of(
    st.sampled_from(
        [
            "",
            "Дәрігердің анықтамасы әкелінді",
            "Принесена справка от врача",
            "Ғалымжан Ерболатұлы",
            "📚✏️ 5+ 🇰🇿",
            "46:7",
            "49:w10",
            "007",
            "12345678901234567890123",
            "a\nb\x00c",
            "2026-09-01T05:17:00Z",  # almost a time: must stay text
            "2026-09-01T05:17:00.000000+00:00",
            "2026-09-01T05:17:00+05:00",
            "2026-9-1",
            "2026-02-30",
            "01A21277-8142-702A-8916-6BE10623B728",  # an id not in canonical form
        ]
    ),
    st.text(st.characters(codec="utf-8"), max_size=30),
)
dates = st.dates().map(dt.date.isoformat)
moments = st.datetimes(timezones=st.sampled_from([None, dt.UTC, dt.timezone(dt.timedelta(hours=5))])).map(
    dt.datetime.isoformat
)
ints = st.one_of(st.integers(-3, 3), st.integers(0, (1 << 63) - 1), st.integers(-(1 << 70), 1 << 70))
scalars = st.one_of(
    st.none(), st.booleans(), ints, st.floats(allow_nan=False, allow_infinity=False), texts, dates, moments, uids
)
jsons = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=8,
)
# a column of one sort of value, as a real field has, or of anything
styles = st.sampled_from(
    [
        uids,
        texts,
        dates,
        moments,
        ints,
        st.booleans(),
        st.lists(uids, max_size=4),
        st.sampled_from(["mark", "points", "attendance"]),
        st.sampled_from(["4", "10", "illness"]),
        st.sampled_from(["12:3", "12:4", "13:w2"]),
        jsons,
    ]
)
clocks_of = st.tuples(st.integers(0, (1 << 63) - 1), st.none() | uids, st.integers(0, (1 << 63) - 1))


@st.composite
def batches(draw) -> list[dict]:
    records = []
    for label in draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3, unique=True)):
        kind = BY_LABEL[label]
        names = kind.names()
        columns = {}
        for name in names:
            style = draw(styles)
            columns[name] = draw(st.sampled_from([style, style | st.none(), jsons]))
        stamped = "stamp" in names and draw(st.booleans())
        origin = draw(uids)
        for uid in draw(st.lists(uids, min_size=1, max_size=12, unique=True)):
            deleted = draw(st.booleans()) if not kind.immutable else False
            values = None if deleted else {name: draw(columns[name]) for name in names}
            if stamped and values and isinstance(values.get("at"), str):
                with contextlib.suppress(ValueError, OverflowError):  # no stamp for an instant out of range
                    values["stamp"] = stamp_at(values["at"]) + draw(st.integers(0, 1 << 20))
            records.append(
                {
                    "kind": label,
                    "uid": uid,
                    "values": values,
                    "clocks": None if kind.immutable else draw(clocks(names, deleted)),
                    "deleted": deleted,
                    "rmc": draw(st.lists(st.tuples(uids, st.just(origin), st.integers(0, (1 << 63) - 1)), max_size=3)),
                }
            )
    return records


@st.composite
def clocks(draw, names: list[str], deleted: bool) -> dict:
    main = list(draw(clocks_of))
    out = {}
    for name in names:
        choice = draw(st.sampled_from(["main", "main", "other", "missing"]))
        if choice == "main":
            out[name] = list(main)
        elif choice == "other":
            out[name] = list(draw(clocks_of))
    if deleted or draw(st.booleans()):
        out[DELETED] = list(draw(clocks_of))
    if draw(st.integers(0, 9)) == 0:  # not what capture writes, yet it must travel unchanged
        out[draw(st.sampled_from([*names, "unknown"]))] = draw(st.sampled_from([[1, None, 2, "digest"], (3, None, 4)]))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_whatever_goes_in_comes_out(records):
    body = codec.encode(records)
    assert canonical(codec.decode(body)) == canonical(records)


# --- real records -------------------------------------------------------------------------------

SCHOOL = str(uuid.uuid5(uuid.NAMESPACE_URL, "school"))
ORIGIN = str(uuid.uuid4())


def term_of_marks(count: int, seed: int = 7) -> list[dict]:
    """Mark entries as a school enters them: class by class, lesson by lesson, student by student."""
    rng = random.Random(seed)
    students = [rfc(8, rng.getrandbits(128)) for _ in range(25)]
    teacher = rfc(5, rng.getrandbits(128))
    records, ms, day = [], 1_790_000_000_000, dt.datetime(2026, 9, 1, 3, 0, tzinfo=dt.UTC)
    lesson = None
    for i in range(count):
        if i % 8 == 0:
            lesson = rfc(5, rng.getrandbits(128))
            day += dt.timedelta(minutes=45)
        at = (day + dt.timedelta(seconds=40 * (i % 8))).isoformat()
        ms += rng.randrange(1, 5000)
        records.append(
            {
                "kind": "journal.markentry",
                "uid": uid7(ms, rng.getrandbits(80)),
                "values": {
                    "organization": SCHOOL,
                    "student": students[(i * 3) % 25],
                    "lesson": lesson,
                    "work": None,
                    "field": "mark",
                    "value": str(rng.randint(2, 10)),
                    "stamp": stamp_at(at),
                    "approved": False,
                    "actor": teacher,
                    "via": "web",
                    "reason": "" if rng.random() > 0.02 else "Қате қойылған баға түзетілді",
                    "at": at,
                },
                "clocks": None,
                "deleted": False,
                "rmc": [[SCHOOL, ORIGIN, 1000 + i]],
            }
        )
    return records


def lesson(uid: str, clocks: dict | None = None, *, deleted: bool = False) -> dict:
    names = BY_LABEL["journal.lesson"].names()
    clock = [hlc.pack(210_000_000_000, 3), ORIGIN, 0]
    return {
        "kind": "journal.lesson",
        "uid": uid,
        "values": None
        if deleted
        else {
            "assignment": str(uuid.uuid5(uuid.NAMESPACE_URL, "assignment")),
            "term": str(uuid.uuid5(uuid.NAMESPACE_URL, "term")),
            "date": "2026-09-15",
            "period": 4,
            "topic": "Сөз таптары",
            "homework": "Прочитать §13",
            "homework_due": None,
            "objectives": [str(uuid.uuid5(uuid.NAMESPACE_URL, "objective"))],
        },
        "clocks": {name: list(clock) for name in names} if clocks is None else clocks,
        "deleted": deleted,
        "rmc": [[SCHOOL, ORIGIN, 5718]],
    }


def test_a_term_of_marks_travels_within_the_budget():
    """DESIGN.md: at most 30 bytes a record on the wire, compressed. 9.25 of them are a UUIDv7's random bits."""
    records = term_of_marks(3000)
    body = codec.encode(records)
    assert canonical(codec.decode(body)) == canonical(records)
    assert len(body) / len(records) < 16


def test_clocks_come_back_as_they_were_captured():
    """Capture keeps no "~deleted" clock until a record is deleted: none is made up on the way."""
    fields = BY_LABEL["journal.lesson"].names()
    clock = [hlc.pack(210_000_000_000), ORIGIN, 0]
    plain = lesson(str(uuid.uuid4()))
    edited = lesson(str(uuid.uuid4()), {**{n: list(clock) for n in fields}, "topic": [clock[0] + 9, None, clock[0]]})
    partial = lesson(str(uuid.uuid4()), {"date": list(clock)})
    gone = lesson(
        str(uuid.uuid4()), {**{n: list(clock) for n in fields}, DELETED: [clock[0] + 1, ORIGIN, 0]}, deleted=True
    )
    records = [plain, edited, partial, gone]
    decoded = {r["uid"]: r for r in codec.decode(codec.encode(records))}
    assert DELETED not in decoded[plain["uid"]]["clocks"]
    assert decoded[edited["uid"]]["clocks"]["topic"] == [clock[0] + 9, None, clock[0]]
    assert decoded[partial["uid"]]["clocks"] == {"date": clock}
    assert decoded[gone["uid"]] == gone


@pytest.mark.parametrize(
    "after",
    [
        [0.0, -0.0, 0.0],
        [True, 1, 1.0],
        [1, "1", 1],
        [{"a": 1}, {"a": True}, {"a": 1}],
        ["2026-09-01", "2026-09-01", "2026-9-1"],
        [2**63, 2**63 - 1, -(2**63)],
    ],
)
def test_values_alike_yet_different_stay_apart(after):
    records = []
    for i, value in enumerate(after):
        record = term_of_marks(1, seed=i)[0]
        record["kind"], record["clocks"] = "kernel.auditevent", None
        record["values"] = {name: None for name in BY_LABEL["kernel.auditevent"].names()} | {"after": value}
        records.append(record)
    assert canonical(codec.decode(codec.encode(records))) == canonical(records)


def test_encode_refuses_records_it_could_not_give_back():
    record = lesson(str(uuid.uuid4()))
    with pytest.raises(ValueError, match="unknown kind"):
        codec.encode([{**record, "kind": "journal.nothing"}])
    with pytest.raises(ValueError, match="not its fields"):
        codec.encode([{**record, "values": {**record["values"], "extra": 1}}])


# --- damaged bodies -----------------------------------------------------------------------------

BODY = codec.encode(term_of_marks(300) + [lesson(str(uuid.uuid4())) for _ in range(20)])
RAW = zlib.decompress(BODY)


def refused_or_whole(body: bytes) -> None:
    """Decoding either refuses with `BadChunk` or gives back well-formed records; nothing else escapes."""
    try:
        records = codec.decode(body)
    except BadChunk:
        return
    for r in records:
        assert set(r) == {"kind", "uid", "values", "clocks", "deleted", "rmc"}


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(BODY) - 1))
def test_a_cut_body_is_refused(at):
    with pytest.raises(BadChunk):
        codec.decode(BODY[:at])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(BODY) * 8 - 1))
def test_a_flipped_bit_is_refused(bit):
    body = bytearray(BODY)
    body[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(BadChunk):
        codec.decode(bytes(body))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_are_refused(data):
    with pytest.raises(BadChunk):
        codec.decode(data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_an_altered_body_with_a_good_checksum_is_refused_or_read_whole(data):
    """Past zlib's checksum (a body altered before compression): still only `BadChunk`, never a crash."""
    raw = bytearray(RAW)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        how = data.draw(st.sampled_from(["flip", "byte", "cut", "insert"]))
        if how == "flip":
            raw[at] ^= 1 << data.draw(st.integers(0, 7))
        elif how == "byte":
            raw[at] = data.draw(st.integers(0, 255))
        elif how == "cut":
            del raw[at : at + data.draw(st.integers(1, 64))]
        else:
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=16))
    refused_or_whole(zlib.compress(bytes(raw)))


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_raw_bodies_are_refused_or_read_whole(data):
    refused_or_whole(zlib.compress(bytes([codec.FORMAT]) + data))


def test_anything_after_the_end_is_refused():
    assert canonical(codec.decode(zlib.compress(RAW))) == canonical(codec.decode(BODY))
    with pytest.raises(BadChunk, match="does not end"):
        codec.decode(zlib.compress(RAW + b"\x00"))
    with pytest.raises(BadChunk, match="does not end"):
        codec.decode(BODY + b"\x00")
    with pytest.raises(BadChunk, match="format"):
        codec.decode(zlib.compress(b"\x01" + RAW[1:]))


def test_an_inflating_body_is_refused():
    bomb = zlib.compress(bytes([codec.FORMAT]) + bytes(codec.MAX_INFLATED + 1), 9)
    assert len(bomb) < 100 * 1024
    with pytest.raises(BadChunk, match="inflates beyond"):
        codec.decode(bomb)


def hand_made(records: int, columns: list[str]) -> bytes:
    """A body made by hand: no ids, one kind of `records` records, each column one JSON value for all."""
    out = codec._Out()
    out.data.append(codec.FORMAT)
    out.uint(0)  # no ids
    out.uint(0)  # no milliseconds of ids
    out.uint(1)  # one kind
    out.text("journal.markentry")
    out.uint(records)
    for value in columns:
        out.uint(codec.CONST)
        out.text(value)
    return zlib.compress(bytes(out.data))


FIELDS = len(BY_LABEL["journal.markentry"].names())


def test_a_small_body_cannot_claim_a_huge_answer():
    with pytest.raises(BadChunk, match="larger than the chunk"):
        codec.decode(hand_made(10**9, ['"x"']))
    big = json.dumps({"text": "ә" * 4000})
    with pytest.raises(BadChunk, match="repeated beyond"):
        codec.decode(hand_made(codec.MAX_RECORDS, [big]))
    # uid, deleted, has values (none); fields; clocks: all odd, null; then 1000 partitions per record
    columns = ['"x"', "false", "false", *["null"] * FIELDS, "true", "null", *["0"] * 9, "1000", *["0"] * 3]
    with pytest.raises(BadChunk, match="more values"):
        codec.decode(hand_made(10_000, columns))
    columns = ['"x"', "false", "false", *["null"] * FIELDS, "true", "null", *["0"] * 9, "1", *["0"] * 3]
    assert len(codec.decode(hand_made(10, columns))) == 10  # the same, made right, reads


def test_an_empty_chunk():
    assert codec.decode(codec.encode([])) == []
