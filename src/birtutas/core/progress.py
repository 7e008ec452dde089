"""Progress of a long command: one line on stderr with done/total, elapsed time and time left."""

import sys
import time


class Progress:
    """One line of progress on stderr: done/total, rate and time left."""

    def __init__(self, total: int, label: str, out=sys.stderr, enabled: bool = True):
        self.total, self.label, self.out, self.enabled = total, label, out, enabled
        self.done = 0
        self.started = time.monotonic()

    def step(self, n: int = 1, note: str = "") -> None:
        self.done += n
        if not self.enabled:
            return
        elapsed = time.monotonic() - self.started
        rate = self.done / elapsed if elapsed else 0
        left = (self.total - self.done) / rate if rate else 0
        self.out.write(
            f"\r{self.label}: {self.done}/{self.total} ({100 * self.done // max(self.total, 1)}%) "
            f"{elapsed:5.0f}s elapsed, ~{left:4.0f}s left {note[:40]:<40}"
        )
        if self.done >= self.total:
            self.out.write("\n")
        self.out.flush()


# ------------------------------------------------------------------ bulk rows

def insert_rows(model: type[Model], fields: tuple[str, ...], rows: list[tuple], batch_size: int = 10000) -> None:
    """Insert plain rows (no primary keys needed back) as fast as the database allows.

    On PostgreSQL the rows are streamed with COPY, which skips building a model instance and an
    INSERT statement per row (most of the generator's time went there); elsewhere `bulk_create`.
    `auto_now` fields missing from `fields` get the current time, as `bulk_create` would give them.
    """
    if not rows:
        return
    now = timezone.now()
    stamped = tuple(
        f.name for f in model._meta.concrete_fields if getattr(f, "auto_now", False) and f.name not in fields
    )
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**dict(zip(fields, row, strict=True))) for row in rows], batch_size=batch_size)
        return
    from psycopg import sql

    columns = [model._meta.get_field(name).column for name in fields + stamped]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    extra = (now,) * len(stamped)
    connection.ensure_connection()
    with connection.connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row + extra)
