"""Reads of the registry that pages and the API use, already limited to what the actor may see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db.models import Q, QuerySet

from birtutas.kernel.models import AuditEvent

from . import rules
from .models import AcademicYear, Holiday, Term
from .permissions import Actor, visible


def history(actor: Actor, object_key: str, events: Iterable[str]) -> QuerySet[AuditEvent]:
    """The history of one record (a journal cell: its mark and attendance events), as the actor may see it."""
    return (
        visible(AuditEvent, actor)
        .filter(event__in=list(events), object_key=object_key)
        .select_related("actor__person")
        .order_by("at", "id")
    )


def person_history(actor: Actor, person_id: int) -> QuerySet[AuditEvent]:
    """Everything that happened to one person, as far as the actor may see it."""
    return visible(AuditEvent, actor).filter(Q(person_id=person_id)).order_by("-at", "-id")


# ------------------------------------------------------------------ the school calendar
#
# An organization's calendar is its own school years and, for every year it has not adopted, the
# ministry's default. These reads need no actor: dates of terms and holidays are not personal, and
# callers have already decided that the actor may see the organization.


def calendar_years(organization_id: int | None) -> list[AcademicYear]:
    """The organization's school years, oldest first: its own, and the default's where it has none."""
    own = list(AcademicYear.objects.filter(organization_id=organization_id)) if organization_id else []
    adopted = {year.name for year in own}
    defaults = [y for y in AcademicYear.objects.filter(organization__isnull=True) if y.name not in adopted]
    return sorted(own + defaults, key=lambda y: y.starts_on)


def calendar_year(organization_id: int | None, on_date: dt.date) -> AcademicYear | None:
    """The organization's own school year covering the date, else the ministry's default one, else None."""
    return next((y for y in calendar_years(organization_id) if y.starts_on <= on_date <= y.ends_on), None)


def current_year(organization_id: int | None, on: dt.date) -> AcademicYear | None:
    """The organization's current school year on a date: the one covering it (`calendar_year`);
    between years (in summer), the latest begun before it; before any year, the first. The same rule
    as `rules.term_for` between terms. None when there is no calendar at all.

    A class points at the default year or at the school's own copy of it (see `own_year`): match
    classes to the result by `year__name`, not by its id.
    """
    return rules.term_for(on, calendar_years(organization_id))


def own_year(organization_id: int | None, year: AcademicYear | int | None) -> AcademicYear | None:
    """The organization's version of a year: its own copy of a default year it adopted, or the year itself.

    Classes made before a school adopted its calendar still point at the default year; this finds
    the school's copy for them. A year of another organization is none of this one's: None.
    """
    if year is None:
        return None
    if not isinstance(year, AcademicYear):
        year = AcademicYear.objects.filter(pk=year).first()
        if year is None:
            return None
    if year.organization_id is None and organization_id:
        return AcademicYear.objects.filter(organization_id=organization_id, name=year.name).first() or year
    return year if year.organization_id in (None, organization_id) else None


def terms_of(year: AcademicYear | int) -> list[Term]:
    """A year's terms or semesters, in order."""
    year_id = getattr(year, "pk", year)
    return list(Term.objects.filter(year_id=year_id).select_related("year").order_by("number"))


def holidays_of(organization_id: int | None, year: AcademicYear | int) -> list[Holiday]:
    """The holidays of the organization's version of a year (see `own_year`), in date order."""
    year = own_year(organization_id, year)
    return [] if year is None else list(Holiday.objects.filter(year=year).order_by("starts_on", "ends_on"))


def current_term(organization_id: int | None, today: dt.date) -> Term | None:
    """The organization's term on a date: the one covering it; between terms (or in summer), the one
    that ended last; before any term, the first. None when there is no calendar at all."""
    years = calendar_years(organization_id)
    terms = list(Term.objects.filter(year__in=[y.pk for y in years]).select_related("year"))
    return rules.term_for(today, terms)


def _spans(organization_id: int | None, first: dt.date, last: dt.date):
    years = [y for y in calendar_years(organization_id) if y.starts_on <= last and first <= y.ends_on]
    ids = [y.pk for y in years]
    terms = [rules.Span(s, e) for s, e in Term.objects.filter(year__in=ids).values_list("starts_on", "ends_on")]
    holidays = [rules.Span(s, e) for s, e in Holiday.objects.filter(year__in=ids).values_list("starts_on", "ends_on")]
    return terms, holidays


def is_school_day(organization_id: int | None, day: dt.date) -> bool:
    """Monday to Saturday, inside one of the organization's terms, and not one of its holidays."""
    terms, holidays = _spans(organization_id, day, day)
    return rules.is_school_day(day, terms, holidays)


def school_days(organization_id: int | None, first: dt.date, last: dt.date) -> list[dt.date]:
    """Every school day of the organization from `first` to `last` (three queries, whatever the span)."""
    terms, holidays = _spans(organization_id, first, last)
    return rules.school_days(first, last, terms, holidays)
