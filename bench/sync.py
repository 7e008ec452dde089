#!/usr/bin/env python
"""Benchmark of the sync: one school's term of journal data from the central server to an empty node.

    .venv/bin/python bench/sync.py [--students 600] [--today 2026-10-25] [--quick] [--dir DIR] [--profile]

It prints figures and a table, and never fails on a time; docs/benchmarks.md ("Sync of one school
over a slow link") records a run. `--quick` is 120 students, for a fast check (about 4 minutes; the
default takes about 10 on 2 cores). Every site is a separate process on 127.0.0.1 with its own SQLite
file, as a school node runs. Every process runs from a copy of `src/` and of this script made when the
run starts, in the run's directory, so that one run measures one version of the code.

1. Data: a central server (`birtutas migrate`, `birtutas demo_data --schools 1 --students N --today
   T`). `--today 2026-10-25` is the day after term 1 (1 Sep - 24 Oct): the school has exactly one
   full term of lessons, marks, absences and their audit history, closed with its grades, and no
   term 2 yet. With `--dir DIR` the data is kept there and reused by the next run with the same
   options: a copy of each centre as generated is kept, so a later run starts from it and skips the
   generation and the capture (whose figures are kept in DIR/state.json; the results of the last run
   in DIR/results.json). Without it, a temporary directory is removed at the end.
2. Capture: `birtutas sync capture` on the freshly generated centre (the rows the generator wrote,
   numbered into the change log), records per second.
3. Encoding, at the centre in one process: `engine.make_plan({}, scope)` and `engine.chunks` for the
   whole school, each chunk packed in a signed frame as the link sends it; records per second, bytes
   per record, bytes per kind (each chunk's records of one kind encoded alone). Decoding alone too.
4. The real link: a centre server (`birtutas runserver --noreload`) and an empty, registered node
   that runs one sync round (the code of `birtutas sync`), through a relay of this script that counts
   the bytes. The node's time is split into waiting for the centre and its own work (decode, check,
   apply, settle). The node's tables are compared with the centre's.
5. A link throttled to --rate kbit/s (256) each way by the same relay (asyncio, a token bucket per
   direction, no added latency), cut once at half the bytes of step 4: `birtutas sync` at a second
   empty node fails at the cut and is run again, and resumes. Wall time with the resume, and the
   bytes sent again because of the cut.
6. The alternative: the centre's whole SQLite database (one school and the reference data)
   as SQL text (`sqlite3.Connection.iterdump()`), compressed with zlib level 9 and with lzma
   (preset 6), and the time to send it at --rate (computed from its size, not measured).
7. A node offline a whole term: a second centre generated at the day before term 1 (the school,
   people and timetable, no lessons), a node synced from it, then a whole term written AT THE NODE
   by the demo generator's term writer (the same bulk writes `demo_data` makes for a term: lessons,
   marks, absences, their entries and audit rows, the term closed with its grades), captured by the
   node's triggers; then `birtutas sync` at the node pushes it to the centre, where every record
   is checked against the node's scope and its author's write permission.

`--profile`: cProfile of the centre encoding one chunk of marks (journal.markentry), of an empty
node applying that chunk, and of the centre applying a chunk of marks pushed by the offline node of
step 7 (in each case the chunks before it applied first, in process, on a copy of the database):
the top 10 functions by cumulative time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOAL_BYTES_PER_RECORD = 30
TOP_KINDS = ("journal.markentry", "kernel.auditevent", "journal.lesson")
TERM_START = dt.date(2026, 9, 1)


def say(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rate(n: float, seconds: float) -> str:
    return f"{n / seconds:,.0f}/s" if seconds > 0 else "-"


# ================================================================== the sites (each its own process)


SOURCE = ROOT  # the tree every process of the run imports: see `freeze_source`


def freeze_source(folder: Path) -> None:
    """Copy `src/` and this script into the run's directory and run every process from that copy, so
    that one run measures one version of the code even if the tree is edited while it runs."""
    global SOURCE
    target = folder / "source"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(ROOT / "src", target / "src", ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", "var"))
    (target / "bench").mkdir()
    shutil.copy2(Path(__file__), target / "bench" / "sync.py")
    SOURCE = target


class Site:
    """One database and the environment every process of that site runs with."""

    def __init__(self, folder: Path, name: str, *, centre_port: int | None = None, node: bool = False):
        self.folder, self.name = folder, name
        self.db = folder / f"{name}.sqlite3"
        self.node_file = folder / f"{name}-node.json"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(SOURCE / "src"), os.environ.get("PYTHONPATH", "")]),
            "DJANGO_SETTINGS_MODULE": "birtutas.settings",
            "DATABASE_URL": f"sqlite:///{self.db}",
            "BIRTUTAS_VAR_DIR": str(folder / f"{name}-var"),
            "BIRTUTAS_SYNC_KEYS_DIR": str(folder / f"{name}-keys"),
            "BIRTUTAS_DEMO": "1",
            "BIRTUTAS_DEBUG": "0",
            "BIRTUTAS_GUARD_WRITES": "0",
            "BIRTUTAS_LOG_LEVEL": "WARNING",
        }
        if centre_port:
            self.env["BIRTUTAS_SITE_URL"] = f"http://127.0.0.1:{centre_port}/"
        if node:
            self.env["BIRTUTAS_NODE_FILE"] = str(self.node_file)

    def run(self, *args: str, check: bool = True) -> tuple[subprocess.CompletedProcess, float]:
        """`birtutas <args>` in this site; (the finished process, its wall time). Its stderr (progress)
        is passed on as it comes, and its last line kept in `done.stderr`."""
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - our own command
            [str(BIN / "python"), "-P", "-m", "birtutas", *args],
            env=self.env,
            cwd=self.folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        tail = bytearray()

        def relay_stderr():
            while data := process.stderr.read1(4096):
                sys.stderr.buffer.write(data)
                sys.stderr.flush()
                tail.extend(data)
                del tail[:-4096]

        thread = threading.Thread(target=relay_stderr, daemon=True)
        thread.start()
        stdout = process.stdout.read().decode()
        process.wait()
        thread.join()
        lines = [line for line in tail.decode(errors="replace").replace("\r", "\n").splitlines() if line.strip()]
        done = subprocess.CompletedProcess(process.args, process.returncode, stdout, lines[-1] if lines else "")
        elapsed = time.monotonic() - started
        if check and done.returncode:
            raise SystemExit(f"{self.name}: birtutas {' '.join(args)} failed ({done.returncode}):\n{done.stdout}")
        return done, elapsed

    def worker(self, task: str, *args: str) -> dict:
        """A task of this script in a process of this site (Django set up on its database); its JSON answer."""
        done = subprocess.run(  # noqa: S603 - this script
            [str(BIN / "python"), "-P", str(SOURCE / "bench" / "sync.py"), "--worker", task, *args],
            env=self.env,
            cwd=self.folder,
            stdout=subprocess.PIPE,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"{self.name}: worker {task} failed ({done.returncode})")
        return json.loads(done.stdout.strip().splitlines()[-1])

    @contextlib.contextmanager
    def server(self, port: int):
        log = (self.folder / f"{self.name}-server.log").open("w")
        process = subprocess.Popen(  # noqa: S603 - our own server
            [str(BIN / "python"), "-P", "-m", "birtutas", "runserver", f"127.0.0.1:{port}", "--noreload"],
            env=self.env,
            cwd=self.folder,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            for _ in range(300):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                if process.poll() is not None:
                    raise SystemExit(f"{self.name}: the server stopped; see {log.name}")
                time.sleep(0.1)
            else:
                raise SystemExit(f"{self.name}: the server did not start")
            yield port
        finally:
            process.terminate()
            process.wait(timeout=20)
            log.close()


def copy_empty(template: Site, site: Site) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(site.db) + suffix).unlink(missing_ok=True)
    shutil.copyfile(template.db, site.db)


def snapshot(source: Site, target: Site) -> None:
    """A consistent copy of a database in use (SQLite's backup API; the server may hold it open)."""
    import sqlite3

    for suffix in ("", "-wal", "-shm"):
        Path(str(target.db) + suffix).unlink(missing_ok=True)
    with contextlib.closing(sqlite3.connect(source.db)) as a, contextlib.closing(sqlite3.connect(target.db)) as b:
        a.backup(b)


def register(centre: Site, node: Site, organization: str, name: str) -> None:
    registration = node.folder / f"{node.name}-registration.json"
    registration.unlink(missing_ok=True)
    node.node_file.unlink(missing_ok=True)
    centre.run("node", "create", "--organization", organization, "--name", name, "--out", str(registration))
    node.run("node", "register", str(registration), "--node-file", str(node.node_file))
    registration.unlink()


SYNC_LINE = re.compile(r"sent (\d+) records \((\d+) B\), received (\d+) \((\d+) B\), refused (\d+), in ([\d.]+) s")


def parse_sync(output: str) -> dict:
    found = SYNC_LINE.search(output)
    if not found:
        raise SystemExit(f"unexpected output of birtutas sync: {output!r}")
    sent, up, received, down, refused, seconds = found.groups()
    return {
        "sent": int(sent),
        "bytes_up": int(up),
        "received": int(received),
        "bytes_down": int(down),
        "refused": int(refused),
        "seconds": float(seconds),
    }


# ================================================================== the relay (throttle, cut)


class Relay:
    """A TCP relay on 127.0.0.1 to `target`: counts the bytes each way; optionally paces each direction
    to `rate` bytes/s (one token bucket per direction, shared by all connections, as one link is) and
    drops every open connection once when `cut_at` bytes (both ways) have passed."""

    def __init__(self, target: int):
        self.target = target
        self.rate: float | None = None
        self.cut_at: int | None = None
        self.cuts = 0
        self.down = self.up = 0
        self.connections: set = set()
        self.next_free = {"down": 0.0, "up": 0.0}
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", 0), self.loop
        ).result()
        self.port = self.server.sockets[0].getsockname()[1]

    def setup(self, *, rate: float | None = None, cut_at: int | None = None) -> None:
        def apply():
            self.rate, self.cut_at, self.cuts = rate, cut_at, 0
            self.down = self.up = 0

        self.loop.call_soon_threadsafe(apply)
        time.sleep(0.05)

    def counts(self) -> tuple[int, int]:
        return self.down, self.up

    def close(self) -> None:
        self.server.close()
        self.loop.call_soon_threadsafe(self.loop.stop)

    async def _handle(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_writer.transport.abort()
            return
        pair = (client_writer, server_writer)
        self.connections.add(pair)
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer, "up"),
                self._pipe(server_reader, client_writer, "down"),
            )
        finally:
            self.connections.discard(pair)

    async def _pace(self, way: str, n: int) -> None:
        if not self.rate:
            return
        now = self.loop.time()
        self.next_free[way] = max(now, self.next_free[way]) + n / self.rate
        await asyncio.sleep(self.next_free[way] - now)

    async def _pipe(self, reader, writer, way: str) -> None:
        piece = 1024
        try:
            while data := await reader.read(16384):
                for i in range(0, len(data), piece):
                    part = data[i : i + piece]
                    await self._pace(way, len(part))
                    if writer.is_closing():
                        return
                    writer.write(part)
                    await writer.drain()
                    setattr(self, way, getattr(self, way) + len(part))
                    if self.cut_at is not None and not self.cuts and self.down + self.up >= self.cut_at:
                        self.cuts += 1
                        for pair in list(self.connections):
                            for w in pair:
                                w.transport.abort()
                        return
            if writer.can_write_eof():
                writer.write_eof()
        except (ConnectionError, OSError, RuntimeError):
            writer.transport.abort()


# ================================================================== the run


def prepare_data(args, folder: Path, state: dict) -> tuple[Site, Site]:
    template = Site(folder, "empty")
    migrations = sorted(p.name for p in (SOURCE / "src" / "birtutas").glob("*/migrations/0*.py"))
    if state.get("template") != migrations:
        say("data: an empty, migrated database (the template of every node)")
        template.db.unlink(missing_ok=True)
        template.run("migrate", "--noinput", "-v", "0")
        state["template"] = migrations
        state.pop("centre", None)
        save_state(folder, state)
    centre = Site(folder, "centre")
    key = f"{args.students}:{args.seed}:{args.today}"
    if state.get("centre") != key:
        say(f"data: the centre: 1 school, {args.students} students, seed {args.seed}, today {args.today}")
        copy_empty(template, centre)
        _done, seconds = centre.run(
            "demo_data",
            "--schools",
            "1",
            "--students",
            str(args.students),
            "--seed",
            str(args.seed),
            "--today",
            args.today.isoformat(),
            "--quiet",
        )
        state["generation_seconds"] = round(seconds, 1)
        say(f"data: generated in {seconds:.1f} s; capturing (birtutas sync capture)")
        done, seconds = centre.run("sync", "capture", "-v", "0")
        captured = int(re.search(r"(\d+) records captured", done.stdout).group(1))
        _again, idle = centre.run("sync", "capture", "-v", "0")  # nothing left: the command's own start
        state["capture"] = {"records": captured, "seconds": round(seconds, 2), "start": round(idle, 2)}
        snapshot(centre, Site(folder, "centre-fresh"))
        state["centre"] = key
        state.pop("centre_b", None)
        save_state(folder, state)
    else:
        say(f"data: reusing the centre of an earlier run, as it was generated ({folder / 'centre-fresh.sqlite3'})")
        snapshot(Site(folder, "centre-fresh"), centre)
    return template, centre


def save_state(folder: Path, state: dict) -> None:
    (folder / "state.json").write_text(json.dumps(state, indent=2))


def link_transfer(relay: Relay, centre: Site, node: Site, org: str, name: str, template: Site) -> dict:
    copy_empty(template, node)
    register(centre, node, org, name)
    relay.setup()
    say(f"link: {name}: one sync round from an empty node, over loopback (through the counting relay)")
    result = node.worker("pull", f"http://127.0.0.1:{relay.port}/api/sync/v1/")
    result["relay_down"], result["relay_up"] = relay.counts()
    return result


def throttled_transfer(args, relay: Relay, centre: Site, node: Site, org: str, template: Site, expected: int) -> dict:
    copy_empty(template, node)
    register(centre, node, org, "bench-throttled")
    bytes_per_second = args.rate * 1000 / 8
    cut_at = expected // 2
    relay.setup(rate=bytes_per_second, cut_at=cut_at)
    url = f"http://127.0.0.1:{relay.port}/api/sync/v1/"
    say(
        f"throttled: {args.rate} kbit/s each way, cut once at {cut_at:,} B; expect about "
        f"{expected / bytes_per_second / 60:.1f} min of transfer"
    )
    started = time.monotonic()
    runs = []
    for attempt in range(1, 6):
        done, seconds = node.run("sync", "--url", url, check=False)
        runs.append(
            {
                "attempt": attempt,
                "returncode": done.returncode,
                "seconds": round(seconds, 1),
                "output": done.stdout.strip()[-300:],
                "error": done.stderr if done.returncode else "",
            }
        )
        say(f"\nthrottled: attempt {attempt} ended with {done.returncode} after {seconds:.1f} s")
        if done.returncode == 0:
            break
    wall = time.monotonic() - started
    down, up = relay.counts()
    check = node.worker("counts")
    return {
        "wall": wall,
        "runs": runs,
        "relay_down": down,
        "relay_up": up,
        "cuts": relay.cuts,
        "cut_at": cut_at,
        "counts": check,
        "last": parse_sync(runs[-1]["output"]) if runs[-1]["returncode"] == 0 else None,
    }


def offline_term(args, folder: Path, template: Site, state: dict, relay_port_base: int) -> dict:
    """Item 7: a node offline a whole term, catching up."""
    port = free_port()
    centre = Site(folder, "centre-b", centre_port=port)
    before = TERM_START - dt.timedelta(days=1)
    key = f"{args.students}:{args.seed}:{before}"
    if state.get("centre_b") != key:
        say(f"offline: a second centre, the school as it was on {before} (no lessons yet)")
        copy_empty(template, centre)
        centre.run(
            "demo_data",
            "--schools",
            "1",
            "--students",
            str(args.students),
            "--seed",
            str(args.seed),
            "--today",
            before.isoformat(),
            "--quiet",
        )
        centre.run("sync", "capture", "-v", "0")
        snapshot(centre, Site(folder, "centre-b-fresh"))
        state["centre_b"] = key
        save_state(folder, state)
    else:
        snapshot(Site(folder, "centre-b-fresh"), centre)
    node = Site(folder, "node-offline", centre_port=port, node=True)
    copy_empty(template, node)
    org = centre.worker("school")["uid"]
    out = {}
    with centre.server(port):
        register(centre, node, org, "bench-offline")
        say("offline: the node's first sync, before the term")
        done, seconds = node.run("sync")
        out["first"] = {**parse_sync(done.stdout), "wall": round(seconds, 1)}
        say(f"offline: a whole term written at the node (term 1, up to {args.today})")
        out["term"] = node.worker("offline-term", str(args.seed), args.today.isoformat())
        done, seconds = node.run("sync", "capture", "-v", "0")
        out["capture"] = {
            "records": int(re.search(r"(\d+) records captured", done.stdout).group(1)),
            "seconds": round(seconds, 2),
        }
        if args.profile:
            # What the centre holds, and both sides as they are before the push, for the profile at the end.
            (folder / "centre-b-have.json").write_text(json.dumps(centre.worker("have")))
            copy = Site(folder, "centre-b-profile")
            copy.env["BIRTUTAS_SYNC_KEYS_DIR"] = centre.env["BIRTUTAS_SYNC_KEYS_DIR"]
            snapshot(centre, copy)
            node_copy = Site(folder, "node-offline-profile", node=True)
            node_copy.env.update({k: node.env[k] for k in ("BIRTUTAS_NODE_FILE", "BIRTUTAS_SYNC_KEYS_DIR")})
            snapshot(node, node_copy)
        say("offline: the catch-up sync (push to the centre)")
        done, seconds = node.run("sync")
        out["catch_up"] = {**parse_sync(done.stdout), "wall": round(seconds, 1)}
        say(f"\noffline: caught up in {seconds:.1f} s")
    out["node_counts"] = node.worker("counts")
    out["centre_counts"] = centre.worker("counts")
    if args.profile:
        say("profile: the centre applying the node's pushed chunks up to the first of marks, then that one profiled")

        def profile_push():
            # Encoded now (not before the push) so that both ends run the same codec.py.
            node_copy.worker("encode-push", str(folder / "centre-b-have.json"), str(folder / "push.pickle"))
            return copy.worker("profile-push", str(folder / "push.pickle"))

        out["profile"] = attempt("profile of the push", profile_push)
    return out


def attempt(label: str, step, failed=None):
    """Run a later step; if it fails, say so and go on, so that the figures already measured are printed."""
    try:
        return step()
    except (Exception, SystemExit) as error:  # noqa: BLE001 - any failure of a step is reported, not fatal
        say(f"{label}: FAILED: {error}")
        return failed if failed is not None else {"what": f"FAILED: {str(error)[-300:]}", "text": ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--students", type=int, default=600)
    parser.add_argument("--quick", action="store_true", help="120 students: a fast check")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--today", type=dt.date.fromisoformat, default=dt.date(2026, 10, 25))
    parser.add_argument("--rate", type=int, default=256, help="the throttled link, kbit/s each way")
    parser.add_argument("--dir", type=Path, help="keep the data here and reuse it (default: a temporary directory)")
    parser.add_argument("--profile", action="store_true", help="cProfile one chunk of marks, both sides")
    parser.add_argument("--skip-throttled", action="store_true")
    parser.add_argument("--skip-offline", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.students = 120
    folder = args.dir.resolve() if args.dir else Path(tempfile.mkdtemp(prefix="birtutas-sync-"))
    folder.mkdir(parents=True, exist_ok=True)
    state_file = folder / "state.json"
    state = json.loads(state_file.read_text()) if state_file.exists() else {}
    started = time.monotonic()
    load = os.getloadavg()[0]
    freeze_source(folder)
    codec_at_start = codec_digest(SOURCE)
    try:
        template, centre = prepare_data(args, folder, state)
        say("encode: the whole plan of the school, in one process at the centre")
        enc = centre.worker("encode")
        say("dump: the centre's database as SQL, compressed")
        dump = centre.worker("dump")
        port = free_port()
        centre = Site(folder, "centre", centre_port=port)
        relay = Relay(port)
        with centre.server(port):
            fast = link_transfer(
                relay, centre, Site(folder, "node", centre_port=port, node=True), enc["org"], "bench-loopback", template
            )
            fast["centre_counts"] = centre.worker("counts")
            expected = fast["relay_down"] + fast["relay_up"]
            slow = None
            if not args.skip_throttled:
                node2 = Site(folder, "node-throttled", centre_port=port, node=True)
                slow = throttled_transfer(args, relay, centre, node2, enc["org"], template, expected)
        relay.close()
        offline = None
        if not args.skip_offline:
            offline = attempt("offline", lambda: offline_term(args, folder, template, state, port), failed={})
        profile = None
        if args.profile:
            node3 = Site(folder, "node-profile", node=True)
            copy_empty(template, node3)
            say("profile: the centre encoding one chunk of marks (the whole plan encoded again first)")
            profile = {"centre": attempt("profile", lambda: centre.worker("profile-encode", str(folder / "p.pickle")))}
            say("profile: an empty node applying the chunks up to that one, then that one profiled")
            profile["node"] = attempt("profile", lambda: node3.worker("profile-apply", str(folder / "p.pickle")))
    finally:
        if not args.dir:
            shutil.rmtree(folder, ignore_errors=True)
    codec_changed = codec_digest(ROOT) != codec_at_start
    results = {"enc": enc, "dump": dump, "fast": fast, "slow": slow, "offline": offline, "profile": profile}
    if args.dir:
        (folder / "results.json").write_text(json.dumps(results, indent=2, default=str))
    report(args, state, results, load, time.monotonic() - started, codec_changed, codec_at_start)


def codec_digest(tree: Path) -> str:
    import hashlib

    return hashlib.sha256((tree / "src" / "birtutas" / "sync" / "codec.py").read_bytes()).hexdigest()[:12]


# ================================================================== the report


def report(
    args, state, results: dict, load: float, total: float, codec_changed: bool, codec_digest_at_start: str
) -> None:
    enc, dump, fast, slow = results["enc"], results["dump"], results["fast"], results["slow"]
    offline, profile = results["offline"], results["profile"]
    cores = os.cpu_count()
    rate_bps = args.rate * 1000 / 8
    n = enc["records"]
    frames_total = enc["frame_bytes"]
    wire = fast["bytes_down"] + fast["bytes_up"]
    relay = fast["relay_down"] + fast["relay_up"]
    cap = state["capture"]
    p = print
    p(
        f"Sync benchmark: 1 school, {args.students} students, seed {args.seed}, demo data up to {args.today}: "
        f"{enc['counts'].get('journal.lesson', 0):,} lessons, {enc['counts'].get('journal.markentry', 0):,} journal "
        f"entries (marks, points, absences), {enc['counts'].get('journal.termclosure', 0)} term(s) closed."
    )
    p(
        f"Machine: {cores} cores, load average {load:.2f} at the start, {os.getloadavg()[0]:.2f} at the end; "
        f"the whole run took {total / 60:.1f} min."
    )
    p(f"Code: the tree as it was when the run started (codec.py sha256 {codec_digest_at_start}…)")
    if codec_changed:
        p("codec.py was edited in the tree during the run; the run used its copy from the start.")
    p()
    p(f"Records in the school's plan: {n:,} ({enc['plan_size']:,} changes), in {enc['chunks']} chunks.")
    p("Per kind (each chunk's records of one kind encoded alone):")
    p("| kind | records | bytes | B/record |")
    p("|---|---:|---:|---:|")
    kinds = sorted(enc["per_kind"].items(), key=lambda kv: -kv[1]["bytes"])
    for label, k in kinds[:8]:
        p(f"| {label} | {k['records']:,} | {k['bytes']:,} | {k['bytes'] / k['records']:.1f} |")
    rest = kinds[8:]
    if rest:
        p(
            f"| {len(rest)} other kinds | {sum(k['records'] for _, k in rest):,} | "
            f"{sum(k['bytes'] for _, k in rest):,} | |"
        )
    p()
    rows = []

    def row(figure, value, note=""):
        rows.append((figure, value, note))

    row(
        "Capture (`birtutas sync capture` after demo_data)",
        f"{cap['records']:,} records in {cap['seconds']:.1f} s",
        f"{rate(cap['records'], cap['seconds'] - cap['start'])} (less the command's start, {cap['start']:.1f} s)",
    )
    row(
        "Encoding at the centre (plan, states, codec, frames)",
        f"{n:,} records in {enc['encode_seconds']:.1f} s",
        rate(n, enc["encode_seconds"]),
    )
    row("Decoding alone (codec.decode, in process)", f"{enc['decode_seconds']:.1f} s", rate(n, enc["decode_seconds"]))
    link_s, node_s = fast["link_seconds"], fast["seconds"] - fast["link_seconds"]
    row(
        "Sync over loopback, empty node (one round, real link)",
        f"{fast['seconds']:.1f} s",
        rate(fast["pulled"], fast["seconds"]),
    )
    row(
        "  of which the node waits for the centre (encoding, signing, HTTP)",
        f"{link_s:.1f} s",
        rate(fast["pulled"], link_s),
    )
    row("  of which the node decodes, checks and applies", f"{node_s:.1f} s", rate(fast["pulled"], node_s))
    same = fast["counts"] == fast["centre_counts"]
    row(
        "  the node's journal tables equal the centre's (rows per table)",
        "yes" if same else "NO",
        "" if same else _diff(fast["counts"], fast["centre_counts"]),
    )
    row("Bytes: chunk bodies (compressed)", f"{enc['body_bytes']:,} B", f"{enc['body_bytes'] / n:.1f} B/record")
    per = frames_total / n
    row(
        "Bytes: sum of frame sizes (signed frames, headers included)",
        f"{frames_total:,} B",
        f"{per:.1f} B/record: goal ≤ {GOAL_BYTES_PER_RECORD}: {'met' if per <= GOAL_BYTES_PER_RECORD else 'MISSED'}",
    )
    row("Bytes: frames the node sent and received over the link", f"{wire:,} B", f"{wire / n:.1f} B/record")
    row("Bytes: TCP payload both ways (HTTP included)", f"{relay:,} B", f"{relay / n:.1f} B/record")
    for label in TOP_KINDS:
        k = enc["per_kind"].get(label)
        if k:
            row(
                f"  {label}", f"{k['records']:,} records, {k['bytes']:,} B", f"{k['bytes'] / k['records']:.1f} B/record"
            )
    if slow:
        resent = slow["relay_down"] + slow["relay_up"] - relay
        attempts = len(slow["runs"])
        ok = slow["last"] is not None and slow["counts"] == fast["centre_counts"]
        row(
            f"Throttled to {args.rate} kbit/s, cut once at {slow['cut_at']:,} B, then `birtutas sync` again",
            f"{slow['wall']:.0f} s ({slow['wall'] / 60:.1f} min) wall, {attempts} runs",
            f"complete and equal to the centre: {'yes' if ok else 'NO'}",
        )
        row("  the bytes of the same transfer at that rate (computed, no processing)", f"{relay / rate_bps:.0f} s", "")
        row(
            "  bytes sent again because of the cut (TCP payload, both ways)",
            f"{resent:,} B",
            f"{resent / relay:.1%} of the transfer",
        )
    for name, size, seconds in [
        ("SQL dump of the centre's whole database, zlib -9", dump["zlib"], dump["zlib_seconds"]),
        ("SQL dump of the centre's whole database, lzma", dump["lzma"], dump["lzma_seconds"]),
        ("the same without the sync's own tables (sync_*), lzma", dump["lzma_app"], None),
    ]:
        made = f", made in {seconds:.0f} s" if seconds else ""
        row(
            name,
            f"{size:,} B ({size / relay:.2f} × the sync){made}",
            f"{size / rate_bps:.0f} s at {args.rate} kbit/s (computed)",
        )
    if offline and "catch_up" in offline:
        up = offline["catch_up"]
        term = offline["term"]
        row(
            "Offline a whole term: written at the node (demo term writer)",
            f"{term['rows']:,} rows in {term['seconds']:.0f} s",
            f"{offline['capture']['records']:,} records captured in {offline['capture']['seconds']:.1f} s",
        )
        row(
            "Offline a whole term: catch-up `birtutas sync` (push, loopback)",
            f"{up['sent']:,} records, {up['bytes_up']:,} B, {up['wall']:.0f} s",
            f"{rate(up['sent'], up['seconds'])}, {up['bytes_up'] / max(1, up['sent']):.1f} B/record, "
            f"refused {up['refused']}",
        )
        row("  the same bytes at the throttled rate (computed)", f"{up['bytes_up'] / rate_bps:.0f} s", "")
        same = offline["node_counts"] == offline["centre_counts"]
        row(
            "  the centre's journal tables equal the node's",
            "yes" if same else "NO",
            "" if same else _diff(offline["node_counts"], offline["centre_counts"]),
        )
    p("| figure | value | per second, per record, verdict |")
    p("|---|---:|---|")
    for figure, value, note in rows:
        p(f"| {figure} | {value} | {note} |")
    p()
    if slow:
        for r in slow["runs"]:
            last = r["output"].splitlines()[-1] if r["output"] else r["error"]
            p(f"throttled run {r['attempt']}: exit {r['returncode']}, {r['seconds']} s: {last}")
        p()
    if offline and offline.get("profile"):
        profile = {**(profile or {}), "centre, a node's push": offline["profile"]}
    if profile:
        for side, found in profile.items():
            p(f"Profile, {side}: {found['what']}")
            p("```")
            p(found["text"])
            p("```")
    quick = " --quick" if args.quick else f" --students {args.students}"
    p(
        f"Reproduce: .venv/bin/python bench/sync.py{quick} --today {args.today} --seed {args.seed} --rate {args.rate}"
        + (" --profile" if args.profile else "")
    )


def _diff(a: dict, b: dict) -> str:
    keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    return "; ".join(f"{k}: {a.get(k)} vs {b.get(k)}" for k in keys[:6])


# ================================================================== worker tasks (inside one site)


def worker(task: str, args: list[str]) -> None:
    import django

    django.setup()
    answer = TASKS[task](*args)
    print(json.dumps(answer, default=str))


def _school():
    from birtutas.registry.models import Organization

    return Organization.objects.filter(kind="school").get()


def task_school() -> dict:
    return {"uid": str(_school().uid)}


def task_encode() -> dict:
    """The whole plan of the school, as the centre encodes it for an empty node."""
    from collections import defaultdict

    from birtutas.sync import codec, engine, frames, identity

    engine.prepare()
    org = _school()
    parts = engine.scope_partitions(org.uid)
    site = identity.this_site()
    started = time.perf_counter()
    plan = engine.make_plan({}, parts)
    out, frame_bytes, after = [], 0, None
    for chunk in engine.chunks(plan, parts):
        header = {
            "session": "00000000-0000-0000-0000-000000000000",
            "sender": str(site.id),
            "recipient": "00000000-0000-0000-0000-000000000000",
            "after": after,
            "first_key": chunk["first_key"],
            "last_key": chunk["last_key"],
            "n": chunk["n"],
            "plan": plan,
        }
        frame_bytes += len(frames.pack("chunk", header, chunk["body"], site.signing_key))
        after = chunk["last_key"]
        out.append(chunk)
        if len(out) % 10 == 0:
            sys.stderr.write(f"\rencode: {sum(c['n'] for c in out)} records {time.perf_counter() - started:.1f}s")
    encode_seconds = time.perf_counter() - started
    sys.stderr.write("\n")
    started = time.perf_counter()
    decoded = [codec.decode(c["body"]) for c in out]
    decode_seconds = time.perf_counter() - started
    per_kind: dict = defaultdict(lambda: {"records": 0, "bytes": 0})
    for records in decoded:
        by_kind = defaultdict(list)
        for r in records:
            by_kind[r["kind"]].append(r)
        for label, rs in by_kind.items():
            per_kind[label]["records"] += len(rs)
            per_kind[label]["bytes"] += len(codec.encode(rs))
    return {
        "org": str(org.uid),
        "plan_size": engine.plan_size(plan),
        "records": sum(c["n"] for c in out),
        "chunks": len(out),
        "body_bytes": sum(len(c["body"]) for c in out),
        "frame_bytes": frame_bytes,
        "encode_seconds": encode_seconds,
        "decode_seconds": decode_seconds,
        "per_kind": dict(per_kind),
        "counts": {k: v["records"] for k, v in per_kind.items()},
    }


def task_dump() -> dict:
    """The centre's whole database as SQL text (iterdump), compressed."""
    import lzma
    import sqlite3
    import zlib

    from django.db import connection

    path = connection.settings_dict["NAME"]
    connection.close()
    db = sqlite3.connect(path)
    started = time.perf_counter()
    text = "\n".join(db.iterdump()).encode()
    dump_seconds = time.perf_counter() - started
    db.close()
    app = b"\n".join(
        line
        for line in text.split(b"\n")
        if not re.match(rb'(INSERT INTO|CREATE TABLE|CREATE INDEX [^ ]+ ON) "?sync_', line)
    )
    started = time.perf_counter()
    z = len(zlib.compress(text, 9))
    zlib_seconds = time.perf_counter() - started
    started = time.perf_counter()
    x = len(lzma.compress(text))
    lzma_seconds = time.perf_counter() - started
    return {
        "raw": len(text),
        "dump_seconds": dump_seconds,
        "zlib": z,
        "zlib_seconds": zlib_seconds + dump_seconds,
        "lzma": x,
        "lzma_seconds": lzma_seconds + dump_seconds,
        "lzma_app": len(lzma.compress(app)),
        "file_bytes": os.path.getsize(path),
    }


def task_pull(url: str) -> dict:
    """One sync round at this (empty) node, as `birtutas sync` runs it, timing the waits for the centre."""
    from birtutas.kernel.context import Via, acting_via
    from birtutas.sync import client

    class TimedLink(client.Link):
        waited = 0.0
        calls = 0

        def call(self, *a, **k):
            t = time.perf_counter()
            try:
                return super().call(*a, **k)
            finally:
                self.waited += time.perf_counter() - t
                self.calls += 1

    link = TimedLink(url)

    def progress(what, done, total=None):
        sys.stderr.write(f"\r{what}: {done}/{total}   ")

    with acting_via(Via.SYNC):
        report = client.sync_once(url, link=link, progress=progress)
    sys.stderr.write("\n")
    return {
        "pulled": report.pulled,
        "pushed": report.pushed,
        "bytes_down": report.bytes_down,
        "bytes_up": report.bytes_up,
        "chunks_down": report.chunks_down,
        "refused": len(report.refused),
        "seconds": report.seconds,
        "link_seconds": link.waited,
        "calls": link.calls,
        "counts": task_counts(),
    }


def task_counts() -> dict:
    """Rows per journal table (the school's: it is the only one) and the journal's audit rows, to compare
    two sites. (Other tables differ by design: the centre holds people and accounts outside the school's
    scope, and each site keeps its own audit of the sync.)"""
    from django.db import connection

    from birtutas.kernel.models import AuditEvent

    with connection.cursor() as cursor:
        tables = sorted(t for t in connection.introspection.table_names(cursor) if t.startswith("journal_"))
        out = {}
        for table in tables:
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 - our own table names
            out[table] = cursor.fetchone()[0]
    out["kernel_auditevent (journal events)"] = AuditEvent.objects.filter(
        event__in=["mark.set", "points.set", "attendance.set"]
    ).count()
    return out


def task_offline_term(seed: str, today: str) -> dict:
    """A whole term written at this node with the demo generator's term writer, and the term closed."""
    import random

    from django.db import transaction

    from birtutas.curriculum.models import LearningObjective, Subject
    from birtutas.demo import ClassSpec, DemoSize, Generator, _days
    from birtutas.journal import entries
    from birtutas.journal.models import Enrollment, SchoolClass, TeachingAssignment, TermClosure
    from birtutas.journal.services import compute_term_grades
    from birtutas.kernel import hlc
    from birtutas.registry import queries
    from birtutas.registry.models import Term, User
    from birtutas.sync.models import Dirty

    org = _school()
    g = Generator(
        DemoSize(
            schools=1,
            students=0,
            seed=int(seed),
            today=dt.date.fromisoformat(today),
            demo_accounts=False,
            progress=False,
        ),
        log=say,
    )
    g.rng = random.Random(f"{seed}:offline-term")
    classes = list(SchoolClass.objects.filter(organization=org).order_by("grade", "letter"))
    g.year = classes[0].year
    g.terms = list(Term.objects.filter(year=g.year).order_by("number"))
    g.holiday_days = {d for h in queries.holidays_of(None, g.year) for d in _days(h.starts_on, h.ends_on)}
    g.subjects = {s.code: s for s in Subject.objects.all()}
    g.objectives = {}
    for objective in LearningObjective.objects.all():
        g.objectives.setdefault((objective.subject_id, objective.grade), []).append(objective)
    for found in g.objectives.values():
        found.sort(key=lambda o: tuple(int(part) for part in o.code.split(".")))
    specs = []
    for c in classes:
        spec = ClassSpec(c.grade, c.letter, c.language, c.shift, school_class=c)
        spec.kids = [
            e.student for e in Enrollment.objects.filter(school_class=c).select_related("student").order_by("pk")
        ]
        specs.append(spec)
    assignments = list(TeachingAssignment.objects.filter(school_class__in=classes).select_related("subject"))
    users = dict(User.objects.filter(person_id__in=[a.teacher_id for a in assignments]).values_list("person_id", "pk"))
    g.assignment_user = {a.pk: users[a.teacher_id] for a in assignments}
    g.assignment_code = {a.pk: a.subject.code for a in assignments}
    term = g.terms[0]
    dirty_before = Dirty.objects.count()
    started = time.perf_counter()
    with transaction.atomic():
        g.term_records(org, specs, term)
        compute_term_grades(term, TeachingAssignment.objects.filter(school_class__organization=org))
        stamp = hlc.stamp(after=entries.term_stamp(org.pk, term.pk))
        TermClosure.objects.create(organization=org, term=term, closed_by=None, stamp=stamp)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": Dirty.objects.count() - dirty_before}


def _top(profiler, limit: int = 10) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(limit)
    lines = out.getvalue().splitlines()
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    kept = [
        re.sub(r"/\S*/(site-packages|lib/python3\.\d+)/", "", line.replace(str(ROOT) + "/", ""))
        for line in lines[start:]
    ]
    return "\n".join(line for line in kept[: limit + 1] if line.strip())


def _first_marks_chunk(chunks: list) -> int:
    from birtutas.sync.kinds import RANK

    rank = RANK["journal.markentry"]
    return next(i for i, c in enumerate(chunks) if c["first_key"][0] == rank and c["last_key"][0] == rank)


def task_profile_encode(pickle_path: str) -> dict:
    import cProfile
    import pickle

    from birtutas.sync import engine

    org = _school()
    parts = engine.scope_partitions(org.uid)
    plan = engine.make_plan({}, parts)
    chunks = list(engine.chunks(plan, parts))
    Path(pickle_path).write_bytes(pickle.dumps({"plan": plan, "chunks": chunks, "org": str(org.uid)}))
    i = _first_marks_chunk(chunks)
    after = chunks[i - 1]["last_key"]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    chunk = next(engine.chunks(plan, parts, after=after))
    profiler.disable()
    seconds = time.perf_counter() - started
    return {
        "what": f"engine.chunks: the chunk after {after}, {chunk['n']} records, {len(chunk['body']):,} B, "
        f"{seconds:.2f} s under the profiler",
        "text": _top(profiler),
    }


def task_profile_apply(pickle_path: str) -> dict:
    import cProfile
    import pickle

    from django.db import transaction

    from birtutas.kernel.context import Via, acting_via
    from birtutas.sync import engine
    from birtutas.sync.apply import Sender

    data = pickle.loads(Path(pickle_path).read_bytes())  # noqa: S301 - written by this script
    chunks = data["chunks"]
    i = _first_marks_chunk(chunks)
    sender = Sender()
    started = time.perf_counter()
    with acting_via(Via.SYNC):
        for k, chunk in enumerate(chunks[:i]):
            with transaction.atomic():
                engine.apply_chunk(chunk["body"], sender)
            sys.stderr.write(f"\rapplied {k + 1}/{i} chunks {time.perf_counter() - started:.0f}s")
        sys.stderr.write("\n")
        before = time.perf_counter() - started
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.enable()
        with transaction.atomic():
            outcome = engine.apply_chunk(chunks[i]["body"], sender)
        profiler.disable()
        seconds = time.perf_counter() - t
    n = sum(c["n"] for c in chunks[:i])
    return {
        "what": f"engine.apply_chunk: chunk {i}, {chunks[i]['n']} marks, written {outcome.written}, parked "
        f"{outcome.parked}, {seconds:.2f} s under the profiler (the {n:,} records before it applied in process "
        f"in {before:.0f} s: {rate(n, before)})",
        "text": _top(profiler),
    }


def task_have() -> dict:
    """What this site holds of the school's partitions (the vector a hello answers with)."""
    import uuid

    from birtutas.sync import engine, have

    return have.vector({uuid.UUID(p) for p in engine.scope_partitions(_school().uid)})


def task_encode_push(have_path: str, pickle_path: str) -> dict:
    """At a node: the push to the centre, as the link would send it (against what the centre holds)."""
    import pickle

    from birtutas.sync import engine, identity

    engine.prepare()
    site = identity.this_site()
    parts = engine.scope_partitions(site.organization_uid, writable=True)
    plan = engine.make_plan(json.loads(Path(have_path).read_text()), parts)
    chunks = list(engine.chunks(plan, parts))
    Path(pickle_path).write_bytes(pickle.dumps({"plan": plan, "chunks": chunks, "org": str(site.organization_uid)}))
    return {"records": sum(c["n"] for c in chunks), "chunks": len(chunks)}


def task_profile_push(pickle_path: str) -> dict:
    """At (a copy of) the centre: a node's pushed chunks applied as the link applies them, one of marks profiled."""
    import cProfile
    import pickle
    import uuid

    from django.db import transaction

    from birtutas.kernel.context import Via, acting_via
    from birtutas.sync import engine
    from birtutas.sync.apply import Sender
    from birtutas.sync.models import Node

    data = pickle.loads(Path(pickle_path).read_bytes())  # noqa: S301 - written by this script
    chunks = data["chunks"]
    i = _first_marks_chunk(chunks)
    sender = Sender(node=Node.objects.get(organization__uid=data["org"]), session=uuid.uuid4())
    started = time.perf_counter()
    with acting_via(Via.SYNC):
        for k, chunk in enumerate(chunks[:i]):
            with transaction.atomic():
                engine.apply_chunk(chunk["body"], sender)
            sys.stderr.write(f"\rapplied {k + 1}/{i} chunks {time.perf_counter() - started:.0f}s")
        sys.stderr.write("\n")
        before = time.perf_counter() - started
        profiler = cProfile.Profile()
        t = time.perf_counter()
        profiler.enable()
        with transaction.atomic():
            outcome = engine.apply_chunk(chunks[i]["body"], sender)
        profiler.disable()
        seconds = time.perf_counter() - t
    n = sum(c["n"] for c in chunks[:i])
    return {
        "what": f"engine.apply_chunk with the node as sender (scope and permission checks): chunk {i}, "
        f"{chunks[i]['n']} marks, written {outcome.written}, refused {len(outcome.refused)}, {seconds:.2f} s under "
        f"the profiler (the {n:,} records before it applied in process in {before:.0f} s: {rate(n, before)})",
        "text": _top(profiler),
    }


TASKS = {
    "have": task_have,
    "encode-push": task_encode_push,
    "profile-push": task_profile_push,
    "school": task_school,
    "encode": task_encode,
    "dump": task_dump,
    "pull": task_pull,
    "counts": task_counts,
    "offline-term": task_offline_term,
    "profile-encode": task_profile_encode,
    "profile-apply": task_profile_apply,
}


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(sys.argv[2], sys.argv[3:])
    else:
        main()
