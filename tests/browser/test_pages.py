"""Every main page, as the person who uses it: axe-core finds no serious accessibility fault, and the
screenshots in docs/screenshots/ are taken from the same pages."""

from __future__ import annotations

import os

import pytest
from browserkit import SCREENSHOTS, ConsoleLog, sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
BLOCKING = {"serious", "critical"}


def main_pages(demo):
    """(who, name, path) of every main page, in the order a visitor would meet them."""
    from birtutas.journal.models import Conversation, Lesson

    lessons = Lesson.objects.filter(assignment=demo.assignment, term=demo.term, date__lte=demo.today)
    lesson = lessons.order_by("-date").first()
    term = f"?term={demo.term.pk}"
    class_id, org_id = demo.school_class.pk, demo.organization.pk
    letters = Conversation.objects.filter(student=demo.child, teacher=demo.assignment.teacher).first()
    if letters is None:  # the demo writes its letters only when its date is the real today
        from birtutas.journal import messaging
        from birtutas.registry.models import User

        parent = User.objects.get(username="parent")
        letters = messaging.write_to_teacher(
            parent, demo.child.pk, demo.assignment.teacher_id, "Сәлеметсіз бе!\nСұрақ бар."
        )
        letters = letters.conversation
    return [
        (None, "login", "/accounts/login/"),
        ("teacher", "today", f"/journal/today/?day={demo.today.isoformat()}"),
        ("teacher", "journal index", "/journal/"),
        ("teacher", "journal grid", demo.grid_path),
        ("teacher", "lesson edit", f"/journal/lesson/{lesson.pk}/"),
        ("parent", "diary week", f"/diary/{demo.child.pk}/?week={demo.today.isoformat()}"),
        ("parent", "term summary", f"/diary/{demo.child.pk}/summary/{term}"),
        ("parent", "inbox", "/inbox/"),
        ("director", "school dashboard", f"/school/{org_id}/"),
        ("director", "class report", f"/school/class/{class_id}/report/{term}"),
        ("director", "timetable", f"/school/class/{class_id}/timetable/"),
        ("director", "teaching load", f"/school/class/{class_id}/load/"),
        ("director", "CSV import", f"/school/{org_id}/import/"),
        ("director", "journals", f"/school/{org_id}/journals/"),
        ("director", "attendance", f"/school/class/{class_id}/attendance/{term}"),
        ("director", "grades", f"/school/class/{class_id}/grades/{term}"),
        ("director", "journal export", f"/school/journal/{demo.assignment.pk}/term/{demo.term.pk}/export/"),
        ("director", "bell schedule", f"/school/{org_id}/bells/"),
        ("director", "announce", f"/messages/announce/{org_id}/"),
        ("parent", "messages", "/messages/"),
        ("parent", "conversation", f"/messages/{letters.pk}/"),
        ("analyst", "area overview", "/area/"),
        ("analyst", "school servers", "/sync/schools/"),
        ("director", "sync state", f"/sync/school/{org_id}/"),
    ]


def notify_parent(demo):
    """A few inbox messages, as the journal sends them."""
    from birtutas.kernel.models import Notification
    from birtutas.registry.models import User

    parent, child = User.objects.get(username="parent"), demo.child
    Notification.objects.bulk_create(
        Notification(recipient=parent, kind="mark", text=f"{child.first_name}: {text}", link=f"/diary/{child.pk}/")
        for text in ("9 · Алгебра", "7 · Геометрия", "ж · Физика")
    )


def pages_by_person(demo, new_context):
    """One signed-in page per person."""
    pages = {}

    def page_for(who):
        if who not in pages:
            page = new_context().new_page()
            if who:
                sign_in(page, demo, who)
            pages[who] = page
        return pages[who]

    return page_for


def serious(results: dict) -> list[dict]:
    return [v for v in results["violations"] if v.get("impact") in BLOCKING]


def describe(name: str, violations: list[dict]) -> str:
    lines = [f"{name}:"]
    for v in violations:
        lines.append(f"  {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:5]:
            summary = node.get("failureSummary", "").strip().splitlines()
            lines.append(f"    {', '.join(map(str, node['target']))}: {summary[-1] if summary else ''}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


def test_main_pages_have_no_serious_accessibility_violations(demo, new_context):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    notify_parent(demo)
    page_for = pages_by_person(demo, new_context)
    found = []
    for who, name, path in main_pages(demo):
        page = page_for(who)
        console = ConsoleLog(page) if name == "journal grid" else None
        response = page.goto(demo.url(path))
        assert response.ok, f"{name}: {path} answered {response.status}"
        expect(page.locator("main h1")).to_be_visible()
        results = axe.run(page, options=WCAG).response
        if results["violations"]:
            print(describe(f"{name} ({path}), all violations", results["violations"]))
        blocking = serious(results)
        if blocking:
            found.append(describe(f"{name} ({path})", blocking))
        if console is not None:
            assert console.csp() == [], console.csp()
            assert console.errors == [], console.errors
    assert not found, "\n".join(found)


# name of the PNG, who looks, path, whole page (False: the 1280×800 viewport only)
SHOTS = [
    ("login", None, "/accounts/login/", True),
    ("journal", "teacher", "grid", False),
    ("diary", "parent", "diary", True),
    ("summary", "parent", "summary", True),
    ("school", "director", "dashboard", True),
    ("report", "director", "report", True),
    ("area", "analyst", "/area/", True),
]


def test_screenshots(demo, new_context, tmp_path):
    from django.db import connection

    # The docs' pictures are refreshed on request (BIRTUTAS_SCREENSHOTS=1), from the default database:
    # PostgreSQL sorts names by its own collation, so the demo parent's child would differ.
    refresh = os.environ.get("BIRTUTAS_SCREENSHOTS") and connection.vendor == "sqlite"
    folder = SCREENSHOTS if refresh else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    notify_parent(demo)
    paths = {
        "grid": demo.grid_path,
        "diary": f"/diary/{demo.child.pk}/?week={demo.today.isoformat()}",
        "summary": f"/diary/{demo.child.pk}/summary/?term={demo.term.pk}",
        "dashboard": f"/school/{demo.organization.pk}/",
        "report": f"/school/class/{demo.school_class.pk}/report/?term={demo.term.pk}",
    }
    page_for = pages_by_person(demo, new_context)
    for name, who, path, full_page in SHOTS:
        page = page_for(who)
        page.goto(demo.url(paths.get(path, path)))
        expect(page.locator("main h1")).to_be_visible()
        target = folder / f"{name}.png"
        page.screenshot(path=str(target), full_page=full_page, animations="disabled", caret="hide")
        assert target.stat().st_size > 5_000, f"{target} looks empty"
        assert target.stat().st_size < 1_500_000, f"{target} is too large for the docs"
