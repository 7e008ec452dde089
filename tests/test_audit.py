"""The audit is complete by construction: every record of the registry, the curriculum and the
journal declares who may read and write it, and a write made outside a service fails."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection, transaction

from birtutas.journal.models import Mark
from birtutas.kernel.context import GUARDED_APPS, WriteOutsideService, guard_writes, guarded_tables, writing
from birtutas.kernel.events import Event
from birtutas.registry.permissions import Permission


def guarded_models():
    for label in GUARDED_APPS:
        try:
            yield from apps.get_app_config(label).get_models()
        except LookupError:
            continue


@pytest.mark.parametrize("model", list(guarded_models()), ids=lambda m: m._meta.label)
def test_every_record_declares_its_permissions(model):
    assert isinstance(getattr(model, "permissions", None), Permission), f"{model._meta.label} declares no permissions"


def test_a_write_outside_a_service_fails_and_inside_one_passes(world):
    a = world.a
    with connection.execute_wrapper(guard_writes(guarded_tables())):
        with pytest.raises(WriteOutsideService, match="journal_mark"), transaction.atomic():
            Mark.objects.create(student=a.student, lesson=a.lessons_a[0], value=5)
        with pytest.raises(WriteOutsideService), transaction.atomic():
            Mark.objects.filter(student=a.student).update(value=6)  # bulk writes too
        with writing():
            Mark.objects.create(student=a.student, lesson=a.lessons_a[0], value=5)
    assert Mark.objects.get(student=a.student, lesson=a.lessons_a[0]).value == 5


def test_a_page_that_writes_outside_a_service_fails(world, client, monkeypatch):
    """The guard is in the request path of the suite: a view whose write forgot its service is caught."""
    from birtutas.journal import services

    a = world.a

    def forgetful(user, lesson_id, student_id, text, reason=""):
        Mark.objects.create(student_id=student_id, lesson_id=lesson_id, value=int(text))

    monkeypatch.setattr(services, "set_cell", forgetful)
    client.force_login(a.teacher)
    with pytest.raises(WriteOutsideService):  # raised before the statement runs: nothing is written
        client.post(f"/journal/lesson/{a.lessons_a[0].pk}/student/{a.student.pk}/", {"value": "5"})


def test_the_vocabulary_is_closed():
    from birtutas.kernel.audit import record
    from birtutas.kernel.context import Acting

    with pytest.raises(ValueError, match="unknown audit event"):
        record(Acting(user_id=None), "mark.rewritten", "1:1")
    assert all("." in e for e in Event.values)
