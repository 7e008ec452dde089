"""Writes to the school calendar: each organization's school years, terms (or semesters) and holidays.

The ministry's default calendar (years without an organization) is set by the system through a
command, or by a system administrator. A school's director or deputy adopts it for a school year
(a copy of its terms and holidays; two semesters for a college or university) and then changes
the copy: a term's dates, a holiday added or removed. Every change is checked against the rules
(`rules.calendar_problems`), locks the year's row, records one `calendar.set` audit event, and
returns early when nothing changes, so a second click changes nothing.

Closed terms: the journal owns term closure, and the registry cannot import it. A change that
touches a closed term is refused when the caller names the closed terms (`locked_term_ids`) or,
when it does not, when a registered lock provider does: the journal registers one at start-up
(`register_term_locks`), so the calendar page, which knows nothing of the journal, is covered too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _

from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import Conflict, NotFound, ServiceError
from birtutas.kernel.events import Event

from .models import AcademicYear, Holiday, Organization, Term
from .permissions import Action, Actor, require, visible
from .rules import Span, TermDates, calendar_problems, semesters_from_terms, term_name

NAME_LENGTH = 200

# (organization id or None for the ministry's default, term ids) -> the ids among them that are closed.
TermLocks = Callable[[int | None, list[int]], Iterable[int]]
_term_locks: list[TermLocks] = []


def register_term_locks(provider: TermLocks) -> None:
    """Tell the calendar which terms are closed (the journal does, at start-up); registered once."""
    if provider not in _term_locks:
        _term_locks.append(provider)


def unregister_term_locks(provider: TermLocks) -> None:
    if provider in _term_locks:
        _term_locks.remove(provider)


def closed_terms(organization_id: int | None, term_ids: list[int], locked_term_ids: Iterable[int] | None) -> set[int]:
    """The closed terms among `term_ids`: those the caller names, or else those a provider reports."""
    if locked_term_ids is not None:
        return set(locked_term_ids) & set(term_ids)
    closed: set[int] = set()
    for provider in _term_locks:
        closed |= set(provider(organization_id, term_ids)) & set(term_ids)
    return closed


@dataclass(frozen=True)
class HolidayDates:
    starts_on: dt.date
    ends_on: dt.date
    name_kk: str
    name_ru: str
    name_en: str = ""


# ------------------------------------------------------------------ access


def _not_found() -> NotFound:
    return NotFound(_("Not found."))


def _year_to_change(user, year_id: int) -> AcademicYear:
    """The year, locked for the change, if the user may change it (None: the system, through a command).

    A year the user cannot even see is "not found", whoever owns it; one they see but may not
    change (a school's teacher, the ministry's default for a director) is refused.
    """
    if user is not None:
        actor = Actor.for_user(user)
        year = visible(AcademicYear, actor).filter(pk=year_id).first()
        if year is None:
            raise _not_found()
        require(actor, Action.CHANGE, year, _("Only the school's director or deputy may change its calendar."))
    year = AcademicYear.objects.select_for_update().filter(pk=year_id).first()
    if year is None:
        raise _not_found()
    return year


def _organization_to_plan(user, organization_id: int) -> Organization:
    """The organization, locked, if the user runs it (None: the system)."""
    if user is not None:
        actor = Actor.for_user(user)
        if not visible(Organization, actor).filter(pk=organization_id).exists():
            raise _not_found()
        require(
            actor,
            Action.CREATE,
            AcademicYear(organization_id=organization_id),
            _("Only the school's director or deputy may change its calendar."),
        )
    organization = Organization.objects.select_for_update().filter(pk=organization_id).first()
    if organization is None:
        raise _not_found()
    return organization


# ------------------------------------------------------------------ checks


def _check(year: AcademicYear, terms: Sequence[TermDates], holidays: Sequence[Span], *, semesters: bool) -> None:
    problems = calendar_problems(Span(year.starts_on, year.ends_on), terms, holidays, semesters=semesters)
    if problems:
        raise ServiceError(problems[0], details=problems)


def _term_dates(year: AcademicYear, replace: Term | None = None) -> list[TermDates]:
    return [
        TermDates(replace.starts_on, replace.ends_on, number=t.number)
        if replace is not None and t.pk == replace.pk
        else TermDates(t.starts_on, t.ends_on, number=t.number)
        for t in year.terms.order_by("number")
    ]


def _holiday_spans(year: AcademicYear) -> list[Span]:
    return [Span(h.starts_on, h.ends_on) for h in year.holidays.all()]


def _is_semester_year(year: AcademicYear) -> bool:
    return year.terms.filter(kind=Term.Kind.SEMESTER).exists()


def _refuse_closed(year: AcademicYear, terms: Iterable[Term], locked_term_ids: Iterable[int] | None) -> None:
    terms = list(terms)
    closed = closed_terms(year.organization_id, [t.pk for t in terms], locked_term_ids)
    if closed:
        term = next(t for t in terms if t.pk in closed)
        raise Conflict(
            _("%(term)s is closed: its dates and holidays can no longer change.")
            % {"term": term_name(term.number, term.kind == Term.Kind.SEMESTER)}
        )


def _clean_name(value: str, label: str) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ServiceError(_("The holiday's name in %(language)s is required.") % {"language": label})
    if len(value) > NAME_LENGTH:
        raise ServiceError(
            _("The holiday's name in %(language)s is longer than %(max)d characters.")
            % {"language": label, "max": NAME_LENGTH}
        )
    return value


def snapshot(year: AcademicYear) -> dict:
    """The whole calendar of a year, as the audit keeps it."""
    return {
        "name": year.name,
        "starts_on": year.starts_on.isoformat(),
        "ends_on": year.ends_on.isoformat(),
        "terms": [
            [t.number, t.kind, t.starts_on.isoformat(), t.ends_on.isoformat()] for t in year.terms.order_by("number")
        ],
        "holidays": [
            [h.starts_on.isoformat(), h.ends_on.isoformat(), h.name_kk, h.name_ru] for h in year.holidays.all()
        ],
    }


def _audit(user, year: AcademicYear, before, after, reason: str = "") -> None:
    record(
        Acting.of(user, reason),
        Event.CALENDAR_SET,
        f"year:{year.pk}",
        before=before,
        after=after,
        organization_id=year.organization_id,
    )


# ------------------------------------------------------------------ services


@service
def adopt_default(user, organization_id: int, default_year_id: int) -> AcademicYear:
    """The organization's own copy of a year of the ministry's default calendar, made once.

    A school gets the default's terms; a college or university two semesters made of them.
    Holidays are copied as they are. Adopting a year the organization already has returns it.
    """
    organization = _organization_to_plan(user, organization_id)
    default = AcademicYear.objects.filter(pk=default_year_id, organization__isnull=True).first()
    if default is None:
        raise _not_found()
    existing = AcademicYear.objects.filter(organization=organization, name=default.name).first()
    if existing is not None:
        return existing
    terms = _term_dates(default)
    semesters = organization.kind != Organization.Kind.SCHOOL
    if semesters:
        terms = semesters_from_terms(terms)
    holidays = list(default.holidays.all())
    year = AcademicYear(
        organization=organization, name=default.name, starts_on=default.starts_on, ends_on=default.ends_on
    )
    _check(year, terms, [Span(h.starts_on, h.ends_on) for h in holidays], semesters=semesters)
    year.save()
    kind = Term.Kind.SEMESTER if semesters else Term.Kind.TERM
    Term.objects.bulk_create(
        [Term(year=year, kind=kind, number=t.number, starts_on=t.starts_on, ends_on=t.ends_on) for t in terms]
    )
    Holiday.objects.bulk_create(
        [
            Holiday(
                year=year,
                starts_on=h.starts_on,
                ends_on=h.ends_on,
                name_kk=h.name_kk,
                name_ru=h.name_ru,
                name_en=h.name_en,
            )
            for h in holidays
        ]
    )
    _audit(user, year, None, {**snapshot(year), "adopted_from": default.pk})
    return year


@service
def set_term_dates(
    user,
    term_id: int,
    starts_on: dt.date,
    ends_on: dt.date,
    *,
    locked_term_ids: Iterable[int] | None = None,
    reason: str = "",
) -> Term:
    """Move a term's first and last day; refused for a closed term or dates that break the calendar."""
    term = Term.objects.filter(pk=term_id).first()
    if term is None:
        raise _not_found()
    year = _year_to_change(user, term.year_id)
    term = Term.objects.get(pk=term.pk)  # read again under the year's lock
    if (term.starts_on, term.ends_on) == (starts_on, ends_on):
        return term
    _refuse_closed(year, [term], locked_term_ids)
    before = snapshot(year)
    term.starts_on, term.ends_on = starts_on, ends_on
    _check(year, _term_dates(year, replace=term), _holiday_spans(year), semesters=term.kind == Term.Kind.SEMESTER)
    term.save(update_fields=["starts_on", "ends_on"])
    _audit(user, year, before, snapshot(year), reason)
    return term


def _terms_touched(year: AcademicYear, span: Span) -> list[Term]:
    return [t for t in year.terms.all() if Span(t.starts_on, t.ends_on).overlaps(span)]


@service
def add_holiday(
    user,
    year_id: int,
    starts_on: dt.date,
    ends_on: dt.date,
    name_kk: str,
    name_ru: str,
    *,
    name_en: str = "",
    locked_term_ids: Iterable[int] | None = None,
    reason: str = "",
) -> Holiday:
    """Add days without lessons to a year; the same dates again change only the names, if they differ."""
    year = _year_to_change(user, year_id)
    name_kk = _clean_name(name_kk, _("Kazakh"))
    name_ru = _clean_name(name_ru, _("Russian"))
    name_en = " ".join((name_en or "").split())[:NAME_LENGTH]
    span = Span(starts_on, ends_on)
    existing = Holiday.objects.filter(year=year, starts_on=starts_on, ends_on=ends_on).first()
    if existing is not None and (existing.name_kk, existing.name_ru) == (name_kk, name_ru):
        return existing
    _check(year, _term_dates(year), [*_holiday_spans(year), span], semesters=_is_semester_year(year))
    _refuse_closed(year, _terms_touched(year, span), locked_term_ids)
    before = snapshot(year)
    if existing is not None:
        existing.name_kk, existing.name_ru, existing.name_en = name_kk, name_ru, name_en or existing.name_en
        existing.save(update_fields=["name_kk", "name_ru", "name_en"])
        holiday = existing
    else:
        holiday = Holiday.objects.create(
            year=year, starts_on=starts_on, ends_on=ends_on, name_kk=name_kk, name_ru=name_ru, name_en=name_en
        )
    _audit(user, year, before, snapshot(year), reason)
    return holiday


@service
def remove_holiday(user, holiday_id: int, *, locked_term_ids: Iterable[int] | None = None, reason: str = "") -> None:
    """Make a holiday's days school days again; refused when they fall in a closed term."""
    holiday = Holiday.objects.filter(pk=holiday_id).first()
    if holiday is None:
        raise _not_found()
    year = _year_to_change(user, holiday.year_id)
    holiday = Holiday.objects.filter(pk=holiday.pk).first()
    if holiday is None:  # removed by another request while this one waited for the lock
        raise _not_found()
    _refuse_closed(year, _terms_touched(year, Span(holiday.starts_on, holiday.ends_on)), locked_term_ids)
    before = snapshot(year)
    holiday.delete()
    _audit(user, year, before, snapshot(year), reason)


@service
def define_year(
    user,
    organization_id: int | None,
    name: str,
    starts_on: dt.date,
    ends_on: dt.date,
    terms: Sequence[TermDates],
    holidays: Sequence[HolidayDates] = (),
    *,
    semesters: bool = False,
    locked_term_ids: Iterable[int] | None = None,
    reason: str = "",
) -> AcademicYear:
    """Set a whole school year at once: the ministry's default (`organization_id` None) through a command,
    or an organization's own. Terms are matched by number, holidays by their dates; what the new
    calendar no longer has is removed (a term that lessons refer to cannot be). Nothing changes
    when the year is already so.
    """
    name = (name or "").strip()
    if not name or len(name) > 9:
        raise ServiceError(_("A school year's name is like 2026-2027."))
    if organization_id is None:
        if user is not None:
            require(Actor.for_user(user), Action.CREATE, AcademicYear(organization_id=None))
        organization = None
    else:
        organization = _organization_to_plan(user, organization_id)
    holidays = [
        HolidayDates(
            h.starts_on,
            h.ends_on,
            _clean_name(h.name_kk, _("Kazakh")),
            _clean_name(h.name_ru, _("Russian")),
            " ".join((h.name_en or "").split())[:NAME_LENGTH],
        )
        for h in holidays
    ]
    year = AcademicYear(organization=organization, name=name, starts_on=starts_on, ends_on=ends_on)
    _check(year, terms, [Span(h.starts_on, h.ends_on) for h in holidays], semesters=semesters)
    found = AcademicYear.objects.select_for_update().filter(organization=organization, name=name).first()
    kind = Term.Kind.SEMESTER if semesters else Term.Kind.TERM
    wanted_terms = {t.number: (kind, t.starts_on, t.ends_on) for t in terms}
    wanted_holidays = {(h.starts_on, h.ends_on): (h.name_kk, h.name_ru, h.name_en) for h in holidays}
    if found is not None:
        have_terms = {t.number: (t.kind, t.starts_on, t.ends_on) for t in found.terms.all()}
        have_holidays = {(h.starts_on, h.ends_on): (h.name_kk, h.name_ru, h.name_en) for h in found.holidays.all()}
        if (found.starts_on, found.ends_on, have_terms, have_holidays) == (
            starts_on,
            ends_on,
            wanted_terms,
            wanted_holidays,
        ):
            return found
        if user is not None:
            require(Actor.for_user(user), Action.CHANGE, found)
        changed = [t for t in found.terms.all() if have_terms[t.number] != wanted_terms.get(t.number)]
        _refuse_closed(found, changed, locked_term_ids)
        year, before = found, snapshot(found)
        year.starts_on, year.ends_on = starts_on, ends_on
        year.save(update_fields=["starts_on", "ends_on"])
    else:
        before = None
        year.save()
    try:
        with transaction.atomic():
            _replace_terms(year, wanted_terms)
    except (ProtectedError, IntegrityError):
        raise Conflict(_("A term that lessons or grades refer to cannot be removed from the calendar.")) from None
    for holiday in list(year.holidays.all()):
        key = (holiday.starts_on, holiday.ends_on)
        if key not in wanted_holidays:
            holiday.delete()
        elif (holiday.name_kk, holiday.name_ru, holiday.name_en) != wanted_holidays[key]:
            holiday.name_kk, holiday.name_ru, holiday.name_en = wanted_holidays.pop(key)
            holiday.save(update_fields=["name_kk", "name_ru", "name_en"])
        else:
            wanted_holidays.pop(key)
    Holiday.objects.bulk_create(
        [
            Holiday(year=year, starts_on=s, ends_on=e, name_kk=kk, name_ru=ru, name_en=en)
            for (s, e), (kk, ru, en) in wanted_holidays.items()
        ]
    )
    _audit(user, year, before, snapshot(year), reason)
    return year


def _replace_terms(year: AcademicYear, wanted: dict[int, tuple[str, dt.date, dt.date]]) -> None:
    """Make the year's terms the wanted ones, keeping each term's row (lessons and closures refer to it)."""
    have = {t.number: t for t in year.terms.all()}
    for number, term in have.items():
        if number not in wanted:
            term.delete()
    for number, (kind, starts_on, ends_on) in wanted.items():
        term = have.get(number)
        if term is None:
            Term.objects.create(year=year, kind=kind, number=number, starts_on=starts_on, ends_on=ends_on)
        elif (term.kind, term.starts_on, term.ends_on) != (kind, starts_on, ends_on):
            term.kind, term.starts_on, term.ends_on = kind, starts_on, ends_on
            term.save(update_fields=["kind", "starts_on", "ends_on"])
