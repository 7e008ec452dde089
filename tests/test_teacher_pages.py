"""The teacher's pages as a teacher and a director use them: today's lessons, the grid's live
percent and grade, the lesson form that keeps what was typed, and the school's journals read-only."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from birtutas.journal import rules
from birtutas.journal.models import (
    BellPeriod,
    Enrollment,
    LearningObjective,
    Lesson,
    Mark,
    SchoolClass,
    Subject,
    TeachingAssignment,
    TimetableSlot,
)
from birtutas.kernel.models import AuditEvent
from birtutas.testing import TODAY, person, signed_in

pytestmark = pytest.mark.django_db


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def grid_url(world, assignment=None):
    return f"/journal/{(assignment or world.a.assignment_a).pk}/term/{world.term.pk}/"


def row_cells(page: str, student_id: int) -> tuple[str, str]:
    """The percent and grade a grid page shows in a student's row."""
    row = re.search(rf'id="s{student_id}">.*?</tr>', page, re.S).group(0)
    percent = re.search(r'<td class="num pct">([^<]*)</td>', row).group(1)
    grade = re.search(r'<td class="num grade"><strong>([^<]*)</strong>', row).group(1)
    return percent, grade


# ------------------------------------------------------------------ today


def test_today_lists_the_teachers_lessons_with_bell_time_room_and_a_link_to_their_column(world):
    a = world.a
    lesson = a.lessons_a[2]  # today, period 2
    assert lesson.date == TODAY
    BellPeriod.objects.create(
        organization=a.organization, shift=1, period=2, starts=dt.time(8, 55), ends=dt.time(9, 40)
    )
    TimetableSlot.objects.create(
        assignment=a.assignment_a, school_class=a.class_a, weekday=TODAY.isoweekday(), period=2, room="214"
    )
    page = page_of(signed_in(a.teacher).get("/journal/today/"))
    assert "08:55–09:40" in page and "room 214" in page
    assert "7 «А»" in page and "Algebra" in page
    assert f'href="{grid_url(world)}#l{lesson.pk}"' in page
    assert f'href="/journal/lesson/{lesson.pk}/"' in page
    assert "7 «Ә»" not in page  # another teacher's class
    # The grid has the column the link points at.
    grid = page_of(signed_in(a.teacher).get(grid_url(world)))
    assert f'id="l{lesson.pk}"' in grid


def test_today_without_a_bell_schedule_shows_the_period_and_another_day_on_request(world):
    a = world.a
    client = signed_in(a.teacher)
    assert "Period 2" in page_of(client.get("/journal/today/"))
    other = page_of(client.get("/journal/today/", {"day": "2026-11-18"}))
    assert f"/journal/lesson/{a.lessons_a[1].pk}/" in other
    assert f'/journal/lesson/{a.lessons_a[2].pk}/"' not in other
    assert "No lessons." in page_of(client.get("/journal/today/", {"day": "2026-11-22"}))  # a Sunday
    # A day that is no date is today.
    assert f"#l{a.lessons_a[2].pk}" in page_of(client.get("/journal/today/", {"day": "20-11-2026"}))


NEIGHBOURS = [
    ("a Wednesday", dt.date(2026, 11, 18), dt.date(2026, 11, 17), dt.date(2026, 11, 19)),
    ("a Monday steps back over Sunday", dt.date(2026, 11, 23), dt.date(2026, 11, 21), dt.date(2026, 11, 24)),
    ("a Saturday steps on over Sunday", dt.date(2026, 11, 21), dt.date(2026, 11, 20), dt.date(2026, 11, 23)),
    ("a Sunday itself", dt.date(2026, 11, 22), dt.date(2026, 11, 21), dt.date(2026, 11, 23)),
    ("across a year", dt.date(2027, 1, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 2)),
]


@pytest.mark.parametrize(("name", "day", "previous", "following"), NEIGHBOURS, ids=[n[0] for n in NEIGHBOURS])
def test_the_neighbouring_school_days_step_over_sunday(name, day, previous, following):
    assert rules.neighbouring_school_days(day) == (previous, following)


def test_today_links_the_neighbouring_school_days(world):
    page = page_of(signed_in(world.a.teacher).get("/journal/today/", {"day": "2026-11-23"}))
    assert 'href="?day=2026-11-21" rel="prev"' in page and 'href="?day=2026-11-24" rel="next"' in page


def test_today_counts_every_lesson_held_without_a_topic_and_lists_the_latest_thirty(world):
    a = world.a
    Lesson.objects.filter(assignment__teacher=a.teacher.person).update(topic="")
    held = Lesson.objects.filter(assignment__teacher=a.teacher.person, date__lt=TODAY).count()
    start = dt.date(2026, 11, 2)
    for i in range(33):
        Lesson.objects.create(
            assignment=a.assignment_a, term=world.term, date=start + dt.timedelta(days=i % 12), period=5 + i // 12
        )
    page = page_of(signed_in(a.teacher).get("/journal/today/"))
    assert f"Lessons held without a topic ({held + 33})" in page
    section = page.split('id="untitled-h"', 1)[1]
    assert section.count("<li>") == 30


def test_today_names_what_needs_doing_and_forgets_it_once_done(world):
    a = world.a
    Lesson.objects.filter(pk=a.lessons_a[0].pk).update(topic="")
    Lesson.objects.filter(pk=a.lessons_a[2].pk).update(topic="")
    client = signed_in(a.teacher)
    page = page_of(client.get("/journal/today/"))
    assert "Lessons held without a topic (1)" in page
    assert f'href="/journal/lesson/{a.lessons_a[0].pk}/"' in page
    assert "No topic yet" in page and "No mark or absence recorded yet" in page
    client.post(f"/journal/lesson/{a.lessons_a[0].pk}/student/{a.student.pk}/", {"value": "8"})
    client.post(f"/journal/lesson/{a.lessons_a[2].pk}/student/{a.student.pk}/", {"value": "9"})
    client.post(f"/journal/lesson/{a.lessons_a[0].pk}/", {"topic": "Бірмүшелер", "homework": "", "homework_due": ""})
    page = page_of(client.get("/journal/today/"))
    assert "Lessons held without a topic" not in page
    assert "No mark or absence recorded yet" not in page
    # A lesson still to come has nothing missing yet.
    future = Lesson.objects.create(
        assignment=a.assignment_a, term=world.term, date=dt.date(2026, 11, 23), period=3, topic=""
    )
    page = page_of(client.get("/journal/today/", {"day": "2026-11-23"}))
    assert f"#l{future.pk}" in page
    assert 'class="todo"' not in page


def test_today_orders_lessons_by_the_bell_of_each_shift(world):
    a = world.a
    second_shift = SchoolClass.objects.create(
        organization=a.organization, year=world.year, grade=8, letter="Б", language="kk", shift=2
    )
    afternoon = TeachingAssignment.objects.create(
        school_class=second_shift, subject=world.subject, teacher=a.teacher.person
    )
    late = Lesson.objects.create(assignment=afternoon, term=world.term, date=TODAY, period=1)
    for shift, period, starts, ends in ((1, 2, (8, 55), (9, 40)), (2, 1, (13, 30), (14, 15))):
        BellPeriod.objects.create(
            organization=a.organization, shift=shift, period=period, starts=dt.time(*starts), ends=dt.time(*ends)
        )
    page = page_of(signed_in(a.teacher).get("/journal/today/"))
    assert page.index(f"#l{a.lessons_a[2].pk}") < page.index(f"#l{late.pk}")
    assert "13:30–14:15" in page


def test_today_costs_the_same_queries_whatever_the_number_of_lessons(world):
    a = world.a
    client = signed_in(a.teacher)
    client.get("/journal/today/")
    with CaptureQueriesContext(connection) as one:
        client.get("/journal/today/")
    subjects = [
        Subject.objects.create(code=f"s{i}", name_kk=f"Пән {i}", name_ru=f"Предмет {i}", name_en=f"Subject {i}")
        for i in range(5)
    ]
    for i, subject in enumerate(subjects):
        klass = SchoolClass.objects.create(
            organization=a.organization, year=world.year, grade=8, letter=str(i), language="kk", shift=1 + i % 2
        )
        assignment = TeachingAssignment.objects.create(school_class=klass, subject=subject, teacher=a.teacher.person)
        lesson = Lesson.objects.create(assignment=assignment, term=world.term, date=TODAY, period=3 + i)
        TimetableSlot.objects.create(
            assignment=assignment, school_class=klass, weekday=TODAY.isoweekday(), period=3 + i, room=f"{300 + i}"
        )
        BellPeriod.objects.create(
            organization=a.organization, shift=1 + i % 2, period=3 + i, starts=dt.time(9 + i), ends=dt.time(9 + i, 45)
        )
        Mark.objects.create(lesson=lesson, student=a.student, value=7)
        Lesson.objects.create(assignment=assignment, term=world.term, date=dt.date(2026, 11, 19), period=1)
    with CaptureQueriesContext(connection) as six:
        response = client.get("/journal/today/")
    assert page_of(response).count('class="button primary"') == 6
    assert len(six) == len(one), [q["sql"][:80] for q in six.captured_queries]


def test_the_journal_index_leads_to_today(world):
    page = page_of(signed_in(world.a.teacher).get("/journal/"))
    assert 'href="/journal/today/"' in page


# ------------------------------------------------------------------ the grid's live columns


def test_a_saved_cell_answers_the_rows_new_percent_and_grade_as_the_page_shows_them(world):
    a = world.a
    client = signed_in(a.teacher, "ru")
    cell = f"/journal/lesson/{a.lessons_a[0].pk}/student/{a.student.pk}/"
    points = f"/journal/work/{a.work_a.pk}/student/{a.student.pk}/"
    first = client.post(cell, {"value": "7"}).json()
    assert first["ok"] and first["value"] == "7"
    answer = client.post(points, {"value": "13"}).json()
    assert answer["ok"] and answer["percent"] and answer["grade"]
    assert "," in answer["percent"]  # in the reader's language, as the page writes it
    assert (answer["percent"], answer["grade"]) == row_cells(page_of(client.get(grid_url(world))), a.student.pk)
    changed = client.post(cell, {"value": "10"}).json()
    assert changed["percent"] != answer["percent"]
    assert (changed["percent"], changed["grade"]) == row_cells(page_of(client.get(grid_url(world))), a.student.pk)
    # Cleared: the row's figures go with the inputs.
    for url in (cell, points):
        cleared = client.post(url, {"value": ""}).json()
    assert (cleared["percent"], cleared["grade"]) == ("", "")
    # A refused cell carries no figures and changes nothing.
    refused = client.post(cell, {"value": "15"})
    assert refused.status_code == 400 and "percent" not in refused.json()


def test_the_no_script_post_shows_the_new_percent_and_grade(world):
    a = world.a
    client = signed_in(a.teacher)
    data = {f"c-{a.lessons_a[0].pk}-{a.student.pk}": "9", f"w-{a.work_a.pk}-{a.student.pk}": "18"}
    page = page_of(client.post(grid_url(world), data, follow=True))
    percent, grade = row_cells(page, a.student.pk)
    assert percent and grade == "5"


# ------------------------------------------------------------------ reading a journal one may not write


def another_subject_of_class_a(world) -> TeachingAssignment:
    """Geometry in A's class_a, taught by someone else: A's teacher leads the class but does not teach it."""
    a = world.a
    geometry = Subject.objects.create(code="geometry", name_kk="Геометрия", name_ru="Геометрия", name_en="Geometry")
    teacher = person("Геометрияшы", "Ербол", dt.date(1980, 1, 1), "M")
    assignment = TeachingAssignment.objects.create(school_class=a.class_a, subject=geometry, teacher=teacher)
    lesson = Lesson.objects.create(assignment=assignment, term=world.term, date=dt.date(2026, 11, 17), period=3)
    Mark.objects.create(lesson=lesson, student=a.student, value=6)
    return assignment


@pytest.mark.parametrize("who", ["director", "class_teacher"])
def test_a_reader_who_may_not_write_gets_the_grid_without_inputs_or_forms_and_is_refused_a_post(world, who):
    a = world.a
    if who == "director":
        user, assignment = a.director, a.assignment_a
        Mark.objects.create(lesson=a.lessons_a[0], student=a.student, value=6)
    else:
        user, assignment = a.teacher, another_subject_of_class_a(world)
    lesson = Lesson.objects.filter(assignment=assignment).order_by("date").first()
    client = signed_in(user)
    page = page_of(client.get(grid_url(world, assignment)))
    main = page.split('<main id="main">', 1)[1]
    assert "<input" not in main and "<form" not in main
    assert "journal.js" not in page
    assert '<td class="ro">6</td>' in page
    assert f'id="l{lesson.pk}"' in page and a.student.last_name in page
    before = (Mark.objects.count(), AuditEvent.objects.count())
    refused = client.post(grid_url(world, assignment), {f"c-{lesson.pk}-{a.student.pk}": "6"})
    assert refused.status_code == 403
    refused = client.post(grid_url(world, assignment), {f"c-{lesson.pk}-{a.student.pk}": "9"})
    assert refused.status_code == 403
    cell = client.post(f"/journal/lesson/{lesson.pk}/student/{a.student.pk}/", {"value": "9"})
    assert cell.status_code == 403
    lesson_form = client.post(f"/journal/lesson/{lesson.pk}/", {"topic": "x", "homework": "", "homework_due": ""})
    assert lesson_form.status_code == 403
    assert (Mark.objects.count(), AuditEvent.objects.count()) == before
    assert Mark.objects.get(lesson=lesson, student=a.student).value == 6


def test_the_director_lists_every_journal_of_the_school_and_no_other_school(world):
    a, b = world.a, world.b
    client = signed_in(a.director)
    page = page_of(client.get(f"/school/{a.organization.pk}/journals/"))
    assert f"{world.year.name}, Term {world.term.number}</p>" in page  # the term the links open, named once
    for assignment in (a.assignment_a, a.assignment_b):
        assert f'href="{grid_url(world, assignment)}"' in page
    assert page.index("7 «А»") < page.index("7 «Ә»")
    assert f"/journal/{b.assignment_a.pk}/" not in page
    dashboard = page_of(client.get(f"/school/{a.organization.pk}/"))
    assert f'href="/school/{a.organization.pk}/journals/"' in dashboard
    assert client.get(f"/school/{b.organization.pk}/journals/").status_code == 404
    assert client.get(grid_url(world, b.assignment_a)).status_code == 404
    assert signed_in(b.director).get(f"/school/{a.organization.pk}/journals/").status_code == 404
    assert signed_in(a.teacher).get(f"/school/{a.organization.pk}/journals/").status_code == 404
    assert client.post(f"/school/{a.organization.pk}/journals/").status_code == 405


def test_the_schools_journals_cost_the_same_queries_whatever_the_number_of_classes(world):
    a = world.a
    client = signed_in(a.director)
    url = f"/school/{a.organization.pk}/journals/"
    client.get(url)
    with CaptureQueriesContext(connection) as small:
        client.get(url)
    for grade in (8, 9, 10):
        klass = SchoolClass.objects.create(
            organization=a.organization, year=world.year, grade=grade, letter="А", language="kk"
        )
        TeachingAssignment.objects.create(school_class=klass, subject=world.subject, teacher=a.other_teacher.person)
    with CaptureQueriesContext(connection) as large:
        page = page_of(client.get(url))
    assert page.count("/journal/") >= 5
    assert len(large) == len(small)


# ------------------------------------------------------------------ sorting and namesakes


def test_the_grid_sorts_students_in_the_alphabet_of_the_page_and_tells_namesakes_apart(world):
    a = world.a
    born = dt.date(2013, 2, 3)
    names = ("Фёдоров", "Қасымов", "Әлиев", "Ахметов", "Ахметов")
    added = []
    for i, last in enumerate(names):
        pupil = person(last, "Ерлан", born + dt.timedelta(days=i), "M")
        Enrollment.objects.create(school_class=a.class_a, student=pupil)
        added.append(pupil)
    page = page_of(signed_in(a.teacher, "kk").get(grid_url(world)))
    shown = re.findall(r'<th scope="row" id="s\d+">([^<]*)</th>', page)
    order = [name.split()[0] for name in shown]
    assert order == ["Ахметов", "Ахметов", "Әлиев", "Қасымов", a.student.last_name, a.classmate.last_name, "Фёдоров"]
    namesakes = [name for name in shown if name.startswith("Ахметов")]
    assert namesakes == ["Ахметов Ерлан (06.02.2013)", "Ахметов Ерлан (07.02.2013)"], namesakes
    assert "Әлиев Ерлан</th>" in page  # the only one of their name: no date


# ------------------------------------------------------------------ the lesson form keeps what was typed


def test_a_refused_lesson_keeps_everything_typed_and_saves_nothing(world):
    a = world.a
    lesson = a.lessons_a[1]
    mine = LearningObjective.objects.create(
        subject=world.subject, grade=7, code="7.1.2.3", text_kk="Көпмүшелерді көбейту", text_ru="Умножение"
    )
    other_subject = Subject.objects.create(code="physics", name_kk="Физика", name_ru="Физика", name_en="Physics")
    foreign = LearningObjective.objects.create(
        subject=other_subject, grade=7, code="7.2.1.1", text_kk="Жылдамдық", text_ru="Скорость"
    )
    client = signed_in(a.teacher)
    url = f"/journal/lesson/{lesson.pk}/"
    before = (Lesson.objects.filter(pk=lesson.pk).values().get(), AuditEvent.objects.count())
    typed = {"topic": "Жаңа тақырып: «дәреже»", "homework": "§7, №12\nжаттығу", "objectives": [str(mine.pk)]}
    for due, objectives, error in (
        ("2026-11-17", [str(mine.pk)], "The homework cannot be due before the lesson."),
        ("31.11.2026", [str(mine.pk)], "“31.11.2026” is not a date like 2026-09-01."),
        ("2026-11-25", [str(mine.pk), str(foreign.pk)], "Choose the learning objectives from the list."),
        ("2026-11-25", ["abc"], "Choose the learning objectives from the list."),
    ):
        response = client.post(url, {**typed, "homework_due": due, "objectives": objectives})
        page = page_of(response)
        assert error in page
        assert 'value="Жаңа тақырып: «дәреже»"' in page
        assert ">§7, №12\nжаттығу</textarea>" in page
        assert f'value="{due}"' in page
        assert bool(re.search(rf'value="{mine.pk}" checked', page)) == (str(mine.pk) in objectives)
    assert (Lesson.objects.filter(pk=lesson.pk).values().get(), AuditEvent.objects.count()) == before
    assert not lesson.objectives.exists()
    # Corrected, it saves, and the form then shows what is saved.
    response = client.post(url, {**typed, "homework_due": "2026-11-25"})
    assert response.status_code == 302
    saved = Lesson.objects.get(pk=lesson.pk)
    assert saved.topic == typed["topic"] and saved.homework_due == dt.date(2026, 11, 25)
    assert list(saved.objectives.all()) == [mine]
    page = page_of(client.get(url))
    assert re.search(rf'value="{mine.pk}" checked', page) and 'value="2026-11-25"' in page
