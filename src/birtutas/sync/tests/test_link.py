"""Sync over a link, across processes: the central server is a real web server on 127.0.0.1 (its own SQLite
file), the school node is `birtutas sync` and Python snippets in child processes (its own SQLite file,
node file and keys), and a proxy of the test's own sits on the link to cut it, refuse it or keep what
passed. Nothing is mocked at the wire; this process holds no database and reads the sites' files.

The first sync brings the node its school and nothing of the other school; edits travel both ways with
their audit rows; a link cut in the middle of a pull or a push is resumed, with no duplicates; chunks
sent twice, out of order, cut or damaged are refused or acknowledged without being written again; a
revoked node is refused and told why; a node a day early or late merges to one state on both sides;
a node restored from an old backup gets its lost edits back without reviving what was deleted; and a
central server restored from a backup is sent again what it lost.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import http.server
import json
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from birtutas.kernel.ids import SHARED
from birtutas.sync.kinds import KINDS

from .proxy import Proxy
from .sites import API, Centre, Node, Templates, build_templates, counts, rows

DAY_MS = 86_400_000
PUSH = r"^POST /\S+/push/[0-9a-f-]+$"
PULL_AFTER = r"^GET /\S+/pull/[0-9a-f-]+\?after="
SMALL_CHUNKS = 700  # bytes: the few records a test writes travel in several chunks

# A school's teacher ("teacher") and director ("director") at work, on whichever site runs it. Lessons are
# picked by index in uid order, the same on every site that holds them; cells among the empty ones.
WORK = """
from birtutas.journal import bells, services
from birtutas.journal.models import Attendance, BellPeriod, Enrollment, Lesson, Mark
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import User
from birtutas.sync import engine

teacher = User.objects.get(username="teacher")
lessons = list(Lesson.objects.filter(assignment__teacher=teacher.person, date__lte=args["today"]).order_by("uid"))
first_audit = AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def cells():
    for lesson in lessons:
        students = Enrollment.objects.filter(school_class=lesson.assignment.school_class).order_by("student__uid")
        for enrollment in students:
            yield lesson, enrollment.student


def held(lesson, student, model):
    return model.objects.filter(lesson=lesson, student=student).exists()


result = {"steps": []}
for step, *given in args["steps"]:
    if step == "new":  # the n-th empty cell (negative: from the end): the teacher types a mark in it
        lesson, student = [c for c in cells() if not held(*c, Mark) and not held(*c, Attendance)][given[0]]
        services.set_cell(teacher, lesson.pk, student.pk, given[1])
        result["steps"].append([str(lesson.uid), str(student.uid)])
    elif step == "clear":  # the teacher empties the first cell holding a mark, but for the cells given
        skip = {tuple(c) for c in given[0]}
        lesson, student = next(
            c for c in cells() if held(*c, Mark) and (str(c[0].uid), str(c[1].uid)) not in skip
        )
        services.set_cell(teacher, lesson.pk, student.pk, "")
        result["steps"].append([str(lesson.uid), str(student.uid)])
    elif step == "topic":  # lesson index, the new topic
        lesson = lessons[given[0]]
        objectives = list(lesson.objectives.values_list("pk", flat=True))
        services.update_lesson(
            teacher, lesson.pk, topic=given[1], homework=lesson.homework, homework_due=lesson.homework_due,
            objective_ids=objectives,
        )
        result["steps"].append(str(lesson.uid))
    elif step == "bell":  # the director removes the last period of the school's first shift
        director = User.objects.get(username="director")
        school = lessons[0].assignment.school_class.organization_id
        bell = BellPeriod.objects.filter(organization_id=school, shift=1).order_by("-period").first()
        bells.set_bell_schedule(director, school, 1, {bell.period: None})
        result["steps"].append(str(bell.uid))
if args.get("capture", True):
    engine.prepare()  # what the background capture does: the new rows get their uids
    result["audit"] = [str(u) for u in AuditEvent.objects.filter(pk__gt=first_audit).values_list("uid", flat=True)]
"""

# One round of `sync_once`, the node's own, but pulling before pushing: the push is held back until the pull is in.
PULL_FIRST = """
from birtutas.kernel.context import Via, acting_via
from birtutas.sync import client

push, pull, held_back = client._push, client._pull, []
client._push = lambda *given: held_back.append(given)


def pull_then_push(*given):
    pull(*given)
    push(*held_back.pop())


client._pull = pull_then_push
with acting_via(Via.SYNC):
    report = client.sync_once(args["url"])
result = {"pushed": report.pushed, "pulled": report.pulled}
"""

# The chunk frames of the node's open push session, as the node signs them (its own code and key).
FRAMES = """
from birtutas.sync import engine, frames, identity
from birtutas.sync.models import Session

site = identity.this_site()
session = Session.objects.get(kind="push", state="open")
plan, remote = session.plan["plan"], session.plan["remote"]
writable = engine.scope_partitions(site.organization_uid, writable=True)
result, after = [], None
for chunk in engine.chunks(plan, writable, limit=args["limit"]):
    header = {
        "session": remote, "sender": str(site.id), "recipient": args["centre"], "seq": len(result), "after": after,
        "first_key": chunk["first_key"], "last_key": chunk["last_key"], "n": chunk["n"], "plan": plan,
        "conflicts": chunk["conflicts"],
    }
    result.append(frames.pack("chunk", header, chunk["body"], site.signing_key).hex())
    after = chunk["last_key"]
"""

# POST bodies to the centre as the node does after its hello: each request signed with the node's key.
SEND = """
from birtutas.sync import client, identity

link = client.Link(args["url"])
link.signing_key = identity.this_site().signing_key
result = []
for body in args["bodies"]:
    try:
        status, answer = link.call("POST", args["path"], bytes.fromhex(body), "application/octet-stream")
        result.append([status, json.loads(answer)])
    except client.LinkError as error:
        result.append([error.status, error.answer])
"""


def hexid(value) -> str:
    return uuid.UUID(str(value)).hex


@dataclass
class Base:
    templates: Templates
    centre: Path  # the central server's database right after the first sync
    node: Path  # the node's
    output: str  # what the first `birtutas sync` printed


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Base:
    """The templates, and one first sync from them: most tests start where it ended (sync 1)."""
    folder = tmp_path_factory.mktemp("link")
    templates = build_templates(folder / "templates")
    centre = templates.centre_site(folder / "first-centre")
    node = templates.node_site(folder / "first-node")
    centre.start()
    try:
        first = node.sync(centre.url)
    finally:
        centre.stop()
    assert first.returncode == 0, first.stderr
    return Base(templates, centre.database, node.database, first.stdout)


class Sites:
    """Central servers and nodes of one test, copied from the module's templates; servers stopped at the end."""

    def __init__(self, base: Base, folder: Path):
        self.base, self.folder = base, folder
        self.centres: list[Centre] = []
        self.proxies: list[Proxy] = []

    def centre(self, *, synced: bool = True, chunk_limit: int | None = None) -> Centre:
        centre = self.base.templates.centre_site(
            self.folder / f"centre-{len(self.centres)}", database=self.base.centre if synced else None
        )
        self.centres.append(centre)
        centre.start(chunk_limit=chunk_limit)
        return centre

    def node(self, *, synced: bool = True, skew_ms: int = 0) -> Node:
        env = {"BIRTUTAS_CLOCK_SKEW_MS": str(skew_ms)} if skew_ms else None
        return self.base.templates.node_site(self.folder / "node", database=self.base.node if synced else None, env=env)

    def proxy(self, centre: Centre) -> Proxy:
        proxy = Proxy(centre.port)
        self.proxies.append(proxy)
        return proxy

    def close(self) -> None:
        for proxy in self.proxies:
            proxy.close()
        for centre in self.centres:
            centre.stop()


@pytest.fixture
def sites(base, tmp_path):
    made = Sites(base, tmp_path)
    yield made
    made.close()


# ------------------------------------------------------------------ reading the sites' files


def school_uids(database: Path, kind, school: str) -> set[str]:
    """At the centre: the kind's records that belong to the school or to everyone (the change log's partitions)."""
    return {
        u
        for (u,) in rows(
            database,
            f"SELECT DISTINCT t.uid FROM {kind.table} t JOIN sync_change c ON c.uid = t.uid AND c.kind = ? "  # noqa: S608
            "WHERE c.partition IN (?, ?)",
            kind.label,
            hexid(school),
            SHARED.hex,
        )
    }


def all_uids(database: Path, kind) -> set[str]:
    return {u for (u,) in rows(database, f"SELECT uid FROM {kind.table}")}  # noqa: S608


def assert_node_holds_its_school(centre: Path, node: Path, school: str) -> None:
    """Every travelling record of the school (and of everyone) on both sides, the same ones, nothing else."""
    differ = {}
    for kind in KINDS:
        there, here = school_uids(centre, kind, school), all_uids(node, kind)
        if there != here:
            differ[kind.label] = {"only at the centre": len(there - here), "only at the node": len(here - there)}
    assert not differ, differ


def held(database: Path) -> int:
    """How many travelling records a site holds."""
    return sum(rows(database, f"SELECT count(*) FROM {kind.table}")[0][0] for kind in KINDS)  # noqa: S608


def marks(database: Path) -> dict[tuple[str, str], int]:
    """The journal's cells that hold a mark, by (lesson uid, student uid)."""
    return {
        (lesson, student): value
        for lesson, student, value in rows(
            database,
            "SELECT l.uid, p.uid, m.value FROM journal_mark m JOIN journal_lesson l ON l.id = m.lesson_id "
            "JOIN registry_person p ON p.id = m.student_id",
        )
    }


def topic(database: Path, lesson: str) -> str | None:
    found = rows(database, "SELECT topic FROM journal_lesson WHERE uid = ?", hexid(lesson))
    return found[0][0] if found else None


def entries(database: Path, school: str) -> int:
    return rows(
        database,
        "SELECT count(*) FROM journal_markentry e JOIN registry_organization o ON o.id = e.organization_id "
        "WHERE o.uid = ?",
        hexid(school),
    )[0][0]


def audit_held(database: Path, uids: list[str]) -> int:
    marks_ = ",".join("?" * len(uids))
    return rows(database, f"SELECT count(*) FROM kernel_auditevent WHERE uid IN ({marks_})", *map(hexid, uids))[0][0]  # noqa: S608


def conflicts(database: Path, lesson: str) -> list[str]:
    return [f for (f,) in rows(database, "SELECT field FROM sync_conflict WHERE uid = ?", hexid(lesson))]


def fingerprint(database: Path) -> str:
    """Every travelling row, as stored: equal exactly when nothing of the application's data changed."""
    digest = hashlib.sha256()
    for kind in KINDS:
        digest.update(repr(rows(database, f"SELECT * FROM {kind.table} ORDER BY id")).encode())  # noqa: S608
    return digest.hexdigest()


def own_changes(node: Node, school: str) -> int:
    """The records of its school this node changed itself: what its next push must carry."""
    return node.value(
        "SELECT count(*) FROM sync_change WHERE partition = ? AND origin IN (SELECT id FROM sync_origin WHERE is_self)",
        hexid(school),
    )


def frame_header(frame: bytes) -> dict:
    (length,) = struct.unpack(">I", frame[5:9])
    return json.loads(frame[9 : 9 + length])


def replay(port: int, request: bytes) -> tuple[int, dict]:
    """Send an HTTP request, as recorded on the link, to the server again; its status and JSON answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as link:
        link.sendall(request)
        answer = b""
        while piece := link.recv(65536):
            answer += piece
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def ok(done) -> str:
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def failed(done) -> str:
    """A sync that failed, as it should: a non-zero exit. Returns what it said (see `assert_clear`)."""
    assert done.returncode != 0, done.stdout
    return done.stderr


class UnclearMessage(AssertionError):
    """A failed sync printed a traceback instead of saying what happened."""


def assert_clear(*messages: str) -> None:
    """Each failure said in one clear line why it stopped, with no traceback. Checked last in a test, so
    that an unclear message does not hide what the rest of the test proves."""
    for message in messages:
        if "Traceback" in message or "CommandError" not in message:
            raise UnclearMessage(message[-1500:])


class MissingConflict(AssertionError):
    """A concurrent edit was resolved, but one side keeps no sync.Conflict row of it."""


# ------------------------------------------------------------------ the proxy itself


def test_the_proxy_passes_throttles_cuts_and_refuses(tmp_path):
    blob = bytes(range(256)) * 400  # 100 KiB
    (tmp_path / "blob").write_bytes(blob)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        with Proxy(server.server_address[1]) as proxy:

            def fetch() -> bytes:
                with urllib.request.urlopen(proxy.url + "blob", timeout=10) as answer:  # noqa: S310 - loopback
                    return answer.read()

            assert fetch() == blob
            proxy.throttle(400_000)  # bytes per second: 100 KiB takes a quarter of a second
            started = time.monotonic()
            assert fetch() == blob
            assert 0.24 < time.monotonic() - started < 2
            proxy.throttle(None)
            proxy.cut_response(r"^GET /blob", after=5000)
            with pytest.raises(http.client.IncompleteRead):
                fetch()
            assert proxy.exchanges[-1].cut == "response" and proxy.exchanges[-1].response_bytes == 5000
            proxy.down()
            with pytest.raises(urllib.error.URLError) as refused:
                fetch()
            assert isinstance(refused.value.reason, ConnectionRefusedError)
            proxy.up()
            assert fetch() == blob
            assert [e.status for e in proxy.exchanges] == [200, 200, 200, 200]
        server.shutdown()


# ------------------------------------------------------------------ the first sync


def test_the_first_sync_brings_the_school_and_nothing_of_the_other(base):
    sent, received = counts(base.output)
    assert sent == 0 and received > 1000
    school, other = base.templates.school, base.templates.other
    assert_node_holds_its_school(base.centre, base.node, school)

    # No one who is only at the other school, and none of its audit rows: checked against the centre's own
    # tables, not the change log.
    people_of = """
        SELECT DISTINCT p.uid FROM registry_person p
        LEFT JOIN registry_membership m ON m.person_id = p.id
        LEFT JOIN journal_enrollment e ON e.student_id = p.id
        LEFT JOIN journal_schoolclass k ON k.id = e.school_class_id
        JOIN registry_organization o ON o.id = coalesce(m.organization_id, k.organization_id)
        WHERE o.uid = ?"""
    theirs = {u for (u,) in rows(base.centre, people_of, hexid(other))}
    ours = {u for (u,) in rows(base.centre, people_of, hexid(school))}
    only_theirs = theirs - ours
    assert len(only_theirs) > 20
    at_node = {u for (u,) in rows(base.node, "SELECT uid FROM registry_person")}
    assert ours <= at_node and not only_theirs & at_node
    audit_of = (
        "SELECT count(*) FROM kernel_auditevent a JOIN registry_organization o ON o.id = a.organization_id "
        "WHERE o.uid = ?"
    )
    assert rows(base.centre, audit_of, hexid(other))[0][0] > 0
    assert rows(base.node, audit_of, hexid(other))[0][0] == 0
    assert rows(base.node, audit_of, hexid(school))[0][0] == rows(base.centre, audit_of, hexid(school))[0][0] > 0
    assert entries(base.node, school) == entries(base.centre, school) > 0
    assert entries(base.node, other) == 0


# ------------------------------------------------------------------ edits both ways


def test_edits_travel_both_ways_with_their_audit_rows(sites):
    centre, node = sites.centre(), sites.node()
    at_node = node.run(WORK, steps=[["new", 0, "9"], ["topic", 2, "Fractions, made at the school"]])
    at_centre = centre.run(WORK, steps=[["new", -1, "7"], ["topic", 3, "Decimals, made at the centre"]])
    assert len(at_node["audit"]) == len(at_centre["audit"]) == 2

    sent, received = counts(ok(node.sync(centre.url)))
    assert sent >= 4 and received >= 4  # each side's entry, lesson and two audit rows

    (node_cell, node_lesson), (centre_cell, centre_lesson) = at_node["steps"], at_centre["steps"]
    for site in (centre, node):
        held = marks(site.database)
        assert held[tuple(map(hexid, node_cell))] == 9 and held[tuple(map(hexid, centre_cell))] == 7
        assert topic(site.database, node_lesson) == "Fractions, made at the school"
        assert topic(site.database, centre_lesson) == "Decimals, made at the centre"
        assert audit_held(site.database, at_node["audit"] + at_centre["audit"]) == 4
    school = sites.base.templates.school
    assert entries(centre.database, school) == entries(node.database, school)
    assert_node_holds_its_school(centre.database, node.database, school)


# ------------------------------------------------------------------ a link cut in the middle


def test_a_pull_cut_in_the_middle_of_a_chunk_resumes_where_it_stopped(sites):
    centre = sites.centre(synced=False, chunk_limit=12_000)
    node = sites.node(synced=False)
    proxy = sites.proxy(centre)
    proxy.cut_response(PULL_AFTER, after=3000)  # the second chunk of the pull: its first 3000 bytes, then nothing

    message = failed(node.sync(proxy.url))
    cut = proxy.matching(PULL_AFTER)
    assert cut[0].cut == "response" and cut[0].response_bytes == 3000
    school = sites.base.templates.school
    partly = held(node.database)
    assert 0 < partly < held(sites.base.node)  # the chunks before the cut are in

    _sent, received = counts(ok(node.sync(proxy.url)))
    _sent, total = counts(sites.base.output)
    resumed = proxy.matching(r"^GET /\S+/pull/")[len(cut) + 1 :]
    assert resumed and "after=" in resumed[0].path  # the second run asked for what follows the applied chunk
    assert 0 < received < total
    assert_node_holds_its_school(centre.database, node.database, school)
    assert entries(node.database, school) == entries(centre.database, school)
    assert marks(node.database) == {k: v for k, v in marks(centre.database).items() if k in marks(node.database)}
    assert len(marks(node.database)) == len(marks(sites.base.node))
    assert_clear(message)


def test_a_push_cut_in_the_middle_resumes_and_nothing_is_written_twice(sites):
    centre, node = sites.centre(), sites.node()
    cells = [["new", 0, str(3 + n)] for n in range(6)]  # the first empty cell, six times
    work = node.run(WORK, steps=cells + [["topic", i, f"Topic {i}"] for i in range(6)])
    school = sites.base.templates.school
    total = own_changes(node, school)
    assert total == 2 * len(work["audit"]) == 24  # each mark's entry, each lesson, and their audit rows
    before = entries(centre.database, school)
    proxy = sites.proxy(centre)

    # The answer to the second chunk is lost: the centre applied it, the node never heard so.
    proxy.cut_response(PUSH, after=0, nth=2)
    lost_answer = failed(node.sync(proxy.url, chunk_limit=SMALL_CHUNKS))
    pushes = proxy.matching(PUSH)
    assert len(pushes) == 2 and pushes[1].status == 200  # the centre took it ...
    assert pushes[1].cut == "response" and pushes[1].response_bytes == 0  # ... and the node heard nothing

    # The link drops in the middle of the next chunk's upload: the centre gets a cut frame, applies nothing.
    proxy.clear()
    proxy.cut_request(PUSH, after=400)
    lost_upload = failed(node.sync(proxy.url, chunk_limit=SMALL_CHUNKS))
    second = proxy.matching(PUSH)[2:]
    assert len(second) == 1 and second[0].cut == "request"
    resumed_after = frame_header(second[0].body)["after"]
    assert resumed_after == frame_header(pushes[1].body)["last_key"]  # it resumed after the unacknowledged chunk

    proxy.clear()
    sent, _received = counts(ok(node.sync(proxy.url, chunk_limit=SMALL_CHUNKS)))
    assert 0 < sent < total
    applied = centre.rows("SELECT records, chunks FROM sync_session WHERE kind = 'push' AND records > 0")
    assert sum(r for r, _c in applied) == total  # every record applied once, no chunk twice
    assert entries(centre.database, school) == before + len(cells) == entries(node.database, school)
    assert audit_held(centre.database, work["audit"]) == len(work["audit"])
    assert_node_holds_its_school(centre.database, node.database, school)
    assert marks(centre.database) == marks(node.database) | {
        k: v for k, v in marks(centre.database).items() if k not in marks(node.database)
    }
    assert_clear(lost_answer, lost_upload)


# ------------------------------------------------------------------ chunks twice, out of order, cut, damaged


def test_a_chunk_twice_is_acknowledged_once_and_a_chunk_out_of_order_cut_or_damaged_is_refused(sites):
    centre, node = sites.centre(), sites.node()
    work = node.run(WORK, steps=[["new", 0, str(4 + n)] for n in range(6)] + [["topic", 0, "Chunked"]])
    proxy = sites.proxy(centre)
    proxy.swallow(PUSH, nth=2)  # the second chunk never reaches the centre; the node stops there
    failed(node.sync(proxy.url, chunk_limit=SMALL_CHUNKS))
    sent, swallowed = proxy.matching(PUSH)
    first, second = sent.body, swallowed.body
    head = frame_header(first)
    path = f"push/{head['session']}"

    def centre_state():
        session = centre.rows("SELECT last_key, chunks, records FROM sync_session WHERE id = ?", hexid(head["session"]))
        return fingerprint(centre.database), session

    before = centre_state()
    assert json.loads(before[1][0][0]) == head["last_key"]  # the first chunk is in, and only it

    status, answer = replay(centre.port, sent.request)  # the same request, byte for byte, again
    assert status == 200 and answer["duplicate"] is True and answer["written"] == 0
    assert answer["last_key"] == head["last_key"]
    damaged = bytearray(swallowed.request)
    damaged[-100] ^= 0x01  # one bit of the second chunk, on the way
    status, answer = replay(centre.port, bytes(damaged))
    assert status == 403 and answer["error"] == "signature" and answer["detail"]

    # Sent by the node itself, each request signed: the third chunk before the second, which the centre refuses
    # naming the chunk it expects; the second cut short; the second with one bit changed.
    frames = [bytes.fromhex(f) for f in node.run(FRAMES, limit=SMALL_CHUNKS, centre=head["recipient"])]
    assert frames[1] == second and len(frames) >= 3
    body_at = 13 + struct.unpack(">I", second[5:9])[0] + 10
    flipped = second[:body_at] + bytes([second[body_at] ^ 0x01]) + second[body_at + 1 :]
    bodies = [frames[2], second[: len(second) // 2], flipped]
    out_of_order, cut, damaged = node.run(SEND, url=centre.url + API, path=path, bodies=[b.hex() for b in bodies])
    assert out_of_order[0] == 409 and head["last_key"][1] in out_of_order[1]["detail"]
    assert cut[0] == 400 and cut[1]["error"] == "corrupt" and cut[1]["detail"]
    assert damaged[0] == 403 and damaged[1]["error"] == "signature" and damaged[1]["detail"]
    assert centre_state() == before  # nothing of any of them was written

    # The node resumes: the second chunk once, and the rest.
    ok(node.sync(proxy.url, chunk_limit=SMALL_CHUNKS))
    school = sites.base.templates.school
    assert entries(centre.database, school) == entries(node.database, school)
    assert audit_held(centre.database, work["audit"]) == len(work["audit"])
    records = centre.value("SELECT records FROM sync_session WHERE id = ?", hexid(head["session"]))
    assert records == own_changes(node, school)  # every record applied once


# ------------------------------------------------------------------ a revoked node, a link that is down


def test_a_revoked_node_is_refused_and_told_why_and_a_link_down_changes_nothing(sites):
    centre, node = sites.centre(), sites.node()
    node.run(WORK, steps=[["new", 0, "6"], ["topic", 0, "Written while the link was down"]])
    proxy = sites.proxy(centre)
    before = fingerprint(centre.database), fingerprint(node.database)
    proxy.down()
    no_link = failed(node.sync(proxy.url))
    assert "no link to the central server" in no_link
    assert not proxy.exchanges
    assert (fingerprint(centre.database), fingerprint(node.database)) == before

    centre.command("node", "revoke", sites.base.templates.node_id, "--reason", "The computer was stolen")
    before = fingerprint(centre.database), fingerprint(node.database)  # the revocation is on record: an audit row
    proxy.up()
    revoked = failed(node.sync(proxy.url))
    assert "The computer was stolen" in revoked  # the reason, in the centre's words (its language)
    assert [e.status for e in proxy.exchanges] == [200, 403]  # a nonce, then the hello refused
    assert (fingerprint(centre.database), fingerprint(node.database)) == before
    assert_clear(no_link, revoked)


# ------------------------------------------------------------------ wrong clocks


@pytest.mark.parametrize("skew", [DAY_MS, -DAY_MS], ids=["node a day ahead", "node a day behind"])
def test_a_node_a_day_off_merges_to_one_state_on_both_sides(sites, skew):
    """L1 and L2 are edited at both sites concurrently: L1 synced pulling first, L2 by `birtutas sync`
    (pushing first). L3 is edited by the node, then by the centre after it received that edit; L4 by the
    centre, then by the node after it received it: the later edit of what one has seen wins, whatever
    the clocks say."""
    centre, node = sites.centre(), sites.node(skew_ms=skew)
    lessons = node.run(WORK, steps=[["topic", 1, "L1 at the node"], ["topic", 3, "L3 at the node"]])["steps"]
    centre.run(WORK, steps=[["topic", 1, "L1 at the centre"], ["topic", 4, "L4 at the centre"]])
    node.run(PULL_FIRST, url=centre.url + API)

    lessons += node.run(WORK, steps=[["topic", 2, "L2 at the node"], ["topic", 4, "L4 at the node, after"]])["steps"]
    centre.run(WORK, steps=[["topic", 2, "L2 at the centre"], ["topic", 3, "L3 at the centre, after"]])
    ok(node.sync(centre.url))
    l1, l3, l2, l4 = lessons

    winner = "node" if skew > 0 else "centre"  # of concurrent edits: the later stamp, a day apart
    for site in (centre, node):
        assert topic(site.database, l1) == f"L1 at the {winner}"
        assert topic(site.database, l2) == f"L2 at the {winner}"
        assert topic(site.database, l3) == "L3 at the centre, after"
        assert topic(site.database, l4) == "L4 at the node, after"
        assert conflicts(site.database, l3) == conflicts(site.database, l4) == []  # seen, so not concurrent
    missing = [
        f"{name} at the {site}"
        for name, lesson in (("L1", l1), ("L2", l2))
        for site, database in (("centre", centre.database), ("node", node.database))
        if conflicts(database, lesson) != ["topic"]
    ]
    if missing:
        raise MissingConflict(f"no sync.Conflict row for {', '.join(missing)}")


# ------------------------------------------------------------------ restored from a backup


class LostWrite(AssertionError):
    """A write one site holds never reaches the other, however often they sync."""


def test_a_node_restored_from_an_old_backup_gets_its_edits_back_and_revives_nothing(sites, tmp_path):
    centre, node = sites.centre(), sites.node()
    backup = node.backup(tmp_path / "node-backup.sqlite3")  # right after sync 1
    school = sites.base.templates.school

    mine = node.run(WORK, steps=[["new", 0, "8"], ["new", 0, "9"], ["topic", 5, "Restored topic"]])
    ok(node.sync(centre.url))  # sync 2: the centre has them
    gone = centre.run(WORK, steps=[["clear", mine["steps"][:2]], ["bell"]])  # a mark the backup holds; a bell
    emptied, bell = tuple(map(hexid, gone["steps"][0])), gone["steps"][1]
    ok(node.sync(centre.url))
    assert emptied not in marks(node.database)

    node.restore(backup)
    assert emptied in marks(node.database)
    assert node.value("SELECT count(*) FROM journal_bellperiod WHERE uid = ?", hexid(bell)) == 1
    output = ok(node.sync(centre.url))
    assert "origin renewed" in output

    (cell_a, cell_b), lesson = (tuple(map(hexid, c)) for c in mine["steps"][:2]), mine["steps"][2]
    for site in (node, centre):
        held = marks(site.database)
        assert held[cell_a] == 8 and held[cell_b] == 9 and topic(site.database, lesson) == "Restored topic"
        assert emptied not in held
        assert not site.value("SELECT count(*) FROM journal_bellperiod WHERE uid = ?", hexid(bell))
    retired = node.rows("SELECT retired_reason FROM sync_origin WHERE is_self AND retired_at IS NOT NULL")
    assert len(retired) == 1 and "backup" in retired[0][0]
    assert entries(node.database, school) == entries(centre.database, school)
    assert_node_holds_its_school(centre.database, node.database, school)

    # Edits after the restore are numbered by the new origin, and reach the centre.
    after = node.run(WORK, steps=[["new", 0, "5"]])
    ok(node.sync(centre.url))
    assert marks(centre.database)[tuple(map(hexid, after["steps"][0]))] == 5


def test_a_central_server_restored_from_a_backup_is_sent_again_what_it_lost(sites, tmp_path):
    centre, node = sites.centre(), sites.node()
    backup = centre.backup(tmp_path / "centre-backup.sqlite3")  # right after sync 1
    school = sites.base.templates.school

    mine = node.run(WORK, steps=[["new", 0, "8"], ["topic", 5, "Lost at the centre"]])
    theirs = centre.run(WORK, steps=[["new", -1, "6"]])  # the centre's own edit, which the node pulls
    ok(node.sync(centre.url))  # sync 2
    cell, lesson = tuple(map(hexid, mine["steps"][0])), mine["steps"][1]
    central_cell = tuple(map(hexid, theirs["steps"][0]))
    assert marks(centre.database)[cell] == 8 and marks(node.database)[central_cell] == 6

    centre.stop()
    centre.restore(backup)
    centre.start()
    assert cell not in marks(centre.database) and central_cell not in marks(centre.database)
    sent, _received = counts(ok(node.sync(centre.url)))  # sync 3

    assert sent >= 4  # the node's mark, topic and audit rows, and the centre's own lost mark and audit row
    held = marks(centre.database)
    assert held[cell] == 8 and held[central_cell] == 6 and topic(centre.database, lesson) == "Lost at the centre"
    assert audit_held(centre.database, mine["audit"] + theirs["audit"]) == len(mine["audit"] + theirs["audit"])
    retired = centre.rows("SELECT retired_reason FROM sync_origin WHERE is_self AND retired_at IS NOT NULL")
    assert len(retired) == 1 and "backup" in retired[0][0]  # its own counters were rewound: a new origin
    assert entries(node.database, school) == entries(centre.database, school)
    assert_node_holds_its_school(centre.database, node.database, school)


def test_edits_made_on_a_restored_node_before_it_syncs_again_are_not_lost(sites, tmp_path):
    """The school restores last week's backup, and teachers mark before the link comes back."""
    centre, node = sites.centre(), sites.node()
    backup = node.backup(tmp_path / "node-backup.sqlite3")
    before = node.run(WORK, steps=[["new", 0, "8"], ["topic", 5, "Before the restore"]])
    ok(node.sync(centre.url))
    node.restore(backup)
    after = node.run(WORK, steps=[["new", 1, "4"], ["topic", 6, "After the restore"]], capture=False)
    ok(node.sync(centre.url))
    ok(node.sync(centre.url))  # and again: not merely late

    wanted = {
        "the mark before the restore": (tuple(map(hexid, before["steps"][0])), 8),
        "the mark after the restore": (tuple(map(hexid, after["steps"][0])), 4),
        "the topic before the restore": (before["steps"][1], "Before the restore"),
        "the topic after the restore": (after["steps"][1], "After the restore"),
    }
    lost = [
        f"{what} at the {name}"
        for name, site in (("node", node), ("centre", centre))
        for what, (where, expected) in wanted.items()
        if (marks(site.database).get(where) if isinstance(where, tuple) else topic(site.database, where)) != expected
    ]
    assert "the topic after the restore at the node" not in lost  # what the node wrote stays where it was written
    if lost:
        raise LostWrite("lost: " + "; ".join(lost))
