"""Writes to the audit log. Called by every domain service inside its own transaction."""

from __future__ import annotations

from typing import Any

from .models import AuditEvent


def record(
    *,
    actor_id: int | None,
    organization_id: int | None,
    action: str,
    subject: str,
    subject_key: str,
    before: Any,
    after: Any,
    reason: str = "",
) -> AuditEvent:
    return AuditEvent.objects.create(
        actor_id=actor_id,
        organization_id=organization_id,
        action=action,
        subject=subject,
        subject_key=subject_key,
        before=before,
        after=after,
        reason=reason,
    )


def record_many(events: list[AuditEvent]) -> None:
    AuditEvent.objects.bulk_create(events, batch_size=1000)
