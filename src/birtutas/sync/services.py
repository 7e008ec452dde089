"""Writes a person makes on the sync pages. Each is a `@service` that records its audit event."""

from __future__ import annotations

import uuid

from django.utils import timezone

from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import NotFound
from birtutas.kernel.events import Event
from birtutas.registry.models import Organization, User
from birtutas.registry.permissions import Actor

from .models import Conflict
from .queries import RUNS_SCHOOL


def _uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError):
        return None


@service
def review_conflict(user: User, conflict_id, *, organization_id: int | None = None) -> Conflict:
    """The school's director or deputy marks a resolved conflict as seen. Idempotent: a conflict
    already reviewed is left as it is, with its first reviewer, and nothing more is recorded.

    `organization_id`, when given, must be the conflict's school (the page it was reviewed on).
    Anyone else, and a conflict that does not exist, get "not found".
    """
    key = _uuid(conflict_id)
    conflict = Conflict.objects.select_for_update().filter(pk=key).first() if key else None
    if conflict is None:
        raise NotFound()
    schools = Organization.objects.filter(RUNS_SCHOOL.q(Actor.for_user(user)), uid=conflict.partition)
    if organization_id is not None:
        schools = schools.filter(pk=organization_id)
    organization_id = schools.values_list("pk", flat=True).first()
    if organization_id is None:
        raise NotFound()
    if conflict.reviewed_at is not None:
        return conflict
    conflict.reviewed_by = user
    conflict.reviewed_at = timezone.now()
    conflict.save(update_fields=["reviewed_by", "reviewed_at"])
    record(
        Acting.of(user),
        Event.SYNC_CONFLICT_REVIEW,
        str(conflict.pk),
        before={"reviewed": False},
        after={"reviewed": True, "kind": conflict.kind, "uid": str(conflict.uid), "field": conflict.field},
        organization_id=organization_id,
    )
    return conflict
