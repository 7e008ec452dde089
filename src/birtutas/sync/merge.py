"""The merge rule for mutable records, pure: field by field, the later clock wins, the same everywhere.

A clock is `[stamp, origin, prev]`: the hybrid-logical-clock stamp of the write, the origin that made
it, and the stamp of the value it replaced. Clocks compare by (stamp, origin): a total order, so every
server picks the same winner whatever order changes arrive in (the merge is commutative, associative
and idempotent: a last-writer-wins register per field). Two writes are concurrent when neither writer
had seen the other's value (each one's `prev` is older than the other's stamp); a concurrent pair
with different values is a conflict, kept for the director to see, never a silent loss.
"""

from __future__ import annotations

from dataclasses import dataclass

NEVER = (0, "", 0)


def key(clock) -> tuple[int, str]:
    if not clock:
        return (0, "")
    return (int(clock[0]), clock[1] or "")


def concurrent(a, b) -> bool:
    if not a or not b or not a[0] or not b[0]:
        return False
    return int(a[2]) < int(b[0]) and int(b[2]) < int(a[0])


@dataclass(frozen=True)
class FieldOutcome:
    name: str
    take_incoming: bool
    conflict: bool  # concurrent writes of different values: the loser is kept in the history


def merge(
    names: list[str], local: dict, incoming: dict, local_digests: dict, incoming_digests: dict
) -> list[FieldOutcome]:
    """For each field: whether the incoming value wins, and whether that was a conflict."""
    outcomes = []
    for name in names:
        mine, theirs = local.get(name), incoming.get(name)
        if key(theirs) == key(mine):
            outcomes.append(FieldOutcome(name, False, False))
            continue
        take = key(theirs) > key(mine)
        differ = local_digests.get(name) != incoming_digests.get(name)
        outcomes.append(FieldOutcome(name, take, differ and concurrent(mine, theirs)))
    return outcomes
