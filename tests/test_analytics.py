"""The area overview on a database: filters, refusals, suppression, charts, files and query counts.

Schools are added to the test world's two districts (Бурабай: school A's, Шортанды: school B's, both
in Ақмола облысы), and a district of another region where the country view needs one. School A and
school B have 3 students each: every figure of theirs is "too few to show" throughout.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from birtutas.analytics.charts import CHAR
from birtutas.journal.models import Attendance, Enrollment, Lesson, Mark, SchoolClass, TeachingAssignment
from birtutas.kernel.context import writing
from birtutas.registry.models import District, Membership, Organization, Region
from birtutas.registry.roles import Role
from birtutas.testing import account, person, signed_in

pytestmark = pytest.mark.django_db

TOO_FEW = "too few to show"
SVG = "{http://www.w3.org/2000/svg}"
_names = iter(range(10**6))


def add_school(
    world,
    district,
    name_kk,
    *,
    students,
    marked=None,
    absent=0,
    absences_each=1,
    mark=7,
    computers=10,
    term=None,
    name_ru=None,
):
    """A school of `students`; the first `marked` have a mark of `mark` in the term, the last `absent`
    missed `absences_each` lessons of it."""
    marked = students if marked is None else marked
    term = term or world.term
    n = next(_names)
    with writing():
        org = Organization.objects.create(
            district=district,
            name_kk=name_kk,
            name_ru=name_ru or name_kk,
            locality="urban",
            language="kk",
            connection="fiber",
            connection_mbps=100,
            student_computers=computers,
        )
        teacher = person(f"Мұғалім{n}", "Бекзат", dt.date(1980, 1, 1))
        klass = SchoolClass.objects.create(organization=org, year=world.year, grade=5, letter="А", language="kk")
        assignment = TeachingAssignment.objects.create(school_class=klass, subject=world.subject, teacher=teacher)
        lessons = [
            Lesson.objects.create(
                assignment=assignment, term=term, date=term.starts_on + dt.timedelta(days=i), period=1
            )
            for i in range(max(1, absences_each))
        ]
        pupils = [person(f"Оқушы{n}x{i}", "Ерік", dt.date(2014, 2, 3)) for i in range(students)]
        Enrollment.objects.bulk_create(Enrollment(school_class=klass, student=p) for p in pupils)
        Mark.objects.bulk_create(Mark(lesson=lessons[0], student=p, value=mark) for p in pupils[:marked])
        Attendance.objects.bulk_create(
            Attendance(lesson=lesson, student=p, status="unexcused")
            for p in (pupils[len(pupils) - absent :] if absent else [])
            for lesson in lessons[:absences_each]
        )
    return org


def add_lesson_absences(world, org, term, absent, each=1):
    """`absent` students of `org` miss `each` lessons of `term`."""
    with writing():
        assignment = TeachingAssignment.objects.filter(school_class__organization=org).first()
        pupils = list(Enrollment.objects.filter(school_class__organization=org).order_by("pk"))[:absent]
        for i in range(each):
            lesson = Lesson.objects.create(
                assignment=assignment, term=term, date=term.starts_on + dt.timedelta(days=i), period=2
            )
            Attendance.objects.bulk_create(
                Attendance(lesson=lesson, student_id=e.student_id, status="illness") for e in pupils
            )


class Table(HTMLParser):
    """The area table as text: caption, period, header, body rows and the total row."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=True)
        self.caption, self.period, self.header, self.rows, self.total = "", "", [], [], []
        self._part = self._row = self._cell = None
        self._links = []
        self.links: list[str] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag in ("thead", "tbody", "tfoot"):
            self._part = tag
        elif tag == "h2" and dict(attrs).get("id") == "area-caption":
            self._part = "caption"
        elif tag == "p" and dict(attrs).get("id") == "area-period":
            self._part = "period"
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td") and self._row is not None:
            self._cell = ""
        elif tag == "a" and self._cell is not None:
            self.links.append(dict(attrs)["href"])

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data
        elif self._part in ("caption", "period"):
            setattr(self, self._part, getattr(self, self._part) + data)

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            {"thead": self.header, "tbody": self.rows, "tfoot": self.total}.get(self._part, []).extend(
                [self._row] if self._part != "thead" else self._row
            )
            self._row = None
        elif tag in ("thead", "tbody", "tfoot", "h2", "p"):
            self._part = None

    def row(self, name: str) -> list[str]:
        found = [r for r in self.rows if r[0] == name]
        assert len(found) == 1, (name, self.rows)
        return found[0]


def table_of(client, url="/area/") -> Table:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Table(response.content.decode())


def svgs(page: str) -> list[ET.Element]:
    # Our own page's SVG, parsed as XML to prove it is well formed.
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, re.S)]  # noqa: S314


@pytest.fixture
def other_region(world):
    region = Region.objects.exclude(pk=world.a.organization.district.region_id).order_by("code").first()
    return District.objects.create(region=region, name_kk="Алмалы ауданы", name_ru="Алмалинский район")


def region_officer(world):
    user = account(person("Облысов", "Марат", dt.date(1980, 12, 1), "M"), "region_officer_x")
    with writing():
        Membership.objects.create(
            person=user.person, role=Role.REGION_OFFICER, region=world.a.organization.district.region
        )
    return user


# ------------------------------------------------------------------ levels and filters


def test_each_actor_starts_one_level_below_their_area(world, other_region):
    a_district = world.a.organization.district
    # A district officer: the schools of their district, and only theirs.
    officer = table_of(signed_in(world.district_officer))
    assert officer.header[0] == "School" and [r[0] for r in officer.rows] == ["A мектебі"]
    assert officer.caption == f"Schools: {a_district.name_kk}" and officer.period == "Term 2, 2026-2027"
    # A region officer: the districts of their region.
    regional = table_of(signed_in(region_officer(world)))
    assert regional.header[0] == "District"
    assert [r[0] for r in regional.rows] == ["Бурабай ауданы", "Шортанды ауданы"]
    # The ministry's analyst: the country by region (two regions have schools now).
    add_school(world, other_region, "Алмалы мектебі", students=6)
    analyst = table_of(signed_in(world.analyst))
    assert analyst.header[0] == "Region" and len(analyst.rows) == 2
    # Each row opens the level below, with the same year and term.
    assert all(re.fullmatch(r"\?region=\d+&year=2026-2027&term=2", link) for link in analyst.links), analyst.links


def test_filters_narrow_to_a_district_a_year_and_a_term(world, other_region):
    a_district, b_district = world.a.organization.district, world.b.organization.district
    add_school(world, a_district, "Бірінші мектеп", students=6, mark=8)
    add_school(world, b_district, "Екінші мектеп", students=7, mark=6)
    add_school(world, other_region, "Алмалы мектебі", students=6)
    client = signed_in(world.analyst)
    schools = table_of(client, f"/area/?district={a_district.pk}")
    assert [r[0] for r in schools.rows] == ["Бірінші мектеп", "A мектебі"]  # Latin after Cyrillic; no B
    assert schools.row("Бірінші мектеп")[1:3] == ["6", "8.00"]
    assert "Екінші мектеп" not in client.get(f"/area/?district={a_district.pk}").content.decode()
    # The current term by default; term 1 has no marks; the whole year adds up term 2's.
    term1 = table_of(client, f"/area/?district={a_district.pk}&year=2026-2027&term=1")
    assert term1.row("Бірінші мектеп")[1:4] == ["6", "—", "0.0"]
    assert term1.period == "Term 1, 2026-2027"
    year = table_of(client, f"/area/?district={a_district.pk}&year=2026-2027")
    assert year.row("Бірінші мектеп")[1:3] == ["6", "8.00"] and year.period == "School year 2026-2027"
    # A district's schools with a region given too: the district decides.
    region = other_region.region_id
    assert table_of(client, f"/area/?district={a_district.pk}&region={region}").rows == schools.rows
    # A region: its districts.
    districts = table_of(client, f"/area/?region={a_district.region_id}")
    assert [r[0] for r in districts.rows] == ["Бурабай ауданы", "Шортанды ауданы"]
    assert districts.row("Бурабай ауданы")[1:3] == ["6", "8.00"]  # A's 3 students left out
    assert districts.row("Бурабай ауданы")[-1] == "2"  # schools


def test_the_form_offers_the_areas_districts_years_and_terms_only(world, other_region):
    page = signed_in(world.district_officer).get("/area/").content.decode()
    assert 'name="district"' not in page  # one district: nothing to choose
    assert '<option value="2026-2027" selected>' in page and '<option value="2" selected>' in page
    add_school(world, other_region, "Алмалы мектебі", students=6)
    page = signed_in(world.analyst).get("/area/").content.decode()
    assert page.count("<optgroup") == 2 and "Алмалы ауданы" in page and "<script" not in page


@pytest.mark.parametrize(
    "query",
    ["district={b}", "district=987654", "region={other}", "region=987654", "year=1999-2000", "district={other_d}"],
)
def test_a_filter_outside_the_area_is_not_found(world, other_region, query):
    query = query.format(b=world.b.organization.district_id, other=other_region.region_id, other_d=other_region.pk)
    client = signed_in(world.district_officer)
    for path in ("/area/", "/area/export.csv", "/area/export.xlsx"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 404, (path, query)
        assert b"B \xd0\xbc\xd0\xb5\xd0\xba\xd1\x82\xd0\xb5\xd0\xb1\xd1\x96" not in response.content  # "B мектебі"


def test_a_region_officer_reaches_the_districts_of_their_region_only(world, other_region):
    add_school(world, other_region, "Алмалы мектебі", students=6)
    client = signed_in(region_officer(world))
    assert client.get(f"/area/?district={world.b.organization.district_id}").status_code == 200
    assert client.get(f"/area/?district={other_region.pk}").status_code == 404
    assert client.get(f"/area/?region={other_region.region_id}").status_code == 404


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("district=abc", "Choose a district from the list."),
        ("region=-4", "Choose a region from the list."),
        ("year=2026", "Choose a school year from the list."),
        ("term=5", "Choose a term from the list."),
        ("term=1&term=x", "Choose a term from the list."),
    ],
)
def test_a_malformed_filter_is_a_400_that_says_what_to_choose(world, query, message):
    for path in ("/area/", "/area/export.csv", "/area/export.xlsx"):
        response = signed_in(world.analyst).get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert message in response.content.decode()
    # In the reader's language: the page around the message is Russian for a Russian reader.
    page = signed_in(world.analyst, "ru").get(f"/area/?{query}").content.decode()
    assert 'lang="ru"' in page and "Не выполнено" in page


def test_the_area_is_not_found_for_anyone_but_officers_and_analysts(world):
    a = world.a
    for user in (a.teacher, a.director, a.guardian, a.student_user, a.other_teacher):
        client = signed_in(user)
        for path in ("/area/", "/area/export.csv", "/area/export.xlsx", "/area/?district=abc&term=9"):
            assert client.get(path).status_code == 404, (user.username, path)
    assert Client().get("/area/export.csv").status_code == 302  # signed out: to the sign-in page
    assert signed_in(world.analyst).post("/area/").status_code == 405  # nothing to post


# ------------------------------------------------------------------ never a cell under 5 people


@pytest.mark.parametrize(
    ("students", "marked", "absent", "expected"),
    [
        (0, 0, 0, ["0", "—", "—", "—"]),
        (4, 4, 0, [TOO_FEW] * 4),
        (5, 5, 0, ["5", "7.00", "0.0", "200.0"]),
        (5, 4, 0, ["5", TOO_FEW, "0.0", "200.0"]),
        (5, 5, 5, ["5", "7.00", "1.0", "200.0"]),
        (30, 0, 4, ["30", "—", TOO_FEW, "33.3"]),
        (30, 30, 5, ["30", "7.00", "0.2", "33.3"]),
    ],
)
def test_a_schools_figures_show_only_when_drawn_from_five_people(world, students, marked, absent, expected):
    district = world.a.organization.district
    add_school(world, district, "Сынақ мектебі", students=students, marked=marked, absent=absent)
    client = signed_in(world.analyst)
    found = table_of(client, f"/area/?district={district.pk}")
    assert found.row("Сынақ мектебі")[1:5] == expected
    assert found.row("A мектебі")[1:5] == [TOO_FEW] * 4  # 3 students
    # The file says the same, cell for cell.
    rows = list(csv.reader(io.StringIO(client.get(f"/area/export.csv?district={district.pk}").content.decode())))
    assert next(r for r in rows if r[0] == "Сынақ мектебі")[1:5] == [e if e != "—" else "" for e in expected]


def test_no_total_gives_a_hidden_figure_away(world):
    """School Q's absences belong to two students: hidden, and left out of every total above it, so the
    district's and the region's absences minus school P's give nothing."""
    district = world.a.organization.district
    add_school(world, district, "P мектебі", students=40, absent=8)  # 8 absences over 40: 0.2
    add_school(world, district, "Q мектебі", students=40, absent=2, absences_each=20)  # 40 over 40: hidden
    client = signed_in(world.analyst)
    schools = table_of(client, f"/area/?district={district.pk}")
    assert schools.row("P мектебі")[3] == "0.2" and schools.row("Q мектебі")[3] == TOO_FEW
    assert schools.total[0][1:4] == ["80", "7.00", "0.2"]  # 8 / 40: Q's students and absences both left out
    districts = table_of(client, f"/area/?region={district.region_id}")
    assert districts.row("Бурабай ауданы")[1:4] == ["80", "7.00", "0.2"]  # not 83, not 48 / 80 = 0.6
    assert districts.total[0][1:4] == ["80", "7.00", "0.2"]
    for url in (f"/area/?district={district.pk}", f"/area/?region={district.region_id}"):
        for path in (url, url.replace("/area/", "/area/export.csv")):
            text = client.get(path).content.decode()
            assert not re.search(r"\b(0[.,]6|83|48)\b", text), path


def test_a_whole_year_does_not_give_a_hidden_term_away(world):
    district = world.a.organization.district
    org = add_school(world, district, "Жыл мектебі", students=30, absent=6)  # term 2: 6 absences, shown
    add_lesson_absences(world, org, world.terms[0], absent=2, each=15)  # term 1: 30 absences of 2 students
    client = signed_in(world.analyst)
    base = f"/area/?district={district.pk}&year=2026-2027"
    assert table_of(client, f"{base}&term=1").row("Жыл мектебі")[3] == TOO_FEW
    assert table_of(client, f"{base}&term=2").row("Жыл мектебі")[3] == "0.2"
    # The year is term 2's alone (6 / 30), not 36 / 30 = 1.2: year minus term 2 gives nothing.
    assert table_of(client, base).row("Жыл мектебі")[3] == "0.2"


def test_the_old_rule_still_holds_a_few_absent_students_in_a_big_school(world):
    """Two absent students in a school of 7: hidden; five: shown again (the rule this page started with)."""
    from birtutas.journal import services

    a = world.a
    newcomers = [person(f"Жаңа{i}", "Оқушы", dt.date(2013, 1, 1 + i)) for i in range(4)]
    with writing():
        for p in newcomers:
            Enrollment.objects.create(school_class=a.class_a, student=p)
    students = [a.student, a.classmate, *newcomers]
    client = signed_in(world.analyst)
    url = f"/area/?district={a.organization.district_id}"

    def absent(*people):
        for p in people:
            services.update_cell(a.teacher, a.lessons_a[0].pk, p.pk, attendance="unexcused")

    assert table_of(client, url).row("A мектебі")[1:4] == ["7", "—", "0.0"]  # no marks yet, nobody absent
    absent(*students[:2])
    page = client.get(url).content.decode()
    assert Table(page).row("A мектебі")[3] == TOO_FEW
    assert "0.3" not in page and "0,3" not in page  # 2 absences / 7 students
    absent(*students[2:5])
    assert table_of(client, url).row("A мектебі")[3] == "0.7"  # five absent students: an aggregate again


# ------------------------------------------------------------------ charts


def test_each_chart_is_well_formed_svg_with_a_bar_per_row_and_no_script(world, other_region):
    district = world.a.organization.district
    add_school(world, district, "Бірінші мектеп", students=6, mark=8)
    add_school(world, district, "Екінші мектеп", students=9, mark=5, absent=5)
    add_school(world, other_region, "Алмалы мектебі", students=6)
    for url in ("/area/", f"/area/?district={district.pk}", f"/area/?region={district.region_id}"):
        page = signed_in(world.analyst).get(url).content.decode()
        table = Table(page)
        charts = svgs(page)
        assert len(charts) == 3, url  # mean mark, absences, computers
        assert "<script" not in page.lower() and "onload" not in page.lower()
        for svg in charts:
            assert svg.get("viewBox", "").startswith("0 0 360 ") and svg.get("width") == "100%"
            assert svg.get("role") == "img"
            title, desc = svg.find(f"{SVG}title"), svg.find(f"{SVG}desc")
            assert title is not None and title.text and desc is not None and desc.text
            assert set(svg.get("aria-labelledby").split()) == {title.get("id"), desc.get("id")}
            groups = svg.findall(f"{SVG}g")
            assert len(groups) == len(table.rows), url  # a bar (or its absence) for every row
            assert [g.find(f"{SVG}title").text.split(": ")[0] for g in groups] == [r[0] for r in table.rows]
            assert not list(svg.iter(f"{SVG}script"))
        # The bars are the table's shown figures, in order; a hidden one has no bar and says why.
        for svg in charts:
            index = table.header.index(svg.find(f"{SVG}title").text)
            for g, row in zip(svg.findall(f"{SVG}g"), table.rows, strict=True):
                texts = [t.text for t in g.findall(f"{SVG}text")]
                assert texts[-1] == row[index]
                assert (g.find(f"{SVG}rect") is not None) == (row[index] not in (TOO_FEW, "—"))


def test_the_chart_scales_to_a_phone(world):
    district = world.a.organization.district
    add_school(world, district, "Абай атындағы №1 жалпы орта білім беретін мектеп-гимназиясы", students=6)
    page = signed_in(world.analyst).get(f"/area/?district={district.pk}").content.decode()
    for svg in svgs(page):
        width = float(svg.get("viewBox").split()[2])
        assert width == 360
        for text in svg.iter(f"{SVG}text"):
            x = float(text.get("x"))
            assert 0 <= x <= width
            if text.get("text-anchor") == "end":  # a name: truncated to its column
                assert len(text.text) * CHAR <= x
        for rect in svg.iter(f"{SVG}rect"):
            assert float(rect.get("x")) + float(rect.get("width")) <= width


# ------------------------------------------------------------------ files


def test_the_files_hold_exactly_the_table(world, other_region):
    from openpyxl import load_workbook

    district = world.a.organization.district
    add_school(world, district, "Бірінші мектеп", students=6, mark=8)
    add_school(world, district, "Екінші мектеп", students=9, mark=5, absent=5)
    add_school(world, other_region, "Алмалы мектебі", students=6)
    client = signed_in(world.analyst)
    for query in ("", f"district={district.pk}", f"region={district.region_id}&year=2026-2027", "term=1"):
        table = table_of(client, f"/area/?{query}")
        shown = [table.header, *table.rows, *table.total]
        response = client.get(f"/area/export.csv?{query}")
        assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows == [[c if c != "—" else "" for c in r] for r in shown], query
        response = client.get(f"/area/export.xlsx?{query}")
        assert response["Content-Disposition"].endswith('.xlsx"')
        book = load_workbook(io.BytesIO(response.content), read_only=True)
        sheet = book.worksheets[0]
        width = len(table.header)  # a row's empty cells at its end are not stored
        cells = [
            ["" if v is None else v for v in row] + [""] * (width - len(row))
            for row in sheet.iter_rows(values_only=True)
        ]
        assert [[_same(v) for v in r] for r in cells] == [[_same(c) for c in r] for r in shown], query
        for row in cells[1:]:  # numbers are numbers; a hidden cell is the words, never a number
            assert all(isinstance(v, int | float) or v in ("", TOO_FEW) for v in row[1:5])
        notes = [r[0] for r in book.worksheets[1].iter_rows(values_only=True)]
        assert any("too few to show" in (n or "") for n in notes)


def _same(value):
    """A cell of the page or of the workbook, as the other would hold it: numbers as numbers."""
    if value == "—":
        return ""
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value)
    except ValueError:
        return value


def test_a_file_of_a_district_outside_the_area_gives_nothing(world):
    b_district = world.b.organization.district_id
    for path in ("/area/export.csv", "/area/export.xlsx"):
        response = signed_in(world.district_officer).get(f"{path}?district={b_district}")
        assert response.status_code == 404 and "attachment" not in response.get("Content-Disposition", "")


# ------------------------------------------------------------------ names and order


def test_districts_and_schools_are_in_alphabetical_order_in_the_readers_language(world):
    region = world.a.organization.district.region
    names = [
        ("Өскемен ауданы", "Усть-Каменский район"),
        ("Әйтеке би ауданы", "Айтекебийский район"),
        ("Қарасай ауданы", "Карасайский район"),
        ("Кербұлақ ауданы", "Кербулакский район"),
        ("Ордабасы ауданы", "Ордабасинский район"),
        ("Абай ауданы", "Абайский район"),
        ("Фёдоров ауданы", "Фёдоровский район"),
    ]
    for kk, ru in names:
        district = District.objects.create(region=region, name_kk=kk, name_ru=ru)
        add_school(world, district, f"{kk} мектебі", students=5, name_ru=f"Школа ({ru})")
    kk_rows = [r[0] for r in table_of(signed_in(world.analyst, "kk"), f"/area/?region={region.pk}").rows]
    assert kk_rows == [
        "Абай ауданы",
        "Әйтеке би ауданы",
        "Бурабай ауданы",
        "Кербұлақ ауданы",
        "Қарасай ауданы",
        "Ордабасы ауданы",
        "Өскемен ауданы",
        "Фёдоров ауданы",
        "Шортанды ауданы",
    ]
    ru_rows = [r[0] for r in table_of(signed_in(world.analyst, "ru"), f"/area/?region={region.pk}").rows]
    assert ru_rows == [
        "Абайский район",
        "Айтекебийский район",
        "Бурабайский район",
        "Карасайский район",
        "Кербулакский район",
        "Ордабасинский район",
        "Усть-Каменский район",
        "Фёдоровский район",
        "Шортандинский район",
    ]
    # Schools too, in the district select's order and by their own names in the reader's language.
    district = world.a.organization.district
    for kk in ("Қазыбек мектебі", "Ақжол мектебі", "Кемел мектебі", "Әл-Фараби мектебі"):
        add_school(world, district, kk, students=5, name_ru=f"Школа {kk.split()[0]}")
    rows = [r[0] for r in table_of(signed_in(world.analyst, "kk"), f"/area/?district={district.pk}").rows]
    assert rows == ["Ақжол мектебі", "Әл-Фараби мектебі", "Кемел мектебі", "Қазыбек мектебі", "A мектебі"]
    page = signed_in(world.analyst, "kk").get("/area/").content.decode()
    select = re.search(r'<select id="f-district".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', select)
    assert options == kk_rows


# ------------------------------------------------------------------ a fixed number of queries


def _count(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured)


def test_the_page_and_its_files_cost_the_same_queries_whatever_the_number_of_schools(world, other_region):
    district = world.a.organization.district
    client = signed_in(world.analyst)
    urls = ["/area/", f"/area/?district={district.pk}", f"/area/?region={district.region_id}&year=2026-2027"]
    urls += [u.replace("/area/", "/area/export.csv") for u in urls] + ["/area/export.xlsx"]
    add_school(world, other_region, "Алмалы мектебі", students=5)
    for url in urls:
        client.get(url)
    few = {url: _count(client, url) for url in urls}
    for i in range(25):
        add_school(world, district if i % 2 else world.b.organization.district, f"Мектеп {i}", students=5, absent=5)
    for i in range(5):
        add_school(world, other_region, f"Алмалы {i}", students=6)
    many = {url: _count(client, url) for url in urls}
    assert many == few
    assert len(table_of(client, f"/area/?district={district.pk}").rows) == 13
    assert max(few.values()) <= 16, few


@pytest.mark.parametrize("name", ["region", "district", "year", "term"])
def test_hostile_filter_values_are_refused_never_a_server_error(world, name):
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="kk")
    client.force_login(world.analyst)
    values = ["0", "-1", "9223372036854775808", "1" * 40, "1e3", " ", "абв", "2026-2027' OR '1'='1", "١", "x" * 5000]
    for value in values:
        for path in ("/area/", "/area/export.csv", "/area/export.xlsx"):
            response = client.get(path, {name: value})
            assert response.status_code in (200, 400, 404), (path, name, value, response.status_code)
