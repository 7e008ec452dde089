"""Recording and reading the audit log. Services call `record` inside their own transaction."""

from __future__ import annotations

from typing import Any

from .bulk import insert_rows
from .context import Acting
from .events import Event
from .ids import uuid7
from .models import AuditEvent


def record(
    acting: Acting,
    event: Event,
    object_key: str,
    *,
    before: Any = None,
    after: Any = None,
    organization_id: int | None = None,
    person_id: int | None = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event; `reason` defaults to the acting context's."""
    if event not in Event.values:
        raise ValueError(f"unknown audit event {event!r}")
    return AuditEvent.objects.create(
        uid=uuid7(),
        actor_id=acting.user_id,
        via=acting.via,
        organization_id=organization_id,
        person_id=person_id,
        event=event,
        object_key=object_key,
        before=before,
        after=after,
        reason=acting.reason if reason is None else reason,
    )


# The order of the values in each row given to `record_many`.
AUDIT_FIELDS = ("actor_id", "via", "organization_id", "person_id", "event", "object_key", "before", "after", "reason")


def record_many(rows: list[tuple]) -> None:
    """Append many events at once (batch computations); each row holds the values of AUDIT_FIELDS."""
    insert_rows(AuditEvent, ("uid", *AUDIT_FIELDS), [(uuid7(), *row) for row in rows])
