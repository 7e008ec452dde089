"""The sites of a cross-process sync test: a central server that is a real web server on 127.0.0.1, and
school nodes, each on a SQLite file of its own and driven by `birtutas` commands and Python snippets in
child processes. Nothing of them runs in the test's own process or database.

`build_templates()` makes, once per test module, a migrated empty database (a new node's), and a
central server's database with a small demo region, captured, with a node registered for its first
school; every test copies them (a copy costs milliseconds, a migration seconds).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from birtutas.sync.testing import NodeSite

DEMO_TODAY = "2026-09-09"  # the demo's date: a week into the first term, so the school is small
LESSONS_UNTIL = "2026-09-11"  # the demo plans the whole term's lessons; the template keeps these
API = "api/sync/v1/"
PYTHON = [sys.executable, "-P"]

# Run `birtutas` with engine.chunks cutting chunks at `limit` bytes (args: limit, then the command's
# arguments): the same code with smaller chunks, so a small school makes several.
CHUNKED = """
import os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "birtutas.settings")
import django
django.setup()
from birtutas.sync import engine
engine.chunks.__kwdefaults__["limit"] = int(sys.argv[1])
from django.core.management import execute_from_command_line
execute_from_command_line(["birtutas", *sys.argv[2:]])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env() -> dict:
    """This process's environment without anything that would point a child at another database or server."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BIRTUTAS_", "DATABASE_", "DJANGO_", "PYTEST_", "REDIS_", "CELERY_"))
    }


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, even while a server writes to it (the WAL included)."""
    target = Path(target)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def rows(database: Path, sql: str, *params) -> list[tuple]:
    """Read a site's database directly (read only), for what a test asserts."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        return db.execute(sql, params).fetchall()


def value(database: Path, sql: str, *params):
    found = rows(database, sql, *params)
    return found[0][0] if found else None


def counts(output: str) -> tuple[int, int]:
    """(sent, received) from what `birtutas sync` printed."""
    found = re.search(r"sent (\d+) records .* received (\d+)", output)
    assert found, output
    return int(found.group(1)), int(found.group(2))


class Site(NodeSite):
    """A site's child processes: `command`, `run` (snippets) and `birtutas sync` with its exit status."""

    def __init__(self, folder: Path, *, env: dict | None = None):
        super().__init__(folder, today=DEMO_TODAY, env=env)

    def birtutas(self, *args: str, chunk_limit: int | None = None) -> subprocess.CompletedProcess:
        """Run `birtutas <args>` and return how it ended, failed or not."""
        argv = [*PYTHON, "-c", CHUNKED, str(chunk_limit)] if chunk_limit else [*PYTHON, "-m", "birtutas"]
        return subprocess.run(  # noqa: S603 - our own interpreter and arguments
            [*argv, *args], env=self.env, cwd=self.folder, capture_output=True, text=True, check=False
        )

    def backup(self, target: Path) -> Path:
        copy_database(self.database, target)
        return Path(target)

    def restore(self, source: Path) -> None:
        copy_database(source, self.database)

    def rows(self, sql: str, *params) -> list[tuple]:
        return rows(self.database, sql, *params)

    def value(self, sql: str, *params):
        return value(self.database, sql, *params)


class Node(Site):
    """A school node: its database, node file and keys under `folder` (see `NodeSite`)."""

    def sync(self, url: str, *, chunk_limit: int | None = None) -> subprocess.CompletedProcess:
        return self.birtutas("sync", "--url", url + API, chunk_limit=chunk_limit)


class Centre(Site):
    """The central server: its database and keys under `folder`, served by `runserver` on a free port."""

    def __init__(self, folder: Path, *, env: dict | None = None):
        super().__init__(folder, env=env)
        self.database = self.folder / "centre.sqlite3"
        self.keys_dir = self.folder / "centre-keys"
        self.port = free_port()
        self.process: subprocess.Popen | None = None
        self.log = self.folder / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def env(self) -> dict:
        env = clean_env()
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "birtutas.settings",
                "DATABASE_URL": f"sqlite:///{self.database}",
                "BIRTUTAS_SYNC_KEYS_DIR": str(self.keys_dir),
                "BIRTUTAS_SITE_URL": self.url,
                "BIRTUTAS_VAR_DIR": str(self.folder / "var"),
                "BIRTUTAS_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
                "BIRTUTAS_DEMO": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def start(self, *, chunk_limit: int | None = None, timeout: float = 30) -> None:
        """Serve on 127.0.0.1:`port` in a child process; return once the sync API answers."""
        assert self.process is None, "already serving"
        serve = ["runserver", f"127.0.0.1:{self.port}", "--noreload", "--skip-checks"]
        argv = [*PYTHON, "-c", CHUNKED, str(chunk_limit)] if chunk_limit else [*PYTHON, "-m", "birtutas"]
        argv += serve
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(argv, env=self.env, cwd=self.folder, stdout=log, stderr=log)  # noqa: S603
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(self.url + API + "nonce", timeout=5) as answer:  # noqa: S310 - loopback
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the central server did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def register_node(self, organization_uid: str, name: str = "Library computer") -> tuple[bytes, str]:
        """`birtutas node create` here: the registration file's bytes and the node's id."""
        out = self.folder / f"registration-{time.monotonic_ns()}.json"
        printed = self.command("node", "create", "--organization", organization_uid, "--name", name, "--out", str(out))
        data = out.read_bytes()
        out.unlink()
        node_id = json.loads(data)["registration"]["node"]
        assert node_id in printed
        return data, node_id


@dataclass
class Templates:
    """What every test of a module copies: see `build_templates`."""

    empty: Path  # a migrated database without a row: a new node's
    centre: Path  # the central server's: a demo region, captured, with `node_id` registered for `school`
    centre_keys: Path
    node_file: Path  # the node's, installed from its registration (`birtutas node register`)
    registration: bytes
    node_id: str
    school: str  # the node's organization uid
    other: str  # another school's, which the node must never receive

    def centre_site(self, folder: Path, *, database: Path | None = None, **kwargs) -> Centre:
        """A central server in `folder`, from the template's database (or `database`) and keys; not serving yet."""
        centre = Centre(folder, **kwargs)
        copy_database(database or self.centre, centre.database)
        shutil.copytree(self.centre_keys, centre.keys_dir)
        return centre

    def node_site(self, folder: Path, *, database: Path | None = None, **kwargs) -> Node:
        """The registered node in `folder`, on a copy of the empty database (or of `database`)."""
        node = Node(folder, **kwargs)
        copy_database(database or self.empty, node.database)
        shutil.copy2(self.node_file, node.node_file)  # a secret: its 0600 mode is kept
        return node


def build_templates(folder: Path, *, students: int = 22) -> Templates:
    """A migrated empty database, and a centre with two demo schools (`students` in all, one class per grade,
    the lessons of the first days of the first term), captured, with a node registered for the first school."""
    folder = Path(folder)
    centre = Centre(folder / "centre")
    empty = folder / "empty.sqlite3"
    centre.command("migrate", "--verbosity", "0")
    copy_database(centre.database, empty)
    centre.command(
        "demo_data", "--schools", "2", "--students", str(students), "--today", DEMO_TODAY, "--quiet"
    )
    centre.run(
        """
        from birtutas.journal.models import Lesson, MarkEntry
        from birtutas.kernel.context import writing
        keep = set(MarkEntry.objects.values_list("lesson_id", flat=True))
        with writing():
            Lesson.objects.filter(date__gt=args["until"]).exclude(pk__in=keep).delete()
        """,
        until=LESSONS_UNTIL,
    )
    centre.command("sync", "capture", "--verbosity", "0")
    schools = centre.run(
        """
        from birtutas.registry.models import Organization, User
        teacher = User.objects.get(username="teacher")
        school = teacher.person.memberships.filter(organization__isnull=False).first().organization
        result = [str(school.uid), str(Organization.objects.exclude(pk=school.pk).get().uid)]
        """
    )
    registration, node_id = centre.register_node(schools[0])
    node = Node(folder / "node")
    node.register(registration)
    return Templates(
        empty=empty,
        centre=centre.database,
        centre_keys=centre.keys_dir,
        node_file=node.node_file,
        registration=registration,
        node_id=node_id,
        school=schools[0],
        other=schools[1],
    )
