"""Bulk inserts of plain rows, as fast as the database allows.

On PostgreSQL rows are streamed with COPY, which skips building a model instance and an INSERT
statement per row (measured 5x faster than `bulk_create` for marks and term grades); elsewhere
`bulk_create`. Used by the data generator and by batch computations such as term grades.
"""

from __future__ import annotations

import json

from django.db import connections, models, router
from django.utils import timezone


def insert_rows(model: type[models.Model], fields: tuple[str, ...], rows: list[tuple], batch_size: int = 10000) -> None:
    """Insert rows given as tuples in the order of `fields` (no primary keys are returned).

    `auto_now` and `auto_now_add` fields, and times defaulting to now, missing from `fields` get the
    current time, as `bulk_create` would give them; JSON fields take Python values.
    """
    if not rows:
        return
    now = timezone.now()
    stamped = tuple(
        f.name
        for f in model._meta.concrete_fields
        if f.name not in fields
        and (
            getattr(f, "auto_now", False)
            or getattr(f, "auto_now_add", False)
            or (isinstance(f, models.DateTimeField) and f.default is timezone.now)  # a time that may travel
        )
    )
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=batch_size)
        return
    from psycopg import sql

    json_positions = [i for i, name in enumerate(fields) if isinstance(model._meta.get_field(name), models.JSONField)]
    columns = [model._meta.get_field(name).column for name in fields + stamped]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    extra = (now,) * len(stamped)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            if json_positions:
                row = list(row)
                for i in json_positions:
                    row[i] = None if row[i] is None else json.dumps(row[i])
                row = tuple(row)
            copy.write_row(row + extra)
