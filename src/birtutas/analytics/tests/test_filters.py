"""Table-driven tests of the area overview's filters as the address carries them."""

from __future__ import annotations

import pytest
from django.utils import translation

from birtutas.analytics.disclosure import NO_FIGURES
from birtutas.analytics.filters import AreaFilters, parse
from birtutas.analytics.queries import DISTRICTS, SCHOOLS, AreaReport, Row
from birtutas.kernel.errors import ServiceError
from birtutas.registry.models import District, Region


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, AreaFilters()),
        ({"district": "", "region": "", "year": "", "term": ""}, AreaFilters()),
        ({"district": "12"}, AreaFilters(district=12)),
        ({"region": " 3 "}, AreaFilters(region=3)),
        ({"year": "2026-2027"}, AreaFilters(year="2026-2027")),
        ({"year": "2026-2027", "term": "2"}, AreaFilters(year="2026-2027", term=2)),
        ({"term": "4"}, AreaFilters(term=4)),
        ({"region": "1", "district": "2", "year": "2025-2026", "term": "1"}, AreaFilters(1, 2, "2025-2026", 1)),
    ],
)
def test_well_formed_filters(query, expected):
    assert parse(query) == expected


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"district": "abc"}, "Choose a district from the list."),
        ({"district": "0"}, "Choose a district from the list."),
        ({"district": "-1"}, "Choose a district from the list."),
        ({"district": "99999999999999999999"}, "Choose a district from the list."),
        ({"region": "1.5"}, "Choose a region from the list."),
        ({"year": "2026"}, "Choose a school year from the list."),
        ({"year": "2026-2028"}, "Choose a school year from the list."),
        ({"year": "2026-2027x"}, "Choose a school year from the list."),
        ({"year": "٢٠٢٦-٢٠٢٧"}, "Choose a school year from the list."),  # digits, but not ours
        ({"term": "0"}, "Choose a term from the list."),
        ({"term": "5"}, "Choose a term from the list."),
        ({"term": "all"}, "Choose a term from the list."),
    ],
)
def test_malformed_filters_are_refused_with_the_list_to_choose_from(query, message):
    with translation.override("en"):  # the message is read in English too, whatever test ran before
        with pytest.raises(ServiceError) as refused:
            parse(query)
        assert refused.value.status == 400
        assert str(refused.value.message) == message


def test_nothing_asked_about_time_means_the_current_term():
    assert AreaFilters().current and not AreaFilters(year="2026-2027").current and not AreaFilters(term=2).current


def report(level, **fields) -> AreaReport:
    return AreaReport(level=level, place="", rows=[], total=Row("", NO_FIGURES), **fields)


def test_a_reports_query_keeps_its_filters_and_drops_what_is_removed():
    region = Region(pk=1)
    districts = report(DISTRICTS, year="2026-2027", term=2, region=region)
    assert districts.query() == {"region": "1", "year": "2026-2027", "term": "2"}
    assert districts.query(region=None, district=7) == {"district": "7", "year": "2026-2027", "term": "2"}
    assert districts.link == "region=1&year=2026-2027&term=2"
    # A district's schools: the district says the region; the whole year has no term.
    schools = report(SCHOOLS, year="2026-2027", term=None, region=region, district=District(pk=7, region=region))
    assert schools.query() == {"district": "7", "year": "2026-2027"}
    assert report(SCHOOLS, year=None, term=None).query() == {}
