import datetime as dt

from django.db import migrations

from birtutas.journal.rules import CRITERIA_BASED_2016


def add_policy(apps, schema_editor):
    GradingPolicy = apps.get_model("journal", "GradingPolicy")
    GradingPolicy.objects.get_or_create(
        code="criteria-based",
        version=1,
        defaults={
            "effective_from": dt.date(2016, 9, 1),
            "rules": CRITERIA_BASED_2016.to_json(),
            "source": "Criteria-based assessment rules for general secondary education (grades 1-11)",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("journal", "0002_initial")]
    operations = [migrations.RunPython(add_policy, migrations.RunPython.noop)]
