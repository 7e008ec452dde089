"""An audit event's time is a default, no longer auto_now_add, so an event received from another server
keeps the time it happened. The column itself does not change: on SQLite an AlterField would rebuild the
table and drop its append-only and capture triggers, so only the state moves."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("kernel", "0008_audit_uid")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="at",
                    field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
                ),
            ],
            database_operations=[],
        )
    ]
