"""The demo generator is deterministic: the same seed gives the same people, topics and marks, and an
interrupted run resumes without changing what the finished schools would have been."""

from __future__ import annotations

import pytest
from django.db import transaction

from birtutas.demo import DemoSize, Generator
from birtutas.journal.models import Lesson, Mark
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import Organization, Person
from birtutas.testing import TODAY


class Rollback(Exception):
    pass


def snapshot(seed: int, schools: int = 2, students: int = 60) -> dict:
    """What a run from an empty region produces, read back and then rolled back."""
    found = {}
    with pytest.raises(Rollback), transaction.atomic():
        size = DemoSize(schools=schools, students=students, seed=seed, today=TODAY, demo_accounts=False, progress=False)
        Generator(size, log=lambda _m: None).run()
        found["schools"] = list(Organization.objects.order_by("pk").values_list("name_kk", "language"))
        found["people"] = list(
            Person.objects.order_by("pk").values_list("iin", "last_name", "first_name", "patronymic", "birth_date")
        )
        found["topics"] = list(
            Lesson.objects.order_by("pk").values_list("date", "period", "topic", "homework", "homework_due")
        )
        found["marks"] = list(Mark.objects.order_by("pk").values_list("student__iin", "lesson__date", "value"))
        found["history"] = list(
            AuditEvent.objects.filter(event__in=["mark.set", "points.set", "attendance.set"])
            .order_by("pk")
            .values_list("at", "before", "after", "reason")
        )
        raise Rollback
    return found


def test_the_same_seed_gives_the_same_region(db):
    first, second = snapshot(seed=3), snapshot(seed=3)
    assert first["people"] and first["marks"] and first["history"]
    assert first == second
    other = snapshot(seed=4)
    assert other["people"] != first["people"]


def test_an_interrupted_run_resumes_with_the_same_schools(db):
    whole = snapshot(seed=3)
    with pytest.raises(Rollback), transaction.atomic():
        # The first school was finished by an earlier run; the second is made now, as it would have been.
        Generator(
            DemoSize(schools=1, students=30, seed=3, today=TODAY, demo_accounts=False, progress=False),
            log=lambda _m: None,
        ).run()
        Generator(
            DemoSize(schools=2, students=60, seed=3, today=TODAY, demo_accounts=False, progress=False),
            log=lambda _m: None,
        ).run()
        assert list(Organization.objects.order_by("pk").values_list("name_kk", "language")) == whole["schools"]
        people = list(
            Person.objects.order_by("pk").values_list("iin", "last_name", "first_name", "patronymic", "birth_date")
        )
        assert people == whole["people"]
        raise Rollback
