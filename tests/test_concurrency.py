"""Races that only a real server shows: two submissions of one summative work, and a mark written
while the term closes. PostgreSQL only (SQLite serialises every writer by itself)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction

from birtutas.journal import queries, rules, services
from birtutas.journal.models import Mark, SummativeWork, TermGrade
from birtutas.kernel.errors import Conflict
from birtutas.testing import build_world, on_day, put_back_reference_data, race

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers"),
]


@pytest.fixture(autouse=True)
def _reference_data():
    put_back_reference_data()


def test_two_submissions_of_one_summative_make_one_work():
    world = build_world()
    a = world.a

    def submit():
        return services.create_summative(
            a.teacher,
            a.assignment_a.pk,
            world.term.pk,
            kind="term",
            title="ТЖБ",
            max_points=25,
            date=dt.date(2026, 11, 19),
        )

    results = race(submit, submit, submit)
    assert all(isinstance(r, SummativeWork) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert SummativeWork.objects.filter(assignment=a.assignment_a, kind="term").count() == 1
    # The database itself refuses a second term summative, whatever code path tries.
    with pytest.raises(IntegrityError), transaction.atomic():
        SummativeWork.objects.create(
            assignment=a.assignment_a,
            term=world.term,
            kind="term",
            title="other",
            max_points=5,
            date=dt.date(2026, 11, 20),
        )


def test_a_mark_written_while_the_term_closes_is_in_the_grade_or_refused():
    world = build_world()
    a = world.a
    after_end = world.term.ends_on + dt.timedelta(days=1)
    with on_day(after_end):
        digest = services.preview_digest(queries.close_preview(a.organization, world.term))
        services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "4")
        digest = services.preview_digest(queries.close_preview(a.organization, world.term))

        def close():
            return services.close_term(a.director, a.organization.pk, world.term.pk, confirmed_digest=digest)

        def mark():
            return services.set_cell(a.teacher, a.lessons_a[1].pk, a.student.pk, "10")

        closed, marked = race(close, mark)
    marks = list(Mark.objects.filter(student=a.student, lesson__term=world.term).values_list("value", flat=True))
    grade = TermGrade.objects.filter(student=a.student, assignment=a.assignment_a, term=world.term).first()
    if isinstance(closed, Exception):
        # The mark went first and changed what is missing: the closing was refused as stale.
        assert isinstance(closed, Conflict) and sorted(marks) == [4, 10]
        return
    policy = grade.policy.as_rules()
    expected = rules.term_result(policy, 7, marks, [], [])
    assert (grade.percent, grade.grade) == (expected.percent, expected.grade)
    if isinstance(marked, Exception):
        assert isinstance(marked, Conflict) and marks == [4]
    else:
        assert sorted(marks) == [4, 10]
