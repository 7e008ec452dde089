"""The body of a chunk: the records of each kind as typed columns, one table of ids, then zlib.

A term of marks is a few students, lessons and values repeated thousands of times, entered one after
another; the layout lets the compressor see exactly that. Records of a kind are put in the order
they were written (by counter) and every field becomes one column of small integers where it can:
an id is its place in the chunk's id table, an integer, a date or an instant is the difference from
the record before, a text of a few values is its number in a list of them. What is left is mostly
the random part of the ids, which nothing can compress (a UUIDv7 has 74 random bits, other ids 122).

The body before compression; integers are LEB128 varints, signed ones zigzagged:

    FORMAT                 one byte
    id table               count; each id's version (a byte); the milliseconds of the UUIDv7 ids as
                           differences; then each id's remaining bits packed end to end: 74 for a
                           UUIDv7, 122 for another RFC 9562 id, all 128 for any other
    kinds                  count, then per kind: its label, its record count and these columns:
      uid, deleted, has-values
      each field           of `Kind.names()`, over the records that have values
      clocks               irregular? (and those records' clocks as JSON); for the regular ones
                           ([stamp, origin, prev] for fields and "~deleted", some maybe missing):
                           the clock most fields share, then how many keys differ from it and, for
                           each, its place among the fields and "~deleted", whether it is missing,
                           and the clocks of those not missing
      rmc                  entries per record, then the partition, origin and counter of each
    a column               a tag, then:
      CONST                one JSON value, the same for every record
      NULLS                a byte per record (0: None), then a column of the others
      MIXED                a byte per value (bool, int, text, other), then a column of each
      BOOL                 a byte per value
      INT                  the time column its stamps are taken from (0: none), then INTS
      REF, IDLIST          places in the id table as INTS (for a list: lengths as INTS first)
      DATE                 days as INTS
      TIME                 unit (seconds, milliseconds or microseconds), zone (UTC or none), INTS
      WORDS                the distinct texts, then each value's number in them
      SHAPES               texts with numbers in them ("46:7"): a column of their shapes (the text
                           around the numbers), then a column of INTS for each place of a number
      TEXT, JSON           lengths, then the UTF-8 bytes
    INTS                   RAW or DELTA (differences from the value before), then a varint each;
                           a stamp column holds its distance from the stamp of its record's time

A value comes back exactly as it went: a text becomes a date, an instant, an id or numbers only
if writing it back gives the same text; an integer travels as one only within 64 bits; anything
else travels as JSON. Decoding is all or nothing: a truncated, altered (zlib's checksum) or random
body raises `BadChunk`, never anything else; inflating stops at `MAX_INFLATED`, and every count a
body claims is bounded (`MAX_RECORDS`, `MAX_ITEMS`), so a small body cannot make a huge answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import zlib
from collections import Counter

from birtutas.kernel.hlc import EPOCH_MS, LOGICAL_BITS

from .frames import BadChunk
from .kinds import BY_LABEL

CODEC = "zlib-columns/2"
FORMAT = 2
DELETED = "~deleted"
MAX_INFLATED = 64 * 1024 * 1024
MAX_RECORDS = 1 << 16  # per body; a chunk of at most 64 KiB holds a few thousand
MAX_ITEMS = 1 << 23  # values of all columns of a body together

CONST, NULLS, MIXED, BOOL, INT, REF, IDLIST, DATE, TIME, WORDS, SHAPES, TEXT, JSON = range(13)
RAW, DELTA = range(2)
UNITS = (1_000_000, 1000, 1)  # of an instant, in microseconds
# what reading a damaged body can raise (RuntimeError: RecursionError too, for JSON nested too deep)
UNREADABLE = (zlib.error, ValueError, KeyError, IndexError, TypeError, OverflowError, StopIteration, RuntimeError)

_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?(\+00:00)?\Z")
_NUMBER = re.compile(r"0|[1-9][0-9]{0,17}")  # as str(int) writes it, and within 64 bits
_INT64 = 1 << 63
_UTC_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAIVE_EPOCH = dt.datetime(1970, 1, 1)
_US = dt.timedelta(microseconds=1)


# --- bytes --------------------------------------------------------------------------------------


class _Out:
    def __init__(self):
        self.data = bytearray()

    def uint(self, v: int) -> None:
        data = self.data
        while v > 0x7F:
            data.append((v & 0x7F) | 0x80)
            v >>= 7
        data.append(v)

    def int(self, v: int) -> None:
        self.uint(v << 1 if v >= 0 else ((-v) << 1) - 1)

    def text(self, s: str) -> None:
        b = s.encode()
        self.uint(len(b))
        self.data += b


class _In:
    """Reads a body; `items` counts the values it has handed out, against `MAX_ITEMS`."""

    def __init__(self, data: bytes):
        self.data = data
        self.at = 0
        self.items = 0

    def charge(self, n: int) -> int:
        self.items += n
        if self.items > MAX_ITEMS:
            raise BadChunk("the chunk claims more values than a chunk may hold")
        return n

    def uint(self) -> int:
        data, at = self.data, self.at
        value = shift = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                self.at = at
                return value
            shift += 7
            if shift > 63:
                raise BadChunk("a number is too long")

    def count(self, limit: int) -> int:
        n = self.uint()
        if n > limit:
            raise BadChunk("a count is larger than the chunk can hold")
        return n

    def bytes(self, n: int) -> bytes:
        if n > len(self.data) - self.at:
            raise BadChunk("the chunk is cut")
        self.at += n
        return self.data[self.at - n : self.at]

    def text(self) -> str:
        return self.bytes(self.uint()).decode()

    def flags(self, n: int, kinds: int = 2) -> bytes:
        b = self.bytes(self.charge(n))
        if b.strip(bytes(range(kinds))):
            raise BadChunk("a flag out of range")
        return b


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- integers -----------------------------------------------------------------------------------


def _put_ints(values: list[int], out: _Out) -> None:
    """As themselves or as differences from the one before, whichever is shorter."""
    _write_plan(_int_plan(values), out)


def _int_plan(values: list[int]) -> tuple[int, list[int], int]:
    """(mode, the integers to write, their size in bits, about)."""
    deltas = [b - a for a, b in zip([0, *values], values, strict=False)]
    raw_size = sum(map(int.bit_length, map(abs, values)))
    delta_size = sum(map(int.bit_length, map(abs, deltas)))
    return (DELTA, deltas, delta_size) if delta_size < raw_size else (RAW, values, raw_size)


def _write_plan(plan: tuple[int, list[int], int], out: _Out) -> None:
    data = out.data
    data.append(plan[0])
    append = data.append
    for v in plan[1]:
        v = v << 1 if v >= 0 else ((-v) << 1) - 1
        while v > 0x7F:
            append((v & 0x7F) | 0x80)
            v >>= 7
        append(v)


def _get_ints(src: _In, n: int) -> list[int]:
    mode = src.uint()
    if mode not in (RAW, DELTA):
        raise BadChunk("an unknown kind of integers")
    data, at = src.data, src.at
    out = []
    append = out.append
    for _ in range(src.charge(n)):
        v = data[at]
        at += 1
        if v > 0x7F:
            v &= 0x7F
            shift = 7
            while True:
                byte = data[at]
                at += 1
                v |= (byte & 0x7F) << shift
                if byte < 0x80:
                    break
                shift += 7
                if shift > 63:
                    raise BadChunk("a number is too long")
        append(-((v + 1) >> 1) if v & 1 else v >> 1)
    src.at = at
    return list(itertools.accumulate(out)) if mode == DELTA else out


# --- the id table -------------------------------------------------------------------------------

_RAND_B = (1 << 62) - 1


class _Ids:
    """Every id of a chunk, once, in the order first met; columns hold their places."""

    def __init__(self):
        self.place: dict[str, int] = {}

    def __call__(self, value: str) -> int:
        i = self.place.get(value)
        if i is None:
            i = self.place[value] = len(self.place)
        return i

    def write(self, out: _Out) -> None:
        out.uint(len(self.place))
        versions, bits, ms = bytearray(), [], _Out()
        last = 0
        for text in self.place:
            n = int(text.replace("-", ""), 16)
            version = (n >> 76) & 0xF if (n >> 62) & 0x3 == 0x2 else 0
            versions.append(version)
            rest = ((n >> 64) & 0xFFF) << 62 | n & _RAND_B  # rand_a, rand_b
            if version == 7:
                ms.int((n >> 80) - last)
                last = n >> 80
                bits.append(f"{rest:074b}")
            elif version:
                bits.append(f"{(n >> 80) << 74 | rest:0122b}")
            else:
                bits.append(f"{n:0128b}")
        out.data += versions
        out.uint(len(ms.data))
        out.data += ms.data
        packed = "".join(bits)
        packed += "0" * (-len(packed) % 8)
        if packed:
            out.data += int(packed, 2).to_bytes(len(packed) // 8, "big")

    @staticmethod
    def read(src: _In) -> list[str]:
        n = src.count(MAX_RECORDS * 8)
        versions = src.bytes(n)
        if versions.strip(bytes(range(16))):
            raise BadChunk("an id of no version")
        ms = _In(src.bytes(src.uint()))
        widths = [74 if v == 7 else 122 if v else 128 for v in versions]
        total = sum(widths)
        packed = src.bytes((total + 7) // 8)
        bits = f"{int.from_bytes(packed, 'big'):0{len(packed) * 8}b}" if packed else ""
        ids, last, at = [], 0, 0
        for version, width in zip(versions, widths, strict=True):
            v = int(bits[at : at + width], 2)
            at += width
            if version == 7:
                last += _zigzag(ms.uint())
                if not 0 <= last < 1 << 48:
                    raise BadChunk("an id out of range")
                v = last << 80 | 0x7 << 76 | (v >> 62) << 64 | 0x2 << 62 | v & _RAND_B
            elif version:
                v = (v >> 74) << 80 | version << 76 | ((v >> 62) & 0xFFF) << 64 | 0x2 << 62 | v & _RAND_B
            h = f"{v:032x}"
            ids.append(f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}")
        if ms.at != len(ms.data) or int(bits[at:] or "0", 2):
            raise BadChunk("the id table does not end where it should")
        return ids


def _zigzag(v: int) -> int:
    return -((v + 1) >> 1) if v & 1 else v >> 1


# --- texts that are something else --------------------------------------------------------------


def _is_moment(s: str) -> bool:
    """An instant as `isoformat()` writes it, in UTC or without a zone."""
    if not _MOMENT.match(s):
        return False
    try:
        return dt.datetime.fromisoformat(s).isoformat() == s
    except ValueError:
        return False


def _is_date(s: str) -> bool:
    if not _DATE.match(s):
        return False
    try:
        return dt.date.fromisoformat(s).isoformat() == s
    except ValueError:
        return False


def _is_time_column(values: list) -> bool:
    if not values or not all(type(v) is str and _is_moment(v) for v in values):
        return False
    return len({v.endswith("+00:00") for v in values}) == 1


def _moment_us(s: str) -> int:
    d = dt.datetime.fromisoformat(s)
    return (d - (_NAIVE_EPOCH if d.tzinfo is None else _UTC_EPOCH)) // _US


def _stamp_of(moment: str) -> int:
    """The hybrid-logical-clock stamp of an instant: its milliseconds, no logical part."""
    return (_moment_us(moment) // 1000 - EPOCH_MS) << LOGICAL_BITS


def _classes(values: list) -> list[int]:
    kinds = set(map(type, values))
    if kinds == {str}:
        return [2] * len(values)
    if kinds == {int} and min(values) >= -_INT64 and max(values) < _INT64:
        return [1] * len(values)
    return [_class_of(v) for v in values]


def _class_of(value) -> int:
    if type(value) is bool:
        return 0
    if type(value) is int and -_INT64 <= value < _INT64:
        return 1
    return 2 if type(value) is str else 3


# --- columns ------------------------------------------------------------------------------------


class _Columns:
    """Writes the columns of one chunk into `out`, or reads them from `src`, sharing its id table."""

    def __init__(self, *, ids: _Ids | None = None, table: list[str] | None = None):
        self.ids = ids
        self.table = table

    def put(self, values: list, out: _Out, *, stamps: tuple[int, list[int]] | None = None, time: bool = False) -> None:
        """`stamps`: (the place of a time column of the same records, the stamps of its instants);
        `time`: these values are known to be a time column."""
        if not values or _all_same(values):
            out.uint(CONST)
            out.text(_dumps(values[0] if values else None))
            return
        present = [v for v in values if v is not None]
        if len(present) < len(values):
            out.uint(NULLS)
            out.data += bytes(v is not None for v in values)
            self.put(present, out)
            return
        classes = _classes(values)
        if len(set(classes)) > 1:
            out.uint(MIXED)
            out.data += bytes(classes)
            for c in range(4):
                group = [v for v, k in zip(values, classes, strict=True) if k == c]
                if group and c == 3:
                    self._blobs(JSON, [_dumps(v) for v in group], out)
                elif group:
                    self.put(group, out)
        elif classes[0] == 0:
            out.uint(BOOL)
            out.data += bytes(values)
        elif classes[0] == 1:
            out.uint(INT)
            plain = _int_plan(values)
            if stamps is not None:
                of, base = stamps
                measured = _int_plan([v - b for v, b in zip(values, base, strict=True)])
                if measured[2] < plain[2]:
                    out.uint(of + 1)
                    _write_plan(measured, out)
                    return
            out.uint(0)
            _write_plan(plain, out)
        elif classes[0] == 2:
            self._texts(values, out, time=time)
        elif all(type(v) is list for v in values) and all(type(x) is str and _UID.match(x) for v in values for x in v):
            out.uint(IDLIST)
            _put_ints([len(v) for v in values], out)
            _put_ints([self.ids(x) for v in values for x in v], out)
        else:
            self._blobs(JSON, [_dumps(v) for v in values], out)

    def _texts(self, values: list[str], out: _Out, *, time: bool) -> None:
        if all(_UID.match(v) for v in values):
            out.uint(REF)
            _put_ints([self.ids(v) for v in values], out)
        elif all(map(_is_date, values)):
            out.uint(DATE)
            _put_ints([dt.date.fromisoformat(v).toordinal() for v in values], out)
        elif time or _is_time_column(values):
            us = [_moment_us(v) for v in values]
            unit = next(u for u in UNITS if all(x % u == 0 for x in us))
            out.uint(TIME)
            out.uint(unit)
            out.uint(int(values[0].endswith("+00:00")))
            _put_ints([x // unit for x in us], out)
        else:
            words = list(dict.fromkeys(values))
            if len(words) <= len(values) // 4:
                out.uint(WORDS)
                out.uint(len(words))
                for w in words:
                    out.text(w)
                number = {w: i for i, w in enumerate(words)}
                for v in values:
                    out.uint(number[v])
            elif not self._shapes(values, out):
                self._blobs(TEXT, values, out)

    def _shapes(self, values: list[str], out: _Out) -> bool:
        """Texts of a few shapes with numbers in them: the shapes, then the numbers of each place."""
        shapes = [_dumps(_NUMBER.split(v)) for v in values]
        numbers = [[int(x) for x in _NUMBER.findall(v)] for v in values]
        if len(set(shapes)) > len(values) // 4 or not any(numbers):
            return False
        out.uint(SHAPES)
        self.put(shapes, out)
        for place in range(max(map(len, numbers))):
            _put_ints([n[place] for n in numbers if len(n) > place], out)
        return True

    @staticmethod
    def _blobs(tag: int, texts: list[str], out: _Out) -> None:
        out.uint(tag)
        encoded = [t.encode() for t in texts]
        for b in encoded:
            out.uint(len(b))
        out.data += b"".join(encoded)

    def get(self, src: _In, n: int) -> list:
        tag = src.uint()
        if tag == CONST:
            text = src.text()
            value = json.loads(text)
            src.charge(n)
            if isinstance(value, (list, dict)):  # each record its own copy
                if n * len(text) > MAX_INFLATED:
                    raise BadChunk("a value repeated beyond what a chunk may hold")
                return [json.loads(text) for _ in range(n)]
            return [value] * n
        if tag == NULLS:
            mask = src.flags(n)
            present = iter(self.get(src, mask.count(1)))
            return [next(present) if b else None for b in mask]
        if tag == MIXED:
            classes = src.flags(n, 4)
            groups = [iter(self.get(src, classes.count(c)) if c in classes else ()) for c in range(4)]
            return [next(groups[c]) for c in classes]
        if tag == BOOL:
            return [bool(b) for b in src.flags(n)]
        if tag == INT:
            of = src.uint()
            values = _get_ints(src, n)
            return _Stamped(values, of - 1) if of else values
        if tag == REF:
            return [self._id(i) for i in _get_ints(src, n)]
        if tag == IDLIST:
            lengths = _get_ints(src, n)
            if any(k < 0 for k in lengths):
                raise BadChunk("a list of negative length")
            flat = iter([self._id(i) for i in _get_ints(src, sum(lengths))])
            return [list(itertools.islice(flat, k)) for k in lengths]
        if tag == DATE:
            return [dt.date.fromordinal(d).isoformat() for d in _get_ints(src, n)]
        if tag == TIME:
            unit = src.uint()
            if unit not in UNITS:
                raise BadChunk("an unknown unit of time")
            epoch = _UTC_EPOCH if src.uint() else _NAIVE_EPOCH
            return [(epoch + x * unit * _US).isoformat() for x in _get_ints(src, n)]
        if tag == WORDS:
            words = [src.text() for _ in range(src.count(MAX_ITEMS))]
            numbers = [src.uint() for _ in range(src.charge(n))]
            if numbers and max(numbers) >= len(words):
                raise BadChunk("a word out of range")
            return [words[i] for i in numbers]
        if tag == SHAPES:
            shapes = [json.loads(s) for s in self.get(src, n)]
            if any(type(s) is not list or not s or any(type(p) is not str for p in s) for s in shapes):
                raise BadChunk("a bad shape of text")
            places = max((len(s) - 1 for s in shapes), default=0)
            numbers = [iter(_get_ints(src, sum(len(s) > k + 1 for s in shapes))) for k in range(places)]
            return ["".join(_fill(s, numbers)) for s in shapes]
        if tag in (TEXT, JSON):
            lengths = [src.count(MAX_INFLATED) for _ in range(src.charge(n))]
            texts = [src.bytes(k).decode() for k in lengths]
            return texts if tag == TEXT else [json.loads(t) for t in texts]
        raise BadChunk("an unknown kind of column")

    def _id(self, i: int) -> str:
        if not 0 <= i < len(self.table):
            raise BadChunk("an id out of range")
        return self.table[i]


def _all_same(values: list) -> bool:
    first = values[0]
    kind = type(first)
    if kind in (list, dict, float):  # a float: 0.0 == -0.0, yet they are two values
        text = _dumps(first)
        return len(text) * len(values) <= MAX_INFLATED and all(type(v) is kind and _dumps(v) == text for v in values)
    return all(type(v) is kind and v == first for v in values)


def _fill(parts: list[str], numbers: list) -> list[str]:
    out = [parts[0]]
    for place, part in enumerate(parts[1:]):
        out += [str(next(numbers[place])), part]
    return out


class _Stamped(list):
    """Stamps read as distances from the stamps of the instants of time column `of`, not yet added."""

    def __init__(self, values: list[int], of: int):
        super().__init__(values)
        self.of = of


# --- records ------------------------------------------------------------------------------------


def _order(record: dict) -> tuple:
    """The order records were written in, which the compressor likes best: by counter, then id."""
    return (min((c for _p, _o, c in record["rmc"]), default=-1), record["uid"])


def _is_clock(clock) -> bool:
    return (
        type(clock) in (list, tuple)
        and len(clock) == 3
        and type(clock[0]) is int
        and type(clock[2]) is int
        and -_INT64 <= clock[0] < _INT64
        and -_INT64 <= clock[2] < _INT64
        and (clock[1] is None or (type(clock[1]) is str and _UID.match(clock[1]) is not None))
    )


def _write_kind(label: str, rows: list[dict], cols: _Columns, out: _Out) -> None:
    names = BY_LABEL[label].names()
    out.text(label)
    out.uint(len(rows))
    cols.put([r["uid"] for r in rows], out)
    cols.put([r["deleted"] for r in rows], out)
    cols.put([r["values"] is not None for r in rows], out)
    full = [r["values"] for r in rows if r["values"] is not None]
    if any(v.keys() != set(names) for v in full):
        raise ValueError(f"the values of a {label} record are not its fields")
    columns = [[v[name] for v in full] for name in names]
    time = next((i for i, c in enumerate(columns) if _is_time_column(c)), None)
    stamps = None if time is None else (time, [_stamp_of(v) for v in columns[time]])
    for i, column in enumerate(columns):
        cols.put(column, out, stamps=stamps, time=i == time)
    _write_clocks(rows, [*names, DELETED], cols, out)
    if any(type(c) not in (list, tuple) or len(c) != 3 for r in rows for c in r["rmc"]):
        raise ValueError("an rmc entry is not [partition, origin, counter]")
    cols.put([len(r["rmc"]) for r in rows], out)
    flat = [c for r in rows for c in r["rmc"]]
    for i in range(3):
        cols.put([c[i] for c in flat], out)


def _write_clocks(rows: list[dict], keys: list[str], cols: _Columns, out: _Out) -> None:
    """A record's clocks: the one most of its fields share, then each key whose clock differs or is missing."""
    keyset = set(keys)
    odd = [
        not (type(r["clocks"]) is dict and r["clocks"].keys() <= keyset and all(map(_is_clock, r["clocks"].values())))
        for r in rows
    ]
    cols.put(odd, out)
    cols.put([r["clocks"] for r, o in zip(rows, odd, strict=True) if o], out)
    regular = [r["clocks"] for r, o in zip(rows, odd, strict=True) if not o]
    mains = [_main_clock(c, keys) for c in regular]
    others = [
        [(place, c.get(key)) for place, key in enumerate(keys) if key not in c or tuple(c[key]) != main]
        for c, main in zip(regular, mains, strict=True)
    ]
    for i in range(3):
        cols.put([m[i] for m in mains], out)
    cols.put([len(o) for o in others], out)
    flat = [x for o in others for x in o]
    cols.put([place for place, _c in flat], out)
    cols.put([c is None for _place, c in flat], out)
    present = [c for _place, c in flat if c is not None]
    for i in range(3):
        cols.put([c[i] for c in present], out)


def _main_clock(clocks: dict, keys: list[str]) -> tuple:
    shared = Counter(tuple(clocks[k]) for k in keys[:-1] if k in clocks) or Counter(map(tuple, clocks.values()))
    return shared.most_common(1)[0][0] if shared else (0, None, 0)


def _read_kind(src: _In, cols: _Columns, room: int) -> list[dict]:
    label = src.text()
    kind = BY_LABEL.get(label)
    if kind is None:
        raise BadChunk(f"unknown kind {label}")
    names = kind.names()
    n = src.count(room)
    uids = cols.get(src, n)
    deleted = cols.get(src, n)
    has = _flags(cols.get(src, n))
    columns = [cols.get(src, sum(has)) for _ in names]
    for column in columns:
        if isinstance(column, _Stamped):
            if not 0 <= column.of < len(names) or not _is_time_column(columns[column.of]):
                raise BadChunk("a stamp without its time")
            column[:] = [v + _stamp_of(t) for v, t in zip(column, columns[column.of], strict=True)]
    full = iter([dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)])
    values = [next(full) if h else None for h in has]
    clocks = _read_clocks(src, n, [*names, DELETED], cols)
    counts = _counts(cols.get(src, n))
    flat = list(zip(*(cols.get(src, sum(counts)) for _ in range(3)), strict=True))
    rmc = []
    for k in counts:
        rmc.append([list(c) for c in flat[:k]])
        del flat[:k]
    return [
        {"kind": label, "uid": u, "values": v, "clocks": c, "deleted": d, "rmc": r}
        for u, v, c, d, r in zip(uids, values, clocks, deleted, rmc, strict=True)
    ]


def _read_clocks(src: _In, n: int, keys: list[str], cols: _Columns) -> list:
    odd = _flags(cols.get(src, n))
    irregular = iter(cols.get(src, sum(odd)))
    m = n - sum(odd)
    mains = list(zip(*(cols.get(src, m) for _ in range(3)), strict=True))
    counts = _counts(cols.get(src, m))
    total = sum(counts)
    places = cols.get(src, total)
    if any(type(place) is not int or not 0 <= place < len(keys) for place in places):
        raise BadChunk("a clock of no field")
    missing = _flags(cols.get(src, total))
    present = iter(zip(*(cols.get(src, total - sum(missing)) for _ in range(3)), strict=True))
    others = iter(zip(places, missing, strict=True))
    regular = []
    for main, count in zip(mains, counts, strict=True):
        clocks = {key: list(main) for key in keys}
        for place, gone in itertools.islice(others, count):
            if gone:
                del clocks[keys[place]]
            else:
                clocks[keys[place]] = list(next(present))
        regular.append(clocks)
    found = iter(regular)
    return [next(irregular) if o else next(found) for o in odd]


def _flags(values: list) -> list[bool]:
    if any(type(v) is not bool for v in values):
        raise BadChunk("a flag that is not one")
    return values


def _counts(values: list) -> list[int]:
    if any(type(v) is not int or v < 0 for v in values):
        raise BadChunk("a bad count")
    return values


# --- the body -----------------------------------------------------------------------------------


def encode(records: list[dict]) -> bytes:
    """`records`: {kind, uid, values (None for a tombstone), clocks, deleted, rmc: [[partition, origin, counter]]}."""
    if len(records) > MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS} records travel in one chunk")
    by_kind: dict[str, list[dict]] = {}
    for r in records:
        if r["kind"] not in BY_LABEL:
            raise ValueError(f"unknown kind {r['kind']}")
        by_kind.setdefault(r["kind"], []).append(r)
    cols = _Columns(ids=_Ids())
    kinds = _Out()
    kinds.uint(len(by_kind))
    for label, rows in by_kind.items():
        _write_kind(label, sorted(rows, key=_order), cols, kinds)
    out = _Out()
    out.data.append(FORMAT)
    cols.ids.write(out)
    out.data += kinds.data
    return zlib.compress(bytes(out.data), 9)


def decode(body: bytes) -> list[dict]:
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(body, MAX_INFLATED)
        if inflater.unconsumed_tail:
            raise BadChunk("the chunk inflates beyond what a chunk may hold")
        if not inflater.eof or inflater.unused_data:
            raise BadChunk("the chunk does not end where it should")
        src = _In(raw)
        if src.bytes(1)[0] != FORMAT:
            raise BadChunk("an unknown chunk format")
        cols = _Columns(table=_Ids.read(src))
        records: list[dict] = []
        seen: set[str] = set()
        for _ in range(src.count(len(BY_LABEL))):
            found = _read_kind(src, cols, MAX_RECORDS - len(records))
            if found and found[0]["kind"] in seen:
                raise BadChunk("a kind twice")
            seen.update(r["kind"] for r in found)
            records += found
        if src.at != len(raw):
            raise BadChunk("the chunk does not end where it should")
        return records
    except BadChunk:
        raise
    except UNREADABLE as error:
        raise BadChunk(f"the chunk cannot be read: {error.__class__.__name__}") from error
