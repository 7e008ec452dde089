"""Each organization's own calendar: school years belong to an organization (none: the ministry's
default, which the years existing so far become), terms are terms or semesters of any number, and
holidays are recorded per year."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0005_link_request"),
    ]

    operations = [
        migrations.AddField(
            model_name="academicyear",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="academic_years",
                to="registry.organization",
            ),
        ),
        migrations.AlterField(
            model_name="academicyear",
            name="name",
            field=models.CharField(max_length=9),
        ),
        migrations.AddConstraint(
            model_name="academicyear",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organization__isnull", False)),
                fields=("organization", "name"),
                name="year_unique_in_organization",
            ),
        ),
        migrations.AddConstraint(
            model_name="academicyear",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organization__isnull", True)), fields=("name",), name="year_unique_default"
            ),
        ),
        migrations.AddField(
            model_name="term",
            name="kind",
            field=models.CharField(
                choices=[("term", "term"), ("semester", "semester")], default="term", max_length=8, verbose_name="kind"
            ),
        ),
        migrations.RemoveConstraint(
            model_name="term",
            name="term_number_1_4",
        ),
        migrations.AddConstraint(
            model_name="term",
            constraint=models.CheckConstraint(condition=models.Q(("number__gte", 1)), name="term_number_positive"),
        ),
        migrations.CreateModel(
            name="Holiday",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name_kk", models.CharField(max_length=200, verbose_name="name (Kazakh)")),
                ("name_ru", models.CharField(max_length=200, verbose_name="name (Russian)")),
                ("name_en", models.CharField(blank=True, max_length=200, verbose_name="name (English)")),
                ("starts_on", models.DateField(verbose_name="first day")),
                ("ends_on", models.DateField(verbose_name="last day")),
                (
                    "year",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="holidays",
                        to="registry.academicyear",
                    ),
                ),
            ],
            options={
                "ordering": ["starts_on", "ends_on"],
                "constraints": [
                    models.UniqueConstraint(fields=("year", "starts_on", "ends_on"), name="holiday_unique_dates"),
                    models.CheckConstraint(
                        condition=models.Q(("ends_on__gte", models.F("starts_on"))), name="holiday_dates_in_order"
                    ),
                ],
            },
        ),
    ]
