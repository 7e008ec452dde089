"""Reads of the audit log, limited to what the actor may see."""

from django.db.models import QuerySet

from birtutas.registry.permissions import Actor, visible

from .models import AuditEvent


def history(actor: Actor, subject: str, subject_key: str) -> QuerySet[AuditEvent]:
    return (
        visible(AuditEvent, actor)
        .filter(subject=subject, subject_key=subject_key)
        .select_related("actor__person")
        .order_by("at", "id")
    )
