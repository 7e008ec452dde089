"""Database triggers that mark every written row of a travelling table dirty (see `capture`).

The same trigger on SQLite and PostgreSQL: after an insert, update or delete, the table name and row
id go into `sync_dirty` (with the uid of a deleted row, which its tombstone needs). A many-to-many
table marks its owner row instead. A migration that rebuilds one of these tables on SQLite drops its
triggers with it, so such a migration must call `install` again; `sync.E001` refuses to start without them.
"""

from __future__ import annotations

PG_FUNCTION = """
CREATE OR REPLACE FUNCTION sync_mark_dirty() RETURNS trigger AS $$
DECLARE owner_table text := TG_ARGV[0]; owner_column text := TG_ARGV[1]; rec record; rid bigint;
BEGIN
  IF TG_OP = 'DELETE' THEN rec := OLD; ELSE rec := NEW; END IF;
  IF owner_table IS NULL THEN
    IF TG_OP = 'DELETE' THEN
      INSERT INTO sync_dirty (tbl, row_id, uid) VALUES (TG_TABLE_NAME, OLD.id, OLD.uid)
        ON CONFLICT (tbl, row_id) DO UPDATE SET uid = EXCLUDED.uid;
    ELSE
      INSERT INTO sync_dirty (tbl, row_id, uid) VALUES (TG_TABLE_NAME, NEW.id, NEW.uid) ON CONFLICT DO NOTHING;
    END IF;
  ELSE
    EXECUTE format('SELECT ($1).%I', owner_column) INTO rid USING rec;
    INSERT INTO sync_dirty (tbl, row_id, uid) VALUES (owner_table, rid, NULL) ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql;
"""


def _sqlite(table: str, owner: tuple[str, str] | None) -> list[str]:
    # Table and column names come from the migrations' frozen lists and the models, never from input.
    statements = []
    for op, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
        name = f"sync_dirty_{table}_{op.lower()}"
        if owner:
            body = f"INSERT OR IGNORE INTO sync_dirty (tbl, row_id, uid) VALUES ('{owner[0]}', {row}.{owner[1]}, NULL);"  # noqa: S608
        elif op == "DELETE":
            body = f"INSERT OR REPLACE INTO sync_dirty (tbl, row_id, uid) VALUES ('{table}', OLD.id, OLD.uid);"  # noqa: S608
        else:
            body = f"INSERT OR IGNORE INTO sync_dirty (tbl, row_id, uid) VALUES ('{table}', NEW.id, NEW.uid);"  # noqa: S608
        statements.append(f"DROP TRIGGER IF EXISTS {name}")
        statements.append(f"CREATE TRIGGER {name} AFTER {op} ON {table} FOR EACH ROW BEGIN {body} END")
    return statements


def _postgres(table: str, owner: tuple[str, str] | None) -> list[str]:
    args = f"'{owner[0]}', '{owner[1]}'" if owner else ""
    return [
        f"DROP TRIGGER IF EXISTS sync_dirty ON {table}",
        f"CREATE TRIGGER sync_dirty AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION sync_mark_dirty({args})",
    ]


def install(schema_editor, tables: list[str], owned: dict[str, tuple[str, str]] | None = None) -> None:
    """Install the dirty-marking trigger on `tables`, and on many-to-many tables `owned` ({table: (owner, column)})."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FUNCTION, params=None)  # its format('%I') is not a placeholder
    build = _postgres if vendor == "postgresql" else _sqlite
    for table in tables:
        for statement in build(table, None):
            schema_editor.execute(statement)
    for table, owner in (owned or {}).items():
        for statement in build(table, owner):
            schema_editor.execute(statement)


def uninstall(schema_editor, tables: list[str]) -> None:
    for table in tables:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS sync_dirty ON {table}")
        else:
            for op in ("insert", "update", "delete"):
                schema_editor.execute(f"DROP TRIGGER IF EXISTS sync_dirty_{table}_{op}")


def installed(connection) -> set[str]:
    """The tables that carry the trigger now."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT DISTINCT event_object_table FROM information_schema.triggers WHERE trigger_name = 'sync_dirty'"
            )
            return {r[0] for r in cursor.fetchall()}
        cursor.execute("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'sync_dirty_%'")
        return {table for table, name in cursor.fetchall() if name.endswith("_insert")}
