"""A teacher's marks reach the parent: journal grid (saved cell by cell by journal.js) → diary → inbox."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from browserkit import ConsoleLog, has_class, sign_in, switch_language
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# Words each language shows: headings, day names, the month in the genitive, the grid's absence letter.
LANGUAGE = {
    "kk": {
        "classes": "Менің сыныптарым",
        "diary": "Күнделік",
        "inbox": "Хабарламалар",
        "weekday": "Жұма",
        "month": "Қараша",
        "absent": "ж",
    },
    "ru": {
        "classes": "Мои классы",
        "diary": "Дневник",
        "inbox": "Уведомления",
        "weekday": "Пятница",
        "month": "ноября",
        "absent": "н",
    },
}


def week_lessons(demo):
    monday = demo.today - dt.timedelta(days=demo.today.weekday())
    lessons = demo.lessons(since=monday, until=demo.today)
    assert len(lessons) >= 2, "the demo timetable has algebra at least twice a week"
    return lessons[0], lessons[1]


def clear_cells(child, *lessons):
    """Start from empty cells and a read inbox, so what the teacher types is a change (and a new notice)."""
    from django.utils import timezone

    from birtutas.journal.models import Attendance, Mark
    from birtutas.kernel.models import Notification

    Mark.objects.filter(student=child, lesson__in=lessons).delete()
    Attendance.objects.filter(student=child, lesson__in=lessons).delete()
    Notification.objects.filter(key__in=[f"marks:{lesson.pk}:{child.pk}" for lesson in lessons]).delete()
    Notification.objects.filter(recipient__username="parent").update(read_at=timezone.now())


def diary_row(page, demo, lesson):
    """The block of `lesson` in the diary week: day sections are Monday..Saturday, lessons by period."""
    from birtutas.journal.models import Lesson

    same_day = list(
        Lesson.objects.filter(assignment__school_class=demo.school_class, date=lesson.date)
        .order_by("period")
        .values_list("pk", flat=True)
    )
    section = page.locator(f"section.day[aria-labelledby=d{lesson.date.weekday() + 1}]")
    return section, section.locator("li.lesson").nth(same_day.index(lesson.pk))


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_mark_and_absence_reach_the_parent(demo, new_context, language):
    from birtutas.journal.models import Attendance, Mark
    from birtutas.kernel.models import Notification

    words = LANGUAGE[language]
    mark_lesson, absence_lesson = week_lessons(demo)
    child = demo.child
    clear_cells(child, mark_lesson, absence_lesson)

    # --- the teacher
    page = new_context().new_page()
    console = ConsoleLog(page)
    sign_in(page, demo, "teacher")
    expect(page).to_have_url(demo.url("/journal/today/"))  # a teacher starts the day with today's lessons
    page.locator("header nav a[href='/journal/']").click()
    page.wait_for_url("**/journal/")
    if language != "kk":
        switch_language(page, language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("main h1")).to_have_text(words["classes"])
    class_cell = page.get_by_role("cell", name=demo.school_class.name, exact=True)
    row = page.locator("table.list tbody tr").filter(has=class_cell)
    row.get_by_role("link", name="Алгебра", exact=True).click()
    page.wait_for_url("**/journal/*/term/*/")
    if not page.url.endswith(demo.grid_path):  # the index links the current term; the demo's "today" is fixed
        page.goto(demo.url(demo.grid_path))
    expect(page.locator("h1")).to_contain_text("Алгебра")
    expect(page.locator("#codes")).to_contain_text(f"{words['absent']} ")

    mark_cell = page.locator(f"input[name=c-{mark_lesson.pk}-{child.pk}]")
    absence_cell = page.locator(f"input[name=c-{absence_lesson.pk}-{child.pk}]")
    mark_cell.fill("9")
    mark_cell.press("Tab")
    expect(mark_cell).to_have_class(has_class("saved"))
    absence_cell.fill(words["absent"])
    absence_cell.press("Tab")
    expect(absence_cell).to_have_class(has_class("saved"))
    expect(absence_cell).to_have_value(words["absent"])
    expect(page.locator("#grid-status")).to_be_empty()

    assert Mark.objects.get(student=child, lesson=mark_lesson).value == 9
    assert Attendance.objects.get(student=child, lesson=absence_lesson).status == "unexcused"
    assert console.csp() == [], console.errors
    assert console.errors == []

    # --- the parent, in a browser of their own
    page = new_context().new_page()
    sign_in(page, demo, "parent")
    page.wait_for_url("**/diary/*/")
    if language != "kk":
        switch_language(page, language)
    children = page.locator("nav.children")
    if children.count():
        children.get_by_role("link", name=child.first_name, exact=True).click()
        page.wait_for_url(f"**/diary/{child.pk}/")
    page.goto(demo.url(f"/diary/{child.pk}/?week={demo.today.isoformat()}"))
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.locator("main h1")).to_contain_text(f"{words['diary']}: ")
    expect(page.locator("main h1")).to_contain_text(child.last_name)
    friday = page.locator("section.day[aria-labelledby=d5] h2")
    expect(friday).to_contain_text(words["month"])
    expect(friday).to_contain_text(words["weekday"])

    _section, row = diary_row(page, demo, mark_lesson)
    expect(row).to_contain_text("Алгебра")
    expect(row.locator("strong.mark")).to_have_text("9")
    _section, row = diary_row(page, demo, absence_lesson)
    expect(row).to_contain_text("Алгебра")
    expect(row.locator("span.att.unexcused")).to_be_visible()
    expect(row.locator("strong.mark")).to_have_count(0)

    # --- and the parent's inbox says so
    # One notice per lesson's records, keyed so that a correction replaces it.
    mark_note = Notification.objects.get(recipient__username="parent", key=f"marks:{mark_lesson.pk}:{child.pk}")
    absence_note = Notification.objects.get(recipient__username="parent", key=f"marks:{absence_lesson.pk}:{child.pk}")
    assert re.search(r"(?<!\d)9(?!\d)", mark_note.text), mark_note.text
    for note in (mark_note, absence_note):
        assert child.first_name in note.text and "Алгебра" in note.text, note.text
    expect(page.locator("header nav .badge")).to_have_text("2")
    page.locator("header nav a[href='/inbox/']").click()
    page.wait_for_url("**/inbox/")
    expect(page.locator("main h1")).to_have_text(words["inbox"])
    links = page.locator("ul.inbox li.unread a")
    expect(links).to_have_count(2)
    for note in (mark_note, absence_note):
        link = links.filter(has_text=note.text)
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("href", note.link)
        assert note.link.startswith(f"/diary/{child.pk}/")
