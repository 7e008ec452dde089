"""Sync over a link, the school node's side: one round of push then pull, resumable at every chunk.

`sync_once()` is what `birtutas sync` runs by hand and what the background task runs on its own
whenever the central server answers. Each transfer is a `Session` row here: an interrupted one is
resumed from the last chunk the other side acknowledged (push) or this side applied (pull).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from . import engine, frames, have, identity, nodes
from . import link as link_api
from .apply import Sender
from .capture import retire_origin, self_origin
from .frames import TransferError
from .models import Refusal, Session

TIMEOUT = 60


class LinkError(Exception):
    """The central server could not be reached or answered with an error; nothing is lost, retry later."""

    def __init__(self, message: str, status: int | None = None, answer: dict | None = None):
        super().__init__(message)
        self.status, self.answer = status, answer or {}


@dataclass
class Report:
    pushed: int = 0
    pulled: int = 0
    chunks_up: int = 0
    chunks_down: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    refused: list = field(default_factory=list)
    rewound: bool = False
    seconds: float = 0.0


class Link:
    def __init__(self, base_url: str, timeout: float = TIMEOUT):
        if not base_url.startswith(("http://", "https://")):
            raise LinkError(f"not a web address: {base_url}")
        self.base = base_url.rstrip("/") + "/"
        self.timeout = timeout
        self.signing_key = None

    def call(self, method: str, path: str, data: bytes | None = None, content_type="application/json"):
        # The centre's URL from the node's registration: http(s) only, checked in __init__.
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        if data is not None:
            request.add_header("Content-Type", content_type)
        if self.signing_key is not None:  # every request after hello is signed: a session id alone opens nothing
            parts = urllib.parse.urlsplit(self.base + path)
            signed = parts.path + (f"?{parts.query}" if parts.query else "")
            message = link_api.request_message(method, signed, data or b"")
            request.add_header(link_api.SIGNATURE_HEADER, self.signing_key.sign(message).hex())
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as answer:  # noqa: S310
                return answer.status, answer.read()
        except urllib.error.HTTPError as error:
            body = error.read()
            try:
                detail = json.loads(body)
            except ValueError:
                detail = {"detail": body[:200].decode(errors="replace")}
            raise LinkError(detail.get("detail", str(error)), error.code, detail) from None
        except (urllib.error.URLError, OSError, TimeoutError, http.client.HTTPException) as error:
            raise LinkError(f"no link to the central server: {error}") from None

    def json(self, method: str, path: str, payload: dict | None = None) -> dict:
        data = None if payload is None else json.dumps(payload).encode()
        _status, body = self.call(method, path, data)
        return json.loads(body) if body else {}


def sync_once(base_url: str | None = None, *, progress=None, link: Link | None = None) -> Report:
    site = identity.this_site()
    if not site.is_node:
        raise TransferError("this server is not a school node: it has nothing to sync with by itself")
    link = link or Link(base_url or _centre_api(site))
    started = time.monotonic()
    report = Report()
    # Nothing is numbered before the centre has answered: if this database was restored from a backup,
    # writes made since must be numbered under a new origin, not reuse counters the centre already holds.
    partitions = engine.scope_partitions(site.organization_uid)
    held = have.vector({uuid.UUID(p) for p in partitions})
    push_session = _open_local(Session.Kind.PUSH, site)
    pull_session = _open_local(Session.Kind.PULL, site)
    challenge = bytes.fromhex(link.json("GET", "nonce")["nonce"])
    answer = link.json(
        "POST",
        "hello",
        {
            "node": str(site.id),
            "nonce": challenge.hex(),
            "signature": nodes.sign_hello(challenge).hex(),
            "have": held,
            "origin": str(self_origin()),
            "push_session": push_session.plan.get("remote"),
            "pull_session": pull_session.plan.get("remote"),
            "schema": frames.SCHEMA,
            "now": int(time.time() * 1000),
        },
    )
    link.signing_key = site.signing_key
    if answer.get("rewound"):
        # The centre has changes of our origin that we lack: this database was restored from a backup.
        # Open a new origin so no counter is given twice; the pull below brings the lost changes back.
        retire_origin("restored from a backup: the central server held newer changes of this origin")
        report.rewound = True
    engine.prepare()
    _push(
        link,
        site,
        answer,
        push_session,
        engine.scope_partitions(site.organization_uid, writable=True),
        report,
        progress,
    )
    _pull(link, site, answer, pull_session, partitions, report, progress)
    report.seconds = time.monotonic() - started
    return report


def _centre_api(site) -> str:
    from django.conf import settings

    return site.centre_url.rstrip("/") + "/" + settings.SYNC_BASE_PATH


def _open_local(kind: str, site) -> Session:
    found = Session.objects.filter(kind=kind, peer=site.peer_id, state=Session.State.OPEN).order_by("-started_at")
    return found.first() or Session.objects.create(kind=kind, peer=site.peer_id, plan={})


def _push(link: Link, site, answer: dict, session: Session, partitions, report: Report, progress) -> None:
    remote = answer["push_session"]
    if session.plan.get("remote") != remote or "plan" not in session.plan:
        session.plan = {"remote": remote, "plan": engine.make_plan(answer["have"], partitions)}
        session.last_key = None
        session.save(update_fields=["plan", "last_key"])
    plan = session.plan["plan"]
    after = answer.get("push_after")
    seq = session.chunks
    for chunk in engine.chunks(plan, partitions, after=after):
        header = {
            "session": remote,
            "sender": str(site.id),
            "recipient": answer["centre"],
            "seq": seq,
            "after": after,
            "first_key": chunk["first_key"],
            "last_key": chunk["last_key"],
            "n": chunk["n"],
            "plan": plan,
            "conflicts": chunk["conflicts"],
        }
        data = frames.pack("chunk", header, chunk["body"], site.signing_key)
        try:
            _status, body = link.call("POST", f"push/{remote}", data, "application/octet-stream")
        except LinkError as error:
            if error.status == 409:  # the centre holds a different last chunk: start after the one it names
                raise LinkError("the central server expects another chunk; the next sync resumes from it") from None
            raise
        ack = json.loads(body)
        _keep_refusals(ack.get("refused", []), remote)
        report.refused += ack.get("refused", [])
        after = ack["last_key"]
        seq += 1
        report.pushed += 0 if ack.get("duplicate") else chunk["n"]
        report.chunks_up += 1
        report.bytes_up += len(data)
        Session.objects.filter(pk=session.pk).update(
            last_key=after, chunks=seq, records=session.records + report.pushed, bytes=session.bytes + report.bytes_up
        )
        if progress:
            progress("push", report.pushed, engine.plan_size(plan))
    link.json("POST", f"push/{remote}/done", {})
    _done(session, report.pushed, report.bytes_up)


def _pull(link: Link, site, answer: dict, session: Session, partitions, report: Report, progress) -> None:
    remote = answer["pull_session"]
    if session.plan.get("remote") != remote:
        session.plan, session.last_key = {"remote": remote}, None
        session.save(update_fields=["plan", "last_key"])
    after = session.last_key
    sender = Sender(node=None, session=session.id)
    plan = answer.get("pull_plan")
    while True:
        query = "" if after is None else "?after=" + urllib.request.quote(json.dumps(after))
        status, data = link.call("GET", f"pull/{remote}{query}")
        if status == 204 or not data:
            break
        frame = frames.unpack(data, site.peer_signing_key)
        header = frame.header
        if frame.type != "chunk" or header.get("recipient") != str(site.id) or header.get("session") != remote:
            raise frames.WrongRecipient()
        if header.get("after") != after:
            raise frames.BadChunk("a chunk out of order")
        plan = header.get("plan") or plan
        with transaction.atomic():
            engine.apply_chunk(frame.body, sender)
            engine.take_conflicts(header.get("conflicts"))
            after = header["last_key"]
            Session.objects.filter(pk=session.pk).update(
                last_key=after, plan={"remote": remote, "plan": plan}, chunks=session.chunks + report.chunks_down + 1
            )
        report.pulled += header.get("n", 0)
        report.chunks_down += 1
        report.bytes_down += len(data)
        if progress:
            progress("pull", report.pulled, answer.get("pull_size", 0))
    with transaction.atomic():
        engine.settle(sender)
        if plan:
            engine.finish(plan)
    link.json("POST", f"pull/{remote}/done", {})
    _done(session, report.pulled, report.bytes_down)


def _keep_refusals(refused: list[dict], session: str) -> None:
    """What the centre would not take stays listed here too, for the school's director to see and settle."""
    Refusal.objects.bulk_create(
        [
            Refusal(session=session, kind=r.get("kind", "")[:40], uid=r.get("uid"), reason=r.get("reason", "")[:40])
            for r in refused
        ]
    )


def _done(session: Session, records: int, size: int) -> None:
    Session.objects.filter(pk=session.pk).update(
        state=Session.State.DONE, finished_at=timezone.now(), records=records, bytes=size
    )
