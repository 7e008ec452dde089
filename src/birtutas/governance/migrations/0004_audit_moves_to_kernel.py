from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("governance", "0003_audit_append_only"), ("kernel", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="AuditEvent")]),
    ]
