"""Reads of the registry that pages and the API use, already limited to what the actor may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from birtutas.kernel.models import AuditEvent

from .permissions import Actor, visible


def history(actor: Actor, object_key: str, events: Iterable[str]) -> QuerySet[AuditEvent]:
    """The history of one record (a journal cell: its mark and attendance events), as the actor may see it."""
    return (
        visible(AuditEvent, actor)
        .filter(event__in=list(events), object_key=object_key)
        .select_related("actor__person")
        .order_by("at", "id")
    )


def person_history(actor: Actor, person_id: int) -> QuerySet[AuditEvent]:
    """Everything that happened to one person, as far as the actor may see it."""
    return visible(AuditEvent, actor).filter(Q(person_id=person_id)).order_by("-at", "-id")
