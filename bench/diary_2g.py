#!/usr/bin/env python
"""The diary's first load on a phone over a 2G link: from a tap on the Diary link to the week on screen.

    .venv/bin/python bench/diary_2g.py [--runs 5] [--schools 1] [--students 300] [--today 2026-11-20]

It prints a table and never fails on a time; docs/benchmarks.md ("The diary on a 2G phone") records
a run. What it does:

1. Data: in a temporary directory (removed at the end, never in the repository), a SQLite database
   with `birtutas migrate` and `birtutas demo_data` (demo mode, the given seed and date), and a
   bell schedule for the demo school if the generator set none. A settings module written there
   adds to the project's settings only what production does for static files (hashed names,
   gzip-compressed copies, `collectstatic`) and pins the school's date.
2. Server: `birtutas runserver 127.0.0.1:<port> --noreload` with DEBUG off, as `make demo` runs
   it, behind a relay on loopback in this process that counts the bytes each way.
3. Browser: the distribution's Chromium through Playwright, at 360×740 like a phone, signed in as
   the demo `parent` without throttling. Then, for each case, CDP `Network.emulateNetworkConditions`
   (500 ms round trip, 50 kbit/s = 6,250 bytes/s down and up) on the page and on the service
   worker, a tap on the Diary link of the inbox, and the time until the week is on screen: the
   first frame after the document is parsed with its stylesheet applied (requestAnimationFrame
   after `readyState` "interactive"), measured in the page from the tap's navigation start.

Cases: a first visit with a cold cache and no service worker (what a parent meets on a new phone),
the same through /diary/ (the address the Diary link had before, one redirect more), a second visit
with the browser's cache only, a second visit with the service worker (the shell from its cache,
the week from the network first), and offline with the service worker (the week it kept).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CHROMIUM = os.environ.get("BIRTUTAS_CHROMIUM", "/usr/bin/chromium")
PHONE = {"width": 360, "height": 740}
LINK = {"offline": False, "latency": 500, "downloadThroughput": 6250, "uploadThroughput": 6250}
NO_LIMIT = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
GOAL_SECONDS = 2.0

SETTINGS = '''"""Benchmark settings: the project's, with production's static files and a pinned date."""
from birtutas.settings import *  # noqa: F403

DEBUG = False
STATIC_BACKEND = "whitenoise.storage.CompressedManifestStaticFilesStorage"
STORAGES = {{**STORAGES, "staticfiles": {{"BACKEND": STATIC_BACKEND}}}}  # noqa: F405
WHITENOISE_USE_FINDERS = False
STATIC_ROOT = {static!r}
BIRTUTAS_TODAY = {today!r}
'''

BELLS = """
import datetime as dt
from birtutas.journal import bells
from birtutas.journal.models import BellPeriod, SchoolClass
from birtutas.registry.models import User
director = User.objects.get(username="director")
for organization_id, shift in SchoolClass.objects.values_list("organization_id", "shift").distinct():
    if not BellPeriod.objects.filter(organization_id=organization_id, shift=shift).exists():
        start = 8 * 60 + 30 if shift == 1 else 13 * 60 + 30
        times = {p: (dt.time(*divmod(start + (p - 1) * 55, 60)), dt.time(*divmod(start + (p - 1) * 55 + 45, 60)))
                 for p in range(1, 9)}
        bells.set_bell_schedule(director, organization_id, shift, times)
"""

# In the page: the first frame after the document is parsed (the stylesheet blocks it until applied).
SHOWN = """
document.addEventListener("readystatechange", () => {
  if (document.readyState === "interactive") requestAnimationFrame(() => { window.__shown = performance.now(); });
});
"""


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------ 1. data


def prepare(folder: Path, args) -> dict:
    static = folder / "static"
    (folder / "bench_settings.py").write_text(SETTINGS.format(static=str(static), today=args.today.isoformat()))
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(folder), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
        "DJANGO_SETTINGS_MODULE": "bench_settings",
        "DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "BIRTUTAS_VAR_DIR": str(folder / "var"),
        "BIRTUTAS_DEMO": "1",
        "BIRTUTAS_DEBUG": "0",
        "BIRTUTAS_LOG_LEVEL": "WARNING",
    }
    birtutas = [str(BIN / "python"), "-m", "birtutas"]
    steps = [
        [*birtutas, "migrate", "--noinput", "-v", "0"],
        [*birtutas, "compile_translations"],
        [*birtutas, "collectstatic", "--noinput", "-v", "0"],
        [*birtutas, "demo_data", "--schools", str(args.schools), "--students", str(args.students),
         "--seed", str(args.seed), "--today", args.today.isoformat(), "--quiet"],
        [*birtutas, "shell", "-c", BELLS],
    ]  # fmt: skip
    for step in steps:
        say("data: " + " ".join(step[2:4]))
        subprocess.run(step, env=env, check=True, cwd=folder, stdout=subprocess.DEVNULL)  # noqa: S603 - our own commands
    return env


# ------------------------------------------------------------------ 2. server and relay


class Relay:
    """A loopback TCP relay to the server that counts the bytes each way (what the link carries)."""

    def __init__(self, target: int):
        self.target = target
        self.down = self.up = 0
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> None:
        with self.lock:
            self.down = self.up = 0

    def counts(self) -> tuple[int, int]:
        with self.lock:
            return self.down, self.up

    def _accept(self) -> None:
        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, "down"), daemon=True).start()

    def _pipe(self, source, sink, way: str) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                with self.lock:
                    setattr(self, way, getattr(self, way) + len(data))
                sink.sendall(data)
        for s in (source, sink):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def server(env: dict, folder: Path):
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own server
        [str(BIN / "python"), "-m", "birtutas", "runserver", f"127.0.0.1:{port}", "--noreload"],
        env=env,
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the server did not start")
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


# ------------------------------------------------------------------ 3. browser


class Phone:
    """One browser context (one phone), signed in as the parent, with CDP sessions to throttle it."""

    def __init__(self, browser, base: str, *, worker: bool):
        self.base = base
        self.context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="kk-KZ",
            service_workers="allow" if worker else "block",
        )
        self.context.add_init_script(SHOWN)
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.browser_cdp = browser.new_browser_cdp_session()
        self.workers: dict[str, str] = {}
        self.page.goto(base + "/accounts/login/")
        self.page.fill("#id_username", "parent")
        self.page.fill("#id_password", "demo")
        self.page.locator("main form button.primary").click()
        self.page.wait_for_url(lambda url: "/accounts/login/" not in url)

    def link(self, conditions: dict) -> None:
        """The network conditions of the page, and of the service worker's own fetches."""
        self.cdp.send("Network.emulateNetworkConditions", conditions)
        for target in self.browser_cdp.send("Target.getTargets")["targetInfos"]:
            if target["type"] == "service_worker" and target["targetId"] not in self.workers:
                attached = self.browser_cdp.send("Target.attachToTarget", {"targetId": target["targetId"]})
                self.workers[target["targetId"]] = attached["sessionId"]
        for session_id in self.workers.values():
            message = json.dumps({"id": 1, "method": "Network.emulateNetworkConditions", "params": conditions})
            self.browser_cdp.send("Target.sendMessageToTarget", {"sessionId": session_id, "message": message})

    def start_page(self) -> None:
        self.link(NO_LIMIT)
        self.page.goto(self.base + "/inbox/")
        self.page.wait_for_load_state("load")

    def tap(self, relay: Relay, href: str | None = None) -> dict:
        """Tap the Diary link (or a link to `href`) under the 2G link; the figures of that navigation."""
        link = self.page.locator('header nav a[href^="/diary/"]').first
        if href:
            link.evaluate("(a, href) => a.setAttribute('href', href)", href)
        self.link(LINK)
        relay.reset()
        started = time.monotonic()
        link.click(no_wait_after=True)
        self.page.wait_for_function("() => window.__shown !== undefined", timeout=60_000, polling=20)
        wall = time.monotonic() - started
        down, up = relay.counts()
        figures = self.page.evaluate(
            """() => {
              const n = performance.getEntriesByType("navigation")[0];
              const fcp = performance.getEntriesByType("paint").find((p) => p.name === "first-contentful-paint");
              return {shown: window.__shown, fcp: fcp ? fcp.startTime : null, response: n.responseEnd,
                      redirects: n.redirectCount, html: n.encodedBodySize, worker: n.workerStart > 0,
                      days: document.querySelectorAll("section.day").length};
            }"""
        )
        self.page.wait_for_load_state("load", timeout=60_000)
        time.sleep(1.0)  # what the page still fetches after it is shown (its script, the worker's update check)
        figures.update(wall=wall, down=down, up=up, down_total=relay.counts()[0])
        self.link(NO_LIMIT)
        return figures

    def clear_cache(self) -> None:
        self.cdp.send("Network.clearBrowserCache")

    def close(self) -> None:
        self.context.close()


class PhoneLogin:
    """A phone without a service worker, signed in as `who` (for the page budgets)."""

    def __init__(self, browser, base: str, who: str):
        self.context = browser.new_context(viewport=PHONE, locale="kk-KZ", service_workers="block")
        self.page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(self.page)
        self.cdp.send("Network.enable")
        self.page.goto(base + "/accounts/login/")
        self.page.fill("#id_username", who)
        self.page.fill("#id_password", "demo")
        self.page.locator("main form button.primary").click()
        self.page.wait_for_url(lambda url: "/accounts/login/" not in url)


def run_case(name: str, runs: int, setup, measure) -> dict:
    say(f"measuring: {name}")
    rows = []
    for _ in range(runs):
        setup()
        rows.append(measure())
    shown = [r["shown"] / 1000 for r in rows]
    return {
        "case": name,
        "shown_median": statistics.median(shown),
        "shown_max": max(shown),
        "fcp_median": statistics.median([(r["fcp"] or r["shown"]) / 1000 for r in rows]),
        "down": statistics.median([r["down"] for r in rows]),
        "up": statistics.median([r["up"] for r in rows]),
        "down_total": statistics.median([r["down_total"] for r in rows]),
        "redirects": rows[-1]["redirects"],
        "days": rows[-1]["days"],
        "worker": rows[-1]["worker"],
    }


def measure(args, port: int) -> tuple[list[dict], list[dict]]:
    from playwright.sync_api import sync_playwright

    relay = Relay(port)
    base = f"http://127.0.0.1:{relay.port}"
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        cold = Phone(browser, base, worker=False)

        def cold_start():
            cold.start_page()
            cold.clear_cache()

        results.append(
            run_case("first visit, cold cache, no service worker", args.runs, cold_start, lambda: cold.tap(relay))
        )
        results.append(
            run_case(
                "the same through /diary/ (the former link: one redirect)",
                args.runs,
                cold_start,
                lambda: cold.tap(relay, href="/diary/"),
            )
        )
        results.append(
            run_case(
                "second visit, browser cache, no service worker", args.runs, cold.start_page, lambda: cold.tap(relay)
            )
        )
        cold.close()

        warm = Phone(browser, base, worker=True)
        warm.page.goto(warm.base + "/diary/")
        warm.page.wait_for_function("async () => !!(await navigator.serviceWorker.ready).active")
        results.append(
            run_case("second visit with the service worker", args.runs, warm.start_page, lambda: warm.tap(relay))
        )

        def offline_start():
            warm.start_page()
            warm.context.set_offline(True)

        def offline_tap():
            try:
                return warm.tap(relay)
            finally:
                warm.context.set_offline(False)

        results.append(
            run_case("offline, with the service worker (the week it kept)", args.runs, offline_start, offline_tap)
        )
        warm.close()
        say("measuring: page budgets")
        pages = budgets(browser, base, relay)
        browser.close()
    return results, pages


BUDGET_PAGE_BYTES = 30_000
BUDGET_JS_BYTES = 5_000


def budgets(browser, base: str, relay: Relay) -> list[dict]:
    """Each daily page's first load (cold cache, no service worker) at full speed: bytes on the wire
    (compressed, headers included) and our JavaScript (as sent, and unpacked)."""
    rows = []
    for who, pages in (("parent", ["<diary>", "/inbox/", "/messages/", "<letter>"]), ("teacher", ["/journal/today/"])):
        context = PhoneLogin(browser, base, who)
        for path in pages:
            if path == "<diary>":
                path = context.page.locator('header nav a[href^="/diary/"]').first.get_attribute("href")
            if path == "<letter>":
                context.page.goto(base + "/messages/")
                links = context.page.locator("main a[href^='/messages/']").evaluate_all(
                    "els => els.map(e => e.getAttribute('href')).filter(h => /^\\/messages\\/\\d+\\/$/.test(h))"
                )
                if not links:
                    continue
                path = links[0]
            context.cdp.send("Network.clearBrowserCache")
            relay.reset()
            response = context.page.goto(base + path)
            context.page.wait_for_load_state("load")
            time.sleep(0.5)
            scripts = context.page.evaluate(
                """() => performance.getEntriesByType("resource").filter((e) => e.initiatorType === "script")
                     .map((e) => [e.transferSize, e.decodedBodySize])"""
            )
            rows.append(
                {
                    "page": f"{path} ({who})",
                    "status": response.status,
                    "bytes": relay.counts()[0],
                    "js_sent": sum(s[0] for s in scripts),
                    "js_raw": sum(s[1] for s in scripts),
                }
            )
        context.context.close()
    return rows


def budget_table(rows: list[dict]) -> str:
    lines = [
        "| page, first load | bytes down (compressed) | our JavaScript sent / unpacked | budgets |",
        "|---|---:|---:|---|",
    ]
    for r in rows:
        ok = r["bytes"] <= BUDGET_PAGE_BYTES and r["js_raw"] <= BUDGET_JS_BYTES and r["status"] == 200
        lines.append(
            f"| {r['page']} | {r['bytes']:,} B | {r['js_sent']:,} / {r['js_raw']:,} B | {'met' if ok else 'MISSED'} |"
        )
    return "\n".join(lines)


def table(results: list[dict]) -> str:
    lines = [
        "| case | week on screen, median (max) | first paint | bytes down / up until shown | down, all | redirects |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        mark = "" if r["shown_median"] <= GOAL_SECONDS else " (over 2 s)"
        lines.append(
            f"| {r['case']} | {r['shown_median']:.2f} s ({r['shown_max']:.2f}){mark} | {r['fcp_median']:.2f} s "
            f"| {r['down']:,.0f} / {r['up']:,.0f} B | {r['down_total']:,.0f} B | {r['redirects']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="taps per case (the median is shown)")
    parser.add_argument("--schools", type=int, default=1)
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 11, 20))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (its path is printed)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="birtutas-2g-"))
    try:
        env = prepare(folder, args)
        with server(env, folder) as port:
            results, pages = measure(args, port)
    finally:
        if args.keep:
            say(f"kept: {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"Diary week on an emulated 2G link ({LINK['latency']} ms round trip, 50 kbit/s each way), 360×740,")
    print(
        f"{args.runs} taps per case; demo data: {args.schools} school(s), {args.students} students, today {args.today}."
    )
    print()
    print(table(results))
    print()
    print(budget_table(pages))


if __name__ == "__main__":
    main()
