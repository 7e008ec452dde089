"""Sync by USB: a bundle file holds what the other side lacks, signed frame by frame and sealed to it.

    age( hello | chunk 1 | … | chunk n | manifest )

Each part is a frame (see `frames`), signed by the writer's key. The hello names the writer, the
reader, the school the bundle is for, what the writer holds (so the answer carries exactly what it
lacks) and the plan; every frame names its sequence number and the hash of the frame before it, and
the manifest closes the chain with the number of frames, the last one's hash and the number of
records. The whole is encrypted with age to the reader's X25519 key, so a lost stick discloses
nothing and a bundle for someone else cannot even be opened.

A school node writes for the central server only, and sends only its school's partition (the centre
takes no reference data from a node). The central server writes for one registered node, its school
and the reference data. Reading is two passes: the first checks everything (every signature, the
reader, the school, the chain, the manifest, the schema, every chunk's body) and writes nothing; the
second applies the whole bundle in one transaction. A bundle read twice, or an old one after a newer
one, changes nothing: records merge by their clocks and what a database holds only ever rises.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import struct
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyrage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pyrage import x25519

from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, Via, acting_via, writing
from birtutas.kernel.events import Event

from . import codec, engine, frames, have, identity, nodes
from .apply import Sender
from .capture import retire_origin, self_origin
from .frames import BadChunk, Frame, TransferError, WrongRecipient
from .models import Node, Session

FILE_MODE = 0o600
CHUNK_LIMIT = engine.MAX_CHUNK


class BundleUnreadable(TransferError):
    code = "bundle"

    def __init__(self):
        super().__init__(
            _(
                "This bundle cannot be opened: it was written for another server, or the file is damaged. "
                "Nothing was applied."
            )
        )


class OtherSchool(WrongRecipient):
    code = "other_school"

    def __init__(self):
        TransferError.__init__(self, _("This bundle holds another school's data: nothing was applied."))


class NotForCentre(TransferError):
    code = "not_for_centre"

    def __init__(self):
        super().__init__(_("A school server writes bundles for the central server only."))


class NoRecipient(TransferError):
    code = "no_recipient"

    def __init__(self):
        super().__init__(_("Name the school server the bundle is for."))


# --- Writing -----------------------------------------------------------------------------------------


@dataclass
class _Peer:
    id: uuid.UUID
    recipient: x25519.Recipient
    organization_uid: uuid.UUID
    scope: set[str]  # what this site holds for the peer's school: what it tells the peer it holds
    sent: set[str]  # the partitions a bundle for the peer carries
    node: Node | None = None  # at the central server: the node the bundle is for


def _peer(site: identity.Site, to_peer) -> _Peer:
    if site.is_node:
        if to_peer not in (None, "") and str(to_peer) != str(site.peer_id):
            raise NotForCentre()
        scope = engine.scope_partitions(site.organization_uid)
        return _Peer(site.peer_id, site.peer_box_recipient, site.organization_uid, scope, {str(site.organization_uid)})
    if to_peer in (None, ""):
        raise NoRecipient()
    node = nodes.check_node(to_peer)  # unknown, or revoked with its reason
    organization_uid = node.organization.uid
    scope = engine.scope_partitions(organization_uid)
    return _Peer(node.pk, x25519.Recipient.from_str(node.box_key), organization_uid, scope, scope, node)


def _uuids(partitions: set[str]) -> set[uuid.UUID]:
    return {uuid.UUID(p) for p in partitions}


class _FrameReader(io.RawIOBase):
    """The frames of a bundle, made one at a time as the encryption reads them."""

    def __init__(self, parts):
        self.parts = iter(parts)
        self.buffer = b""
        self.error: Exception | None = None  # raised while making a frame: re-raised as it was, not as an I/O error

    def readable(self) -> bool:
        return True

    def readinto(self, target) -> int:
        while not self.buffer:
            try:
                self.buffer = next(self.parts)
            except StopIteration:
                return 0
            except Exception as error:
                self.error = error
                raise
        n = min(len(target), len(self.buffer))
        target[:n] = self.buffer[:n]
        self.buffer = self.buffer[n:]
        return n


def _write_sealed(path: Path, parts, recipient: x25519.Recipient) -> int:
    """Encrypt the frames to the recipient into `path`, whole or not at all, readable by this account only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    reader = _FrameReader(parts)
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)
            try:
                pyrage.encrypt_io(reader, out, [recipient])
            except Exception:
                if reader.error is not None:
                    raise reader.error from None
                raise
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path.stat().st_size


def export_bundle(path, *, to_peer=None, progress=None) -> dict:
    """Write a bundle of what the other side lacks, by what it last told us it holds (nothing: everything).

    On a node, for the central server; at the central server, for the node `to_peer` (refused if it is
    unknown or revoked). Returns {records, bytes, chunks, peer, session}."""
    site = identity.this_site()
    engine.prepare()
    peer = _peer(site, to_peer)
    plan = engine.make_plan(have.vector(_uuids(peer.sent), peer=peer.id), peer.sent)
    total = engine.plan_size(plan)
    bundle_id = uuid.uuid4()
    counts = {"records": 0, "chunks": 0}

    def parts():
        hello = {
            "bundle": str(bundle_id),
            "seq": 0,
            "prev": None,
            "sender": str(site.id),
            "recipient": str(peer.id),
            "organization": str(peer.organization_uid),
            "have": have.vector(_uuids(peer.scope)),
            "plan": plan,
            "made_at": timezone.now().isoformat(),
        }
        data = frames.pack("hello", hello, b"", site.signing_key)
        yield data
        prev, seq = hashlib.sha256(data).hexdigest(), 1
        for chunk in engine.chunks(plan, peer.sent, limit=CHUNK_LIMIT):
            header = {
                "bundle": str(bundle_id),
                "seq": seq,
                "prev": prev,
                "first_key": chunk["first_key"],
                "last_key": chunk["last_key"],
                "n": chunk["n"],
                "conflicts": chunk["conflicts"],
            }
            data = frames.pack("chunk", header, chunk["body"], site.signing_key)
            yield data
            prev, seq = hashlib.sha256(data).hexdigest(), seq + 1
            counts["records"] += chunk["n"]
            counts["chunks"] += 1
            if progress:
                progress("export", counts["records"], total)
        manifest = {
            "bundle": str(bundle_id),
            "seq": seq,
            "prev": prev,
            "frames": seq,
            "last": prev,
            "records": counts["records"],
        }
        yield frames.pack("manifest", manifest, b"", site.signing_key)

    size = _write_sealed(Path(path), parts(), peer.recipient)
    now = timezone.now()
    session = Session.objects.create(
        peer=peer.id,
        kind=Session.Kind.BUNDLE_OUT,
        state=Session.State.DONE,
        plan=plan,
        chunks=counts["chunks"],
        records=counts["records"],
        bytes=size,
        finished_at=now,
    )
    if peer.node is not None:
        Node.objects.filter(pk=peer.node.pk).update(pending_down=total)
    return {
        "records": counts["records"],
        "bytes": size,
        "chunks": counts["chunks"],
        "peer": str(peer.id),
        "session": str(session.pk),
    }


# --- Reading -----------------------------------------------------------------------------------------


@dataclass
class Checked:
    """A bundle that passed every check of the first pass: who sent it and what it carries."""

    sender: uuid.UUID
    node: Node | None  # at the central server: the registered node that wrote it
    hello: dict
    chunks: list[Frame] = field(default_factory=list)
    records: int = 0
    size: int = 0


def _peek(raw: bytes) -> tuple[str | None, dict]:
    """A frame's type and header before its signature is checked: only to find whose key checks it."""
    try:
        (length,) = struct.unpack(">I", raw[5:9])
        header = json.loads(raw[9 : 9 + length])
    except (struct.error, ValueError, UnicodeDecodeError):
        raise BadChunk(_("the bundle does not begin with a frame")) from None
    if not isinstance(header, dict):
        raise BadChunk(_("the bundle does not begin with a frame"))
    return frames.NAMES.get(raw[4]), header


def _open(data: bytes, site: identity.Site) -> list[bytes]:
    try:
        stream = pyrage.decrypt(data, [site.box_identity])
    except pyrage.DecryptError:
        raise BundleUnreadable() from None
    return frames.split(stream)


def check(data: bytes, *, progress=None) -> Checked:
    """The first pass: everything about the bundle is checked, nothing is written."""
    site = identity.this_site()
    raws = _open(data, site)
    if not raws:
        raise BadChunk(_("the bundle is empty"))
    kind, head = _peek(raws[0])
    if kind != "hello":
        raise BadChunk(_("the bundle does not begin with its hello"))
    node = None
    if site.is_node:
        key = site.peer_signing_key
    else:
        node = nodes.check_node(head.get("sender"))  # unknown, or revoked with its reason
        key = identity.public_key(node.signing_key)
    opened = [frames.unpack(raw, key) for raw in raws]  # signature, protocol, schema, checksum of each
    hello = opened[0].header
    sender = site.peer_id if node is None else node.pk
    if hello.get("sender") != str(sender):
        raise BadChunk(_("the bundle names another sender than the key that signed it"))
    if hello.get("recipient") != str(site.id):
        raise WrongRecipient()
    school = site.organization_uid if node is None else node.organization.uid
    if hello.get("organization") != str(school):
        raise OtherSchool()
    bundle = hello.get("bundle")
    prev = None
    for seq, frame in enumerate(opened):
        header = frame.header
        if header.get("seq") != seq or header.get("prev") != prev or header.get("bundle") != bundle:
            raise BadChunk(_("the frames are out of order, missing or from another bundle"))
        if seq and frame.type == "hello":
            raise BadChunk(_("the frames are out of order, missing or from another bundle"))
        if frame.type == "manifest" and seq != len(opened) - 1:
            raise BadChunk(_("there are frames after the manifest"))
        prev = frame.digest.hex()
    manifest = opened[-1]
    if manifest.type != "manifest" or len(opened) < 2:
        raise BadChunk(_("the bundle has no manifest: it was cut short"))
    chunks = opened[1:-1]
    if any(frame.type != "chunk" for frame in chunks):
        raise BadChunk(_("the frames are out of order, missing or from another bundle"))
    records = 0
    for i, frame in enumerate(chunks):
        decoded = codec.decode(frame.body)  # a damaged body is found now, before anything is written
        if len(decoded) != frame.header.get("n"):
            raise BadChunk(_("a chunk holds another number of records than it says"))
        records += len(decoded)
        if progress:
            progress("check", i + 1, len(chunks))
    if (
        manifest.header.get("frames") != len(opened) - 1
        or manifest.header.get("last") != opened[-2].digest.hex()
        or manifest.header.get("records") != records
    ):
        raise BadChunk(_("the manifest does not match the frames"))
    return Checked(sender=sender, node=node, hello=hello, chunks=chunks, records=records, size=len(data))


def restored_from_backup(their_have: dict) -> bool:
    """The other side holds more of this database's own changes than it does: it was restored from a backup."""
    own, mine = str(self_origin()), have.vector(None)
    return any(origins.get(own, 0) > mine.get(partition, {}).get(own, 0) for partition, origins in their_have.items())


def _within(vector: dict, partitions: set[str]) -> dict:
    return {p: v for p, v in vector.items() if p in partitions and isinstance(v, dict)}


def import_bundle(path, *, answer_path=None, progress=None) -> dict:
    """Check a bundle whole, then apply it in one transaction; with `answer_path`, write the answer.

    Refuses the whole bundle, writing nothing, if any check fails. Returns {records, written,
    unchanged, parked, refused, conflicts, bytes, chunks, session, answer}."""
    site = identity.this_site()
    try:
        data = Path(path).read_bytes()
    except OSError:
        raise BundleUnreadable() from None
    checked = check(data, progress=progress)
    node = checked.node
    school = str(site.organization_uid if node is None else node.organization.uid)
    scope = engine.scope_partitions(school)
    # What a bundle may make this database claim to hold: from a node, its school only (the centre
    # takes nothing else from it); from the centre, the node's scope.
    accepted = {school} if node is not None else scope
    plan = _within(checked.hello.get("plan") or {}, accepted)
    their_have = _within(checked.hello.get("have") or {}, scope)
    session_id = uuid.uuid4()
    sender = Sender(node=node, session=session_id)
    written = unchanged = parked = conflicts = 0
    refused: list[dict] = []
    with transaction.atomic():
        if restored_from_backup(their_have):
            # Counters of this origin were given out again since: number new changes under a new origin.
            retire_origin("restored from a backup: a bundle showed changes of this origin that it lacks")
        for i, frame in enumerate(checked.chunks):
            outcome = engine.apply_chunk(frame.body, sender)
            engine.take_conflicts(
                frame.header.get("conflicts"), school=None if node is None else str(node.organization.uid)
            )
            written += outcome.written
            unchanged += outcome.unchanged
            parked += outcome.parked
            conflicts += outcome.conflicts
            refused += outcome.refused
            if progress:
                progress("import", i + 1, len(checked.chunks))
        settled = engine.settle(sender)
        written += settled.written
        refused += settled.refused
        conflicts += settled.conflicts
        engine.finish(plan)
        have.raise_all(their_have, peer=checked.sender)
        now = timezone.now()
        Session.objects.create(
            id=session_id,
            peer=checked.sender,
            kind=Session.Kind.BUNDLE_IN,
            state=Session.State.DONE,
            plan=plan,
            chunks=len(checked.chunks),
            records=checked.records,
            bytes=checked.size,
            finished_at=now,
        )
        if written:  # read again, a bundle writes nothing and records nothing
            _record_applied(checked, written, refused)
        if node is not None:
            Node.objects.filter(pk=node.pk).update(
                last_seen_at=now,
                last_synced_at=now,
                last_result=f"bundle: {checked.records} records",
                pending_up=0,
                pending_down=engine.plan_size(engine.make_plan(their_have, scope)),
            )
    summary = {
        "records": checked.records,
        "written": written,
        "unchanged": unchanged,
        "parked": parked,
        "refused": len(refused),
        "conflicts": conflicts,
        "bytes": checked.size,
        "chunks": len(checked.chunks),
        "session": str(session_id),
        "answer": None,
    }
    if answer_path:
        summary["answer"] = export_bundle(answer_path, to_peer=checked.sender, progress=progress)
    return summary


def _record_applied(checked: Checked, written: int, refused: list) -> None:
    # Kept here, in no school's partition: an audit row that travelled would be applied on the other
    # side, recorded there in turn, and sent back, one more at every exchange, for ever.
    with acting_via(Via.SYNC), writing():
        record(
            Acting.of(None),
            Event.SYNC_APPLY,
            f"bundle:{checked.hello.get('bundle')}",
            after={
                "sender": str(checked.sender),
                "records": checked.records,
                "written": written,
                "refused": len(refused),
            },
        )
