"""The school administration's bell schedule page: the start and end of each period, shift by shift."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.kernel.parsing import to_int
from birtutas.registry.permissions import Actor

from . import bells, queries, rules


@login_required
@require_http_methods(["GET", "POST"])
def bell_schedule(request, organization_id: int):
    actor = Actor.for_user(request.user)
    organization = queries.directed_organization(actor, organization_id)
    source = request.POST if request.method == "POST" else request.GET
    shift = to_int(source.get("shift")) or 1
    if shift not in bells.SHIFTS:
        shift = 1
    saved = queries.shift_bells(actor, [(organization.pk, shift)]).get((organization.pk, shift), {})
    typed = {p: (_time(saved, p, "starts"), _time(saved, p, "ends")) for p in bells.PERIODS}
    status = 200
    if request.method == "POST":
        typed = {p: (request.POST.get(f"starts-{p}", ""), request.POST.get(f"ends-{p}", "")) for p in bells.PERIODS}
        try:
            changed = bells.set_bell_schedule(request.user, organization.pk, shift, bells.parse_schedule(typed))
        except (ServiceError, rules.RuleError) as error:
            raise_refusal(error)
            messages.error(request, error.message)
            status = 400  # the form again, with everything as typed
        else:
            messages.success(request, _("The bell schedule is saved.") if changed else _("Nothing changed."))
            return redirect(f"{reverse('school:bells', args=[organization.pk])}?shift={shift}")
    return render(
        request,
        "journal/school/bells.html",
        {
            "organization": organization,
            "shift": shift,
            "shifts": bells.SHIFTS,
            "classes": bells.shifts_in_use(organization).get(shift, []),
            "rows": [(p, *typed[p]) for p in bells.PERIODS],
        },
        status=status,
    )


def _time(saved: dict, period: int, end: str) -> str:
    bell = saved.get(period)
    return getattr(bell, end).strftime("%H:%M") if bell else ""
