"""Test helpers for the sync: a school node in a database of its own, and a canonical dump of a database.

Django holds one `default` database per process, so a test plays the central server on the test
database and drives a node, a SQLite file of its own, in child processes: `NodeSite(folder)`
migrates it (or copies a migrated template), registers it from a registration file the centre
made, and runs Python snippets in it. Records travel between the two as files, as they would on a
USB stick. `travelling_state()` reads everything that travels, as it travels, so two dumps compare
equal exactly when a transfer changed nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

PRELUDE = """
import json, os, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "birtutas.settings")
import django
django.setup()
from django.conf import settings
with open(sys.argv[1]) as _given:
    args = json.load(_given)
if args.pop("__today__", None):
    settings.BIRTUTAS_TODAY = args["today"]
result = None
"""

EPILOGUE = """
with open(sys.argv[2], "w") as _out:
    json.dump(result, _out, default=str)
"""


class NodeFailed(AssertionError):
    """A child process of the node failed; the message holds the end of what it wrote to stderr."""


class NodeSite:
    """A school node: its SQLite database, node file and keys, all under `folder`."""

    def __init__(self, folder: Path, *, today=None, env: dict | None = None):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.database = self.folder / "node.sqlite3"
        self.node_file = self.folder / "node.json"
        self.keys_dir = self.folder / "keys"
        self.today = today
        self.extra_env = dict(env or {})
        self.runs = 0

    @property
    def env(self) -> dict:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("BIRTUTAS_", "DATABASE_", "DJANGO_", "PYTEST_", "REDIS_", "CELERY_"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "birtutas.settings",
                "DATABASE_URL": f"sqlite:///{self.database}",
                "BIRTUTAS_NODE_FILE": str(self.node_file),
                "BIRTUTAS_SYNC_KEYS_DIR": str(self.keys_dir),
                "BIRTUTAS_VAR_DIR": str(self.folder / "var"),
                "BIRTUTAS_EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            }
        )
        env.update(self.extra_env)
        return env

    def _call(self, argv: list[str]) -> subprocess.CompletedProcess:
        self.runs += 1
        done = subprocess.run(argv, env=self.env, cwd=self.folder, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode:
            raise NodeFailed(f"{' '.join(argv[:4])}… exited {done.returncode}:\n{done.stderr[-3000:]}")
        return done

    def command(self, *args: str) -> str:
        """Run `birtutas <args>` on the node; returns what it wrote to stdout."""
        return self._call([sys.executable, "-P", "-m", "birtutas", *args]).stdout

    def migrate(self) -> None:
        self.command("migrate", "--verbosity", "0")

    def copy_from(self, template: NodeSite) -> None:
        """Start from another node's database (a migrated template: a copy costs nothing, a migrate seconds)."""
        shutil.copyfile(template.database, self.database)

    def register(self, registration: bytes) -> str:
        """Install a registration file made at the centre (`nodes.register_node`), as `birtutas node register`."""
        carried = self.folder / "registration.json"
        carried.write_bytes(registration)
        os.chmod(carried, 0o600)
        try:
            return self.command("node", "register", str(carried), "--node-file", str(self.node_file))
        finally:
            carried.unlink()

    def run(self, snippet: str, **args):
        """Run Python on the node, after `django.setup()`; `args` are given to it as the dict `args`
        (JSON values), and what it puts in `result` (a JSON value) is returned."""
        given = self.folder / f"args-{self.runs}.json"
        answer = self.folder / f"result-{self.runs}.json"
        values = dict(args)
        if self.today is not None:
            values.update(today=str(self.today), __today__=True)
        given.write_text(json.dumps(values, default=str))
        code = PRELUDE + textwrap.dedent(snippet) + EPILOGUE
        try:
            self._call([sys.executable, "-P", "-c", code, str(given), str(answer)])
            return json.loads(answer.read_text())
        finally:
            given.unlink(missing_ok=True)
            answer.unlink(missing_ok=True)


def travelling_state() -> dict:
    """Every record that travels, by kind and uid, as it travels, with its clocks, the change log and what
    this database holds: equal before and after a transfer exactly when the transfer changed nothing.

    Capture local writes first (`engine.prepare()`): a row not captured yet has no uid to be keyed by."""
    from .kinds import KINDS
    from .models import Change, Conflict, Have, Parked, Record, Refusal
    from .wire import read_rows

    state: dict = {}
    for kind in KINDS:
        rows = read_rows(kind, list(kind.model.objects.values_list("pk", flat=True)))
        state[kind.label] = {str(r["uid"]): {k: v for k, v in r.items() if k != "uid"} for r in rows.values()}
    state["sync.record"] = {
        f"{kind}:{uid}": [clocks, deleted]
        for kind, uid, clocks, deleted in Record.objects.values_list("kind", "uid", "clocks", "deleted")
    }
    state["sync.change"] = sorted(
        (kind, str(uid), str(origin), str(partition), counter)
        for kind, uid, origin, partition, counter in Change.objects.values_list(
            "kind", "uid", "origin", "partition", "counter"
        )
    )
    state["sync.have"] = sorted(
        (str(peer), str(partition), str(origin), counter)
        for peer, partition, origin, counter in Have.objects.values_list("peer", "partition", "origin", "counter")
    )
    state["sync.conflict"] = sorted(str(pk) for pk in Conflict.objects.values_list("pk", flat=True))
    state["sync.refusal"] = Refusal.objects.count()
    state["sync.parked"] = sorted(f"{k}:{u}" for k, u in Parked.objects.values_list("kind", "uid"))
    return state
