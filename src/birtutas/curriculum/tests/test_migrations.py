"""Moving subjects, objectives and policies from the journal to the curriculum keeps every row.

The database is taken back to the schema before the move (journal 0004, no curriculum), rows are
written with the models of that time, and the migrations are run forward again: the rows, and the
journal's references to them, must all be there. Runs on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from birtutas.curriculum.models import GradingPolicy, LearningObjective, Subject

BEFORE_THE_MOVE = [("journal", "0004_guardrails"), ("curriculum", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return MigrationExecutor(connection)


@pytest.mark.django_db(transaction=True)
def test_the_move_to_the_curriculum_keeps_every_row_and_reference():
    executor = _migrate(BEFORE_THE_MOVE)
    try:
        # The models as they were: the journal's subject, objective and policy, in the journal's tables.
        old = executor._create_project_state(with_applied_migrations=True).apps
        assert old.get_model("journal", "Subject")._meta.db_table == "journal_subject"
        ids = _old_rows(old)
    finally:
        executor = _migrate(executor.loader.graph.leaf_nodes())

    # The journal sits above the curriculum: its models are looked up, not imported.
    TeachingAssignment, Lesson, TermGrade = (  # noqa: N806 - model classes
        apps.get_model("journal", name) for name in ("TeachingAssignment", "Lesson", "TermGrade")
    )
    subject = Subject.objects.get(pk=ids["subject"])
    assert (subject.code, subject.name_kk, subject.name_ru) == ("geometry", "Геометрия", "Геометрия")
    objective = LearningObjective.objects.get(pk=ids["objective"])
    assert (objective.subject_id, objective.grade, objective.code) == (subject.pk, 8, "8.1.1.1")
    assert (objective.text_kk, objective.text_ru, objective.section_kk) == ("үшбұрыш", "треугольник", "")
    policy = GradingPolicy.objects.get(pk=ids["policy"])
    assert (policy.code, policy.version, policy.rules) == ("test", 9, {"x": 1})
    assert TeachingAssignment.objects.get(pk=ids["assignment"]).subject_id == subject.pk
    assert list(Lesson.objects.get(pk=ids["lesson"]).objectives.values_list("pk", flat=True)) == [objective.pk]
    assert TermGrade.objects.get(pk=ids["term_grade"]).policy_id == policy.pk
    # New rows continue after the old ones, and the references are enforced on the renamed tables.
    assert Subject.objects.create(code="new", name_kk="Жаңа", name_ru="Новый").pk > subject.pk
    tables = connection.introspection.table_names()
    assert "curriculum_subject" in tables and "journal_subject" not in tables


def _old_rows(apps) -> dict[str, int]:
    model = apps.get_model
    subject = model("journal", "Subject").objects.create(code="geometry", name_kk="Геометрия", name_ru="Геометрия")
    objective = model("journal", "LearningObjective").objects.create(
        subject=subject, grade=8, code="8.1.1.1", text_kk="үшбұрыш", text_ru="треугольник"
    )
    policy = model("journal", "GradingPolicy").objects.create(
        code="test", version=9, effective_from=dt.date(2020, 1, 1), rules={"x": 1}
    )
    region, _ = model("registry", "Region").objects.get_or_create(
        code="KZ-11", defaults={"kind": "region", "name_kk": "Ақмола", "name_ru": "Акмолинская"}
    )
    district = model("registry", "District").objects.create(region=region, name_kk="Аудан", name_ru="Район")
    organization = model("registry", "Organization").objects.create(
        district=district, name_kk="Мектеп", name_ru="Школа", locality="rural", language="kk", connection="none"
    )
    year = model("registry", "AcademicYear").objects.create(
        name="2026-2027", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 5, 25)
    )
    term = model("registry", "Term").objects.create(
        year=year, number=1, starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 10, 24)
    )
    person = model("registry", "Person").objects.create(
        iin="800101400012", last_name="Әлиева", first_name="Айгүл", birth_date=dt.date(1980, 1, 1), sex="F"
    )
    school_class = model("journal", "SchoolClass").objects.create(
        organization=organization, year=year, grade=8, letter="А", language="kk"
    )
    assignment = model("journal", "TeachingAssignment").objects.create(
        school_class=school_class, subject=subject, teacher=person
    )
    lesson = model("journal", "Lesson").objects.create(
        assignment=assignment, term=term, date=dt.date(2026, 9, 2), period=1
    )
    lesson.objectives.add(objective)
    term_grade = model("journal", "TermGrade").objects.create(
        student=person, assignment=assignment, term=term, percent=80, grade=4, policy=policy
    )
    return {
        "subject": subject.pk,
        "objective": objective.pk,
        "policy": policy.pk,
        "assignment": assignment.pk,
        "lesson": lesson.pk,
        "term_grade": term_grade.pk,
    }
