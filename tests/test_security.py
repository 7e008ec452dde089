"""Production hardening, password hashing and keeping IINs out of logs."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import Client

from birtutas.kernel.logging import MaskIINFilter
from birtutas.testing import signed_in

PRODUCTION_ENV = {
    "BIRTUTAS_ENV": "production",
    "BIRTUTAS_SECRET_KEY": "x" * 20 + "-production-secret-key-long-enough-0123456789",
    "BIRTUTAS_PERSON_ID_KEY": "person-ids-of-this-deployment-" + "y" * 20,
    "BIRTUTAS_ALLOWED_HOSTS": "birtutas.example.kz",
}


def run_birtutas(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BIRTUTAS_")}
    return subprocess.run(
        [sys.executable, "-m", "birtutas", *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_production_refuses_the_development_secret_key():
    result = run_birtutas("check", env={"BIRTUTAS_ENV": "production"})
    assert result.returncode != 0
    assert "BIRTUTAS_SECRET_KEY" in result.stderr


def test_production_refuses_to_run_without_its_own_person_id_key():
    # Every school server holds this key: it must never be (or contain) the secret key.
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "BIRTUTAS_PERSON_ID_KEY"}
    result = run_birtutas("check", env=env)
    assert result.returncode != 0
    assert "BIRTUTAS_PERSON_ID_KEY" in result.stderr
    result = run_birtutas("check", env={**env, "BIRTUTAS_PERSON_ID_KEY": env["BIRTUTAS_SECRET_KEY"]})
    assert result.returncode != 0


def test_check_deploy_is_clean_in_production():
    result = run_birtutas("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_passwords_are_hashed_with_argon2_by_default():
    # The test run swaps in a fast hasher; the real setting is read from the module itself.
    import birtutas.settings as real

    assert real.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")


@pytest.mark.django_db
def test_security_headers_are_sent(client):
    response = client.get("/accounts/login/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert settings.SESSION_COOKIE_HTTPONLY


def test_log_lines_never_carry_an_iin():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "lookup of %s failed", ("050312600511",), None)
    MaskIINFilter().filter(record)
    assert "050312600511" not in record.getMessage()
    assert "<iin>" in record.getMessage()


def test_tracebacks_are_masked_too():
    try:
        raise ValueError("no person 050312600511")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    MaskIINFilter().filter(record)
    assert "050312600511" not in logging.Formatter().format(record)


@pytest.mark.django_db
def test_throttle_counts_lookalike_usernames_as_one_account(settings, rf):
    from birtutas.web import throttle

    settings.LOGIN_THROTTLE = {"per_account": 2, "per_address": 100, "window_seconds": 900}
    throttle.record_failure(rf.post("/", REMOTE_ADDR="10.0.0.1"), "teacher_a")
    throttle.record_failure(rf.post("/", REMOTE_ADDR="10.0.0.2"), "TEACHER_A ")
    assert throttle.refusal(rf.post("/", REMOTE_ADDR="10.0.0.3"), "ｔeacher_a") == throttle.ACCOUNT


LOGIN = "/accounts/login/"
RIGHT = {"username": "teacher_a", "password": "correct horse battery"}
WRONG = {"username": "teacher_a", "password": "guess"}
SMALL_LIMITS = {"per_account_address": 3, "per_address": 6, "per_account": 5, "per_device": 3, "window_seconds": 900}


def browser(address: str) -> Client:
    return Client(REMOTE_ADDR=address, HTTP_ACCEPT_LANGUAGE="en")


@pytest.mark.django_db
def test_a_stranger_guessing_passwords_cannot_lock_the_owner_out(world, settings):
    settings.LOGIN_THROTTLE = SMALL_LIMITS
    owner = browser("10.0.0.1")
    assert owner.post(LOGIN, RIGHT).status_code == 302  # the owner's phone, signed in on before
    owner.post("/accounts/logout/")
    attacker = browser("203.0.113.66")
    statuses = [attacker.post(LOGIN, WRONG).status_code for _ in range(10)]
    assert statuses[:3] == [200, 200, 200] and set(statuses[3:]) == {429}
    # The guesser's address is held back, even when it finally guesses right.
    response = attacker.post(LOGIN, RIGHT)
    assert response.status_code == 429 and "Too many failed sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in attacker.session
    # The owner on their own device signs in at once.
    assert owner.post(LOGIN, RIGHT).status_code == 302
    owner.post("/accounts/logout/")
    # Guesses spread over many addresses hold the account for devices it was never used on ...
    for i in range(SMALL_LIMITS["per_account"]):
        browser(f"198.51.100.{i}").post(LOGIN, WRONG)
    new_device = browser("10.0.0.1")
    response = new_device.post(LOGIN, RIGHT)
    assert response.status_code == 429
    assert 'action="/accounts/unlock/"' in response.content.decode()  # with the way out offered
    # ... but never for the owner's own device.
    assert owner.post(LOGIN, RIGHT).status_code == 302


@pytest.mark.django_db
def test_a_known_device_has_its_own_few_tries_then_counts_as_a_new_one(world, settings):
    settings.LOGIN_THROTTLE = SMALL_LIMITS
    owner = browser("10.0.0.1")
    assert owner.post(LOGIN, RIGHT).status_code == 302
    owner.post("/accounts/logout/")
    for i in range(SMALL_LIMITS["per_account"]):
        browser(f"198.51.100.{i}").post(LOGIN, WRONG)
    # Someone holding the owner's device cookie gets per_device guesses, not more.
    assert [owner.post(LOGIN, WRONG).status_code for _ in range(3)] == [200, 200, 200]
    assert owner.post(LOGIN, RIGHT).status_code == 429


@pytest.mark.django_db
def test_a_forged_device_cookie_is_worth_nothing(world, settings):
    from birtutas.web import throttle

    settings.LOGIN_THROTTLE = SMALL_LIMITS
    for i in range(SMALL_LIMITS["per_account"]):
        browser(f"198.51.100.{i}").post(LOGIN, WRONG)
    forger = browser("10.0.0.9")
    forger.cookies[throttle.DEVICE_COOKIE] = "e30:1tForged:signature"
    assert forger.post(LOGIN, RIGHT).status_code == 429
    # A genuine cookie of the forger's own account does not vouch for another account.
    assert forger.post(LOGIN, {**RIGHT, "username": "director_a"}).status_code == 302
    forger.post("/accounts/logout/")
    assert forger.post(LOGIN, RIGHT).status_code == 429


@pytest.mark.django_db
def test_the_owner_on_a_new_device_gets_in_with_an_emailed_link(world, settings, mailoutbox):
    import re

    settings.LOGIN_THROTTLE = SMALL_LIMITS
    for i in range(SMALL_LIMITS["per_account"]):
        browser(f"198.51.100.{i}").post(LOGIN, WRONG)
    new_device = browser("10.0.0.1")
    assert new_device.post(LOGIN, RIGHT).status_code == 429
    response = new_device.post("/accounts/unlock/", {"username": "teacher_a"})
    assert response.status_code == 200
    assert [m.to for m in mailoutbox] == [[world.a.teacher.email]]
    # Asking again, or for an account that does not exist, says the same and sends nothing more.
    assert new_device.post("/accounts/unlock/", {"username": "teacher_a"}).status_code == 200
    assert new_device.post("/accounts/unlock/", {"username": "nobody"}).status_code == 200
    assert len(mailoutbox) == 1
    link = re.search(r"http://testserver(/accounts/unlock/\?token=\S+)", mailoutbox[0].body).group(1)
    assert new_device.get(link[:-3] + "abc").status_code == 400  # a tampered link does nothing
    assert new_device.post(LOGIN, RIGHT).status_code == 429
    response = new_device.get(link)
    assert response.status_code == 302 and response["Location"] == LOGIN
    assert new_device.post(LOGIN, RIGHT).status_code == 302


@pytest.mark.django_db
def test_api_tokens_are_throttled_the_same_way(world, settings):
    import json

    settings.LOGIN_THROTTLE = SMALL_LIMITS

    def token(client, credentials):
        return client.post("/api/v1/auth/token", json.dumps(credentials), content_type="application/json")

    app = browser("10.0.0.1")
    assert token(app, RIGHT).status_code == 200  # the app keeps the device cookie it is given
    attacker = browser("203.0.113.66")
    assert [token(attacker, WRONG).status_code for _ in range(4)] == [401, 401, 401, 429]
    for i in range(SMALL_LIMITS["per_account"]):
        token(browser(f"198.51.100.{i}"), WRONG)
    assert token(browser("10.0.0.2"), RIGHT).status_code == 429
    assert token(app, RIGHT).status_code == 200


def test_the_client_address_comes_from_the_trusted_proxy_only(settings, rf):
    from birtutas.web.throttle import client_address

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.9", REMOTE_ADDR="10.0.0.1")
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(request) == "203.0.113.9"  # a client cannot forge its way past the proxy


# ------------------------------------------------------------------ malformed requests: NUL and size


def bearer(user) -> dict:
    from birtutas.registry.services import issue_api_token

    return {"HTTP_AUTHORIZATION": f"Bearer {issue_api_token(user)}", "HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.mark.django_db
def test_nul_characters_are_refused_with_a_clear_400_wherever_they_come_in(world):
    import json

    a = world.a
    lesson = a.lessons_a[0]
    client = signed_in(a.teacher)
    for response in (
        client.get("/journal/?week=2026%00"),
        client.post(f"/journal/lesson/{lesson.pk}/", {"topic": "Көпмүше\x00лер", "homework": ""}),
        client.post(f"/journal/lesson/{lesson.pk}/student/{a.student.pk}/", {"val\x00ue": "9"}),
    ):
        assert response.status_code == 400
        assert "NUL character" in response.content.decode()
        assert [t.name for t in response.templates][0] == "400.html"
    lesson.refresh_from_db()
    assert "\x00" not in lesson.topic
    forged = Client(HTTP_ACCEPT_LANGUAGE="en")
    forged.cookies["sessionid"] = "0123456789\x00abcdef"  # the session is looked up in the database
    response = forged.get("/journal/")
    assert response.status_code == 400 and "NUL character" in response.content.decode()
    url = f"/api/v1/journal/lessons/{lesson.pk}/students/{a.student.pk}/attendance"
    response = client.put(url, json.dumps({"status": "late\x00"}), content_type="application/json", **bearer(a.teacher))
    assert response.status_code == 400 and "NUL character" in response.json()["detail"]
    response = client.post(
        "/api/v1/auth/token", json.dumps({"username": "teacher\x00", "password": "x"}), content_type="application/json"
    )
    assert response.status_code == 400 and "NUL character" in response.json()["detail"]
    # The words "\\u0000" typed as text are no NUL character.
    response = client.put(url, json.dumps({"status": "\\u0000"}), content_type="application/json", **bearer(a.teacher))
    assert response.status_code == 400 and "NUL" not in response.json()["detail"]


@pytest.mark.django_db
def test_a_body_over_the_limit_is_a_413_page_in_the_users_language(world, settings):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2_000
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 50
    a = world.a
    lesson = a.lessons_a[0]
    client = signed_in(a.teacher, language="ru")
    response = client.post(f"/journal/lesson/{lesson.pk}/", {"topic": "x", "homework": "ж" * 5_000})
    assert response.status_code == 413
    assert [t.name for t in response.templates][0] == "413.html"
    assert '<html lang="ru">' in response.content.decode()
    response = client.post(f"/journal/{a.assignment_a.pk}/term/{world.term.pk}/", {f"c-{i}": "" for i in range(60)})
    assert response.status_code == 413
    # Files count too, though Django's own limit leaves them out.
    settings.MAX_REQUEST_BYTES = 10_000
    upload = SimpleUploadedFile("students.csv", b"x" * 20_000, "text/csv")
    response = client.post(f"/school/{a.organization.pk}/import/", {"students": upload})
    assert response.status_code == 413 and "413.html" in [t.name for t in response.templates]
    url = f"/api/v1/journal/lessons/{lesson.pk}/students/{a.student.pk}/mark"
    body = json.dumps({"value": 9, "padding": "x" * 5_000})
    response = client.put(url, body, content_type="application/json", **bearer(a.teacher))
    assert response.status_code == 413 and "too large" in response.json()["detail"]


# ------------------------------------------------------------------ caching of personal answers


@pytest.mark.django_db
def test_personal_pages_and_api_answers_are_never_stored_but_static_files_are(world):
    a = world.a
    guardian = signed_in(a.guardian)
    teacher = signed_in(a.teacher)
    personal = [
        guardian.get(f"/diary/{a.student.pk}/"),
        guardian.get(f"/diary/{a.student.pk}/summary/"),
        guardian.get("/inbox/"),
        teacher.get(f"/journal/{a.assignment_a.pk}/term/{world.term.pk}/"),
        teacher.get("/journal/no-such-page/"),  # even a signed-in person's 404
        Client().get("/api/v1/me", **bearer(a.guardian)),
        Client().get(f"/api/v1/diary/{a.student.pk}", **bearer(a.guardian)),
        Client().post(
            "/api/v1/auth/token",
            {"username": "parent_a", "password": "correct horse battery"},
            content_type="application/json",
        ),
    ]
    for response in personal:
        assert "no-store" in response.get("Cache-Control", ""), (response.request["PATH_INFO"], response.status_code)
    for response in (guardian.get("/static/birtutas/birtutas.css"), Client().get("/api/v1/openapi.json")):
        assert response.status_code == 200
        assert "no-store" not in response.get("Cache-Control", ""), response.request["PATH_INFO"]
    assert "max-age" in guardian.get("/static/birtutas/journal.js")["Cache-Control"]


# ------------------------------------------------------------------ our own error pages


def _error_views():
    from django.core.exceptions import PermissionDenied, SuspiciousOperation

    def forbidden(request):
        raise PermissionDenied

    def suspicious(request):
        raise SuspiciousOperation("test")

    def broken(request):
        raise RuntimeError("test: a bug")

    return forbidden, suspicious, broken


@pytest.mark.django_db
def test_every_error_status_uses_our_page_in_the_sites_layout(settings):
    import types

    from django.urls import path

    import birtutas.urls

    forbidden, suspicious, broken = _error_views()
    urlconf = types.ModuleType("error_page_urls")
    urlconf.urlpatterns = [
        *birtutas.urls.urlpatterns,
        path("test/403/", forbidden),
        path("test/400/", suspicious),
        path("test/500/", broken),
    ]
    settings.ROOT_URLCONF = urlconf
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="ru")
    for url, status in (("/test/400/", 400), ("/test/403/", 403), ("/no-such-page/", 404), ("/test/500/", 500)):
        response = client.get(url)
        assert response.status_code == status, url
        assert f"{status}.html" in [t.name for t in response.templates], url
        page = response.content.decode()
        assert '<html lang="ru">' in page and 'class="brand"' in page, url  # the site's layout, the user's language
    # A form sent without its CSRF token gets our 403 page too, with a reason a person can act on.
    response = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en").post("/accounts/login/", {})
    assert response.status_code == 403
    assert "403.html" in [t.name for t in response.templates]
    assert "reload the page" in response.content.decode()


# ------------------------------------------------------------------ IINs in every log line


def _handlers_reached(logger: logging.Logger) -> list[logging.Handler]:
    handlers = []
    while logger is not None:
        handlers += logger.handlers
        logger = logger.parent if logger.propagate else None
    return handlers


def test_every_handler_of_the_projects_loggers_masks_iins():
    for name in ("", "django", "django.request", "django.server", "django.security", "birtutas", "celery"):
        handlers = _handlers_reached(logging.getLogger(name))
        assert handlers, name
        for handler in handlers:
            if isinstance(handler, logging.NullHandler) or type(handler).__name__ in (
                "LogCaptureHandler",  # pytest's own capture
                "_LiveLoggingNullHandler",
                "_FileHandler",
            ):
                continue  # writes nowhere
            assert any(isinstance(f, MaskIINFilter) for f in handler.filters), (name, handler)


@pytest.mark.django_db
def test_a_url_carrying_an_iin_is_logged_masked(world):
    import io

    stream = io.StringIO()
    handlers = [h for h in _handlers_reached(logging.getLogger("django.request")) if hasattr(h, "setStream")]
    assert handlers
    previous = [h.setStream(stream) for h in handlers]
    try:
        response = signed_in(world.a.guardian).get("/diary/050312600511/")
    finally:
        for handler, old in zip(handlers, previous, strict=True):
            handler.setStream(old)
    assert response.status_code == 404
    logged = stream.getvalue()
    assert "Not Found: /diary/<iin>/" in logged
    assert "050312600511" not in logged


# ------------------------------------------------------------------ the demo server, DEBUG off


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fetch(url: str):
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"Accept-Language": "en"})  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_the_demo_server_runs_with_debug_off_serving_styles_and_our_pages(tmp_path):
    """As `make demo` runs it (BIRTUTAS_DEBUG=0): static files from the finders, our error pages,
    and the access log of the development server with IINs masked."""
    import re
    import time

    port = _free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BIRTUTAS_") and k != "DATABASE_URL"}
    env = {**clean, "BIRTUTAS_DEBUG": "0", "BIRTUTAS_DEMO": "1", "BIRTUTAS_VAR_DIR": str(tmp_path)}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "birtutas", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                status, _headers, page = _fetch(f"{base}/accounts/login/")
                break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("the development server did not start")
        assert status == 200
        assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
        assert any(a.endswith(".css") for a in assets), page[:500]
        for asset in assets:
            status, headers, _body = _fetch(base + asset)
            assert status == 200, asset
            assert headers["Content-Type"].startswith("text/css" if asset.endswith(".css") else "text/")
        status, _headers, body = _fetch(f"{base}/journal/lesson/050312600511/student/1/no-such-page/")
        assert status == 404
        assert "Page not found" in body and "Traceback" not in body and "DEBUG = True" not in body
    finally:
        server.terminate()
        _out, log = server.communicate(timeout=30)
    assert "/journal/lesson/<iin>/student/1/no-such-page/" in log, log[-2000:]
    assert "050312600511" not in log


# ------------------------------------------------------------------ analytics: no figure from fewer than 5 people


@pytest.mark.django_db
def test_no_area_figure_is_drawn_from_fewer_than_five_students(world):
    import datetime as dt
    from types import SimpleNamespace

    from birtutas.analytics.filters import AreaFilters
    from birtutas.analytics.queries import MIN_GROUP, area_report
    from birtutas.journal import services
    from birtutas.journal.models import Enrollment
    from birtutas.registry.permissions import Actor
    from birtutas.testing import person

    a = world.a
    newcomers = [person(f"Жаңа{i}", "Оқушы", dt.date(2013, 1, 1 + i)) for i in range(4)]
    for p in newcomers:
        Enrollment.objects.create(school_class=a.class_a, student=p)
    students = [a.student, a.classmate, *newcomers]  # 6 in class A, 7 in the school
    lesson = a.lessons_a[0]

    def absent(*people):
        for p in people:
            services.update_cell(a.teacher, lesson.pk, p.pk, attendance="unexcused")

    def figures(school=a):  # each figure's value, None when it is not shown
        filters = AreaFilters(district=school.organization.district_id)
        found = area_report(Actor.for_user(world.analyst), filters, "kk").rows
        row = next(r for r in found if r.organization.pk == school.organization.pk)
        return SimpleNamespace(**{k: c.value if c.shown else None for k, c in vars(row.figures).items()})

    school = figures()
    assert school.students == 7 and school.absences_per_student == 0  # nobody absent: a fact about all 7
    absent(*students[:2])
    school = figures()
    assert school.students == 7 and school.absences_per_student is None  # two absent students: hidden
    page = signed_in(world.analyst).get("/area/").content.decode()
    assert "0.3" not in page and "0,3" not in page  # 2 absences / 7 students
    absent(*students[2:MIN_GROUP])
    assert figures().absences_per_student is not None  # five absent students: an aggregate again
    # School B has 3 students: nothing about it is shown at all.
    other = figures(world.b)
    assert (other.students, other.mean_mark, other.absences_per_student, other.computers_per_100) == (None,) * 4
