"""Rows written before the vocabulary existed get their event and, where the key names one, their person."""

from django.db import migrations

# (subject, action) of the old rows -> event of the vocabulary.
EVENTS = {
    ("mark", "set"): "mark.set",
    ("mark", "clear"): "mark.clear",
    ("attendance", "set"): "attendance.set",
    ("attendance", "clear"): "attendance.clear",
    ("summative", "set"): "points.set",
    ("summative", "clear"): "points.clear",
    ("term_grade", "compute"): "term_grade.compute",
    ("lesson", "set"): "lesson.update",
    ("load", "set"): "load.set",
    ("load", "clear"): "load.clear",
    ("term", "close"): "term.close",
    ("change_request", "decide"): "change_request.decide",
    ("onboarding", "import"): "import.apply",
}
PERSON_KEYED = {"mark", "attendance", "summative", "term_grade"}


def forward(apps, schema_editor):
    connection = schema_editor.connection
    table = "kernel_auditevent"
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        cursor.execute(f"SELECT id, subject, action, object_key FROM {table}")  # noqa: S608 - fixed name
        for pk, subject, action, key in cursor.fetchall():
            event = EVENTS.get((subject, action), f"{subject}.{action}"[:40])
            person = None
            if subject in PERSON_KEYED and key.split(":")[0].isdigit():
                person = int(key.split(":")[0])
            cursor.execute(f"UPDATE {table} SET event = %s, person_id = %s WHERE id = %s", [event, person, pk])  # noqa: S608
        if postgres:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")


class Migration(migrations.Migration):
    dependencies = [("kernel", "0002_audit_context")]
    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
