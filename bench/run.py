#!/usr/bin/env python
"""Benchmark of the journal at scale: build (or reuse) a dataset and print what the budgets name.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/birtutas_bench \\
        nice -n 10 .venv/bin/python bench/run.py --students 100000 --schools 120 --today 2026-12-20

(`nice` only where the machine is shared; its cores are then measured as shared, see the load
average printed beside each figure.)

It prints figures and never fails on a time: the budgets (DESIGN.md, "Budgets") are shown next
to each figure as met or missed, and docs/benchmarks.md records a run.

1. Data: `birtutas.demo.Generator` (deterministic from --seed). Resumable: finished schools are
   skipped, so an interrupted run continues and a finished dataset is reused as it is. The time
   spent generating is kept in var/bench/<database>.json and summed over the runs that built it.
2. Pages, through Django's test Client in this process (all middleware, GZip included, no network):
   random diary weeks and term-2 summaries (half opened by the student, half by a parent), random
   term-2 journal grids opened by their teacher, and term-2 class reports opened by the director;
   server time p50/p95, SQL queries, compressed bytes.
3. Queries against class size: the same journal grid, diary week, term summary and class report
   with the class shrunk to one student and grown to 100 (inside a transaction that is rolled
   back), and the diary of a week without lessons.
4. Mark entry: sequential single-cell POSTs through the Client (one process), on lessons held on
   or before --today (a mark on a future lesson is refused by design).
5. Term grades: `compute_term_grades` for every class-subject of the open term, school by school
   as `birtutas term_grades` does; the first computation (every grade written) is timed once and
   kept in the state file (--regrade deletes the term's grades to time it again), the
   recomputation (grades stored, only changes written) on every run.

The school's date (`kernel.clock.today()`) is pinned to --today for the whole run, as the setting
BIRTUTAS_TODAY does. Write guarding (a test aid, off in production) is off, so the production code
path is measured.

It writes to the database it measures (accounts for the sampled people, the posted marks, term-2
grades and their audit events); point it at a database of its own.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import io
import json
import os
import platform
import random
import re
import statistics
import sys
import time
from dataclasses import astuple
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "birtutas.settings")
# Measure the production code path: no DEBUG query log, no debug rendering.
os.environ.setdefault("BIRTUTAS_DEBUG", "0")
os.environ.setdefault("BIRTUTAS_GUARD_WRITES", "0")  # the suite's write guard is not in production's path
os.environ.setdefault("BIRTUTAS_LOG_LEVEL", "WARNING")  # Celery (eager) logs every delivered notification at INFO

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection, transaction  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from birtutas.demo import DemoSize, Generator, academic_calendar  # noqa: E402
from birtutas.journal.models import (  # noqa: E402
    Attendance,
    Enrollment,
    Lesson,
    Mark,
    SchoolClass,
    SummativeWork,
    TeachingAssignment,
    TermGrade,
)
from birtutas.journal.rules import parse_cell  # noqa: E402
from birtutas.registry.models import Guardianship, Membership, Organization, Person, Term, User  # noqa: E402
from birtutas.registry.roles import Role  # noqa: E402
from birtutas.registry.services import ensure_account  # noqa: E402

BUDGET_DIARY_P95_MS = 50
BUDGET_JOURNAL_P95_MS = 100
BUDGET_PAGE_KB = 30
BUDGET_JS_KB = 5
BUDGET_TERM_GRADES_S = 60
GZIP = {"HTTP_ACCEPT_ENCODING": "gzip"}


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def progress(label: str, done: int, total: int, started: float) -> None:
    elapsed = time.monotonic() - started
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r{label}: {done}/{total} {elapsed:6.1f}s{end}")
    sys.stderr.flush()


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


# ------------------------------------------------------------------ state kept between runs


def state_path() -> Path:
    name = connection.settings_dict["NAME"]
    path = Path(settings.VAR_DIR) / "bench" / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def load_state() -> dict:
    path = state_path()
    return json.loads(path.read_text()) if path.exists() else {}


def save_state(state: dict) -> None:
    state_path().write_text(json.dumps(state, indent=2, default=str))


# ------------------------------------------------------------------ 1. data


def generate(args, state: dict) -> dict:
    call_command("migrate", verbosity=0)
    before = Organization.objects.filter(kind="school").count()
    say(f"data: {before} of {args.schools} schools exist; generating the rest (seed {args.seed}, today {args.today})")
    started = time.monotonic()
    Generator(
        DemoSize(
            schools=args.schools,
            students=args.students,
            seed=args.seed,
            today=args.today,
            demo_accounts=False,
            progress=True,
        ),
        log=say,
    ).run()
    elapsed = time.monotonic() - started
    built = Organization.objects.filter(kind="school").count() - before
    runs = state.setdefault("generation_runs", [])
    if built:
        runs.append(
            {"at": dt.datetime.now().isoformat(timespec="seconds"), "schools": built, "seconds": round(elapsed, 1)}
        )
        say("data: VACUUM ANALYZE (fresh bulk load; autovacuum would do the same later)")
        vacuum_started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        state["vacuum_analyze_seconds"] = round(time.monotonic() - vacuum_started, 1)
    save_state(state)
    total = sum(r["seconds"] for r in runs)
    total_schools = sum(r["schools"] for r in runs)
    return {
        "this_run_seconds": round(elapsed, 1),
        "this_run_schools": built,
        "recorded_seconds": round(total, 1),
        "recorded_schools": total_schools,
        "complete_in_recorded_runs": total_schools == args.schools,
        "vacuum_analyze_seconds": state.get("vacuum_analyze_seconds"),
    }


def dataset_counts(today: dt.date) -> dict:
    say("data: counting rows")
    return {
        "schools": Organization.objects.filter(kind="school").count(),
        "classes": SchoolClass.objects.count(),
        "students": Enrollment.objects.values("student_id").distinct().count(),
        "guardians": Membership.objects.filter(role=Role.GUARDIAN).count(),
        "teachers": Membership.objects.filter(role=Role.TEACHER).count(),
        "people": Person.objects.count(),
        "class_subjects": TeachingAssignment.objects.count(),
        "lessons": Lesson.objects.count(),
        "lessons_held": Lesson.objects.filter(date__lte=today).count(),
        "summative_works": SummativeWork.objects.count(),
        "formative_marks": Mark.objects.filter(lesson__isnull=False).count(),
        "summative_marks": Mark.objects.filter(work__isnull=False).count(),
        "attendance_rows": Attendance.objects.count(),
        **{
            f"term_grades_term_{number}": n
            for number, n in TermGrade.objects.values_list("term__number")
            .annotate(n=Count("id"))
            .order_by("term__number")
        },
        "database_size": _database_size(),
    }


def _database_size() -> str:
    if connection.vendor != "postgresql":
        return "n/a"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        return cursor.fetchone()[0]


# ------------------------------------------------------------------ accounts


def account(person_id: int) -> User:
    user = User.objects.filter(person_id=person_id).first()
    if user is None:
        # No password: force_login is used, so no Argon2 hashing in the benchmark.
        user = ensure_account(Person.objects.get(pk=person_id), username=f"bench-{person_id}", password=None)
    return user


# ------------------------------------------------------------------ 2. pages


def page_assets(html: str) -> list[str]:
    """Static files the page loads on first visit (stylesheets and scripts)."""
    found = re.findall(r'<link[^>]+rel="stylesheet"[^>]+href="([^"]+)"', html)
    found += re.findall(r'<script[^>]+src="([^"]+)"', html)
    return sorted(set(found))


def asset_bytes(url: str) -> tuple[int, int]:
    """(raw, gzip -9) bytes of a static file, as WhiteNoise serves it precompressed."""
    name = url.split("?")[0].removeprefix(settings.STATIC_URL)
    path = finders.find(name)
    data = Path(path).read_bytes()
    return len(data), len(gzip.compress(data, compresslevel=9))


class DbTimer:
    """Adds up the time spent waiting for SQL during a request (connection.execute_wrapper)."""

    def __init__(self):
        self.total = 0.0

    def __call__(self, execute, sql, params, many, context):
        t = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.total += time.perf_counter() - t


def measure_pages(label: str, client: Client, requests: list[tuple[User, str]], warmup: int = 5) -> dict:
    """Time each GET (server time: the whole request through middleware, in process)."""
    for user, url in requests[:warmup]:
        client.force_login(user)
        client.get(url, **GZIP)
    requests = requests[warmup:]
    times, cpu_times, db_times, sizes, raw_sizes, assets = [], [], [], [], [], set()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    for i, (user, url) in enumerate(requests, 1):
        client.force_login(user)
        timer = DbTimer()
        with connection.execute_wrapper(timer):
            t, cpu = time.perf_counter(), time.process_time()
            response = client.get(url, **GZIP)
            elapsed, cpu = time.perf_counter() - t, time.process_time() - cpu
        db_times.append(timer.total * 1000)
        cpu_times.append(cpu * 1000)
        if response.status_code != 200:
            raise SystemExit(f"{label}: {url} answered {response.status_code}")
        compressed = response.get("Content-Encoding") == "gzip"
        body = gzip.decompress(response.content) if compressed else response.content
        times.append(elapsed * 1000)
        sizes.append(len(response.content))
        raw_sizes.append(len(body))
        assets.update(page_assets(body.decode()))
        if i % 10 == 0 or i == len(requests):
            progress(label, i, len(requests), started)
    asset_sizes = {a: asset_bytes(a) for a in sorted(assets)}
    js_gz = sum(gz for a, (_raw, gz) in asset_sizes.items() if a.split("?")[0].endswith(".js"))
    return {
        "n": len(times),
        "p50_ms": round(pct(times, 50), 1),
        "p95_ms": round(pct(times, 95), 1),
        "max_ms": round(max(times), 1),
        "mean_ms": round(statistics.fmean(times), 1),
        # This process's CPU time (Python: middleware, queries built and read, templates): what a
        # busy machine inflates least, since waiting for the CPU or for PostgreSQL is not counted.
        "cpu_p50_ms": round(pct(cpu_times, 50), 1),
        "cpu_p95_ms": round(pct(cpu_times, 95), 1),
        "db_p50_ms": round(pct(db_times, 50), 1),
        "db_p95_ms": round(pct(db_times, 95), 1),
        "db_share_of_total": round(sum(db_times) / sum(times), 2),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "html_gz_median_bytes": int(statistics.median(sizes)),
        "html_gz_max_bytes": max(sizes),
        "html_raw_max_bytes": max(raw_sizes),
        "assets": {a: {"raw": raw, "gzip": gz} for a, (raw, gz) in asset_sizes.items()},
        "js_gz_bytes": js_gz,
        "first_load_gz_max_bytes": max(sizes) + sum(gz for _raw, gz in asset_sizes.values()),
    }


def mondays(today: dt.date) -> list[dt.date]:
    start_year = today.year if today.month >= 8 else today.year - 1
    weeks = []
    for _number, starts, ends in academic_calendar(start_year):
        day = starts - dt.timedelta(days=starts.weekday())
        while day <= min(ends, today):
            weeks.append(day)
            day += dt.timedelta(days=7)
    return weeks


def diary_requests(rng: random.Random, n: int, today: dt.date) -> list[tuple[User, str]]:
    student_ids = sorted(Enrollment.objects.values_list("student_id", flat=True))
    chosen = rng.sample(student_ids, n + 5)
    parents = dict(
        Guardianship.objects.filter(student_id__in=chosen).order_by("id").values_list("student_id", "guardian_id")
    )
    weeks = mondays(today)
    requests = []
    say(f"diary: preparing {len(chosen)} accounts (students and parents)")
    for i, sid in enumerate(chosen):
        viewer = sid if i % 2 == 0 or sid not in parents else parents[sid]
        requests.append((account(viewer), f"/diary/{sid}/?week={rng.choice(weeks).isoformat()}"))
    return requests


def family_viewers(rng: random.Random, n: int) -> list[tuple[int, int]]:
    """(student, viewer) for n + 5 random students: every other one opened by a parent."""
    student_ids = sorted(Enrollment.objects.values_list("student_id", flat=True))
    chosen = rng.sample(student_ids, n + 5)
    parents = dict(
        Guardianship.objects.filter(student_id__in=chosen).order_by("id").values_list("student_id", "guardian_id")
    )
    return [(sid, sid if i % 2 == 0 or sid not in parents else parents[sid]) for i, sid in enumerate(chosen)]


def summary_requests(rng: random.Random, n: int, term: Term) -> list[tuple[User, str]]:
    chosen = family_viewers(rng, n)
    say(f"summary: preparing {len(chosen)} accounts (students and parents)")
    return [(account(viewer), f"/diary/{sid}/summary/?term={term.pk}") for sid, viewer in chosen]


def director_of(organization_id: int) -> User:
    director = (
        Membership.objects.filter(organization_id=organization_id, role=Role.DIRECTOR)
        .order_by("pk")
        .values_list("person_id", flat=True)
        .first()
    )
    return account(director)


def report_requests(rng: random.Random, n: int, term: Term) -> list[tuple[User, str]]:
    classes = dict(SchoolClass.objects.filter(year_id=term.year_id).order_by("pk").values_list("pk", "organization_id"))
    chosen = rng.sample(sorted(classes), n + 5)
    say(f"report: preparing the directors of {len(chosen)} classes")
    return [(director_of(classes[c]), f"/school/class/{c}/report/?term={term.pk}") for c in chosen]


def journal_requests(rng: random.Random, n: int, term: Term) -> list[tuple[User, str]]:
    ids = sorted(TeachingAssignment.objects.filter(school_class__year_id=term.year_id).values_list("pk", flat=True))
    chosen = rng.sample(ids, n + 5)
    teachers = dict(TeachingAssignment.objects.filter(pk__in=chosen).values_list("pk", "teacher_id"))
    say(f"journal: preparing {len(chosen)} teacher accounts")
    return [(account(teachers[a]), f"/journal/{a}/term/{term.pk}/") for a in chosen]


# ------------------------------------------------------------------ 3. queries against class size


def count_queries(client: Client, user: User, url: str) -> tuple[int, int]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, **GZIP)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries), len(response.content)


class Rollback(Exception):
    pass


def queries_by_class_size(rng: random.Random, term: Term, today: dt.date) -> dict:
    """The same pages at different class sizes; the class is resized in a rolled-back transaction."""
    client = Client()
    # As Django's TestCase does: requests must not close the connection inside our transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    result = {"journal": [], "diary": [], "summary": [], "report": []}
    closed_term = Term.objects.filter(year_id=term.year_id, ends_on__lt=term.starts_on).order_by("-number").first()
    try:
        assignment = (
            TeachingAssignment.objects.filter(school_class__year_id=term.year_id, subject__code="algebra")
            .select_related("school_class")
            .order_by("pk")
            .first()
        )
        teacher = account(assignment.teacher_id)
        klass = assignment.school_class
        enrolled = list(Enrollment.objects.filter(school_class=klass).order_by("pk").values_list("pk", "student_id"))
        natural = len(enrolled)
        student = account(enrolled[0][1])  # stays in the class at every size
        director = director_of(klass.organization_id)
        others = list(
            Enrollment.objects.filter(school_class__organization_id=klass.organization_id)
            .exclude(school_class=klass)
            .order_by("pk")
            .values_list("student_id", flat=True)[: 100 - natural]
        )
        full_week = today - dt.timedelta(days=today.weekday() + 7)
        for size in (1, natural, 100):
            try:
                with transaction.atomic():
                    if size < natural:
                        Enrollment.objects.filter(pk__in=[pk for pk, _s in enrolled[size:]]).delete()
                    elif size > natural:
                        Enrollment.objects.bulk_create([Enrollment(school_class=klass, student_id=s) for s in others])
                    students = Enrollment.objects.filter(school_class=klass).count()
                    label = f"{klass.name} with {students} students" + (" (as generated)" if size == natural else "")
                    for t, kind in ((term, "open term"), (closed_term, "closed term")):
                        if t is None:
                            continue
                        for page, user, url in (
                            ("journal", teacher, f"/journal/{assignment.pk}/term/{t.pk}/"),
                            ("summary", student, f"/diary/{student.person_id}/summary/?term={t.pk}"),
                            ("report", director, f"/school/class/{klass.pk}/report/?term={t.pk}"),
                        ):
                            n, nbytes = count_queries(client, user, url)
                            result[page].append(
                                {
                                    "case": f"{label}, {kind}",
                                    "kind": kind,
                                    "students": students,
                                    "queries": n,
                                    "gz_bytes": nbytes,
                                }
                            )
                    n, nbytes = count_queries(client, student, f"/diary/{student.person_id}/?week={full_week}")
                    result["diary"].append(
                        {
                            "case": f"student of {label}, week of {full_week}",
                            "kind": "full week",
                            "students": students,
                            "queries": n,
                            "gz_bytes": nbytes,
                        }
                    )
                    raise Rollback
            except Rollback:
                pass
        # For information: a week without lessons skips the queries that would have nothing to look for.
        empty_week = dt.date(today.year if today.month >= 8 else today.year - 1, 10, 27)
        n, nbytes = count_queries(client, student, f"/diary/{student.person_id}/?week={empty_week}")
        result["diary"].append(
            {
                "case": f"same student, week of {empty_week} (autumn break, no lessons)",
                "kind": "empty week",
                "students": natural,
                "queries": n,
                "gz_bytes": nbytes,
            }
        )
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    for page in ("journal", "diary", "summary", "report"):
        kinds = {r["kind"] for r in result[page]}
        result[f"{page}_constant"] = all(
            len({r["queries"] for r in result[page] if r["kind"] == k}) == 1 for k in kinds
        )
    return result


# ------------------------------------------------------------------ 4. mark entry


def mark_entry(rng: random.Random, n: int, term: Term, today: dt.date) -> dict:
    ids = sorted(TeachingAssignment.objects.filter(school_class__year_id=term.year_id).values_list("pk", flat=True))
    teachers_n = 10
    chosen = rng.sample(ids, teachers_n)
    plan = []
    say(f"mark entry: preparing {teachers_n} teachers and the parents of their classes")
    for assignment_id in chosen:
        assignment = TeachingAssignment.objects.get(pk=assignment_id)
        lessons = list(
            Lesson.objects.filter(assignment=assignment, term=term, date__lte=today)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        students = sorted(
            Enrollment.objects.filter(school_class_id=assignment.school_class_id).values_list("student_id", flat=True)
        )
        # Parents with accounts get a notification for each mark, as they would in use.
        for guardian_id in Guardianship.objects.filter(student_id__in=students).values_list("guardian_id", flat=True):
            account(guardian_id)
        plan.append((account(assignment.teacher_id), lessons, students))
    values = [str(v) for v in range(1, 11)] * 8 + ["ж", "к8", "а", ""] * 2 + ["н", "к"]
    client = Client()
    times, failures = [], 0
    per_teacher = n // teachers_n
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    total_time = 0.0
    done = 0
    for teacher, lessons, students in plan:
        client.force_login(teacher)
        for _ in range(per_teacher):
            lesson_id, student_id = rng.choice(lessons), rng.choice(students)
            # Always a real change (an unchanged cell is a no-op by design, which would flatter the figure).
            cell = {"lesson_id": lesson_id, "student_id": student_id}
            current = (
                Mark.objects.filter(**cell).values_list("value", flat=True).first(),
                Attendance.objects.filter(**cell).values_list("status", flat=True).first(),
            )
            value = rng.choice(values)
            while astuple(parse_cell(value)) == current:
                value = rng.choice(values)
            url = f"/journal/lesson/{lesson_id}/student/{student_id}/"
            t = time.perf_counter()
            response = client.post(url, {"value": value}, **GZIP)
            elapsed = time.perf_counter() - t
            total_time += elapsed
            times.append(elapsed * 1000)
            if response.status_code != 200 or not response.json().get("ok"):
                failures += 1
            done += 1
            if done % 25 == 0 or done == per_teacher * teachers_n:
                progress("mark entry", done, per_teacher * teachers_n, started)
    return {
        "n": done,
        "failures": failures,
        "requests_per_second": round(done / total_time, 1),
        "p50_ms": round(pct(times, 50), 1),
        "p95_ms": round(pct(times, 95), 1),
        "max_ms": round(max(times), 1),
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


# ------------------------------------------------------------------ 5. term grades


def grade_all(term: Term, label: str) -> tuple[float, int]:
    """`birtutas term_grades --jobs 2`: school by school, two schools at a time, closed schools skipped."""
    say(label)
    out = io.StringIO()
    started = time.monotonic()
    call_command("term_grades", term=term.pk, jobs=2, stdout=out)
    return time.monotonic() - started, int(out.getvalue().split()[0])


def term_grades(term: Term, state: dict, regrade: bool) -> dict:
    students = Enrollment.objects.filter(school_class__year_id=term.year_id).values("student_id").distinct().count()
    key = f"term_grades_first_{term.pk}"
    if regrade:
        say("term grades: --regrade, deleting the stored grades of the term first")
        TermGrade.objects.filter(term=term).delete()
        state.pop(key, None)
    out = {
        "term": str(term),
        "students": students,
        "class_subjects": TeachingAssignment.objects.filter(school_class__year_id=term.year_id).count(),
    }
    if not TermGrade.objects.filter(term=term).exists():
        say(f"term grades: first computation for {students} students (every grade is written, with its audit event)")
        seconds, written = grade_all(term, "term grades (first)")
        state[key] = {"seconds": round(seconds, 1), "rows": written, "load_average_1min": round(os.getloadavg()[0], 2)}
        save_state(state)
    first = state.get(key, {})
    out["first_seconds"], out["first_rows"] = first.get("seconds"), first.get("rows")
    out["first_load_average_1min"] = first.get("load_average_1min")
    say(f"term grades: recomputing for {students} students (grades stored: only changes are written)")
    seconds, changed = grade_all(term, "term grades (again)")
    out["recompute_seconds"], out["recompute_rows"] = round(seconds, 1), changed
    out["recompute_load_average_1min"] = round(os.getloadavg()[0], 2)
    out["grades_stored"] = TermGrade.objects.filter(term=term).count()
    return out


# ------------------------------------------------------------------ report


def report(results: dict) -> str:
    lines = []

    def row(name, value, budget="", status=""):
        lines.append(f"  {name:<44} {value:>18}  {budget:<22} {status}")

    g = results["generation"]
    c = results["dataset"]
    lines.append(f"Machine: {results['machine']}")
    lines.append(f"Command: {results['command']}")
    lines.append("")
    lines.append("Dataset")
    for k, v in c.items():
        row(k.replace("_", " "), f"{v:,}" if isinstance(v, int) else str(v))
    lines.append("")
    lines.append("Figures")
    row("", "value", "budget", "")
    row(
        "data generation (recorded, all runs)",
        f"{g['recorded_seconds']:.0f} s" + ("" if g["complete_in_recorded_runs"] else " (partial)"),
    )
    row("  of which this run", f"{g['this_run_seconds']:.0f} s ({g['this_run_schools']} schools)")
    if g.get("vacuum_analyze_seconds") is not None:
        row("  VACUUM ANALYZE after the load", f"{g['vacuum_analyze_seconds']:.0f} s")
    for key, title, budget in (
        ("diary", "diary", BUDGET_DIARY_P95_MS),
        ("summary", "diary term summary", BUDGET_DIARY_P95_MS),
        ("journal", "class journal", BUDGET_JOURNAL_P95_MS),
        ("report", "class report", None),
    ):
        if key not in results:
            continue
        p = results[key]
        row(f"{title}: server time p50 (n={p['n']})", f"{p['p50_ms']:.1f} ms")
        if budget is None:
            row(f"{title}: server time p95", f"{p['p95_ms']:.1f} ms")
        else:
            row(f"{title}: server time p95", f"{p['p95_ms']:.1f} ms", f"≤ {budget} ms", verdict(p["p95_ms"] <= budget))
        row(f"{title}: server time max", f"{p['max_ms']:.1f} ms")
        row(f"{title}: of which SQL p50 / p95", f"{p['db_p50_ms']:.1f} / {p['db_p95_ms']:.1f} ms")
        row(f"{title}: CPU of this process p50 / p95", f"{p['cpu_p50_ms']:.1f} / {p['cpu_p95_ms']:.1f} ms")
        row(f"{title}: load average before/after", " / ".join(map(str, p["load_average_1min"])))
        row(
            f"{title}: HTML gzip median / max",
            f"{p['html_gz_median_bytes'] / 1024:.1f} / {p['html_gz_max_bytes'] / 1024:.1f} KB",
        )
        row(f"{title}: HTML uncompressed max", f"{p['html_raw_max_bytes'] / 1024:.1f} KB")
        row(
            f"{title}: first load gzip (max HTML + assets)",
            f"{p['first_load_gz_max_bytes'] / 1024:.1f} KB",
            f"≤ {BUDGET_PAGE_KB} KB",
            verdict(p["first_load_gz_max_bytes"] <= BUDGET_PAGE_KB * 1024),
        )
        row(
            f"{title}: JavaScript gzip",
            f"{p['js_gz_bytes'] / 1024:.1f} KB",
            f"≤ {BUDGET_JS_KB} KB",
            verdict(p["js_gz_bytes"] <= BUDGET_JS_KB * 1024),
        )
    q = results["queries"]
    for key in ("journal", "diary", "summary", "report"):
        for r in q[key]:
            row(f"{key} queries: {r['kind']}, {r['students']} students", str(r["queries"]))
        row(
            f"{key}: queries independent of class size",
            "yes" if q[f"{key}_constant"] else "NO",
            "fixed",
            verdict(q[f"{key}_constant"]),
        )
    m = results["mark_entry"]
    row(f"mark entry: requests/s (1 process, n={m['n']})", f"{m['requests_per_second']:.1f}")
    row("mark entry: p50 / p95 per request", f"{m['p50_ms']:.1f} / {m['p95_ms']:.1f} ms")
    row("mark entry: failed requests", str(m["failures"]))
    row("mark entry: load average before/after", " / ".join(map(str, m["load_average_1min"])))
    t = results["term_grades"]
    if t["first_seconds"] is not None:
        row(
            f"term grades, first ({t['students']:,} students)",
            f"{t['first_seconds']:.1f} s",
            f"≤ {BUDGET_TERM_GRADES_S} s",
            verdict(t["first_seconds"] <= BUDGET_TERM_GRADES_S),
        )
        row("  rows written", f"{t['first_rows']:,}")
    row(
        "term grades, recompute (stored; writes changes)",
        f"{t['recompute_seconds']:.1f} s",
        f"≤ {BUDGET_TERM_GRADES_S} s",
        verdict(t["recompute_seconds"] <= BUDGET_TERM_GRADES_S),
    )
    row("  rows changed", f"{t['recompute_rows']:,}")
    return "\n".join(lines)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        names = [line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else cpu
    except OSError:
        pass
    database = connection.vendor
    if database == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            database = f"PostgreSQL {cursor.fetchone()[0]}"
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, Django {django.get_version()}, {database}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--schools", type=int, default=120)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument(
        "--today",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 12, 20),
        help="the dataset's today (default 2026-12-20: term 1 closed, term 2 full)",
    )
    parser.add_argument("--diary", type=int, default=200, help="diary pages to time")
    parser.add_argument("--journal", type=int, default=100, help="journal grids to time")
    parser.add_argument("--summary", type=int, default=100, help="diary term summaries to time")
    parser.add_argument("--report", type=int, default=50, help="class reports to time")
    parser.add_argument("--marks", type=int, default=500, help="mark-entry requests")
    parser.add_argument(
        "--regrade", action="store_true", help="delete the open term's grades and time a first computation again"
    )
    parser.add_argument("--only-data", action="store_true", help="build the dataset and stop")
    args = parser.parse_args()
    # The school's date for everything the services and queries decide (no marks on future lessons).
    settings.BIRTUTAS_TODAY = args.today.isoformat()
    if connection.vendor != "postgresql":
        say(f"warning: the budgets are for PostgreSQL; this database is {connection.vendor}")
    state = load_state()
    results = {
        "command": "DATABASE_URL=… " + " ".join([".venv/bin/python", "bench/run.py", *sys.argv[1:]]),
        "machine": machine(),
    }
    results["generation"] = generate(args, state)
    if args.only_data:
        say(json.dumps(results["generation"]))
        return
    term = Term.objects.filter(starts_on__lte=args.today, ends_on__gte=args.today).first()
    results["dataset"] = dataset_counts(args.today)
    rng = random.Random(args.seed)
    client = Client()
    results["diary"] = measure_pages("diary", client, diary_requests(rng, args.diary, args.today))
    results["journal"] = measure_pages("journal", client, journal_requests(rng, args.journal, term))
    # Their own random stream, so the samples above and below stay those of earlier runs.
    more = random.Random(f"{args.seed}:summary-report")
    results["summary"] = measure_pages("summary", client, summary_requests(more, args.summary, term))
    results["report"] = measure_pages("report", client, report_requests(more, args.report, term))
    results["queries"] = queries_by_class_size(rng, term, args.today)
    results["mark_entry"] = mark_entry(rng, args.marks, term, args.today)
    results["term_grades"] = term_grades(term, state, args.regrade)
    results["finished_at"] = dt.datetime.now().isoformat(timespec="seconds")
    out = state_path().with_name(state_path().stem + "-results.json")
    out.write_text(json.dumps(results, indent=2, default=str))
    print(report(results))
    print(f"\n(results also in {out})")


if __name__ == "__main__":
    main()
