"""The old columns go, and the database itself refuses to change or delete an audit row: a trigger on
PostgreSQL and on SQLite alike, so no code path, raw SQL included, can rewrite history."""

from django.db import migrations, models

POSTGRES = """
DROP TRIGGER IF EXISTS governance_audit_append_only ON kernel_auditevent;
DROP FUNCTION IF EXISTS governance_audit_append_only();
CREATE OR REPLACE FUNCTION kernel_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER kernel_audit_append_only
  BEFORE UPDATE OR DELETE ON kernel_auditevent
  FOR EACH ROW EXECUTE FUNCTION kernel_audit_append_only();
"""
POSTGRES_BACKWARD = """
DROP TRIGGER IF EXISTS kernel_audit_append_only ON kernel_auditevent;
DROP FUNCTION IF EXISTS kernel_audit_append_only();
"""
SQLITE = [
    "CREATE TRIGGER kernel_audit_no_update BEFORE UPDATE ON kernel_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
    "CREATE TRIGGER kernel_audit_no_delete BEFORE DELETE ON kernel_auditevent "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS kernel_audit_no_update", "DROP TRIGGER IF EXISTS kernel_audit_no_delete"]


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES)
    elif vendor == "sqlite":
        for statement in SQLITE:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_BACKWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("kernel", "0003_audit_events_from_subjects")]

    operations = [
        migrations.RemoveIndex(model_name="auditevent", name="audit_subject_idx"),
        migrations.RemoveField(model_name="auditevent", name="action"),
        migrations.RemoveField(model_name="auditevent", name="subject"),
        migrations.AddIndex(
            model_name="auditevent", index=models.Index(fields=["event", "object_key"], name="audit_object_idx")
        ),
        migrations.AddIndex(
            model_name="auditevent", index=models.Index(fields=["person", "at"], name="audit_person_idx")
        ),
        migrations.RunPython(forward, backward),
    ]
