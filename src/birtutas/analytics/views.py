"""The area overview for district and region officers and ministry analysts: aggregates only."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render

from birtutas.journal.queries import current_term
from birtutas.registry.permissions import Actor

from .queries import MIN_GROUP, area_figures


@login_required
def area(request):
    actor = Actor.for_user(request.user)
    if actor.area() is None:
        raise Http404
    term = current_term()
    return render(
        request, "analytics/area.html", {"figures": area_figures(actor, term), "term": term, "min_group": MIN_GROUP}
    )
