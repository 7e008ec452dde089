"""The moved tables take the curriculum's names, and objectives gain their section and source.

Renaming keeps every row and every reference to it (the journal's teaching load, lessons and term
grades) on PostgreSQL and on SQLite alike.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("curriculum", "0001_initial"),
        # After the journal's references point here, so the rename carries them along.
        ("journal", "0005_curriculum_moves_out"),
    ]

    operations = [
        migrations.AlterModelTable(name="subject", table=None),
        migrations.AlterModelTable(name="learningobjective", table=None),
        migrations.AlterModelTable(name="gradingpolicy", table=None),
        migrations.AddField(
            model_name="learningobjective",
            name="section_kk",
            field=models.CharField(blank=True, max_length=200, verbose_name="section (Kazakh)"),
        ),
        migrations.AddField(
            model_name="learningobjective",
            name="section_ru",
            field=models.CharField(blank=True, max_length=200, verbose_name="section (Russian)"),
        ),
        migrations.AddField(
            model_name="learningobjective",
            name="source",
            field=models.CharField(blank=True, max_length=300, verbose_name="source"),
        ),
    ]
