"""Pure rules of records that travel: ids, the hybrid logical clock, and the field merge."""

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from birtutas.kernel import hlc
from birtutas.kernel.ids import ROOT, canonical, keyed_id, natural_id, uuid7
from birtutas.sync import merge


def test_root_namespace_is_the_urn_of_the_project():
    assert uuid.uuid5(uuid.NAMESPACE_URL, "urn:birtutas") == ROOT


@pytest.mark.parametrize(
    ("kind", "parts", "expected"),
    [
        # Golden values: a change here changes every record's identity and breaks every deployed node.
        ("registry.region", ("KZ-11",), natural_id("registry.region", "KZ-11")),
        (
            "journal.lesson",
            (uuid.UUID(int=1), "2026-11-20", 3),
            uuid.uuid5(uuid.uuid5(ROOT, "journal.lesson"), "00000000-0000-0000-0000-000000000001|2026-11-20|3"),
        ),
    ],
)
def test_natural_ids_are_uuid5_of_the_canonical_key(kind, parts, expected):
    assert natural_id(kind, *parts) == expected
    assert natural_id(kind, *parts).version == 5


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "1"), (7, "7"), ("Әсел", "Әсел"), ("Ә", "Ә"), (uuid.UUID(int=5), str(uuid.UUID(int=5)))],
)
def test_canonical_spelling(value, text):
    assert canonical(value) == text


def test_decomposed_and_composed_text_give_one_id():
    assert natural_id("k", "A\u0306") == natural_id("k", "\u0102")  # NFC


def test_uuid7_is_time_ordered_and_versioned():
    a, b = uuid7(1000), uuid7(2000)
    assert a.version == 7 and a.variant == uuid.RFC_4122
    assert a < b


def test_person_ids_are_keyed_and_hide_the_iin():
    one = keyed_id(b"secret", "registry.person", "080215650123")
    assert one == keyed_id(b"secret", "registry.person", "080215650123")
    assert one != keyed_id(b"other", "registry.person", "080215650123")
    assert one.version == 8
    assert "080215650123" not in one.hex


@pytest.mark.parametrize(
    ("last", "physical", "after", "expected"),
    [
        (0, 100, 0, hlc.pack(100)),  # the wall clock leads
        (hlc.pack(100), 100, 0, hlc.pack(100) + 1),  # same millisecond: the logical part counts
        (hlc.pack(200), 100, 0, hlc.pack(200) + 1),  # the wall clock went back: never backwards
        (0, 100, hlc.pack(500, 3), hlc.pack(500, 4)),  # the record was written "later": the edit still wins
        (0, 100, hlc.pack(500, 0xFFFF), hlc.pack(501, 0)),  # a full logical part carries
    ],
)
def test_next_stamp(last, physical, after, expected):
    assert hlc.next_stamp(last, physical, after) == expected


@given(st.lists(st.tuples(st.integers(0, 2**40), st.integers(0, 2**55)), min_size=1, max_size=50))
def test_stamps_only_grow_and_beat_what_they_saw(steps):
    last = 0
    for physical, seen in steps:
        stamp = hlc.next_stamp(last, physical, seen)
        assert stamp > last and stamp > seen
        last = stamp


A, B = "a" * 8, "b" * 8


@pytest.mark.parametrize(
    ("local", "incoming", "take", "conflict"),
    [
        ([5, A, 0], [7, B, 5], True, False),  # B saw A's value, then changed it
        ([7, A, 5], [5, B, 0], False, False),  # the old value arrives late: nothing changes
        ([5, A, 0], [6, B, 0], True, True),  # neither saw the other: the later wins, the other is kept
        ([6, A, 0], [6, B, 0], True, True),  # the same stamp: the origin decides, the same everywhere
        ([6, B, 0], [6, A, 0], False, True),
        ([5, A, 0], [5, A, 0], False, False),  # the same write twice
        (None, [5, A, 0], True, False),  # new here
    ],
)
def test_field_merge(local, incoming, take, conflict):
    outcome = merge.merge(["topic"], {"topic": local}, {"topic": incoming}, {"topic": "x"}, {"topic": "y"})[0]
    assert (outcome.take_incoming, outcome.conflict) == (take, conflict)


def test_concurrent_writes_of_one_value_are_no_conflict():
    outcome = merge.merge(["topic"], {"topic": [5, A, 0]}, {"topic": [6, B, 0]}, {"topic": "x"}, {"topic": "x"})[0]
    assert outcome.take_incoming and not outcome.conflict


clocks = st.tuples(st.integers(1, 50), st.sampled_from([A, B, "c" * 8]), st.integers(0, 50)).map(list)


@given(st.lists(clocks, min_size=1, max_size=6), st.randoms())
def test_any_arrival_order_ends_with_the_same_winner(writes, rnd):
    def settle(order):
        state = None
        for clock in order:
            if merge.merge(["f"], {"f": state}, {"f": clock}, {"f": "1"}, {"f": "2"})[0].take_incoming:
                state = clock
        return state

    shuffled = list(writes)
    rnd.shuffle(shuffled)
    assert merge.key(settle(writes)) == merge.key(settle(shuffled)) == max(map(merge.key, writes))
