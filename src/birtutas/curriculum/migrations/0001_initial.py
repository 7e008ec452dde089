"""Subjects, learning objectives and grading policies move from the journal to the curriculum.

Only Django's record of the models moves here: the tables the journal created stay as they are,
with every row (`db_table` names them), and 0002 gives them the curriculum's names afterwards.
The content types move too, so nothing that refers to them is orphaned.
"""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ("subject", "learningobjective", "gradingpolicy")


def move_content_types(apps, schema_editor, source="journal", target="curriculum"):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not ContentType.objects.using(db).filter(app_label=target, model=model).exists():
            ContentType.objects.using(db).filter(app_label=source, model=model).update(app_label=target)


def move_content_types_back(apps, schema_editor):
    move_content_types(apps, schema_editor, source="curriculum", target="journal")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("journal", "0004_guardrails"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Subject",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name_kk", models.CharField(max_length=200, verbose_name="name (Kazakh)")),
                        ("name_ru", models.CharField(max_length=200, verbose_name="name (Russian)")),
                        ("name_en", models.CharField(blank=True, max_length=200, verbose_name="name (English)")),
                        ("code", models.CharField(max_length=20, unique=True)),
                    ],
                    options={"ordering": ["name_kk"], "db_table": "journal_subject"},
                ),
                migrations.CreateModel(
                    name="GradingPolicy",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("code", models.CharField(max_length=40)),
                        ("version", models.PositiveIntegerField()),
                        ("effective_from", models.DateField()),
                        ("rules", models.JSONField()),
                        ("source", models.CharField(blank=True, max_length=300)),
                    ],
                    options={
                        "ordering": ["-effective_from", "-version"],
                        "db_table": "journal_gradingpolicy",
                        "constraints": [
                            models.UniqueConstraint(fields=("code", "version"), name="policy_unique_version")
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="LearningObjective",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("grade", models.PositiveSmallIntegerField()),
                        ("code", models.CharField(max_length=20)),
                        ("text_kk", models.TextField()),
                        ("text_ru", models.TextField()),
                        (
                            "subject",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="objectives",
                                to="curriculum.subject",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["subject", "grade", "code"],
                        "db_table": "journal_learningobjective",
                        "constraints": [
                            models.UniqueConstraint(fields=("subject", "grade", "code"), name="objective_unique_code")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_types, move_content_types_back, elidable=True),
    ]
