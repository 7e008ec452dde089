"""The registry's pages: a school's calendar (school year, terms or semesters, holidays) for its director."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from birtutas.kernel import clock
from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.kernel.parsing import to_date, to_int

from . import calendar, queries
from .models import AcademicYear, Organization
from .permissions import Actor, visible


def _directed_organization(request, organization_id: int) -> Organization:
    """The organization, if the user runs it (director or deputy); a 404 for everyone else."""
    organization = visible(Organization, Actor.for_user(request.user)).filter(pk=organization_id).first()
    if organization is None:
        raise Http404
    return organization


def _shown_year(years: list[AcademicYear], requested: int | None) -> AcademicYear | None:
    """The year asked for, else the one covering today, else the latest."""
    today = clock.today()
    chosen = next((y for y in years if y.pk == requested), None)
    current = next((y for y in years if y.starts_on <= today <= y.ends_on), None)
    return chosen or current or (years[-1] if years else None)


@login_required
@require_http_methods(["GET", "POST"])
def school_calendar(request, organization_id: int):
    organization = _directed_organization(request, organization_id)
    if request.method == "POST":
        year_id = _change(request, organization)
        url = reverse("school_calendar", args=[organization.pk])
        return redirect(f"{url}?year={year_id}" if year_id else url)
    years = queries.calendar_years(organization.pk)
    year = _shown_year(years, to_int(request.GET.get("year")))
    own = year is not None and year.organization_id == organization.pk
    return render(
        request,
        "registry/calendar.html",
        {
            "organization": organization,
            "years": years,
            "year": year,
            "own": own,
            "terms": queries.terms_of(year) if year else [],
            "holidays": queries.holidays_of(organization.pk, year) if year else [],
            "semesters": organization.kind != Organization.Kind.SCHOOL,
        },
    )


def _change(request, organization: Organization) -> int | None:
    """Do what the form asks; the message says how it went. Returns the year to show next."""
    post = request.POST
    action = post.get("action", "")
    year_id = to_int(post.get("year"))
    try:
        if action == "adopt":
            year = calendar.adopt_default(request.user, organization.pk, year_id or 0)
            messages.success(request, _("The school now has its own calendar for %(year)s.") % {"year": year.name})
            return year.pk
        if action in ("term", "add_holiday"):
            starts_on, ends_on = to_date(post.get("starts_on")), to_date(post.get("ends_on"))
            if starts_on is None or ends_on is None:
                messages.error(request, _("Enter both dates: the first and the last day."))
                return year_id
            if action == "term":
                calendar.set_term_dates(request.user, to_int(post.get("term")) or 0, starts_on, ends_on)
                messages.success(request, _("The dates are saved."))
            else:
                calendar.add_holiday(
                    request.user, year_id or 0, starts_on, ends_on, post.get("name_kk", ""), post.get("name_ru", "")
                )
                messages.success(request, _("The holiday is added."))
            return year_id
        if action == "remove_holiday":
            calendar.remove_holiday(request.user, to_int(post.get("holiday")) or 0)
            messages.success(request, _("The holiday is removed."))
            return year_id
        messages.error(request, _("Choose what to change."))
    except ServiceError as error:
        raise_refusal(error)
        messages.error(request, error.message)
    return year_id
