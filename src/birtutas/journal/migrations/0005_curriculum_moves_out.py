"""Subjects, learning objectives and grading policies now belong to the curriculum (its 0001).

Django's record only: the journal's references point at the curriculum's models, and the journal
forgets the three models; no table, column or row changes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0004_guardrails"),
        ("curriculum", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="teachingassignment",
                    name="subject",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="assignments",
                        to="curriculum.subject",
                    ),
                ),
                migrations.AlterField(
                    model_name="lesson",
                    name="objectives",
                    field=models.ManyToManyField(blank=True, related_name="lessons", to="curriculum.learningobjective"),
                ),
                migrations.AlterField(
                    model_name="termgrade",
                    name="policy",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="curriculum.gradingpolicy"
                    ),
                ),
                migrations.DeleteModel(name="LearningObjective"),
                migrations.DeleteModel(name="Subject"),
                migrations.DeleteModel(name="GradingPolicy"),
            ],
            database_operations=[],
        ),
    ]
