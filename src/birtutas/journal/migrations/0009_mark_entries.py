"""Marks, points and absences become entries: one per existing Mark and Attendance row, holding its value.

Each gets an id derived from its row (`natural_id("journal.markentry.migrated", table, row id)`), so running
the migration again adds nothing, and a stamp from the row's last change. Closings get a stamp too: a
closing in force is stamped after every entry of its school, so everything this database held counts.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import Max

from birtutas.kernel import hlc
from birtutas.kernel.ids import natural_id

BATCH = 5000


def _stamp(at) -> int:
    return hlc.pack(max(0, int(at.timestamp() * 1000) - hlc.EPOCH_MS))


LESSON_SCHOOL = "lesson__assignment__school_class__organization_id"
WORK_SCHOOL = "work__assignment__school_class__organization_id"


def _entry(MarkEntry, table, pk, student, lesson, work, field, value, at, school):  # noqa: N803 - a model class
    return MarkEntry(
        uid=natural_id("journal.markentry.migrated", table, pk),
        organization_id=school,
        student_id=student,
        lesson_id=lesson,
        work_id=work,
        field=field,
        value=str(value),
        stamp=_stamp(at),
        approved=False,
        actor_id=None,
        via="command",
        reason="migrated",
        at=at,
    )


def _batches(model, columns):
    last = 0
    while True:
        found = list(model.objects.filter(pk__gt=last).order_by("pk").values_list("pk", *columns)[:BATCH])
        if not found:
            return
        yield found
        last = found[-1][0]


def migrate_cells(apps, schema_editor):
    Mark, Attendance, MarkEntry, TermClosure = (  # noqa: N806 - model classes
        apps.get_model("journal", name) for name in ("Mark", "Attendance", "MarkEntry", "TermClosure")
    )
    for rows in _batches(
        Mark, ("student_id", "lesson_id", "work_id", "value", "updated_at", LESSON_SCHOOL, WORK_SCHOOL)
    ):
        MarkEntry.objects.bulk_create(
            [
                _entry(
                    MarkEntry,
                    "journal_mark",
                    pk,
                    student,
                    lesson,
                    work,
                    "mark" if lesson else "points",
                    value,
                    at,
                    lesson_school or work_school,
                )
                for pk, student, lesson, work, value, at, lesson_school, work_school in rows
            ],
            ignore_conflicts=True,
        )
    for rows in _batches(Attendance, ("student_id", "lesson_id", "status", "updated_at", LESSON_SCHOOL)):
        MarkEntry.objects.bulk_create(
            [
                _entry(MarkEntry, "journal_attendance", pk, student, lesson, None, "attendance", status, at, school)
                for pk, student, lesson, status, at, school in rows
            ],
            ignore_conflicts=True,
        )
    latest = dict(
        MarkEntry.objects.order_by()
        .values("organization_id")
        .annotate(m=Max("stamp"))
        .values_list("organization_id", "m")
    )
    for pk, org, closed_at, reopened_at in TermClosure.objects.values_list(
        "pk", "organization_id", "closed_at", "reopened_at"
    ):
        stamp = _stamp(closed_at)
        if reopened_at is None:
            stamp = max(stamp, latest.get(org, 0) + 1)
        TermClosure.objects.filter(pk=pk).update(stamp=stamp)


class Migration(migrations.Migration):
    dependencies = [
        ("journal", "0008_travel_ids"),
        ("registry", "0007_travel_ids"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MarkEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("uid", models.UUIDField(editable=False, null=True, unique=True)),
                (
                    "field",
                    models.CharField(
                        choices=[("mark", "Mark"), ("attendance", "Attendance"), ("points", "Points")], max_length=10
                    ),
                ),
                ("value", models.CharField(blank=True, max_length=16, null=True)),
                ("stamp", models.BigIntegerField()),
                ("approved", models.BooleanField(default=False)),
                (
                    "via",
                    models.CharField(
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
                ("reason", models.TextField(blank=True)),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "lesson",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="journal.lesson",
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.organization"
                    ),
                ),
                (
                    "student",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="registry.person"
                    ),
                ),
                (
                    "work",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="journal.summativework",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["student", "lesson"], name="entry_lesson_cell_idx"),
                    models.Index(fields=["student", "work"], name="entry_work_cell_idx"),
                    models.Index(fields=["organization", "stamp"], name="entry_school_stamp_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(
                                ("field__in", ["mark", "attendance"]), ("lesson__isnull", False), ("work__isnull", True)
                            ),
                            models.Q(("field", "points"), ("lesson__isnull", True), ("work__isnull", False)),
                            _connector="OR",
                        ),
                        name="entry_lesson_or_work",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="termclosure",
            name="stamp",
            field=models.BigIntegerField(default=hlc.stamp),
        ),
        migrations.RunPython(migrate_cells, migrations.RunPython.noop),
    ]
