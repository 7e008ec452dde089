"""The director's reports and the journal's exports, read back as a person would: the spreadsheet
opened with openpyxl cell by cell, the printable page, the order of names in Kazakh and in Russian,
and the refusals (another school, another class, a family, a bad period)."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext
from openpyxl import load_workbook

from birtutas.journal import services
from birtutas.journal.models import Enrollment, Lesson, TermGrade, YearGrade
from birtutas.registry.models import AcademicYear, Term
from birtutas.testing import close_term, on_day, person, signed_in

pytestmark = pytest.mark.django_db

A4_LANDSCAPE = "size:A4 landscape"


def attendance_url(school_class, **query) -> str:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/school/class/{school_class.pk}/attendance/" + (f"?{qs}" if qs else "")


def grades_url(school_class, **query) -> str:
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return f"/school/class/{school_class.pk}/grades/" + (f"?{qs}" if qs else "")


def journal_url(assignment, term) -> str:
    return f"/school/journal/{assignment.pk}/term/{term.pk}/export/"


def workbook(response):
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return load_workbook(io.BytesIO(response.content))


def values(sheet) -> list[list]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def column(sheet, name: str) -> int:
    header = [cell.value for cell in sheet[1]]
    return header.index(name)


def text(response) -> str:
    return response.content.decode()


def record(world):
    """Marks, absences and points in class A of school A, through the services as a teacher makes them."""
    a = world.a
    first, second, third = a.lessons_a
    services.update_cell(a.teacher, first.pk, a.student.pk, mark=8)
    services.update_cell(a.teacher, first.pk, a.classmate.pk, attendance="unexcused")
    services.update_cell(a.teacher, second.pk, a.student.pk, attendance="illness")
    services.update_cell(a.teacher, second.pk, a.classmate.pk, mark=9, attendance="late")
    services.update_cell(a.teacher, third.pk, a.student.pk, attendance="excused")
    services.set_points(a.teacher, a.work_a.pk, a.student.pk, 15)


# ------------------------------------------------------------------ attendance


def test_the_attendance_report_counts_each_kind_per_student_with_class_totals(world):
    a = world.a
    record(world)
    client = signed_in(a.director)
    page = text(client.get(attendance_url(a.class_a)))  # the current term by default
    assert "Term 2" in page and "11/03/2026 – 12/26/2026" in page
    assert "<script" not in page and 'class="report"' in page
    book = workbook(client.get(attendance_url(a.class_a, format="xlsx")))
    assert book.sheetnames == ["Attendance", "By subject"]
    sheet = book["Attendance"]
    assert sheet.freeze_panes == "A2"
    assert values(sheet) == [
        [
            "No.",
            "Student",
            "Lessons",
            "Absent: illness",
            "Absent: other reason",
            "Absent without reason",
            "Late",
            "Attended, %",
        ],
        [1, a.student.short_name, 3, 1, 1, 0, 0, 33.3],
        [2, a.classmate.short_name, 3, 0, 0, 1, 1, 66.7],
        [None, "Total", 6, 1, 1, 1, 1, 50],
    ]
    assert sheet.cell(2, 3).data_type == "n" and sheet.cell(2, 8).data_type == "n"  # numbers, not text
    by_subject = values(book["By subject"])
    assert by_subject[1] == ["Algebra", 3, 1, 1, 1, 1, 50]  # lessons held; attended: of the students' lessons
    # The page says the same.
    assert re.search(r'<th scope="row">Total</th><td class="num">6</td>', page)
    assert '<td class="num">33.3</td>' in page


def test_the_period_is_a_term_or_any_days_of_the_school_year(world):
    a = world.a
    record(world)
    client = signed_in(a.director)
    # Custom days: the 16th is left out.
    sheet = workbook(client.get(attendance_url(a.class_a, **{"from": "2026-11-17", "to": "2026-11-20"}, format="xlsx")))
    rows = values(sheet["Attendance"])
    assert rows[1][2:] == [2, 1, 1, 0, 0, 0.0]
    # Lessons after today are not held yet: term 2 counts up to 20 November.
    Lesson.objects.create(assignment=a.assignment_a, term=world.term, date=dt.date(2026, 11, 23), period=2)
    page = text(client.get(attendance_url(a.class_a, term=world.term.pk)))
    assert "Lessons up to 11/20/2026 are counted" in page
    rows = values(workbook(client.get(attendance_url(a.class_a, term=world.term.pk, format="xlsx")))["Attendance"])
    assert rows[1][2] == 3
    # Term 1 has no lessons: zero, and no percentage rather than a division by zero.
    rows = values(workbook(client.get(attendance_url(a.class_a, term=world.terms[0].pk, format="xlsx")))["Attendance"])
    assert rows[1][2:] == [0, 0, 0, 0, 0, None]
    response = client.get(attendance_url(a.class_a, term=world.terms[0].pk, format="xlsx"))
    assert "attendance-7А-term1.xlsx" in _filename(response)
    response = client.get(attendance_url(a.class_a, **{"from": "2026-11-17", "to": "2026-11-20"}, format="xlsx"))
    assert _filename(response) == "attendance-7А-2026-11-17-2026-11-20.xlsx"


def test_a_student_who_left_counts_the_lessons_before_leaving_and_one_gone_before_the_period_is_not_listed(world):
    a = world.a
    record(world)
    Enrollment.objects.filter(student=a.classmate).update(left_on=dt.date(2026, 11, 18))
    gone = enrol(a.class_a, "Кеткен", "Арман")
    Enrollment.objects.filter(student=gone).update(left_on=dt.date(2026, 11, 2))
    client = signed_in(a.director)
    rows = values(workbook(client.get(attendance_url(a.class_a, format="xlsx")))["Attendance"])
    assert [row[1] for row in rows[1:-1]] == [a.student.short_name, a.classmate.short_name]
    assert rows[2][2:] == [1, 0, 0, 1, 0, 0.0]  # the 16th only, when they were absent
    assert rows[-1][2] == 4
    # Over term 1, before they left, the gone student is listed.
    rows = values(workbook(client.get(attendance_url(a.class_a, term=world.terms[0].pk, format="xlsx")))["Attendance"])
    assert gone.short_name in [row[1] for row in rows]


def _filename(response) -> str:
    from urllib.parse import unquote

    disposition = response["Content-Disposition"]
    found = re.search(r"filename\*=utf-8''([^;]+)", disposition) or re.search(r'filename="([^"]+)"', disposition)
    return unquote(found.group(1))


@pytest.mark.parametrize(
    ("query", "language", "message"),
    [
        ({"from": "2026-11-20", "to": "2026-11-16"}, "en", "The first day of the period is after its last day."),
        ({"from": "2026-11-20", "to": "2026-11-16"}, "ru", "The first day of the period is after its last day."),
        ({"from": "2026-11-20", "to": "2026-11-16"}, "kk", "The first day of the period is after its last day."),
        ({"from": "2025-11-01", "to": "2026-11-16"}, "en", "Choose days within the school year, from 09/01/2026"),
        ({"from": "2026-11-01", "to": "2027-09-01"}, "en", "Choose days within the school year"),
        ({"from": "0001-01-01"}, "en", "Choose days within the school year"),
        ({"from": "2026-02-30"}, "en", "“2026-02-30” is not a date like 2026-09-01."),
        ({"to": "20.11.2026"}, "en", "“20.11.2026” is not a date like 2026-09-01."),
    ],
)
def test_a_bad_period_is_a_clear_400_in_the_readers_language(world, query, language, message):
    a = world.a
    response = signed_in(a.director, language).get(attendance_url(a.class_a, **query))
    assert response.status_code == 400
    page = text(response)
    assert f'<html lang="{language}">' in page
    with translation.override(language):
        assert message in page if language == "en" else gettext(message) in page
    assert '<input id="p-from" name="from" type="date"' in page  # the form, to correct it
    with translation.override(language):
        assert gettext("Attendance: %(class)s") % {"class": a.class_a.name} in page  # the heading
    # Asked as spreadsheet, the same refusal, never a file.
    response = signed_in(a.director, language).get(attendance_url(a.class_a, **query, format="xlsx"))
    assert response.status_code == 400 and "html" in response["Content-Type"]


def test_a_term_of_the_schools_own_calendar_for_the_same_year_is_a_period_too(world):
    from birtutas.registry import calendar

    a = world.a
    record(world)
    own = calendar.adopt_default(a.director, a.organization.pk, world.year.pk)
    own_term = own.terms.get(number=2)
    assert own_term.pk != world.term.pk
    rows = values(
        workbook(signed_in(a.director).get(attendance_url(a.class_a, term=own_term.pk, format="xlsx")))["Attendance"]
    )
    assert rows[1][2] == 3
    # The same own term is another school's to school B's director.
    assert signed_in(world.b.director).get(attendance_url(world.b.class_a, term=own_term.pk)).status_code == 404


def other_years_terms(world):
    """A term of another school year (the ministry's calendar) and one of school B's own calendar."""
    old = AcademicYear.objects.create(name="2025-2026", starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2026, 5, 25))
    old_term = Term.objects.create(year=old, number=2, starts_on=dt.date(2025, 11, 3), ends_on=dt.date(2025, 12, 26))
    own_b = AcademicYear.objects.create(
        organization=world.b.organization, name="2026-2027", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 5, 25)
    )
    b_term = Term.objects.create(year=own_b, number=2, starts_on=dt.date(2026, 11, 3), ends_on=dt.date(2026, 12, 26))
    return old_term, b_term


def test_refusals_are_not_found_whoever_asks_and_whatever_they_ask_for(world):
    a, b = world.a, world.b
    record(world)
    old_term, b_term = other_years_terms(world)
    for user in (b.director, b.teacher, a.teacher, a.other_teacher, a.guardian, a.student_user, world.analyst):
        client = signed_in(user)
        for url in (
            attendance_url(a.class_a),
            attendance_url(a.class_a, format="xlsx"),
            attendance_url(a.class_a, **{"from": "2026-11-20", "to": "2026-11-01"}),  # 404 before any 400
            grades_url(a.class_a),
            grades_url(a.class_a, format="xlsx"),
        ):
            response = client.get(url)
            assert response.status_code == 404, (user.username, url)
            assert a.classmate.last_name not in text(response)
    # The journal: its teachers and the school's administration, nobody else.
    for user in (b.director, b.teacher, a.other_teacher, a.guardian, a.student_user, world.analyst):
        for url in (journal_url(a.assignment_a, world.term), journal_url(a.assignment_a, world.term) + "?format=xlsx"):
            response = signed_in(user).get(url)
            assert response.status_code == 404, (user.username, url)
    for user in (a.director, a.teacher):
        assert signed_in(user).get(journal_url(a.assignment_a, world.term)).status_code == 200
    # A term of another year, or of another school's own calendar, is "not found".
    director = signed_in(a.director)
    for term in (old_term, b_term):
        assert director.get(attendance_url(a.class_a, term=term.pk)).status_code == 404
        assert director.get(grades_url(a.class_a, term=term.pk)).status_code == 404
        assert director.get(journal_url(a.assignment_a, term)).status_code == 404
    assert director.get(attendance_url(a.class_a, term="x")).status_code == 404
    assert director.get(grades_url(a.class_a, term=10**30)).status_code == 404
    # Pages are read, never written.
    assert director.post(attendance_url(a.class_a)).status_code == 405


# ------------------------------------------------------------------ the class journal


def test_the_journal_export_holds_the_marks_codes_points_percent_and_grade_of_the_page(world):
    a = world.a
    record(world)
    for language, letters in (("kk", ("ж", "а", "с", "к")), ("ru", ("н", "б", "у", "о")), ("en", ("n", "i", "e", "l"))):
        client = signed_in(a.teacher, language)
        response = client.get(journal_url(a.assignment_a, world.term) + "?format=xlsx")
        assert _filename(response) == "journal-7А-algebra-term2.xlsx"
        book = workbook(response)
        sheet = book[book.sheetnames[0]]
        rows = values(sheet)
        header = rows[0]
        assert header[:2] == ["No.", "Student"] if language == "en" else len(header) == 8
        assert header[2:5] == ["16.11", "18.11", "20.11"] and header[5] == "БЖБ 1 (/20)" and header[6] == "%"
        unexcused, illness, excused, late = letters
        student, classmate = rows[1], rows[2]
        assert student[1] == a.student.short_name and classmate[1] == a.classmate.short_name
        assert student[2:6] == [8, illness, excused, 15]
        assert classmate[2:6] == [unexcused, f"{late}9", None, None]
        assert sheet.cell(2, 3).data_type == "n" and sheet.cell(2, 4).data_type == "s"  # a mark is a number
        grid_percent = _grid_percent(a, world)
        assert student[6] == pytest.approx(float(grid_percent)) and sheet.cell(2, 7).data_type == "n"
        assert isinstance(student[7], int)
        lessons = values(book[book.sheetnames[1]])
        assert lessons[1][0] == dt.datetime(2026, 11, 16) and lessons[1][2] == "Көпмүшелер"
        assert book[book.sheetnames[1]].cell(2, 1).is_date
    page = text(signed_in(a.director).get(journal_url(a.assignment_a, world.term)))
    assert "7 «А» · Algebra" in page and "Term 2" in page and a.teacher.person.short_name in page
    assert '<td class="num">8</td><td>i</td><td>e</td><td class="num">15</td>' in page
    assert "<script" not in page


def _grid_percent(a, world) -> Decimal:
    from birtutas.journal import queries
    from birtutas.registry.permissions import Actor

    grid = queries.journal_grid(Actor.for_user(a.teacher), a.assignment_a.pk, world.term.pk)
    row = next(r for r in grid.rows if r.student.pk == a.student.pk)
    return row.percent.quantize(Decimal("0.1"))


def test_the_class_teacher_exports_the_journal_of_their_class(world):
    from birtutas.journal.models import SchoolClass, TeachingAssignment

    a = world.a
    record(world)
    # The other teacher leads class A but teaches algebra in class B only.
    SchoolClass.objects.filter(pk=a.class_a.pk).update(class_teacher=a.other_teacher.person)
    assert not TeachingAssignment.objects.filter(school_class=a.class_a, teacher=a.other_teacher.person).exists()
    assert signed_in(a.other_teacher).get(journal_url(a.assignment_a, world.term)).status_code == 200


# ------------------------------------------------------------------ term and year grades


def test_the_grades_export_has_each_subjects_grade_and_percent_and_the_year_when_it_exists(world):
    a = world.a
    record(world)
    client = signed_in(a.director)
    book = workbook(client.get(grades_url(a.class_a, format="xlsx")))
    assert book.sheetnames == ["Term 2"]
    rows = values(book["Term 2"])
    assert rows[0] == ["No.", "Student", "Algebra", "Algebra, %"]
    percent = float(_grid_percent(a, world))
    assert rows[1][1:] == [a.student.short_name, rows[1][2], pytest.approx(percent)]
    assert isinstance(rows[1][2], int) and rows[1][2] in (2, 3, 4, 5)
    assert _filename(client.get(grades_url(a.class_a, format="xlsx"))) == "grades-7А-term2.xlsx"
    # Every term closed: final term grades, and year grades in a second sheet.
    for term in world.terms:
        close_term(a.director, a.organization, term)
    assert YearGrade.objects.filter(student=a.student).exists()
    with on_day(dt.date(2027, 6, 1)):
        book = workbook(client.get(grades_url(a.class_a, term=world.term.pk, format="xlsx")))
        page = text(client.get(grades_url(a.class_a, term=world.term.pk)))
    assert book.sheetnames == ["Term 2", "Year grade"]
    stored = TermGrade.objects.get(student=a.student, term=world.term)
    rows = values(book["Term 2"])
    assert rows[1][2:] == [stored.grade, pytest.approx(float(stored.percent.quantize(Decimal("0.1"))))]
    year = values(book["Year grade"])
    assert year[0][2:] == [
        "Algebra: Term 1",
        "Algebra: Term 2",
        "Algebra: Term 3",
        "Algebra: Term 4",
        "Algebra: Year grade",
    ]
    year_grade = YearGrade.objects.get(student=a.student).grade
    assert year[1][2:] == [None, stored.grade, None, None, year_grade]
    assert "Year grade" in page


# ------------------------------------------------------------------ order of names, namesakes


def enrol(school_class, last, first, birth=dt.date(2013, 4, 1)):
    student = person(last, first, birth)
    Enrollment.objects.create(school_class=school_class, student=student)
    return student


def test_names_are_in_kazakh_order_in_kazakh_and_russian_order_in_russian(world):
    a = world.a
    for last in ("Қасымов", "Бекова", "Әбенов", "Кенжебаев", "Абенов", "Ёлкин", "Ещенко"):
        enrol(a.class_a, last, "Ерлан")
    twin = enrol(a.class_a, "Абенов", "Ерлан", dt.date(2013, 9, 9))

    def names(language):
        client = signed_in(a.director, language)
        sheet = values(workbook(client.get(attendance_url(a.class_a, format="xlsx"))).worksheets[0])
        header, rows = sheet[0], sheet[1:-1]
        page = text(client.get(attendance_url(a.class_a)))
        shown = [row[1] for row in rows]
        in_page = re.findall(r'<tr><td class="num">\d+</td><th scope="row">([^<]+)</th>', page)
        assert in_page == shown
        return [name.split()[0] for name in shown if not name.startswith(("Оқушы", "Сынып"))], header, rows

    kk, header, rows = names("kk")
    assert kk == ["Абенов", "Абенов", "Әбенов", "Бекова", "Ещенко", "Ёлкин", "Кенжебаев", "Қасымов"]
    # Namesakes have their birth date, as a date.
    assert len(header) == 9  # No., name, birth date, six counts
    assert [row[2] for row in rows[:2]] == [dt.datetime(2013, 4, 1), dt.datetime(2013, 9, 9)]
    assert rows[2][2] is None
    ru, _header, _rows = names("ru")
    assert ru == ["Абенов", "Абенов", "Әбенов", "Бекова", "Ёлкин", "Ещенко", "Кенжебаев", "Қасымов"]
    page = text(signed_in(a.director, "ru").get(attendance_url(a.class_a)))
    assert "09.09.2013" in page
    assert twin.pk


# ------------------------------------------------------------------ links, print, cost


def test_the_dashboard_and_the_class_report_link_to_the_reports(world):
    a = world.a
    client = signed_in(a.director)
    dashboard = text(client.get(f"/school/{a.organization.pk}/"))
    assert f'href="/school/class/{a.class_a.pk}/attendance/"' in dashboard
    assert f'href="/school/class/{a.class_a.pk}/grades/"' in dashboard
    report = text(client.get(f"/school/class/{a.class_a.pk}/report/"))
    assert f"/school/class/{a.class_a.pk}/attendance/?term={world.term.pk}" in report
    assert f"/school/journal/{a.assignment_a.pk}/term/{world.term.pk}/export/" in report


def test_the_printable_pages_print_on_a4_landscape_without_script(world):
    from pathlib import Path

    css = (Path(__file__).resolve().parents[1] / "src/birtutas/web/static/birtutas/birtutas.css").read_text()
    block = css[css.index("/* == reports and exports == */") : css.index("/* == end reports and exports == */")]
    assert "@media print" in block and A4_LANDSCAPE in block and ".report{page:wide}" in block


def grow(world, extra: int):
    """`extra` more students in class A, each with a mark, an absence and points."""
    a = world.a
    for i in range(extra):
        student = enrol(a.class_a, f"Жаңа{i}", "Оқушы")
        services.update_cell(a.teacher, a.lessons_a[0].pk, student.pk, mark=7)
        services.update_cell(a.teacher, a.lessons_a[1].pk, student.pk, attendance="late", mark=6)
        services.set_points(a.teacher, a.work_a.pk, student.pk, 12)


@pytest.mark.parametrize(
    "url_of",
    [
        lambda w: attendance_url(w.a.class_a),
        lambda w: attendance_url(w.a.class_a, format="xlsx"),
        lambda w: grades_url(w.a.class_a),
        lambda w: grades_url(w.a.class_a, format="xlsx"),
        lambda w: journal_url(w.a.assignment_a, w.term),
        lambda w: journal_url(w.a.assignment_a, w.term) + "?format=xlsx",
    ],
    ids=["attendance", "attendance.xlsx", "grades", "grades.xlsx", "journal", "journal.xlsx"],
)
def test_each_page_and_export_costs_the_same_queries_whatever_the_class_size(
    world, url_of, django_assert_max_num_queries
):
    record(world)
    client = signed_in(world.a.director)
    url = url_of(world)
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    grow(world, 30)
    with django_assert_max_num_queries(len(small)):
        response = client.get(url)
    assert response.status_code == 200
    if "xlsx" in url:
        book = workbook(response)
        assert book[book.sheetnames[0]].max_row >= 33
