"""Writes to the audit log. Called by every domain service inside its own transaction."""

from __future__ import annotations

from typing import Any

from birtutas.core.bulk import insert_rows

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


# The order of the values in each row given to `record_many`.
AUDIT_FIELDS = ("actor_id", "organization_id", "action", "subject", "subject_key", "before", "after", "reason")


def record_many(rows: list[tuple]) -> None:
    """Append many events at once (batch computations); each row holds the values of AUDIT_FIELDS."""
    insert_rows(AuditEvent, AUDIT_FIELDS, rows)
