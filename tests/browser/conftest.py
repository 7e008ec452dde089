"""Real-browser tests: headless Debian Chromium driven by Playwright against pytest-django's live server.

Playwright's sync API keeps an event loop running in the test thread, which makes Django refuse
synchronous database access from that thread; the tests only read and build data between browser
calls, so the guard is switched off for this directory.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# The test modules import browserkit.py beside this file, whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import datetime as dt  # noqa: E402
import importlib  # noqa: E402
import shutil  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import pytest  # noqa: E402
from browserkit import TODAY, VIEWPORT  # noqa: E402
from django.apps import apps as django_apps  # noqa: E402

CHROMIUM = os.environ.get("BIRTUTAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# ------------------------------------------------------------------ browser


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def new_context(browser):
    """Opens browser contexts (separate cookie jars: one per person) and closes them after the test."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", VIEWPORT)
        options.setdefault("locale", "kk-KZ")
        context = browser.new_context(**options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


# ------------------------------------------------------------------ data


def _restore_migration_data():
    """Transactional tests flush every table after each test, data migrations included: put them back."""
    for module, function in (
        ("birtutas.registry.migrations.0002_regions", "add_regions"),
        ("birtutas.journal.migrations.0003_grading_policy", "add_policy"),
    ):
        getattr(importlib.import_module(module), function)(django_apps, None)


@dataclass
class Demo:
    base: str
    organization: object
    school_class: object
    assignment: object
    term: object
    child: object
    students: list
    today: dt.date

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def grid_path(self) -> str:
        return f"/journal/{self.assignment.pk}/term/{self.term.pk}/"

    def lessons(self, *, until: dt.date | None = None, since: dt.date | None = None):
        from birtutas.journal.models import Lesson

        query = Lesson.objects.filter(assignment=self.assignment, term=self.term)
        if until:
            query = query.filter(date__lte=until)
        if since:
            query = query.filter(date__gte=since)
        return list(query.order_by("date", "period"))


@pytest.fixture
def demo(live_server, settings):
    """One small school from the deterministic demo generator, with the five demo accounts."""
    from birtutas.demo import DemoSize, Generator
    from birtutas.journal.models import SchoolClass, TeachingAssignment
    from birtutas.registry.models import Guardianship, Person, Term, User

    settings.DEMO_MODE = True
    _restore_migration_data()
    (organization,) = Generator(
        DemoSize(schools=1, students=60, seed=7, today=TODAY, demo_accounts=True, progress=False), log=lambda _m: None
    ).run()
    teacher = User.objects.get(username="teacher").person
    school_class = SchoolClass.objects.get(organization=organization, grade=7)
    assignment = TeachingAssignment.objects.select_related("subject").get(
        school_class=school_class, subject__code="algebra", teacher=teacher
    )
    term = Term.objects.get(starts_on__lte=TODAY, ends_on__gte=TODAY)
    students = list(Person.objects.filter(enrollments__school_class=school_class).order_by("last_name", "first_name"))
    parent = User.objects.get(username="parent").person
    assert Guardianship.objects.filter(guardian=parent, student=students[0]).exists()
    return Demo(
        base=live_server.url,
        organization=organization,
        school_class=school_class,
        assignment=assignment,
        term=term,
        child=students[0],
        students=students,
        today=TODAY,
    )
