"""The journal grid without JavaScript (one form, the Save button) and with the keyboard only."""

from __future__ import annotations

import pytest
from browserkit import active_name, cell_name, has_class, sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def empty_cells(cells):
    from birtutas.journal.models import Attendance, Mark

    for lesson, student in cells:
        Mark.objects.filter(student=student, lesson=lesson).delete()
        Attendance.objects.filter(student=student, lesson=lesson).delete()


def formative_mark(lesson, student):
    from birtutas.journal.models import Mark

    return Mark.objects.filter(student=student, lesson=lesson).values_list("value", flat=True).first()


def test_save_button_without_javascript(demo, new_context):
    lesson = demo.lessons(until=demo.today)[-1]
    student = demo.students[2]
    empty_cells([(lesson, student)])
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, demo, "teacher")
    page.goto(demo.url(demo.grid_path))
    expect(page.locator("#grid-status")).to_have_count(0)  # journal.js did not run

    cell = page.locator(f"input[name={cell_name(lesson.pk, student.pk)}]")
    expect(cell).to_have_value("")
    cell.fill("8")
    with page.expect_navigation():
        page.locator("#grid button.primary").click()
    expect(page).to_have_url(demo.url(demo.grid_path))
    expect(page.locator("ul.messages li.success")).to_have_count(1)
    expect(page.locator("ul.messages li.error")).to_have_count(0)

    page.reload()
    expect(page.locator(f"input[name={cell_name(lesson.pk, student.pk)}]")).to_have_value("8")
    assert formative_mark(lesson, student) == 8

    # Posting the unchanged grid again changes nothing.
    with page.expect_navigation():
        page.locator("#grid button.primary").click()
    expect(page.locator("ul.messages li.info")).to_have_count(1)
    assert formative_mark(lesson, student) == 8


def test_keyboard_only(demo, new_context):
    first, second = demo.lessons()[:2]
    from birtutas.kernel.collation import sorted_people

    top, below = sorted_people(demo.students, "kk")[:2]  # the grid's order in Kazakh, the page's language
    empty_cells([(first, top), (first, below)])
    page = new_context().new_page()
    sign_in(page, demo, "teacher")
    page.goto(demo.url(demo.grid_path))
    expect(page.locator("#grid-status")).to_have_count(1)  # journal.js is on

    # From the top of the page: the first Tab reaches the skip link, Enter follows it.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    expect(page).to_have_url(demo.url(demo.grid_path) + "#main")
    # Then Tab through the term links and the lesson dates to the first cell.
    presses = 0
    while not (active_name(page) or "").startswith("c-"):
        page.keyboard.press("Tab")
        presses += 1
        assert presses < 200, "the grid's cells cannot be reached with Tab"
    assert active_name(page) == cell_name(first.pk, top.pk)
    assert presses <= len(demo.lessons()) + 10  # the skip link passed over the header

    page.keyboard.type("7")
    page.keyboard.press("Enter")  # saves and moves down
    assert active_name(page) == cell_name(first.pk, below.pk)
    expect(page.locator(f"input[name={cell_name(first.pk, top.pk)}]")).to_have_class(has_class("saved"))

    page.keyboard.type("8")
    page.keyboard.press("ArrowRight")  # the caret is at the end: saves and moves right
    assert active_name(page) == cell_name(second.pk, below.pk)
    expect(page.locator(f"input[name={cell_name(first.pk, below.pk)}]")).to_have_class(has_class("saved"))

    page.keyboard.press("ArrowUp")
    assert active_name(page) == cell_name(second.pk, top.pk)
    page.keyboard.press("ArrowLeft")  # the moved-to cell's text is selected, so the caret is at 0
    assert active_name(page) == cell_name(first.pk, top.pk)
    page.keyboard.press("Tab")
    assert active_name(page) == cell_name(second.pk, top.pk)

    assert formative_mark(first, top) == 7
    assert formative_mark(first, below) == 8
    page.reload()
    expect(page.locator(f"input[name={cell_name(first.pk, top.pk)}]")).to_have_value("7")
    expect(page.locator(f"input[name={cell_name(first.pk, below.pk)}]")).to_have_value("8")
    expect(page.locator("input.failed")).to_have_count(0)
