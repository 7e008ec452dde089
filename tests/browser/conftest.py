"""Real-browser tests: headless Debian Chromium driven by Playwright against pytest-django's live server.

Playwright's sync API keeps an event loop running in the test thread, which makes Django refuse
synchronous database access from that thread (SynchronousOnlyOperation); the tests only build and
read data between browser calls, so Django's guard is switched off while the browser runs, and only
then: the variable must not leak into the rest of the session (`check --deploy` rejects it).
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps as django_apps

# The test modules import browserkit.py beside this file, whatever pytest's import mode.
sys.path.insert(0, str(Path(__file__).resolve().parent))

from browserkit import TODAY, VIEWPORT  # noqa: E402

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


@pytest.fixture(scope="session", autouse=True)
def _translations():
    """The pages are checked in Kazakh and Russian: compile the catalogues (.mo are not committed)."""
    import io

    from django.core.management import call_command

    call_command("compile_translations", stdout=io.StringIO())


ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"


@pytest.fixture(scope="module")
def browser():
    """Chromium, once per module: Playwright's event loop stops with it, before other tests run."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        if os.environ.get("BIRTUTAS_REQUIRE_BROWSER"):
            pytest.fail(f"no Chromium at {CHROMIUM}, and BIRTUTAS_REQUIRE_BROWSER is set")
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    before = os.environ.get(ASYNC_UNSAFE)
    os.environ[ASYNC_UNSAFE] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            yield chromium
            chromium.close()
    finally:
        if before is None:
            os.environ.pop(ASYNC_UNSAFE, None)
        else:
            os.environ[ASYNC_UNSAFE] = before


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
    importlib.import_module("birtutas.registry.migrations.0002_regions").add_regions(django_apps, None)
    # The grading policy moved to the curriculum; its data migration speaks of the journal's old state.
    from birtutas.curriculum.models import GradingPolicy
    from birtutas.curriculum.rules import CRITERIA_BASED_2016

    GradingPolicy.objects.get_or_create(
        code="criteria-based",
        version=1,
        defaults={"effective_from": dt.date(2016, 9, 1), "rules": CRITERIA_BASED_2016.to_json()},
    )


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
    child = next(s for s in students if Guardianship.objects.filter(guardian=parent, student=s).exists())
    return Demo(
        base=live_server.url,
        organization=organization,
        school_class=school_class,
        assignment=assignment,
        term=term,
        child=child,
        students=students,
        today=TODAY,
    )


@pytest.fixture(scope="module", autouse=True)
def _audit_log_flushable(django_db_setup, django_db_blocker):
    """Live-server tests empty every table when they end; on SQLite that is a DELETE, which the
    audit log's append-only trigger refuses (PostgreSQL's TRUNCATE fires no row trigger). Only
    here, for the browser modules, the DELETE trigger is lifted, and put back after them."""
    from django.db import connection

    migration = importlib.import_module("birtutas.kernel.migrations.0004_audit_append_only")
    sqlite = connection.vendor == "sqlite"
    if sqlite:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(migration.SQLITE_BACKWARD[1])
    yield
    if sqlite:
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(migration.SQLITE[1])
