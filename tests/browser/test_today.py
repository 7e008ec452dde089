"""The teacher's day, in a browser: today's lessons on a phone, one tap from their column in the
grid; the grid scrolls in its own frame with its header row and names in place; a typed mark
changes the row's percent and grade at once, as the server computes them."""

from __future__ import annotations

import os

import pytest
from browserkit import SCREENSHOTS, ConsoleLog, cell_name, has_class, sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def a_teaching_day(demo):
    """The demo's date, or the last day before it on which the demo teacher taught, with its lessons."""
    from birtutas.journal.models import Lesson

    taught = Lesson.objects.filter(assignment__teacher__user__username="teacher", date__lte=demo.today)
    day = taught.order_by("-date").values_list("date", flat=True).first()
    return day, list(taught.filter(date=day).order_by("period"))


BOX = "el => { const r = el.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top}; }"


def box(page, selector: str) -> dict:
    return page.locator(selector).first.evaluate(BOX)


def test_today_fits_a_phone_and_each_lesson_is_one_tap_from_its_column(demo, new_context, tmp_path):
    day, lessons = a_teaching_day(demo)
    assert lessons, "the demo teacher teaches"
    lesson = lessons[-1]
    page = new_context(viewport=PHONE).new_page()
    console = ConsoleLog(page)
    sign_in(page, demo, "teacher")
    page.goto(demo.url("/journal/"))
    page.locator("main a.button.primary[href='/journal/today/']").click()
    expect(page).to_have_url(demo.url("/journal/today/"))
    if day != demo.today:
        page.goto(demo.url(f"/journal/today/?day={day.isoformat()}"))
    expect(page.locator("ol.today > li")).to_have_count(len(lessons))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    folder = SCREENSHOTS if os.environ.get("BIRTUTAS_SCREENSHOTS") else tmp_path
    page.screenshot(path=str(folder / "today-phone.png"), full_page=True)

    grid_path = f"/journal/{lesson.assignment_id}/term/{lesson.term_id}/"
    page.locator(f"#lesson-{lesson.pk} a[href='{grid_path}#l{lesson.pk}']").click()
    expect(page).to_have_url(demo.url(f"{grid_path}#l{lesson.pk}"))
    column = f"th#l{lesson.pk}"
    expect(page.locator(column)).to_be_in_viewport()
    # The column is inside the frame's visible part, clear of the sticky name column.
    frame, head, names = box(page, ".frame"), box(page, column), box(page, ".grid thead th:first-child")
    assert frame["left"] - 1 <= names["right"] <= head["left"] + 1, (names, head)
    assert head["right"] <= frame["right"] + 1, (head, frame)
    # The page itself does not scroll sideways: the frame does.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.locator(".frame").evaluate("el => el.scrollLeft") > 0
    page.screenshot(path=str(folder / "grid-phone.png"))
    assert not console.errors, console.errors


def test_the_grid_keeps_its_header_and_names_in_place_while_its_frame_scrolls(demo, new_context):
    from birtutas.journal.models import Enrollment
    from birtutas.testing import person

    for i in range(30):  # a full class: more rows than the screen holds
        pupil = person(f"Жаңа{i:02}", "Оқушы", demo.child.birth_date)
        Enrollment.objects.create(school_class=demo.school_class, student=pupil)
    page = new_context(viewport=PHONE).new_page()
    sign_in(page, demo, "teacher")
    page.goto(demo.url(demo.grid_path))
    frame = page.locator(".frame")
    before = box(page, ".grid thead th:nth-child(3)")
    frame.evaluate("el => { el.scrollTop = 400; el.scrollLeft = 300; }")
    page.wait_for_function("() => document.querySelector('.frame').scrollTop > 0")
    after_head, frame_box = box(page, ".grid thead th:nth-child(3)"), box(page, ".frame")
    assert abs(after_head["top"] - frame_box["top"]) <= 2, (after_head, frame_box)  # the header row stayed on top
    assert after_head["left"] < before["left"]  # and moved sideways with the columns
    name = box(page, ".grid tbody tr:nth-child(12) th")
    assert abs(name["left"] - frame_box["left"]) <= 2, (name, frame_box)  # the names stayed on the left
    assert page.evaluate("window.scrollX") == 0


def test_a_typed_mark_changes_the_rows_percent_and_grade_as_the_server_computes_them(demo, new_context):
    from birtutas.journal.models import Attendance, Mark, SummativeWork

    lesson = demo.lessons(until=demo.today)[-1]
    student = demo.students[3]
    Mark.objects.filter(student=student, lesson=lesson).delete()
    Attendance.objects.filter(student=student, lesson=lesson).delete()
    # Few marks, so one more moves the percent: the student's other marks of the term are cleared.
    Mark.objects.filter(student=student, lesson__assignment=demo.assignment).exclude(lesson=lesson).delete()
    work = SummativeWork.objects.filter(assignment=demo.assignment, term=demo.term).first()
    page = new_context().new_page()
    console = ConsoleLog(page)
    sign_in(page, demo, "teacher")
    page.goto(demo.url(demo.grid_path))
    row = page.locator(f"tr:has(th#s{student.pk})")
    percent, grade = row.locator("td.pct"), row.locator("td.grade strong")
    shown = (percent.inner_text(), grade.inner_text())

    cell = page.locator(f"input[name={cell_name(lesson.pk, student.pk)}]")
    cell.fill("2")
    cell.press("Enter")
    expect(cell).to_have_class(has_class("saved"))
    expect(percent).not_to_have_text(shown[0] or "-")
    low = (percent.inner_text(), grade.inner_text())
    assert low[0] and low[1], low
    cell.fill("10")
    cell.press("Enter")
    expect(percent).not_to_have_text(low[0])
    high = (percent.inner_text(), grade.inner_text())
    assert int(high[1]) >= int(low[1])
    if work is not None:  # points of a summative work move them too
        points = page.locator(f"input[name=w-{work.pk}-{student.pk}]")
        points.fill("0" if points.input_value() != "0" else "1")
        points.press("Enter")
        expect(percent).not_to_have_text(high[0])
        high = (percent.inner_text(), grade.inner_text())
    # What the script put in place is what the page shows after a reload.
    page.reload()
    assert (percent.inner_text(), grade.inner_text()) == high
    assert not console.errors, console.errors


def blocking_faults(page) -> list[str]:
    """axe-core's serious and critical findings on the page (WCAG 2.1 A and AA)."""
    from axe_playwright_python.sync_playwright import Axe

    wcag = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
    found = Axe().run(page, options=wcag).response["violations"]
    return [f"{page.url}: {v['id']}" for v in found if v.get("impact") in ("serious", "critical")]


def test_the_director_reads_any_journal_of_the_school_without_inputs(demo, new_context):
    page = new_context().new_page()
    sign_in(page, demo, "director")
    page.goto(demo.url(f"/school/{demo.organization.pk}/"))
    page.locator(f"main a[href='/school/{demo.organization.pk}/journals/']").click()
    link = page.locator(f"main a[href='{demo.grid_path}']")
    expect(link).to_have_count(1)
    found = blocking_faults(page)
    link.click()
    expect(page).to_have_url(demo.url(demo.grid_path))
    expect(page.locator("main table.grid tbody tr").first).to_be_visible()
    expect(page.locator("main input, main form")).to_have_count(0)
    found += blocking_faults(page)
    teacher = new_context().new_page()
    sign_in(teacher, demo, "teacher")
    teacher.goto(demo.url("/journal/today/"))
    found += blocking_faults(teacher)
    assert not found, found
