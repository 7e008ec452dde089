"""Journal entries travel: the dirty-marking trigger on their table, and every existing entry marked dirty.

Journal 0009 added a column to `journal_termclosure`, which SQLite does by rebuilding the table, and a
rebuilt table has lost its trigger: it is installed again here, and the closings marked dirty so that
their new field is captured.
"""

from django.db import migrations

from birtutas.sync import triggers

TABLES = ["journal_markentry", "journal_termclosure"]


def install(apps, schema_editor):
    triggers.install(schema_editor, TABLES)
    for table in TABLES:  # existing rows: captured by the next `birtutas sync capture`
        schema_editor.execute(
            f"INSERT INTO sync_dirty (tbl, row_id, uid) SELECT '{table}', t.id, t.uid FROM {table} t "  # noqa: S608 - fixed names
            f"WHERE NOT EXISTS (SELECT 1 FROM sync_dirty d WHERE d.tbl = '{table}' AND d.row_id = t.id)"
        )


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor, ["journal_markentry"])


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0002_triggers"),
        ("journal", "0009_mark_entries"),
    ]
    operations = [migrations.RunPython(install, uninstall)]
