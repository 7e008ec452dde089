"""The audit log's person column loses its single-column index: audit_person_idx (person, at) starts
with it and serves every lookup by person, so the second index only slowed every audited write.

Only the index is dropped, by its name as the database reports it. Altering the field the usual way
would make SQLite rebuild the table, and a rebuilt table loses the triggers that keep it append-only.
"""

import django.db.models.deletion
from django.db import migrations, models


def _person_only_indexes(schema_editor):
    table = "kernel_auditevent"
    with schema_editor.connection.cursor() as cursor:
        constraints = schema_editor.connection.introspection.get_constraints(cursor, table)
    return [
        name
        for name, info in constraints.items()
        if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == ["person_id"]
    ]


def drop_index(apps, schema_editor):
    for name in _person_only_indexes(schema_editor):
        schema_editor.execute(f"DROP INDEX {schema_editor.quote_name(name)}")


def create_index(apps, schema_editor):
    if not _person_only_indexes(schema_editor):
        schema_editor.execute('CREATE INDEX "kernel_auditevent_person_id" ON "kernel_auditevent" ("person_id")')


class Migration(migrations.Migration):
    dependencies = [
        ("kernel", "0006_notification_delivery"),
        ("registry", "0006_calendar"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="person",
                    field=models.ForeignKey(
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="registry.person",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
