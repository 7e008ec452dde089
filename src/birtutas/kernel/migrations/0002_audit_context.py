"""The audit log gets its own table names, the channel, the affected person and a typed event."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("kernel", "0001_initial")]

    operations = [
        migrations.AlterModelTable(name="auditevent", table=None),
        migrations.AlterModelTable(name="notification", table=None),
        migrations.AddField(
            model_name="auditevent",
            name="via",
            field=models.CharField(
                choices=[
                    ("web", "web page"),
                    ("api", "API"),
                    ("import", "import"),
                    ("command", "command"),
                    ("sync", "sync"),
                ],
                default="command",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="person",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.person"
            ),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="event",
            field=models.CharField(default="", max_length=40),
            preserve_default=False,
        ),
        migrations.RenameField(model_name="auditevent", old_name="subject_key", new_name="object_key"),
    ]
