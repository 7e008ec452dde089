"""Helpers shared by the browser tests (a plain module: conftest.py is not imported by tests)."""

from __future__ import annotations

import re

PASSWORD = "demo"


def sign_in(page, demo: Demo, username: str) -> None:
    page.goto(demo.url("/accounts/login/"))
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.locator("main form button.primary").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def switch_language(page, code: str) -> None:
    page.locator(f"form.lang button[name=language][value={code}]").click()
    page.wait_for_function("code => document.documentElement.lang === code", arg=code)


def cell_name(lesson_id: int, student_id: int) -> str:
    return f"c-{lesson_id}-{student_id}"


def active_name(page) -> str | None:
    return page.evaluate("document.activeElement && document.activeElement.getAttribute('name')")


def has_class(name: str):
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")
