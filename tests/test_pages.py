"""The pages as a person uses them: sign-in, the journal grid without JavaScript, the diary, the director."""

from __future__ import annotations

import datetime as dt
import gzip
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from birtutas.journal.models import Attendance, Enrollment, Mark
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import Person
from birtutas.testing import person, signed_in

pytestmark = pytest.mark.django_db


def grid_url(world, school=None):
    school = school or world.a
    return f"/journal/{school.assignment_a.pk}/term/{world.term.pk}/"


def test_healthz_reports_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["database"] == "ok"


def test_sign_in_is_throttled_per_account_with_a_clear_message(world, client, settings):
    settings.LOGIN_THROTTLE = {"per_account": 3, "per_address": 100, "window_seconds": 900}
    for _ in range(3):
        response = client.post(
            "/accounts/login/", {"username": "teacher_a", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert response.status_code == 200
        assert "wrong" in response.content.decode()
    response = client.post(
        "/accounts/login/", {"username": "teacher_a", "password": "correct horse battery"}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    # Another account from the same address is not locked by this one.
    response = client.post("/accounts/login/", {"username": "director_a", "password": "correct horse battery"})
    assert response.status_code == 302


def test_sign_in_is_throttled_per_address(world, client, settings):
    settings.LOGIN_THROTTLE = {"per_account": 100, "per_address": 4, "window_seconds": 900}
    for i in range(4):
        client.post("/accounts/login/", {"username": f"nobody{i}", "password": "x"})
    response = client.post("/accounts/login/", {"username": "teacher_a", "password": "correct horse battery"})
    assert response.status_code == 429


def test_demo_accounts_are_listed_only_in_demo_mode(client, settings):
    settings.DEMO_MODE = False
    assert "demo" not in client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode().lower()
    settings.DEMO_MODE = True
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    for username in ("teacher", "student", "parent", "director", "analyst"):
        assert f"<code>{username}</code>" in page


def test_the_grid_saves_changed_cells_from_a_plain_form_post(world):
    a = world.a
    client = signed_in(a.teacher)
    lesson = a.lessons_a[0]
    page = client.get(grid_url(world)).content.decode()
    assert f'name="c-{lesson.pk}-{a.student.pk}"' in page
    data = {
        f"c-{lesson.pk}-{a.student.pk}": "9",
        f"c-{lesson.pk}-{a.classmate.pk}": "n",
        f"w-{a.work_a.pk}-{a.student.pk}": "17",
    }
    response = client.post(grid_url(world), data, follow=True)
    assert "Saved 3 changes" in response.content.decode()
    assert Mark.objects.get(lesson=lesson, student=a.student).value == 9
    assert Attendance.objects.get(lesson=lesson, student=a.classmate).status == "unexcused"
    events = AuditEvent.objects.count()
    # The same form posted again (a double click, a retry) writes nothing more.
    response = client.post(grid_url(world), data, follow=True)
    assert "Nothing changed" in response.content.decode()
    assert AuditEvent.objects.count() == events
    assert Mark.objects.filter(lesson=lesson).count() == 1


def test_a_bad_cell_is_reported_and_the_good_ones_saved(world):
    a = world.a
    client = signed_in(a.teacher, "ru")
    lesson = a.lessons_a[1]
    response = client.post(
        grid_url(world), {f"c-{lesson.pk}-{a.student.pk}": "12", f"c-{lesson.pk}-{a.classmate.pk}": "5"}, follow=True
    )
    page = response.content.decode()
    assert "«12»" in page
    assert not Mark.objects.filter(student=a.student).exists()
    assert Mark.objects.get(student=a.classmate).value == 5


def test_the_single_cell_endpoint_answers_json_and_errors_in_the_users_language(world):
    a = world.a
    client = signed_in(a.teacher)
    url = f"/journal/lesson/{a.lessons_a[0].pk}/student/{a.student.pk}/"
    assert client.post(url, {"value": "к8"}).json() == {"ok": True, "value": "l8", "percent": "80.0", "grade": "4"}
    refused = client.post(url, {"value": "15"})
    assert refused.status_code == 400 and "from 1 to 10" in refused.json()["error"]


def test_the_grid_costs_the_same_queries_whatever_the_class_size(world):
    a = world.a
    client = signed_in(a.teacher)
    client.get(grid_url(world))
    with CaptureQueriesContext(connection) as small:
        client.get(grid_url(world))
    for i in range(25):
        Enrollment.objects.create(school_class=a.class_a, student=person(f"Жаңа{i}", "Оқушы", a.student.birth_date))
    for lesson in a.lessons_a:
        for student in Person.objects.filter(enrollments__school_class=a.class_a):
            Mark.objects.get_or_create(lesson=lesson, student=student, defaults={"value": 7})
    with CaptureQueriesContext(connection) as large:
        response = client.get(grid_url(world))
    assert response.content.decode().count('name="c-') == 27 * len(a.lessons_a)
    assert len(large) == len(small)


def test_the_diary_shows_marks_absences_and_homework_and_switches_children(world):
    a = world.a
    teacher = signed_in(a.teacher)
    teacher.post(f"/journal/lesson/{a.lessons_a[0].pk}/student/{a.student.pk}/", {"value": "10"})
    teacher.post(f"/journal/lesson/{a.lessons_a[1].pk}/student/{a.student.pk}/", {"value": "б"})
    teacher.post(
        f"/journal/lesson/{a.lessons_a[1].pk}/",
        {"topic": "Көпмүшелер", "homework": "§12, 5-жаттығу", "homework_due": "2026-11-20"},
    )
    # The guardian has a second child at the same school.
    from birtutas.registry.models import Guardianship

    Guardianship.objects.create(guardian=a.guardian.person, student=a.student_b)
    parent = signed_in(a.guardian)
    page = parent.get(f"/diary/{a.student.pk}/?week=2026-11-16").content.decode()
    assert re.search(r'class="mark">10<', page)
    assert "absent: illness" in page
    assert "§12, 5-жаттығу" in page
    assert f'href="/diary/{a.student_b.pk}/"' in page
    summary = parent.get(f"/diary/{a.student.pk}/summary/?term={world.term.pk}").content.decode()
    assert "100.0" in summary  # one formative 10/10, nothing else yet


def test_pages_stay_small_and_never_show_a_full_iin(world):
    a = world.a
    pages = [
        (a.teacher, grid_url(world)),
        (a.teacher, "/journal/"),
        (a.guardian, f"/diary/{a.student.pk}/?week=2026-11-16"),
        (a.guardian, f"/diary/{a.student.pk}/summary/"),
        (a.director, f"/school/{a.organization.pk}/"),
        (a.director, f"/school/class/{a.class_a.pk}/report/"),
        (a.director, f"/school/class/{a.class_a.pk}/load/"),
        (world.analyst, "/area/"),
    ]
    iins = set(Person.objects.values_list("iin", flat=True))
    for user, url in pages:
        client = Client(HTTP_ACCEPT_ENCODING="gzip")
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, url
        body = (
            gzip.decompress(response.content).decode()
            if response.get("Content-Encoding") == "gzip"
            else (response.content.decode())
        )
        assert len(response.content) < 30_000, url
        assert not any(iin in body for iin in iins), url
        assert "Content-Security-Policy" in response


def test_the_director_reads_the_history_of_a_cell(world):
    a = world.a
    teacher = signed_in(a.teacher)
    url = f"/journal/lesson/{a.lessons_a[0].pk}/student/{a.student.pk}/"
    teacher.post(url, {"value": "5"})
    teacher.post(url, {"value": "6"})
    page = signed_in(a.director).get(f"/school/history/{a.student.pk}/{a.lessons_a[0].pk}/").content.decode()
    assert page.count("<tr>") == 3  # header and two changes
    assert a.teacher.person.short_name in page


def test_the_director_closes_a_term_after_its_end_with_the_preview_in_front(world):
    import re

    from birtutas.journal.models import TermClosure
    from birtutas.testing import on_day

    a = world.a
    client = signed_in(a.director)
    url = f"/school/{a.organization.pk}/term/{world.term.pk}/close/"
    page = client.get(url).content.decode()
    digest = re.search(r'name="digest" value="(\w+)"', page).group(1)
    response = client.post(url, {"confirm": "yes", "digest": digest}, HTTP_ACCEPT_LANGUAGE="en")
    assert not TermClosure.objects.exists()  # the term has not ended
    with on_day(world.term.ends_on + dt.timedelta(days=1)):
        page = client.get(url).content.decode()
        assert a.student.short_name in page  # listed: no marks yet
        digest = re.search(r'name="digest" value="(\w+)"', page).group(1)
        client.post(url, {"digest": digest})
        assert not TermClosure.objects.exists()  # not confirmed
        response = client.post(url, {"confirm": "yes", "digest": digest})
    assert response.status_code == 302
    assert TermClosure.objects.filter(organization=a.organization, term=world.term).exists()


def test_language_switch_changes_the_page_language(world):
    client = signed_in(world.a.teacher)
    client.post("/i18n/setlang/", {"language": "ru", "next": "/journal/"})
    assert '<html lang="ru">' in client.get("/journal/").content.decode()
    client.post("/i18n/setlang/", {"language": "kk", "next": "/journal/"})
    assert '<html lang="kk">' in client.get("/journal/").content.decode()


def test_demo_accounts_cannot_sign_in_outside_demo_mode(world, client, settings):
    user = world.a.teacher
    user.is_demo = True
    user.save()
    settings.DEMO_MODE = False
    response = client.post("/accounts/login/", {"username": "teacher_a", "password": "correct horse battery"})
    assert response.status_code == 200  # the form again, not a redirect
    settings.DEMO_MODE = True
    response = client.post("/accounts/login/", {"username": "teacher_a", "password": "correct horse battery"})
    assert response.status_code == 302


def test_the_class_report_shows_masked_iins_only(world):
    a = world.a
    page = signed_in(a.director).get(f"/school/class/{a.class_a.pk}/report/").content.decode()
    assert f"{a.student.iin[:2]}••••••••{a.student.iin[-2:]}" in page
    assert a.student.iin not in page


def test_the_area_overview_hides_schools_under_five_students(world):
    from birtutas.journal.models import Enrollment

    client = signed_in(world.analyst)
    page = client.get("/area/").content.decode()
    assert "too few to show" in page and '<td class="num">3</td>' not in page  # both schools have 3 students
    for i in range(3):
        Enrollment.objects.create(
            school_class=world.a.class_b, student=person(f"Қосымша{i}", "Оқушы", world.a.student.birth_date)
        )
    page = client.get("/area/").content.decode()
    assert '<td class="num">6</td>' in page  # school A's district; school B's is still too few to show
    # A district officer sees only the schools of their district.
    officer = signed_in(world.district_officer).get("/area/").content.decode()
    assert "A мектебі" in officer and "B мектебі" not in officer


def test_a_former_school_does_not_follow_a_student_to_the_new_one(world):
    from birtutas.journal.models import Enrollment, SchoolClass
    from birtutas.registry.models import AcademicYear

    a, b = world.a, world.b
    # Last year the student was in school A's class 6; this year they are in school B.
    last_year = AcademicYear.objects.create(
        name="2025-2026",
        starts_on=world.year.starts_on.replace(year=2025),
        ends_on=world.year.ends_on.replace(year=2026),
    )
    old_class = SchoolClass.objects.create(
        organization=a.organization, year=last_year, grade=6, letter="А", language="kk", class_teacher=a.teacher.person
    )
    Enrollment.objects.create(school_class=old_class, student=b.student)
    for user in (a.teacher, a.director):
        client = signed_in(user)
        page = client.get(f"/diary/{b.student.pk}/?week=2026-11-16")
        assert b'class="mark"' not in page.content and b.class_a.name.encode() not in page.content
        summary = client.get(f"/diary/{b.student.pk}/summary/").content.decode()
        assert "Алгебра" not in summary


def test_a_bad_term_in_the_address_is_not_found(world):
    client = signed_in(world.a.guardian)
    assert client.get(f"/diary/{world.a.student.pk}/summary/?term=abc").status_code == 404
    assert client.get(f"/diary/{world.a.student.pk}/summary/?term=999999").status_code == 404


def test_the_same_cell_typed_in_another_order_or_script_is_no_change(world):
    a = world.a
    client = signed_in(a.teacher)
    lesson = a.lessons_a[2]
    name = f"c-{lesson.pk}-{a.student.pk}"
    client.post(grid_url(world), {name: "к8"})
    events = AuditEvent.objects.count()
    for same in ("8к", "о8", "L8"):
        response = client.post(grid_url(world), {name: same}, follow=True)
        assert "Nothing changed" in response.content.decode()
    assert AuditEvent.objects.count() == events


def test_the_director_and_the_family_read_a_students_history_and_nobody_else_does(world):
    from birtutas.journal import services

    a, b = world.a, world.b
    services.set_cell(a.teacher, a.lessons_a[0].pk, a.student.pk, "7")
    services.grade_open_term(a.organization.pk, world.term)  # an event no person made
    school_url = f"/school/{a.organization.pk}/person/{a.student.pk}/history/"
    family_url = f"/diary/{a.student.pk}/history/"
    for user, url in ((a.director, school_url), (a.guardian, family_url), (a.student_user, family_url)):
        page = signed_in(user).get(url)
        assert page.status_code == 200, (user, url)
        assert "mark.set" not in page.content.decode() and a.teacher.person.short_name in page.content.decode()
    for user, url in (
        (b.director, school_url),
        (b.director, f"/school/{b.organization.pk}/person/{a.student.pk}/history/"),
        (a.classmate_guardian, family_url),
        (a.teacher, family_url),
        (a.teacher, school_url),
    ):
        assert signed_in(user).get(url).status_code == 404, (user, url)


def _grow_class(school, term, *, students: int, subjects: int) -> None:
    """Make class A of `school` a full one: `students` more students, `subjects` more class-subjects with a
    lesson every weekday of the week of 16 November (a mark or an absence for everyone at each), a unit
    and a term summative with points for everyone, and lateness here and there."""
    from birtutas.journal.models import Lesson, Subject, SummativeWork, TeachingAssignment
    from birtutas.kernel.context import writing

    monday = dt.date(2026, 11, 16)
    with writing():
        for i in range(students):
            Enrollment.objects.create(
                school_class=school.class_a, student=person(f"Көп{i}", "Оқушы", school.student.birth_date)
            )
        assignments = [school.assignment_a]
        for i in range(subjects):
            subject, _ = Subject.objects.get_or_create(
                code=f"extra{i}", defaults={"name_kk": f"Пән {i}", "name_ru": f"Пән {i}", "name_en": f"Пән {i}"}
            )
            assignment = TeachingAssignment.objects.create(
                school_class=school.class_a, subject=subject, teacher=school.teacher.person, hours_per_week=5
            )
            assignments.append(assignment)
            for day in range(5):
                Lesson.objects.create(
                    assignment=assignment,
                    term=term,
                    date=monday + dt.timedelta(days=day),
                    period=3 + i,
                    topic=f"Тақырып {i}",
                    homework=f"§{day + 1}",
                )
        roster = list(Person.objects.filter(enrollments__school_class=school.class_a))
        for n, lesson in enumerate(Lesson.objects.filter(assignment__in=assignments, term=term)):
            for k, student in enumerate(roster):
                if (n + k) % 7 == 0:
                    Attendance.objects.get_or_create(lesson=lesson, student=student, defaults={"status": "unexcused"})
                    continue
                Mark.objects.get_or_create(lesson=lesson, student=student, defaults={"value": 1 + (n + k) % 10})
                if (n + k) % 11 == 0:
                    Attendance.objects.get_or_create(lesson=lesson, student=student, defaults={"status": "late"})
        for assignment in assignments:
            for kind, title in (("unit", "БЖБ 2"), ("term", "ТЖБ")):
                work = SummativeWork.objects.create(
                    assignment=assignment, term=term, kind=kind, title=title, max_points=20, date=monday
                )
                for k, student in enumerate(roster):
                    Mark.objects.create(work=work, student=student, value=k % 21)


def _queries(client, url) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured), response.content.decode()


def test_the_diary_week_and_term_summary_cost_the_same_queries_whatever_the_marks_lessons_and_subjects(world):
    a = world.a
    week = f"/diary/{a.student.pk}/?week=2026-11-16"
    summary = f"/diary/{a.student.pk}/summary/?term={world.term.pk}"
    from django.db import transaction

    from birtutas.kernel.context import writing

    # A student with little: one subject, three lessons in the week, one mark.
    with writing():
        Mark.objects.create(lesson=a.lessons_a[0], student=a.student, value=7)
    for user in (a.guardian, a.student_user):
        client = signed_in(user)
        client.get(week), client.get(summary)  # sessions and caches warm, as on every later visit
        small_week, small_week_page = _queries(client, week)
        small_summary, small_summary_page = _queries(client, summary)
        assert small_week_page.count('class="mark"') == 1
        assert "Пән 0" not in small_summary_page
        with transaction.atomic():
            _grow_class(a, world.term, students=30, subjects=8)
            large_week, large_week_page = _queries(client, week)
            large_summary, large_summary_page = _queries(client, summary)
            transaction.set_rollback(True)
        # The page grew: 9 subjects, about 40 more lessons in the week, their marks and the points.
        assert large_week_page.count('class="mark"') > 30
        assert large_week_page.count("Пән 7") >= 5
        assert all(f"Пән {i}" in large_summary_page for i in range(8))
        assert (large_week, large_summary) == (small_week, small_summary), user


def test_the_class_report_costs_the_same_queries_whatever_the_class_size(world):
    a = world.a
    url = f"/school/class/{a.class_a.pk}/report/?term={world.term.pk}"
    client = signed_in(a.director)
    client.get(url)
    small, small_page = _queries(client, url)
    assert small_page.count(a.student.iin[:2] + "••••") >= 1
    _grow_class(a, world.term, students=40, subjects=6)
    large, large_page = _queries(client, url)
    assert large_page.count("Көп") == 40  # every new student has a row
    assert all(f"Пән {i}" in large_page for i in range(6))
    assert large == small


def test_an_officer_finds_the_closed_terms_and_an_analyst_does_not(world):
    officer = signed_in(world.district_officer).get("/area/").content.decode()
    analyst = signed_in(world.analyst).get("/area/").content.decode()
    assert 'href="/school/closures/"' in officer and 'href="/school/closures/"' not in analyst
    assert signed_in(world.district_officer).get("/school/closures/").status_code == 200
    assert signed_in(world.analyst).get("/school/closures/").status_code == 404
