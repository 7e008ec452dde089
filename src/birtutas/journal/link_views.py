"""The page where a person, or the director of their school, confirms or declines a school's link request."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.kernel.parsing import to_int
from birtutas.registry import services as registry

from . import onboarding


@login_required
@require_http_methods(["GET", "POST"])
def links(request):
    if request.method == "POST":
        decision = request.POST.get("decision")
        if decision not in ("accept", "decline"):
            messages.error(request, _("Choose to accept or to decline."))
            return redirect("school:links")
        try:
            onboarding.decide_link(request.user, to_int(request.POST.get("request")) or 0, accept=decision == "accept")
        except ServiceError as error:
            raise_refusal(error)
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("Accepted: the link is made.") if decision == "accept" else _("Declined: nothing changed.")
            )
        return redirect("school:links")
    pending = registry.pending_links(request.user)
    details = onboarding.link_details(pending)
    person_id = request.user.person_id
    rows = [{"link": link, "own": link.person_id == person_id, **details[link.pk]} for link in pending]
    return render(request, "journal/links.html", {"rows": rows})
