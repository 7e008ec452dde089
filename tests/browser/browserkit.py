"""Helpers shared by the browser tests (a plain module: conftest.py is not imported by tests)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

PASSWORD = "demo"
# A fixed day inside term 2 of the 2026-2027 school year: the demo has marks and absences up to it.
TODAY = dt.date(2026, 11, 20)
VIEWPORT = {"width": 1280, "height": 800}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def sign_in(page, demo, username: str) -> None:
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


class ConsoleLog:
    """Console errors and uncaught exceptions of a page, without the browser's own favicon requests."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message):
        if message.type != "error":
            return
        text = message.text
        if "favicon" in text or "favicon" in (message.location or {}).get("url", ""):
            return
        self.errors.append(text)

    def csp(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e or "Refused to" in e]
