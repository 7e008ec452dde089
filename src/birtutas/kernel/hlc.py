"""Hybrid logical clock stamps: ordering for concurrent edits that survives wrong wall clocks.

A stamp is one 64-bit integer: 48 bits of milliseconds since 2020-01-01 UTC, then 16 logical bits.
`stamp(after=...)` gives a value later than both this process's previous stamp and `after` (the
clocks of the record being changed), so an edit made after seeing a value always beats that value,
whatever the wall clocks say. Stamps received from other sites are never folded into this process's
clock: a node running a day ahead cannot drag the central server's clock forward; its stamps only
win concurrent races for that day, and the sync flags them as future-dated.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

EPOCH_MS = 1577836800000  # 2020-01-01T00:00:00Z
LOGICAL_BITS = 16
MAX = (1 << 63) - 1  # beats every stamp: a purge's clock

_lock = threading.Lock()
_last = 0


def physical_ms() -> int:
    """Milliseconds since the epoch on this clock, shifted by BIRTUTAS_CLOCK_SKEW_MS (to test wrong clocks)."""
    skew = int(os.environ.get("BIRTUTAS_CLOCK_SKEW_MS", "0") or 0)
    return int(time.time() * 1000) + skew - EPOCH_MS


def pack(ms: int, logical: int = 0) -> int:
    return (ms << LOGICAL_BITS) | logical


def wall_ms(stamp: int) -> int:
    return stamp >> LOGICAL_BITS


def to_datetime(stamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp((wall_ms(stamp) + EPOCH_MS) / 1000, tz=dt.UTC)


def next_stamp(last: int, physical: int, after: int = 0) -> int:
    """The pure rule: later than `last` and `after`, and at least the physical time."""
    floor = max(last, after)
    now = pack(physical)
    return now if now > floor else floor + 1  # a full logical part carries into the milliseconds


def stamp(after: int = 0) -> int:
    global _last
    with _lock:
        _last = next_stamp(_last, physical_ms(), after)
        return _last
