"""The diary as a family reads it: homework on the day it is set and the day it is due, the Diary link
straight to the week, the installable app's manifest, worker and offline page, and sign-out's clearing."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from birtutas.journal import services
from birtutas.testing import signed_in

pytestmark = pytest.mark.django_db


def day_section(page: str, number: int) -> str:
    """The HTML of day `number` (1 = Monday) of a diary week."""
    found = re.search(rf'<section class="day" aria-labelledby="d{number}">(.*?)</section>', page, re.S)
    assert found, f"no day {number}"
    return found.group(1)


def test_homework_is_listed_under_the_day_it_is_set_and_the_day_it_is_due(world):
    a = world.a
    monday, wednesday, friday = a.lessons_a
    services.update_lesson(
        a.teacher, wednesday.pk, topic="Көпмүшелер", homework="§12 <b>5</b>\n6-жаттығу", homework_due=friday.date
    )
    services.update_lesson(a.teacher, monday.pk, topic="", homework="Жоба: отбасы", homework_due=dt.date(2026, 11, 23))
    page = signed_in(a.guardian).get(f"/diary/{a.student.pk}/?week=2026-11-16").content.decode()
    # Wednesday, where it is set: kept line breaks, escaped, with the day it is due.
    set_day = day_section(page, 3)
    assert "§12 &lt;b&gt;5&lt;/b&gt;<br>6-жаттығу" in set_day
    assert "due Friday, 20 November" in set_day
    # Friday, where it is due: under that day's algebra lesson, with the day it was set.
    due_day = day_section(page, 5)
    assert "Homework due this day" in due_day and "§12 &lt;b&gt;5&lt;/b&gt;<br>6-жаттығу" in due_day
    assert "set 18 November" in due_day
    # Due next Monday, when the class has no algebra: under the day itself, in next week's diary.
    assert "due Monday, 23 November" in day_section(page, 1)
    next_week = signed_in(a.guardian).get(f"/diary/{a.student.pk}/?week=2026-11-23").content.decode()
    due_day = day_section(next_week, 1)
    assert '<div class="due">' in due_day and "Algebra" in due_day and "Жоба: отбасы" in due_day
    assert "No lessons." not in due_day


def test_the_diary_link_opens_the_eldest_childs_week_without_a_redirect(world):
    from birtutas.registry.models import Guardianship

    a = world.a
    nav_link = re.compile(r'<nav aria-label="Main">.*?<a href="([^"]+)">Diary</a>', re.S)
    page = signed_in(a.guardian).get("/inbox/").content.decode()
    assert nav_link.search(page).group(1) == f"/diary/{a.student.pk}/"
    student_page = signed_in(a.student_user).get("/inbox/").content.decode()
    assert nav_link.search(student_page).group(1) == f"/diary/{a.student.pk}/"
    # A second, elder child comes first, in the link and in /diary/ alike.
    a.student_b.birth_date = dt.date(2011, 1, 1)
    a.student_b.save(update_fields=["birth_date"])
    Guardianship.objects.create(guardian=a.guardian.person, student=a.student_b)
    client = signed_in(a.guardian)
    assert nav_link.search(client.get("/inbox/").content.decode()).group(1) == f"/diary/{a.student_b.pk}/"
    assert client.get("/diary/")["Location"] == f"/diary/{a.student_b.pk}/"
    children = re.search(r'<nav class="children".*?</nav>', client.get(f"/diary/{a.student.pk}/").content.decode())
    assert children.group(0).index(a.student_b.first_name) < children.group(0).index(a.student.first_name)


def test_the_app_manifest_worker_and_offline_page(world, client):
    manifest = client.get("/manifest.webmanifest")
    assert manifest["Content-Type"] == "application/manifest+json"
    data = manifest.json()
    assert (data["name"], data["start_url"], data["display"], data["scope"]) == (
        "Birtutas",
        "/diary/",
        "standalone",
        "/",
    )
    assert {i["sizes"] for i in data["icons"]} >= {"192x192", "512x512"}
    worker = signed_in(world.a.guardian).get("/sw.js")
    assert worker["Content-Type"].startswith("text/javascript")
    body = worker.content.decode()
    # It keeps diary weeks only, and knows the stylesheet it caches by its current address.
    assert r"var WEEK = /^\/diary\/\d+\/$/;" in body and "/static/birtutas/birtutas.css" in body
    offline = signed_in(world.a.guardian).get("/offline/").content.decode()
    assert world.a.guardian.person.last_name not in offline  # nothing personal: it is kept on the phone
    page = signed_in(world.a.guardian).get(f"/diary/{world.a.student.pk}/").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    assert re.search(r'<script src="/static/birtutas/app\.js[^"]*" defer></script>', page)


def test_signing_out_tells_the_browser_to_drop_what_it_kept(world):
    client = signed_in(world.a.guardian)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_signing_in_drops_what_an_expired_session_left_behind(world):
    client = Client()
    refused = client.post("/accounts/login/", {"username": "parent_a", "password": "wrong"})
    assert "Clear-Site-Data" not in refused
    response = client.post("/accounts/login/", {"username": "parent_a", "password": "correct horse battery"})
    assert response.status_code == 302
    assert response["Clear-Site-Data"] == '"cache", "storage"'


def test_a_first_visit_carries_the_diarys_stylesheet_allowed_by_its_hash_and_the_worker_gets_a_link(world):
    import base64
    import hashlib

    client = signed_in(world.a.guardian)
    week = f"/diary/{world.a.student.pk}/"
    response = client.get(week)
    page = response.content.decode()
    style = re.search(r"<style>(.*?)</style>", page, re.S).group(1)
    assert ".lesson-head{" in style and "/*" not in style and "</" not in style
    assert 'rel="stylesheet"' not in page
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    policy = response["Content-Security-Policy"]
    assert f"style-src 'self' 'sha256-{digest}';" in policy and "unsafe-inline" not in policy
    # The service worker has the stylesheet: the page links it, and the policy allows no inline style.
    response = client.get(week, HTTP_X_BIRTUTAS_SHELL="1")
    assert "<style>" not in response.content.decode() and 'rel="stylesheet"' in response.content.decode()
    assert "sha256" not in response["Content-Security-Policy"]
    # Other pages link it as always.
    for path in ("/inbox/", f"/diary/{world.a.student.pk}/summary/"):
        response = client.get(path)
        assert "<style>" not in response.content.decode() and "sha256" not in response["Content-Security-Policy"]
