"""Mark every write to a travelling table dirty, and every row that exists already, so the first capture numbers it.

The list of tables is frozen here: a kind added later installs its trigger in its own migration.
"""

from django.db import migrations

from birtutas.sync import triggers

TABLES = [
    "registry_region", "registry_district", "registry_organization", "curriculum_subject",
    "curriculum_learningobjective", "curriculum_gradingpolicy", "registry_academicyear", "registry_term",
    "registry_holiday", "registry_person", "registry_user", "registry_membership", "registry_guardianship",
    "journal_schoolclass", "journal_enrollment", "journal_teachingassignment", "journal_timetableslot",
    "journal_bellperiod", "journal_lesson", "journal_summativework", "journal_termclosure",
    "journal_changerequest", "journal_conversation", "journal_letter", "journal_announcement",
    "registry_linkrequest", "kernel_auditevent",
]
OWNED = {"journal_lesson_objectives": ("journal_lesson", "lesson_id")}


def install(apps, schema_editor):
    triggers.install(schema_editor, TABLES, OWNED)
    # Existing rows: captured by the first `birtutas sync capture` (resumable, with progress). A row may
    # be dirty already (this migration undone and done again over a `sync_dirty` that was kept).
    for table in TABLES:
        schema_editor.execute(
            f"INSERT INTO sync_dirty (tbl, row_id, uid) SELECT '{table}', t.id, t.uid FROM {table} t "  # noqa: S608 - fixed names
            f"WHERE NOT EXISTS (SELECT 1 FROM sync_dirty d WHERE d.tbl = '{table}' AND d.row_id = t.id)"
        )


def uninstall(apps, schema_editor):
    triggers.uninstall(schema_editor, [*TABLES, *OWNED])


class Migration(migrations.Migration):
    dependencies = [
        ("sync", "0001_tables"),
        ("registry", "0007_travel_ids"),
        ("curriculum", "0003_travel_ids"),
        ("journal", "0008_travel_ids"),
        ("kernel", "0008_audit_uid"),
    ]
    operations = [migrations.RunPython(install, uninstall)]
