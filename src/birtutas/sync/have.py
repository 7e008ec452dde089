"""What a database holds, per partition and origin: every change up to a counter.

Counters of one origin in one partition are given out in commit order, and a transfer applies a
peer's plan whole before raising these marks, so "up to n" is exact: there are no gaps to track.
"""

from __future__ import annotations

import uuid
from collections import defaultdict

from .models import Have

Vector = dict[str, dict[str, int]]  # {partition: {origin: counter}}, as it travels


def raise_own(partition: uuid.UUID, origin: uuid.UUID, counter: int, *, peer: uuid.UUID | None = None) -> None:
    row = Have.objects.select_for_update().filter(peer=peer, partition=partition, origin=origin).first()
    if row is None:
        Have.objects.create(peer=peer, partition=partition, origin=origin, counter=counter)
    elif row.counter < counter:
        Have.objects.filter(pk=row.pk).update(counter=counter)


def raise_all(vector: Vector, *, peer: uuid.UUID | None = None) -> None:
    for partition, origins in vector.items():
        for origin, counter in origins.items():
            raise_own(uuid.UUID(partition), uuid.UUID(origin), counter, peer=peer)


def vector(partitions: set[uuid.UUID] | None = None, *, peer: uuid.UUID | None = None) -> Vector:
    rows = Have.objects.filter(peer=peer)
    if partitions is not None:
        rows = rows.filter(partition__in=list(partitions))
    out: Vector = defaultdict(dict)
    for partition, origin, counter in rows.values_list("partition", "origin", "counter"):
        out[str(partition)][str(origin)] = counter
    return dict(out)


def covered(v: Vector, partition: str, origin: str, counter: int) -> bool:
    return v.get(partition, {}).get(origin, 0) >= counter
