"""Aggregates of an area. Only counts and averages leave here, and none drawn from fewer than 5 people.

Every figure is checked against the group it is drawn from, not only against the school's size: a
school of 300 whose absences all belong to two students would otherwise tell those two students'
absences to anyone who knows the school is otherwise well attended. Totals (a district, a region,
a whole year) add up only what their parts show, so none gives a hidden figure away by subtraction
(see `disclosure`).

The page goes one level below what it is asked about, as an analyst reads a report: the whole
country by region, a region by district, a district by school. An officer starts at their own area.
A fixed number of queries whatever the number of schools: the schools of the scope, and one grouped
query each for enrolments, marks and absences.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from birtutas.journal import rules
from birtutas.journal.models import Attendance, Enrollment, Mark
from birtutas.journal.queries import current_term
from birtutas.kernel.collation import sorted_by_name
from birtutas.kernel.errors import NotFound
from birtutas.registry.models import AcademicYear, District, Organization, Region, Term
from birtutas.registry.permissions import Actor

from . import disclosure
from .disclosure import MIN_GROUP, NO_FIGURES, Figures, Tally
from .filters import AreaFilters, parse

__all__ = ["MIN_GROUP", "AreaReport", "Row", "area_report"]

SCHOOLS, DISTRICTS, REGIONS = "schools", "districts", "regions"


@dataclass
class Row:
    name: str
    figures: Figures
    schools: int = 1
    organization: Organization | None = None  # a school's row: its locality and connection
    query: dict | None = None  # the filters that open this row one level down

    @property
    def link(self) -> str:
        return urlencode(self.query) if self.query is not None else ""


@dataclass
class AreaReport:
    level: str  # SCHOOLS, DISTRICTS or REGIONS: what each row is
    place: str  # what the rows add up to: "Бурабай ауданы", "Ақмола облысы", "All regions"
    rows: list[Row]
    total: Row
    year: str | None  # the school year shown ("2026-2027"), None when there is none yet
    term: int | None  # the term shown, None for the whole year
    region: Region | None = None
    district: District | None = None
    years: list[str] = field(default_factory=list)  # the school years one may choose
    districts: list[tuple[Region, list[District]]] = field(default_factory=list)  # to choose from, by region
    trail: list[tuple[str, str]] = field(default_factory=list)  # the levels above: name, query string

    def query(self, **changes) -> dict[str, str]:
        """The filters of this report (its year and term made explicit), for links and exports."""
        values = {
            "region": self.region.pk if self.region and not self.district else None,
            "district": self.district.pk if self.district else None,
            "year": self.year,
            "term": self.term,
            **changes,
        }
        return {k: str(v) for k, v in values.items() if v is not None}

    @property
    def link(self) -> str:
        return urlencode(self.query())


def _year_and_term(filters: AreaFilters, years: list[str]) -> tuple[str | None, int | None]:
    if filters.year is not None and filters.year not in years:
        raise NotFound()
    if not filters.current:
        return filters.year or _default_year(years)[0], filters.term
    return _default_year(years)


def _default_year(years: list[str]) -> tuple[str | None, int | None]:
    """The ministry calendar's current year and term; else the latest year of the area, whole."""
    term = current_term()
    if term is not None and term.year.name in years:
        return term.year.name, term.number if term.kind == Term.Kind.TERM else None
    return (years[0] if years else None), None


def _tallies(scope, organizations: list[Organization], year: str, term: int | None) -> dict[int, Tally]:
    """Each school's tally for the year (or one term of it): its terms' shown parts added up."""
    ids = scope.values("pk")
    students = dict(
        Enrollment.objects.filter(school_class__organization_id__in=ids, school_class__year__name=year)
        .values_list("school_class__organization_id")
        .annotate(n=Count("student_id", distinct=True))
        .order_by()
    )
    period = Q(lesson__term__year__name=year)
    if term is not None:
        period &= Q(lesson__term__number=term, lesson__term__kind=Term.Kind.TERM)
    org = "lesson__assignment__school_class__organization_id"
    marks = defaultdict(dict)
    for org_id, kind, number, total, n, people in (
        Mark.objects.filter(period, lesson__isnull=False, **{f"{org}__in": ids})
        .values_list(org, "lesson__term__kind", "lesson__term__number")
        .annotate(total=Sum("value"), n=Count("id"), people=Count("student_id", distinct=True))
        .order_by()
    ):
        marks[org_id][(kind, number)] = (total, n, people)
    absences = defaultdict(dict)
    for org_id, kind, number, n, people in (
        Attendance.objects.filter(period, ~Q(status=rules.LATE), **{f"{org}__in": ids})
        .values_list(org, "lesson__term__kind", "lesson__term__number")
        .annotate(n=Count("id"), people=Count("student_id", distinct=True))
        .order_by()
    ):
        absences[org_id][(kind, number)] = (n, people)
    found = {}
    for o in organizations:
        n = students.get(o.pk, 0)
        periods = set(marks[o.pk]) | set(absences[o.pk]) or {None}
        parts = []
        for key in periods:
            mark_sum, mark_count, marked = marks[o.pk].get(key, (0, 0, 0))
            absence_count, absent = absences[o.pk].get(key, (0, 0))
            parts.append(
                Tally(
                    students=n,
                    computers=o.student_computers,
                    mark_sum=mark_sum or 0,
                    marks=mark_count,
                    marked=marked,
                    absences=absence_count,
                    absent=absent,
                    absence_base=n,
                )
            )
        found[o.pk] = disclosure.over_terms(parts)
    return found


def area_report(actor: Actor, filters: AreaFilters | Mapping, language: str) -> AreaReport:
    """The area overview under `filters`: `AreaFilters`, or the address's query, parsed only once the
    actor is known to have an area, so that for anyone else the page is "not found" whatever its
    filters. A region or district outside the actor's area is "not found" too."""
    area = actor.area()
    if area is None:
        raise NotFound()
    if not isinstance(filters, AreaFilters):
        filters = parse(filters)
    in_area = Organization.objects.filter(area)
    districts = list(District.objects.filter(pk__in=in_area.values("district_id")).select_related("region"))
    by_id = {d.pk: d for d in districts}
    regions = {d.region_id: d.region for d in districts}
    district = region = None
    if filters.district is not None:
        district = by_id.get(filters.district)
        if district is None:
            raise NotFound()
        region = district.region
    elif filters.region is not None:
        region = regions.get(filters.region)
        if region is None:
            raise NotFound()
    names = AcademicYear.objects.filter(Q(organization__isnull=True) | Q(organization__in=in_area.values("pk")))
    years = sorted(set(names.values_list("name", flat=True).order_by()), reverse=True)
    year, term = _year_and_term(filters, years)

    in_region = [d for d in districts if region is None or d.region_id == region.pk]
    if district is None and len(in_region) == 1:
        district = in_region[0]  # a region of one district (an officer's own): its schools straight away
    if district is not None:
        level, region, place = SCHOOLS, district.region, district.name
        scope = in_area.filter(district=district)
    elif region is not None or len(regions) == 1:
        region = region or next(iter(regions.values()))
        level, place = DISTRICTS, region.name
        scope = in_area.filter(district__region=region)
    else:
        level, place = REGIONS, str(_("All regions"))
        scope = in_area
    organizations = list(scope.order_by())
    tallies = _tallies(scope, organizations, year, term) if year else {}

    def figures(schools: list[Organization]) -> Figures:
        if not year:
            return NO_FIGURES
        return disclosure.figures(disclosure.over_schools(tallies[o.pk] for o in schools))

    report = AreaReport(
        level=level,
        place=place,
        rows=[],
        total=Row(name=place, figures=figures(organizations), schools=len(organizations)),
        year=year,
        term=term,
        region=region,
        district=district,
        years=years,
    )
    if level == SCHOOLS:
        for o in sorted_by_name(organizations, language):
            report.rows.append(Row(name=o.name, figures=figures([o]), organization=o))
    else:
        groups = defaultdict(list)
        for o in organizations:
            groups[o.district_id if level == DISTRICTS else by_id[o.district_id].region_id].append(o)
        units = [by_id[k] if level == DISTRICTS else regions[k] for k in groups]
        name = "district" if level == DISTRICTS else "region"
        for unit in sorted_by_name(units, language):
            schools = groups[unit.pk]
            opens = report.query(**{"region": None, "district": None, name: unit.pk})
            report.rows.append(Row(name=unit.name, figures=figures(schools), schools=len(schools), query=opens))
    report.districts = [
        (r, sorted_by_name([d for d in districts if d.region_id == r.pk], language))
        for r in sorted_by_name(regions.values(), language)
    ]
    if len(regions) > 1 and level != REGIONS:
        report.trail.append((str(_("All regions")), urlencode(report.query(region=None, district=None))))
    if level == SCHOOLS and sum(d.region_id == region.pk for d in districts) > 1:
        report.trail.append((region.name, urlencode(report.query(region=region.pk, district=None))))
    return report
