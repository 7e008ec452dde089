"""The sync status pages: the school servers of an area, and one school's sync state on this server."""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_safe

from birtutas.journal import queries as journal_queries
from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.registry.permissions import Actor

from . import queries, services

SHOW_STALE = "stale"


def when(moment: dt.datetime | None) -> str:
    """A moment as "25 November, 10:42" in the reader's language and time zone (with the year if not this one)."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    same_year = local.year == timezone.localtime().year
    return date_format(local, "j E, H:i" if same_year else "j E Y, H:i")


@login_required
@require_safe
def index(request):
    """The start of the sync pages: a school's administration goes to its school, an officer to the list."""
    organizations = journal_queries.directed_organizations(Actor.for_user(request.user))
    if organizations:
        return redirect("sync:school", organization_id=organizations[0].pk)
    if queries.may_list_nodes(request.user):
        return redirect("sync:schools")
    raise Http404


@login_required
@require_safe
def schools(request):
    days = queries.stale_days(request.GET.get("days", ""))
    only_stale = request.GET.get("show") == SHOW_STALE
    listing = queries.node_list(request.user, days=days, only_stale=only_stale, language=get_language())
    if listing is None:
        raise Http404
    return render(
        request,
        "sync/schools.html",
        {"listing": listing, "show_stale": SHOW_STALE, "default_days": settings.SYNC_STALE_DAYS},
    )


@login_required
@require_http_methods(["GET", "POST"])
def school(request, organization_id: int):
    actor = Actor.for_user(request.user)
    status = 200
    if request.method == "POST":
        # Only the school's administration reviews; anyone else is told the page does not exist.
        organization = journal_queries.directed_organization(actor, organization_id)
        conflict_id = _uuid(request.POST.get("conflict"))
        if conflict_id is None:
            messages.error(request, _("Choose the conflict to mark as reviewed."))
            status = 400
        else:
            try:
                services.review_conflict(request.user, conflict_id, organization_id=organization.pk)
            except ServiceError as error:
                raise_refusal(error)
                messages.error(request, error.message)
                status = 400
            else:
                messages.success(request, _("The conflict is marked as reviewed."))
                return redirect("sync:school", organization_id=organization.pk)
    state = queries.school_sync(actor, organization_id)
    return render(
        request,
        "sync/school.html",
        {
            "state": state,
            "organization": state.organization,
            "last_synced": when(state.last_synced_at),
            "may_list": queries.may_list_nodes(request.user),
        },
        status=status,
    )


def _uuid(text) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(text or ""))
    except ValueError:
        return None
