"""Sync by USB: bundles between the central server (this test's database) and a school node (a SQLite
file of its own, driven in a child process), carried as files.

A bundle brings the school and nothing of another school; a node's edit reaches the centre; reading a
bundle again, or an old one after a newer one, changes nothing; and a bundle that is damaged, cut,
reordered, without its manifest, of a newer schema, for another school or from a revoked node is
refused whole, leaving every travelling record as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import uuid

import pyrage
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.utils import translation
from pyrage import x25519

from birtutas.journal import services
from birtutas.journal.models import Mark, MarkEntry
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import Person
from birtutas.sync import bundles, codec, engine, frames, identity, nodes
from birtutas.sync.capture import self_origin
from birtutas.sync.errors import NodeRevoked, UnknownNode
from birtutas.sync.frames import BadChunk, BadSignature, SchemaTooNew, WrongRecipient
from birtutas.sync.models import Change, Have, Node, Origin, Session
from birtutas.sync.testing import NodeSite, travelling_state
from birtutas.testing import TODAY

pytestmark = pytest.mark.django_db

# What the node does, step by step, in one child process: read and write bundles, mark, report.
DRIVE = """
import hashlib
from birtutas.journal import services
from birtutas.journal.models import Lesson, Mark
from birtutas.registry.models import Person, User
from birtutas.sync import bundles, engine
from birtutas.sync.testing import travelling_state

result = []
for step, *given in args["steps"]:
    if step == "import":
        try:
            result.append(bundles.import_bundle(given[0], answer_path=given[1] if len(given) > 1 else None))
        except Exception as error:  # a refusal is what some steps expect: it is returned, not raised
            result.append({"refused": getattr(error, "code", type(error).__name__), "message": str(error)})
    elif step == "export":
        result.append(bundles.export_bundle(given[0]))
    elif step == "chunk_limit":
        bundles.CHUNK_LIMIT = given[0]
        result.append(None)
    elif step == "mark":
        username, lesson, student, text = given
        user = User.objects.get(username=username)
        lesson_id = Lesson.objects.get(uid=lesson).pk
        student_id = Person.objects.get(uid=student).pk
        services.set_cell(user, lesson_id, student_id, text)
        result.append(Mark.objects.get(lesson_id=lesson_id, student_id=student_id).value)
    elif step == "command":  # `birtutas …` as typed, in this process
        from io import StringIO
        from django.core.management import call_command

        printed = StringIO()
        call_command(*given, stdout=printed, verbosity=0)
        result.append(printed.getvalue())
    elif step == "dump":
        engine.prepare()
        state = json.dumps(travelling_state(), sort_keys=True, default=str).encode()
        result.append(hashlib.sha256(state).hexdigest())
    elif step == "people":
        result.append(sorted(Person.objects.values_list("iin", flat=True)))
"""


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> NodeSite:
    """One migrated node database per module; every test starts from a copy."""
    site = NodeSite(tmp_path_factory.mktemp("template"))
    site.migrate()
    return site


@pytest.fixture
def centre(settings, tmp_path):
    """This test process is the central server, its keys in a folder of the test's own."""
    settings.SYNC_KEYS_DIR = tmp_path / "centre-keys"
    settings.NODE_FILE = ""
    settings.SITE_URL = "https://centre.example.kz/"
    return settings


class Linked:
    """School A's node, registered at the centre (`node`) and on its own computer (`site`)."""

    def __init__(self, node: Node, registration: bytes, site: NodeSite):
        self.node, self.registration, self.site = node, registration, site
        keys = json.loads(registration)["registration"]["keys"]
        self.signing_key = identity.private_key(keys["signing"])
        self.box_identity = x25519.Identity.from_str(keys["box"])

    def drive(self, *steps) -> list:
        return self.site.run(
            DRIVE, steps=[[str(s) if isinstance(s, os.PathLike) else s for s in step] for step in steps]
        )


@pytest.fixture
def linked(centre, world, template, tmp_path) -> Linked:
    node, registration = nodes.register_node(world.a.director, world.a.organization.pk, "Library computer")
    site = NodeSite(tmp_path / "node", today=TODAY)
    site.copy_from(template)
    site.register(registration)
    return Linked(node, registration, site)


def state() -> dict:
    engine.prepare()
    return travelling_state()


def people_only_in(school, other) -> set[str]:
    """The IINs of the people of `school` who are nobody in `other` (by the partitions capture gave them)."""

    def iins(s):
        found = Change.objects.filter(kind="registry.person", partition=s.organization.uid).values("uid")
        return set(Person.objects.filter(uid__in=found).values_list("iin", flat=True))

    return iins(school) - iins(other)


# ------------------------------------------------------------------ centre -> node


def test_the_first_bundle_brings_the_school_and_no_one_of_another_school(linked, world, tmp_path):
    to_node = tmp_path / "to-node.age"
    summary = bundles.export_bundle(to_node, to_peer=linked.node.pk)
    assert summary["records"] > 0 and summary["chunks"] >= 1 and summary["bytes"] == to_node.stat().st_size
    assert stat.S_IMODE(to_node.stat().st_mode) == 0o600
    assert to_node.read_bytes().startswith(b"age-encryption.org/v1\n")  # sealed: no IIN or name readable
    assert world.a.student.iin.encode() not in to_node.read_bytes()
    out = Session.objects.get(kind=Session.Kind.BUNDLE_OUT)
    assert (out.peer, out.records, out.state) == (linked.node.pk, summary["records"], Session.State.DONE)

    # A bundle for school B's node cannot even be opened by school A's node.
    other, _registration = nodes.register_node(world.b.director, world.b.organization.pk, "B's server")
    to_other = tmp_path / "to-other.age"
    bundles.export_bundle(to_other, to_peer=other.pk)

    # Nor one signed by another key than the centre's, nor one the centre signed holding another school.
    raws = open_bundle(to_node, linked.box_identity)
    centre_key = identity.this_site().signing_key
    to_node_box = x25519.Recipient.from_str(linked.node.box_key)
    forged, misfiled = tmp_path / "forged.age", tmp_path / "misfiled.age"
    forged.write_bytes(seal(resign(raws, Ed25519PrivateKey.generate(), centre_key.public_key()), to_node_box))
    other_school = header_edit("hello", organization=str(world.b.organization.uid))
    misfiled.write_bytes(seal(resign(raws, centre_key, centre_key.public_key(), other_school), to_node_box))

    answer = tmp_path / "answer.age"
    fresh, unopened, unsigned, elsewhere, before, applied, after_first, again, after_again, people = linked.drive(
        ["dump"],
        ["import", to_other],
        ["import", forged],
        ["import", misfiled],
        ["dump"],
        ["import", to_node, answer],
        ["dump"],
        ["import", to_node],
        ["dump"],
        ["people"],
    )
    assert unopened["refused"] == "bundle" and unopened["message"]  # in the node's language
    assert unsigned["refused"] == "signature"
    assert elsewhere["refused"] == "other_school"
    assert before == fresh  # refused: nothing written
    assert applied.get("records") == summary["records"], applied
    assert applied["written"] > 0 and applied["refused"] == 0
    assert again["written"] == 0 and after_again == after_first != before  # read twice: nothing changes

    people = set(people)
    assert {world.a.student.iin, world.a.teacher.person.iin, world.a.guardian.person.iin} <= people
    assert not people & people_only_in(world.b, world.a)
    assert world.b.student.iin not in people and world.b.director.person.iin not in people

    # The node holds nothing the centre lacks: its answer is empty, but says what the node now holds,
    # so the centre's next bundle is empty too.
    assert applied["answer"]["records"] == 0
    got = bundles.import_bundle(answer)
    assert (got["records"], got["written"]) == (0, 0)
    assert AuditEvent.objects.filter(event=Event.SYNC_APPLY).count() == 0  # nothing was written
    node = Node.objects.get(pk=linked.node.pk)
    assert node.last_synced_at is not None and (node.pending_up, node.pending_down) == (0, 0)
    assert bundles.export_bundle(tmp_path / "next.age", to_peer=linked.node.pk)["records"] == 0


# ------------------------------------------------------------------ node -> centre


def uid_of(obj) -> str:
    """The travelling id capture gave a row of the test world."""
    return str(type(obj).objects.values_list("uid", flat=True).get(pk=obj.pk))


def uids(world):
    engine.prepare()
    return uid_of(world.a.lessons_a[0]), uid_of(world.a.student)


def records_in(path, box_identity, signer) -> list[dict]:
    """The records a bundle carries, read with the reader's key."""
    opened = [frames.unpack(raw, signer) for raw in frames.split(pyrage.decrypt(path.read_bytes(), [box_identity]))]
    return [r for frame in opened if frame.type == "chunk" for r in codec.decode(frame.body)]


def mark_at_centre(world):
    found = Mark.objects.filter(lesson=world.a.lessons_a[0], student=world.a.student).first()
    return found and found.value


def test_a_mark_made_on_the_node_reaches_the_centre_and_reading_again_or_an_older_bundle_changes_nothing(
    linked, world, tmp_path
):
    lesson, student = uids(world)
    to_node, older, newer = tmp_path / "to-node.age", tmp_path / "older.age", tmp_path / "newer.age"
    bundles.export_bundle(to_node, to_peer=linked.node.pk)
    _applied, seven, printed, nine, _newer = linked.drive(
        ["import", to_node],
        ["mark", "teacher_a", lesson, student, "7"],
        ["command", "sync", "export", older],
        ["mark", "teacher_a", lesson, student, "9"],
        ["export", newer],
    )
    assert (seven, nine) == (7, 9)
    assert "'records': " in printed  # `birtutas sync export` wrote the older one
    assert mark_at_centre(world) is None

    # Meanwhile at the centre, the teacher marks another student: the answer carries that, and only that.
    services.set_cell(world.a.teacher, world.a.lessons_a[0].pk, world.a.classmate.pk, "5")
    answer = tmp_path / "answer.age"
    got = bundles.import_bundle(newer, answer_path=answer)
    assert got["written"] >= 2 and got["refused"] == 0
    carried = records_in(answer, linked.box_identity, identity.this_site().signing_key.public_key())
    entries = [r["values"] for r in carried if r["kind"] == "journal.markentry"]
    assert [(e["student"], e["value"]) for e in entries] == [(uid_of(world.a.classmate), "5")]
    assert {r["kind"] for r in carried} == {"journal.markentry", "kernel.auditevent"}
    assert all(r["values"]["actor"] == uid_of(world.a.teacher) for r in carried)  # nothing of the node's comes back
    assert mark_at_centre(world) == 9
    assert MarkEntry.objects.filter(lesson=world.a.lessons_a[0], student=world.a.student).count() == 2
    node = Node.objects.get(pk=linked.node.pk)
    assert node.last_synced_at is not None and node.last_result.startswith("bundle") and node.pending_up == 0

    held = state()
    again = bundles.import_bundle(newer)
    assert again["written"] == 0
    assert state() == held
    old = bundles.import_bundle(older)  # last write wins, and never goes back
    assert old["written"] == 0
    assert state() == held
    assert mark_at_centre(world) == 9
    assert Session.objects.filter(kind=Session.Kind.BUNDLE_IN, peer=linked.node.pk).count() == 3
    assert Origin.objects.filter(is_self=True).count() == 1  # no bundle made the centre think it was restored


# ------------------------------------------------------------------ bad bundles, refused whole


def centre_recipient() -> x25519.Recipient:
    return identity.this_site().box_identity.to_public()


def open_bundle(path, box_identity=None) -> list[bytes]:
    """The frames of a bundle, opened with the reader's key (by default the centre's: this test's)."""
    return frames.split(pyrage.decrypt(path.read_bytes(), [box_identity or identity.this_site().box_identity]))


def seal(stream: bytes, recipient=None) -> bytes:
    return pyrage.encrypt(stream, [recipient or centre_recipient()])


def resign(raws: list[bytes], key, verify_with, edit=None) -> bytes:
    """The frames packed anew with `key`, each chained to the one before and the manifest recounted:
    a bundle forged by someone holding the key, so that only the bundle's meaning can give it away."""
    out, prev = [], None
    for seq, raw in enumerate(raws):
        frame = frames.unpack(raw, verify_with)
        header = {k: v for k, v in frame.header.items() if k not in ("protocol", "schema", "body_sha256")}
        header.update(seq=seq, prev=prev)
        if frame.type == "manifest":
            header.update(frames=seq, last=prev)
        body = frame.body
        if edit is not None:
            header, body = edit(frame.type, header, body)
        data = frames.pack(frame.type, header, body, key)
        out.append(data)
        prev = hashlib.sha256(data).hexdigest()
    return b"".join(out)


def header_edit(frame_type, **changes):
    """For `resign`: change these fields of the header of the frames of this type."""

    def edit(kind, header, body):
        return ({**header, **changes} if kind == frame_type else header), body

    return edit


def test_a_damaged_cut_reordered_forged_or_misaddressed_bundle_is_refused_whole(linked, world, tmp_path, monkeypatch):
    lesson, student = uids(world)
    to_node, edit = tmp_path / "to-node.age", tmp_path / "edit.age"
    bundles.export_bundle(to_node, to_peer=linked.node.pk)
    linked.drive(
        ["import", to_node],
        ["mark", "teacher_a", lesson, student, "7"],
        ["chunk_limit", 1],  # a chunk per record: enough chunks to reorder
        ["export", edit],
    )
    raws = open_bundle(edit)
    assert len(raws) >= 4  # hello, chunks, manifest
    key, public = linked.signing_key, linked.signing_key.public_key()
    other, _registration = nodes.register_node(world.b.director, world.b.organization.pk, "B's server")

    def damage_last_chunk(kind, header, body):
        if header.get("seq") == len(raws) - 2:
            body = body[: len(body) // 2]
        return header, body

    whole = edit.read_bytes()
    flipped = bytearray(whole)
    flipped[len(flipped) // 2] ^= 0x01
    stream = b"".join(raws)
    reordered = [raws[0], raws[2], raws[1], *raws[3:]]
    with monkeypatch.context() as patched:
        patched.setattr(frames, "SCHEMA", frames.SCHEMA + 1)
        newer_schema = resign(raws, key, public)
    cases = [
        ("one byte flipped", bytes(flipped), bundles.BundleUnreadable, "cannot be opened"),
        ("the file cut short", whole[: len(whole) - 100], bundles.BundleUnreadable, "cannot be opened"),
        (
            "sealed to another server",
            seal(stream, x25519.Identity.generate().to_public()),
            bundles.BundleUnreadable,
            "written for another server",
        ),
        ("the frames cut short", seal(stream[:-40]), BadChunk, "cut"),
        ("without its manifest", seal(resign(raws[:-1], key, public)), BadChunk, "no manifest"),
        ("frames reordered", seal(b"".join(reordered)), BadChunk, "out of order"),
        ("frames after the manifest", seal(stream + raws[1]), BadChunk, "after the manifest"),
        (
            "a newer schema",
            seal(newer_schema),
            SchemaTooNew,
            f"schema {frames.SCHEMA + 1}); this server reads schema {frames.SCHEMA}",
        ),
        (
            "for another school",
            seal(resign(raws, key, public, header_edit("hello", organization=str(world.b.organization.uid)))),
            bundles.OtherSchool,
            "another school",
        ),
        (
            "for another server",
            seal(resign(raws, key, public, header_edit("hello", recipient=str(uuid.uuid4())))),
            WrongRecipient,
            "addressed to another",
        ),
        (
            "signed by another key",
            seal(resign(raws, Ed25519PrivateKey.generate(), public)),
            BadSignature,
            "signature does not match",
        ),
        (
            "posing as another node",
            seal(resign(raws, key, public, header_edit("hello", sender=str(other.pk)))),
            BadSignature,
            "signature does not match",
        ),
        (
            "from an unknown node",
            seal(resign(raws, key, public, header_edit("hello", sender=str(uuid.uuid4())))),
            UnknownNode,
            "not registered",
        ),
        ("a damaged chunk, signed", seal(resign(raws, key, public, damage_last_chunk)), BadChunk, "damaged"),
        (
            "a manifest that miscounts",
            seal(resign(raws, key, public, header_edit("manifest", records=999))),
            BadChunk,
            "manifest does not match",
        ),
    ]
    before, sessions = state(), Session.objects.count()
    for name, data, error, message in cases:
        path = tmp_path / "bad.age"
        path.write_bytes(data)
        with pytest.raises(error, match=re.escape(message)) as refused:
            bundles.import_bundle(path)
        assert isinstance(refused.value, frames.TransferError | UnknownNode), name
        assert state() == before, name
        assert Session.objects.count() == sessions, name
    assert Node.objects.get(pk=linked.node.pk).last_synced_at is None

    # A revoked node is refused, and told why, both ways.
    nodes.revoke_node(world.a.director, linked.node.pk, "The computer was stolen")
    before = state()  # the revocation's own audit event
    with pytest.raises(NodeRevoked, match="The computer was stolen"):
        bundles.import_bundle(edit)
    with pytest.raises(NodeRevoked, match="The computer was stolen"):
        bundles.export_bundle(tmp_path / "to-revoked.age", to_peer=linked.node.pk)
    assert state() == before

    # What was refused would have changed something: the same frames, faithfully re-signed, do.
    Node.objects.filter(pk=linked.node.pk).update(revoked_at=None, revoked_reason="")
    faithful = tmp_path / "faithful.age"
    faithful.write_bytes(seal(resign(raws, key, public)))
    assert bundles.import_bundle(faithful)["written"] >= 1
    assert state() != before
    assert mark_at_centre(world) == 7


def test_the_centre_writes_a_bundle_only_for_a_registered_node(centre, tmp_path):
    folder = tmp_path / "out"
    with pytest.raises(bundles.NoRecipient):
        bundles.export_bundle(folder / "b.age")
    with pytest.raises(UnknownNode):
        bundles.export_bundle(folder / "b.age", to_peer=uuid.uuid4())
    with pytest.raises(UnknownNode):
        bundles.export_bundle(folder / "b.age", to_peer="not a node id")
    with pytest.raises(bundles.BundleUnreadable):
        bundles.import_bundle(folder / "missing.age")
    assert not folder.exists() or not any(folder.iterdir())
    assert not Session.objects.exists()


@pytest.mark.parametrize(
    ("theirs", "restored"),
    [
        ({}, False),
        ({"P": {"OWN": 5}}, False),  # they hold what we hold
        ({"P": {"OWN": 4}}, False),  # less: they have not heard of our latest changes yet
        ({"P": {"OWN": 6}}, True),  # more of our own changes than we hold: we were restored from a backup
        ({"Q": {"OWN": 1}}, True),  # a partition we hold nothing of
        ({"P": {"OTHER": 99}}, False),  # another origin's changes say nothing about us
    ],
)
def test_a_bundle_showing_more_of_our_own_changes_than_we_hold_means_we_were_restored(theirs, restored):
    own, p, q = self_origin(), uuid.uuid4(), uuid.uuid4()
    Have.objects.create(peer=None, partition=p, origin=own, counter=5)
    names = {"P": str(p), "Q": str(q), "OWN": str(own), "OTHER": str(uuid.uuid4())}
    vector = {names[k]: {names[o]: n for o, n in v.items()} for k, v in theirs.items()}
    assert bundles.restored_from_backup(vector) is restored
