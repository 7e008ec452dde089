"""On PostgreSQL the database itself refuses to update or delete audit rows."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION governance_audit_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'the audit log is append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER governance_audit_append_only
  BEFORE UPDATE OR DELETE ON governance_auditevent
  FOR EACH ROW EXECUTE FUNCTION governance_audit_append_only();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS governance_audit_append_only ON governance_auditevent;
DROP FUNCTION IF EXISTS governance_audit_append_only();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_initial")]
    operations = [migrations.RunPython(forward, backward)]
