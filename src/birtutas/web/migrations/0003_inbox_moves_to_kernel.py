from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial"), ("kernel", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[migrations.DeleteModel(name="Notification")]),
    ]
