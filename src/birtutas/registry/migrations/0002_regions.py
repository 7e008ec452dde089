from django.db import migrations

from birtutas.registry.territory import REGIONS


def add_regions(apps, schema_editor):
    Region = apps.get_model("registry", "Region")
    for code, kind, kk, ru, en in REGIONS:
        Region.objects.update_or_create(code=code, defaults={"kind": kind, "name_kk": kk, "name_ru": ru, "name_en": en})


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(add_regions, migrations.RunPython.noop)]
