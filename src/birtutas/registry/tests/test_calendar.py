"""The school calendar: its rules, adopting the ministry's default, changing a school's own copy, who
may do what, the reads the journal uses, and the director's page."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from birtutas.kernel.errors import Conflict, Forbidden, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.registry import calendar, queries
from birtutas.registry.calendar import HolidayDates
from birtutas.registry.models import AcademicYear, Holiday, Membership, Organization, Role, Term
from birtutas.registry.permissions import Actor, visible
from birtutas.registry.rules import (
    Span,
    TermDates,
    calendar_problems,
    is_school_day,
    school_days,
    semesters_from_terms,
    term_for,
)
from birtutas.testing import account, person

D = dt.date
YEAR = Span(D(2026, 9, 1), D(2027, 5, 25))
TERMS = [
    TermDates(D(2026, 9, 1), D(2026, 10, 24), number=1),
    TermDates(D(2026, 11, 3), D(2026, 12, 26), number=2),
    TermDates(D(2027, 1, 8), D(2027, 3, 18), number=3),
    TermDates(D(2027, 3, 30), D(2027, 5, 25), number=4),
]
HOLIDAYS = [
    HolidayDates(D(2026, 10, 25), D(2026, 11, 2), "Күзгі демалыс", "Осенние каникулы"),
    HolidayDates(D(2026, 12, 16), D(2026, 12, 17), "Тәуелсіздік күні", "День Независимости"),
    HolidayDates(D(2026, 12, 27), D(2027, 1, 7), "Қысқы демалыс", "Зимние каникулы"),
    HolidayDates(D(2027, 3, 19), D(2027, 3, 29), "Көктемгі демалыс", "Весенние каникулы"),
]


def T(number, start, end):  # noqa: N802 - reads like the data it builds
    return TermDates(start, end, number=number)


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    ("year", "terms", "holidays", "fragments"),
    [
        (YEAR, TERMS, [Span(h.starts_on, h.ends_on) for h in HOLIDAYS], []),
        (YEAR, [T(1, D(2026, 9, 1), D(2027, 5, 25))], [], []),  # one term the whole year
        (Span(D(2027, 5, 25), D(2026, 9, 1)), TERMS, [], ["must end after it begins"]),
        (Span(D(2026, 9, 1), D(2026, 9, 1)), [], [], ["must end after it begins", "at least one term"]),
        (Span(D(2026, 9, 1), D(2027, 9, 1)), TERMS, [], ["longer than a year"]),
        (Span(D(2027, 9, 1), D(2028, 8, 31)), [T(1, D(2027, 9, 1), D(2028, 8, 31))], [], []),  # a leap year
        (Span(D(2028, 2, 29), D(2029, 2, 28)), [T(1, D(2028, 2, 29), D(2029, 2, 28))], [], []),
        (Span(D(2028, 2, 29), D(2029, 3, 1)), [T(1, D(2028, 2, 29), D(2029, 2, 28))], [], ["longer than a year"]),
        (YEAR, [], [], ["at least one term"]),
        (YEAR, [TERMS[0], T(3, D(2027, 1, 8), D(2027, 3, 18))], [], ["without gaps or repeats (not 1, 3)"]),
        (YEAR, [TERMS[0], T(1, D(2027, 1, 8), D(2027, 3, 18))], [], ["without gaps or repeats (not 1, 1)"]),
        (YEAR, [T(0, D(2026, 9, 1), D(2026, 10, 24))], [], ["without gaps or repeats (not 0)"]),
        (YEAR, [T(1, D(2026, 10, 24), D(2026, 9, 1))], [], ["Term 1 ends on 01.09.2026, before its first day"]),
        (YEAR, [T(1, D(2026, 8, 25), D(2026, 10, 24))], [], ["Term 1 (25.08.2026 – 24.10.2026) is not inside"]),
        (YEAR, [*TERMS[:3], T(4, D(2027, 3, 30), D(2027, 6, 5))], [], ["Term 4 (30.03.2027 – 05.06.2027) is not"]),
        # overlapping, and touching (a term cannot begin on the day the previous one ends)
        (YEAR, [TERMS[0], T(2, D(2026, 10, 20), D(2026, 12, 26))], [], ["Term 2 must begin after Term 1 ends"]),
        (YEAR, [TERMS[0], T(2, D(2026, 10, 24), D(2026, 12, 26))], [], ["Term 2 must begin after Term 1 ends"]),
        # out of order: term 2 before term 1
        (YEAR, [T(1, D(2026, 11, 3), D(2026, 12, 26)), T(2, D(2026, 9, 1), D(2026, 10, 24))], [], ["Term 2 must"]),
        (YEAR, TERMS, [Span(D(2026, 11, 2), D(2026, 10, 25))], ["A holiday cannot end on 25.10.2026"]),
        (YEAR, TERMS, [Span(D(2027, 5, 20), D(2027, 6, 1))], ["The holiday 20.05.2027 – 01.06.2027 is not inside"]),
        (YEAR, TERMS, [Span(D(2026, 8, 31), D(2026, 8, 31))], ["is not inside the school year"]),
    ],
)
def test_calendar_problems(year, terms, holidays, fragments):
    with translation.override("en"):
        problems = calendar_problems(year, terms, holidays)
    assert len(problems) == len(fragments), problems
    for problem, fragment in zip(problems, fragments, strict=True):
        assert fragment in problem, (problem, fragment)


def test_semesters_are_named_as_semesters():
    with translation.override("en"):
        problems = calendar_problems(
            YEAR, [T(1, D(2026, 9, 1), D(2027, 1, 10)), T(2, D(2027, 1, 5), D(2027, 5, 25))], (), semesters=True
        )
    assert problems == ["Semester 2 must begin after Semester 1 ends (10.01.2027)."]


SPANS = [Span(h.starts_on, h.ends_on) for h in HOLIDAYS]


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 11, 20), True),  # a Friday in term 2
        (D(2026, 11, 21), True),  # a Saturday: many schools teach
        (D(2026, 11, 22), False),  # a Sunday
        (D(2026, 12, 16), False),  # Independence Day, a Wednesday
        (D(2026, 12, 17), False),
        (D(2026, 12, 18), True),
        (D(2026, 10, 28), False),  # the autumn holiday
        (D(2027, 3, 19), False),  # between terms 3 and 4, inside the spring holiday
        (D(2026, 9, 1), True),  # the first day of the year
        (D(2027, 5, 25), True),  # the last day
        (D(2027, 5, 26), False),  # summer
        (D(2026, 8, 31), False),
    ],
)
def test_is_school_day(day, expected):
    assert is_school_day(day, TERMS, SPANS) is expected


def test_a_day_between_terms_without_a_holiday_is_no_school_day():
    assert not is_school_day(D(2026, 11, 2), TERMS, [])  # a Monday after term 1, before term 2


def test_school_days_of_a_week_with_a_holiday():
    assert school_days(D(2026, 12, 14), D(2026, 12, 20), TERMS, SPANS) == [
        D(2026, 12, 14),
        D(2026, 12, 15),
        D(2026, 12, 18),
        D(2026, 12, 19),
    ]


@pytest.mark.parametrize(
    ("day", "number"),
    [
        (D(2026, 11, 20), 2),
        (D(2026, 10, 24), 1),
        (D(2026, 10, 30), 1),  # between terms: the one that ended last
        (D(2027, 7, 1), 4),  # summer
        (D(2026, 8, 1), 1),  # before the year: the first
    ],
)
def test_term_for(day, number):
    assert term_for(day, TERMS).number == number


def test_term_for_without_terms():
    assert term_for(D(2026, 11, 20), []) is None


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        (TERMS, [T(1, D(2026, 9, 1), D(2026, 12, 26)), T(2, D(2027, 1, 8), D(2027, 5, 25))]),
        (TERMS[:3], [T(1, D(2026, 9, 1), D(2026, 12, 26)), T(2, D(2027, 1, 8), D(2027, 3, 18))]),
        (TERMS[:2], [T(1, D(2026, 9, 1), D(2026, 10, 24)), T(2, D(2026, 11, 3), D(2026, 12, 26))]),
        (list(reversed(TERMS)), [T(1, D(2026, 9, 1), D(2026, 12, 26)), T(2, D(2027, 1, 8), D(2027, 5, 25))]),
        ([], []),
    ],
)
def test_semesters_from_terms(terms, expected):
    assert semesters_from_terms(terms) == expected


# ------------------------------------------------------------------ services


@pytest.fixture
def default(world):
    """The ministry's default calendar of the test world's year, with its holidays."""
    return calendar.define_year(
        None, None, "2026-2027", YEAR.starts_on, YEAR.ends_on, TERMS, HOLIDAYS, reason="ministry order"
    )


def state():
    """Everything a calendar change may touch, to prove that a refused one touched nothing."""
    return (
        sorted(AcademicYear.objects.values_list("pk", "organization_id", "name", "starts_on", "ends_on")),
        sorted(Term.objects.values_list("pk", "year_id", "kind", "number", "starts_on", "ends_on")),
        sorted(Holiday.objects.values_list("pk", "year_id", "starts_on", "ends_on", "name_kk", "name_ru")),
        AuditEvent.objects.count(),
    )


def default_state(default):
    return (
        (default.starts_on, default.ends_on),
        list(Term.objects.filter(year=default).order_by("number").values_list("pk", "number", "starts_on", "ends_on")),
        list(Holiday.objects.filter(year=default).values_list("starts_on", "ends_on", "name_kk")),
    )


def test_the_world_year_becomes_the_default_calendar_with_its_holidays(world, default):
    assert default.pk == world.year.pk  # the same year, now with holidays
    assert default.organization_id is None
    assert [t.pk for t in queries.terms_of(default)] == [t.pk for t in world.terms]
    assert len(queries.holidays_of(None, default)) == 4
    event = AuditEvent.objects.get(event=Event.CALENDAR_SET)
    assert event.organization_id is None and event.reason == "ministry order"
    # Setting it again is no change and no new audit row.
    again = calendar.define_year(None, None, "2026-2027", YEAR.starts_on, YEAR.ends_on, TERMS, HOLIDAYS)
    assert again.pk == default.pk
    assert AuditEvent.objects.filter(event=Event.CALENDAR_SET).count() == 1


def test_a_director_adopts_the_default_and_the_school_gets_its_own_copy(world, default):
    a = world.a
    before_default = default_state(default)
    year = calendar.adopt_default(a.director, a.organization.pk, default.pk)
    assert (year.organization_id, year.name, year.starts_on, year.ends_on) == (
        a.organization.pk,
        "2026-2027",
        YEAR.starts_on,
        YEAR.ends_on,
    )
    terms = queries.terms_of(year)
    assert [(t.kind, t.number, t.starts_on, t.ends_on) for t in terms] == [
        (Term.Kind.TERM, t.number, t.starts_on, t.ends_on) for t in TERMS
    ]
    assert {t.pk for t in terms}.isdisjoint({t.pk for t in world.terms})
    assert [(h.starts_on, h.name_ru) for h in queries.holidays_of(a.organization.pk, year)] == [
        (h.starts_on, h.name_ru) for h in HOLIDAYS
    ]
    event = AuditEvent.objects.filter(event=Event.CALENDAR_SET).latest("id")
    assert event.organization_id == a.organization.pk and event.after["adopted_from"] == default.pk
    assert event.actor_id == a.director.pk
    assert default_state(default) == before_default

    # A second click is the same year: nothing new.
    before = state()
    assert calendar.adopt_default(a.director, a.organization.pk, default.pk).pk == year.pk
    assert state() == before


def test_a_college_adopts_two_semesters(world, default):
    a = world.a
    Organization.objects.filter(pk=a.organization.pk).update(kind=Organization.Kind.COLLEGE)
    year = calendar.adopt_default(a.director, a.organization.pk, default.pk)
    assert [(t.kind, t.number, t.starts_on, t.ends_on) for t in queries.terms_of(year)] == [
        (Term.Kind.SEMESTER, 1, D(2026, 9, 1), D(2026, 12, 26)),
        (Term.Kind.SEMESTER, 2, D(2027, 1, 8), D(2027, 5, 25)),
    ]


@pytest.fixture
def own(world, default):
    return calendar.adopt_default(world.a.director, world.a.organization.pk, default.pk)


def test_the_director_changes_a_terms_dates_in_the_schools_copy_only(world, default, own):
    before_default = default_state(default)
    term = queries.terms_of(own)[1]
    calendar.set_term_dates(world.a.director, term.pk, D(2026, 11, 4), D(2026, 12, 25), reason="order of the akimat")
    term.refresh_from_db()
    assert (term.starts_on, term.ends_on) == (D(2026, 11, 4), D(2026, 12, 25))
    event = AuditEvent.objects.filter(event=Event.CALENDAR_SET).latest("id")
    assert event.object_key == f"year:{own.pk}" and event.reason == "order of the akimat"
    assert event.before["terms"][1][2:] == ["2026-11-03", "2026-12-26"]
    assert event.after["terms"][1][2:] == ["2026-11-04", "2026-12-25"]
    assert default_state(default) == before_default
    # The same dates again: no change, no audit row.
    before = state()
    calendar.set_term_dates(world.a.director, term.pk, D(2026, 11, 4), D(2026, 12, 25))
    assert state() == before


def test_another_schools_director_cannot_touch_the_calendar(world, default, own):
    b = world.b
    term = queries.terms_of(own)[1]
    holiday = queries.holidays_of(world.a.organization.pk, own)[0]
    before = state()
    with pytest.raises(NotFound):
        calendar.set_term_dates(b.director, term.pk, D(2026, 11, 4), D(2026, 12, 25))
    with pytest.raises(NotFound):
        calendar.add_holiday(b.director, own.pk, D(2026, 11, 9), D(2026, 11, 9), "Мереке", "Праздник")
    with pytest.raises(NotFound):
        calendar.remove_holiday(b.director, holiday.pk)
    with pytest.raises(NotFound):
        calendar.adopt_default(b.director, world.a.organization.pk, default.pk)
    assert state() == before


def test_teachers_and_families_read_but_do_not_change_the_schools_calendar(world, own):
    a = world.a
    term = queries.terms_of(own)[1]
    before = state()
    for user in (a.teacher, a.guardian, a.student_user):
        assert visible(Term, Actor.for_user(user)).filter(pk=term.pk).exists()
        with pytest.raises(Forbidden):
            calendar.set_term_dates(user, term.pk, D(2026, 11, 4), D(2026, 12, 25))
        with pytest.raises(Forbidden):
            calendar.add_holiday(user, own.pk, D(2026, 11, 9), D(2026, 11, 9), "Мереке", "Праздник")
    assert state() == before


def test_who_reads_which_calendar(world, own):
    b, a = world.b, world.a
    for user in (b.director, b.teacher, b.guardian):
        terms = visible(Term, Actor.for_user(user))
        assert not terms.filter(year=own).exists()  # not another school's
        assert terms.filter(year=world.year).count() == 4  # the ministry's default, yes
        assert not visible(Holiday, Actor.for_user(user)).filter(year=own).exists()
    assert visible(Holiday, Actor.for_user(a.guardian)).filter(year=own).count() == 4
    assert visible(AcademicYear, Actor.for_user(world.district_officer)).filter(pk=own.pk).exists()  # area of A


def test_the_default_is_changed_only_by_a_system_administrator(world, default):
    before = state()
    term = world.terms[1]
    for user in (world.a.director, world.analyst, world.district_officer):
        with pytest.raises(Forbidden):
            calendar.set_term_dates(user, term.pk, D(2026, 11, 4), D(2026, 12, 25))
        with pytest.raises(Forbidden):
            calendar.define_year(
                user, None, "2027-2028", D(2027, 9, 1), D(2028, 5, 25), [T(1, D(2027, 9, 1), D(2028, 5, 25))]
            )
    assert state() == before
    admin = account(person("Жүйе", "Әкімші", D(1990, 1, 1)), "sysadmin")
    Membership.objects.create(person=admin.person, role=Role.SYSADMIN)
    calendar.set_term_dates(admin, term.pk, D(2026, 11, 4), D(2026, 12, 25))
    term.refresh_from_db()
    assert term.starts_on == D(2026, 11, 4)


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "fragment"),
    [
        (D(2026, 10, 20), D(2026, 12, 26), "Term 2 must begin after Term 1 ends"),
        (D(2026, 11, 3), D(2027, 1, 10), "Term 3 must begin after Term 2 ends"),
        (D(2026, 12, 26), D(2026, 11, 3), "before its first day"),
        (D(2026, 11, 3), D(2027, 6, 30), "is not inside the school year"),
    ],
)
def test_dates_that_break_the_calendar_are_refused_and_change_nothing(world, own, starts_on, ends_on, fragment):
    term = queries.terms_of(own)[1]
    before = state()
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        calendar.set_term_dates(world.a.director, term.pk, starts_on, ends_on)
    with translation.override("en"):
        assert fragment in str(refused.value.message)
    assert state() == before


def test_holidays_are_added_once_and_removed(world, own):
    a = world.a
    holiday = calendar.add_holiday(a.director, own.pk, D(2026, 11, 9), D(2026, 11, 9), " Мектеп  күні ", "День школы")
    assert holiday.name_kk == "Мектеп күні"
    assert not queries.is_school_day(a.organization.pk, D(2026, 11, 9))
    before = state()
    assert (
        calendar.add_holiday(a.director, own.pk, D(2026, 11, 9), D(2026, 11, 9), "Мектеп күні", "День школы").pk
        == holiday.pk
    )
    assert state() == before  # a second click adds nothing
    calendar.remove_holiday(a.director, holiday.pk)
    assert queries.is_school_day(a.organization.pk, D(2026, 11, 9))
    with pytest.raises(NotFound):
        calendar.remove_holiday(a.director, holiday.pk)  # the second click finds nothing to remove


@pytest.mark.parametrize(
    ("starts_on", "ends_on", "name_kk", "name_ru"),
    [
        (D(2026, 11, 10), D(2026, 11, 9), "Мереке", "Праздник"),  # reversed
        (D(2027, 6, 1), D(2027, 6, 2), "Мереке", "Праздник"),  # after the year
        (D(2026, 11, 9), D(2026, 11, 9), "  ", "Праздник"),  # no Kazakh name
        (D(2026, 11, 9), D(2026, 11, 9), "Мереке", ""),  # no Russian name
        (D(2026, 11, 9), D(2026, 11, 9), "М" * 201, "Праздник"),
    ],
)
def test_a_bad_holiday_is_refused_and_changes_nothing(world, own, starts_on, ends_on, name_kk, name_ru):
    before = state()
    with pytest.raises(ServiceError):
        calendar.add_holiday(world.a.director, own.pk, starts_on, ends_on, name_kk, name_ru)
    assert state() == before


def test_a_closed_term_keeps_its_dates_and_holidays(world, own):
    a = world.a
    term = queries.terms_of(own)[0]
    holiday_in_term_1 = calendar.add_holiday(a.director, own.pk, D(2026, 9, 7), D(2026, 9, 7), "Мереке", "Праздник")
    before = state()
    with pytest.raises(Conflict):
        calendar.set_term_dates(a.director, term.pk, D(2026, 9, 2), D(2026, 10, 24), locked_term_ids=[term.pk])
    with pytest.raises(Conflict):
        calendar.add_holiday(
            a.director, own.pk, D(2026, 10, 20), D(2026, 10, 21), "Мереке", "Праздник", locked_term_ids=[term.pk]
        )
    with pytest.raises(Conflict):
        calendar.remove_holiday(a.director, holiday_in_term_1.pk, locked_term_ids=[term.pk])
    assert state() == before
    # Another term is not locked by it: a holiday in term 2 is fine.
    calendar.add_holiday(
        a.director, own.pk, D(2026, 11, 9), D(2026, 11, 9), "Мереке", "Праздник", locked_term_ids=[term.pk]
    )


def test_the_journal_tells_the_calendar_which_terms_are_closed(world, own):
    """The calendar page passes no closed terms: a registered provider (the journal's) is asked."""
    a = world.a
    term = queries.terms_of(own)[0]
    asked = []

    def provider(organization_id, term_ids):
        asked.append((organization_id, sorted(term_ids)))
        return [term.pk]

    calendar.register_term_locks(provider)
    try:
        before = state()
        with pytest.raises(Conflict):
            calendar.set_term_dates(a.director, term.pk, D(2026, 9, 2), D(2026, 10, 24))
        assert state() == before
        assert asked == [(a.organization.pk, [term.pk])]
        # A caller that names the closed terms itself is believed instead.
        calendar.set_term_dates(a.director, term.pk, D(2026, 9, 2), D(2026, 10, 24), locked_term_ids=[])
    finally:
        calendar.unregister_term_locks(provider)


def test_define_year_replaces_holidays_and_refuses_removing_a_term_with_lessons(world, default):
    reduced = [h for h in HOLIDAYS if h.name_ru != "День Независимости"]
    calendar.define_year(None, None, "2026-2027", YEAR.starts_on, YEAR.ends_on, TERMS, reduced)
    assert [h.name_ru for h in queries.holidays_of(None, default)] == [h.name_ru for h in reduced]
    before = state()
    with pytest.raises(Conflict):  # term 2 has the world's lessons
        calendar.define_year(
            None, None, "2026-2027", YEAR.starts_on, YEAR.ends_on, [T(1, YEAR.starts_on, YEAR.ends_on)]
        )
    assert state() == before


# ------------------------------------------------------------------ reads


def test_calendar_reads_follow_the_schools_own_calendar_once_adopted(world, default):
    a, b = world.a, world.b
    assert queries.calendar_year(a.organization.pk, D(2026, 11, 20)).pk == default.pk
    assert queries.current_term(a.organization.pk, D(2026, 11, 20)).pk == world.terms[1].pk
    own = calendar.adopt_default(a.director, a.organization.pk, default.pk)
    assert queries.calendar_year(a.organization.pk, D(2026, 11, 20)).pk == own.pk
    assert queries.calendar_year(b.organization.pk, D(2026, 11, 20)).pk == default.pk  # B keeps the default
    assert queries.current_term(a.organization.pk, D(2026, 11, 20)).year_id == own.pk
    assert queries.current_term(a.organization.pk, D(2026, 10, 30)).number == 1  # autumn holiday: term 1
    assert queries.calendar_year(a.organization.pk, D(2027, 7, 1)) is None  # summer
    # Classes still pointing at the default year find the school's holidays.
    calendar.add_holiday(a.director, own.pk, D(2026, 11, 9), D(2026, 11, 9), "Мектеп күні", "День школы")
    assert len(queries.holidays_of(a.organization.pk, world.year)) == 5
    assert len(queries.holidays_of(b.organization.pk, world.year)) == 4
    assert queries.holidays_of(b.organization.pk, own) == []  # another school's year is none of B's
    assert not queries.is_school_day(a.organization.pk, D(2026, 11, 9))
    assert queries.is_school_day(b.organization.pk, D(2026, 11, 9))
    assert D(2026, 11, 9) not in queries.school_days(a.organization.pk, D(2026, 11, 9), D(2026, 11, 14))
    assert len(queries.school_days(b.organization.pk, D(2026, 11, 9), D(2026, 11, 14))) == 6


def test_school_days_cost_the_same_queries_whatever_the_span(world, default, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):
        days = queries.school_days(world.a.organization.pk, D(2026, 9, 1), D(2027, 5, 25))
    assert 180 < len(days) < 215  # six-day weeks, less holidays


# ------------------------------------------------------------------ the director's page


def page(organization):
    return reverse("school_calendar", args=[organization.pk])


def test_the_director_adopts_and_edits_the_calendar_on_a_page_without_javascript(world, default):
    a = world.a
    client = Client()
    client.force_login(a.director)
    response = client.get(page(a.organization))
    assert response.status_code == 200
    assert b'value="adopt"' in response.content and b"<script" not in response.content
    response = client.post(page(a.organization), {"action": "adopt", "year": default.pk})
    assert response.status_code == 302
    own = AcademicYear.objects.get(organization=a.organization)
    response = client.get(response["Location"])
    assert b'value="adopt"' not in response.content and b'type="date"' in response.content
    term = queries.terms_of(own)[1]
    client.post(
        page(a.organization),
        {"action": "term", "year": own.pk, "term": term.pk, "starts_on": "2026-11-04", "ends_on": "2026-12-25"},
    )
    term.refresh_from_db()
    assert term.starts_on == D(2026, 11, 4)
    client.post(
        page(a.organization),
        {
            "action": "add_holiday",
            "year": own.pk,
            "starts_on": "2026-11-09",
            "ends_on": "2026-11-09",
            "name_kk": "Мектеп күні",
            "name_ru": "День школы",
        },
    )
    holiday = Holiday.objects.get(year=own, name_ru="День школы")
    client.post(page(a.organization), {"action": "remove_holiday", "year": own.pk, "holiday": holiday.pk})
    assert not Holiday.objects.filter(pk=holiday.pk).exists()


def test_a_refused_change_is_shown_on_the_page_and_changes_nothing(world, own):
    a = world.a
    client = Client()
    client.force_login(a.director)
    term = queries.terms_of(own)[1]
    before = state()
    with translation.override("en"):
        response = client.post(
            page(a.organization),
            {"action": "term", "year": own.pk, "term": term.pk, "starts_on": "2026-10-01", "ends_on": "2026-12-25"},
            follow=True,
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert response.status_code == 200
    assert state() == before
    assert response.context["messages"] and "must begin after" in str(list(response.context["messages"])[0])
    response = client.post(page(a.organization), {"action": "term", "term": term.pk, "starts_on": "x"}, follow=True)
    assert response.status_code == 200 and state() == before


def test_the_page_is_only_the_schools_administrations(world, own):
    a, b = world.a, world.b
    for user in (a.teacher, a.guardian, a.student_user, world.analyst, b.director):
        client = Client()
        client.force_login(user)
        assert client.get(page(a.organization)).status_code == 404, user
    # Another school's director, through their own page, with this school's term: not found, nothing changes.
    client = Client()
    client.force_login(b.director)
    term = queries.terms_of(own)[1]
    before = state()
    response = client.post(
        page(b.organization),
        {"action": "term", "year": own.pk, "term": term.pk, "starts_on": "2026-11-04", "ends_on": "2026-12-25"},
    )
    assert response.status_code == 404
    assert state() == before


def test_the_page_fits_a_phone(world, own):
    client = Client()
    client.force_login(world.a.director)
    response = client.get(page(world.a.organization))
    html = response.content.decode()
    assert 'name="viewport"' in html and "width=device-width" in html
    assert len(response.content) < 30_000
    assert "<table" not in html  # stacked forms, nothing to scroll sideways


# ------------------------------------------------------------------ the ministry's command


def test_the_ministry_sets_a_default_year_with_a_command(db):
    from django.core.management import CommandError, call_command

    args = [
        "2027-2028",
        "--from=2027-09-01",
        "--to=2028-05-25",
        "--term=2027-09-01:2027-10-26",
        "--term=2027-11-04:2027-12-28",
        "--holiday=2027-10-27:2027-11-03:Күзгі демалыс:Осенние каникулы",
        "--reason=order",
        "--language=en",
    ]
    call_command("default_calendar", *args, stdout=io.StringIO())
    year = AcademicYear.objects.get(name="2027-2028", organization__isnull=True)
    assert [(t.number, t.starts_on) for t in queries.terms_of(year)] == [(1, D(2027, 9, 1)), (2, D(2027, 11, 4))]
    assert [h.name_ru for h in queries.holidays_of(None, year)] == ["Осенние каникулы"]
    before = state()
    call_command("default_calendar", *args, stdout=io.StringIO())  # the same again: nothing changes
    assert state() == before
    err = io.StringIO()
    with pytest.raises(CommandError, match="not changed"):
        call_command("default_calendar", *args[:3], "--term=2027-09-01:2027-11-10", *args[4:], stderr=err)
    assert "Term 2 must begin after Term 1 ends" in err.getvalue()
    with pytest.raises(CommandError, match="not a date"):
        call_command("default_calendar", *args[:3], "--term=2027-09-01:2027-13-10", "--language=en")
    assert state() == before
