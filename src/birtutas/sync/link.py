"""Sync over a link, the central server's side: hello, push, pull, done. Nothing is buffered between requests.

    GET  nonce                       a fresh nonce, usable once
    POST hello                       the node proves who it is (its signature of the nonce) and says what it
                                     holds; the answer says what the centre holds and opens (or resumes) a
                                     push session and a pull session
    POST push/<session>              one signed chunk frame; applied in one transaction; answered by an ack
    POST push/<session>/done         the whole push is in: the centre raises what it holds
    GET  pull/<session>?after=<key>  the next signed chunk after `key`, or 204 when there is none
    POST pull/<session>/done         the node has applied the whole pull

A chunk that arrives twice is acknowledged without being applied again; one that does not follow the
last acknowledged chunk is answered 409 with the key it must follow; a damaged or unsigned one is
refused whole (400/403) with the reason. A revoked node is refused on every call, with its reason.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from birtutas.kernel.errors import Conflict, NotFound, ServiceError

from . import engine, errors, frames, have, identity, nodes
from .apply import Sender
from .capture import retire_origin, self_origin
from .models import Node, Origin, Session

SESSION_HOURS = 12


def _error(error: ServiceError) -> JsonResponse:
    return JsonResponse(
        {"error": getattr(error, "code", "refused"), "detail": str(error.message)}, status=getattr(error, "status", 400)
    )


def _guarded(view):
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except ServiceError as error:
            return _error(error)
        except (ValueError, KeyError, TypeError, IndexError):  # a malformed request body or query
            return JsonResponse({"error": "malformed", "detail": "malformed request"}, status=400)

    wrapper.__name__ = view.__name__
    return csrf_exempt(wrapper)


def _key(value) -> tuple | None:
    return None if value is None else (int(value[0]), str(value[1]))


@require_GET
@_guarded
def nonce(request):
    return JsonResponse({"nonce": nodes.nonce().hex()})


@require_POST
@_guarded
def hello(request):
    body = json.loads(request.body or b"{}")
    node = nodes.authenticate(body.get("node"), body.get("nonce"), body.get("signature"))
    if int(body.get("schema", 0)) > frames.SCHEMA:
        raise frames.SchemaTooNew(body["schema"], frames.SCHEMA)
    partitions = engine.scope_partitions(node.organization.uid)
    engine.prepare()
    with transaction.atomic():
        node_have = body.get("have") or {}
        rewound = _node_rewound(node_have, body.get("origin"))
        if _centre_rewound(node_have):
            retire_origin("a node holds more of this server's changes than it does: restored from a backup")
        push = _session(node, Session.Kind.PUSH, body.get("push_session"))
        pull = _session(node, Session.Kind.PULL, body.get("pull_session"))
        if not pull.plan:
            pull.plan = engine.make_plan(node_have, partitions)
            pull.save(update_fields=["plan"])
        now = timezone.now()
        skew = int(body.get("now", 0)) - int(now.timestamp() * 1000) if body.get("now") else 0
        Node.objects.filter(pk=node.pk).update(
            last_seen_at=now, clock_skew_ms=skew, pending_down=engine.plan_size(pull.plan)
        )
    site = identity.this_site()
    return JsonResponse(
        {
            "centre": str(site.id),
            "have": have.vector({uuid.UUID(p) for p in partitions}),
            "rewound": rewound,
            "push_session": str(push.id),
            "push_after": push.last_key,
            "pull_session": str(pull.id),
            "pull_size": engine.plan_size(pull.plan),
            "pull_plan": pull.plan,
            "now": int(now.timestamp() * 1000),
        }
    )


def _node_rewound(node_have: dict, origin: str | None) -> bool:
    """The node says it holds less of its own origin than the centre already has: it was restored from a backup."""
    if not origin:
        return False
    for partition, origins in have.vector(None).items():
        if origins.get(origin, 0) > node_have.get(partition, {}).get(origin, 0):
            return True
    return False


def _centre_rewound(node_have: dict) -> bool:
    mine = str(self_origin())
    held = have.vector(None)
    return any(origins.get(mine, 0) > held.get(partition, {}).get(mine, 0) for partition, origins in node_have.items())


def _session(node: Node, kind: str, resume: str | None) -> Session:
    if resume:
        try:
            found = Session.objects.filter(
                pk=uuid.UUID(str(resume)), peer=node.pk, kind=kind, state=Session.State.OPEN
            ).first()
        except ValueError:
            found = None
        if found and found.started_at > timezone.now() - dt.timedelta(hours=SESSION_HOURS):
            return found
    return Session.objects.create(peer=node.pk, kind=kind)


def _open(request, session_id, kind: str) -> tuple[Session, Node]:
    """The session, if the request is signed by the node that opened it: a session id alone opens nothing."""
    session = Session.objects.filter(pk=session_id, kind=kind, state=Session.State.OPEN).first()
    if session is None or session.started_at < timezone.now() - dt.timedelta(hours=SESSION_HOURS):
        raise NotFound()
    node = nodes.check_node(session.peer)
    signature = request.headers.get(SIGNATURE_HEADER, "")
    try:
        identity.verify(
            node.signing_key,
            request_message(request.method, request.get_full_path(), request.body),
            bytes.fromhex(signature),
        )
    except (ValueError, errors.BadSignature):
        raise frames.BadSignature() from None  # 403: whoever asks is not the node
    return session, node


SIGNATURE_HEADER = "X-Birtutas-Signature"


def request_message(method: str, path: str, body: bytes) -> bytes:
    """What a node signs for each request after hello: the method, the path with its query, the body's hash."""
    return f"birtutas-sync-request|{method.upper()}|{path}|".encode() + hashlib.sha256(body or b"").digest()


@require_POST
@_guarded
def push(request, session_id):
    session, node = _open(request, session_id, Session.Kind.PUSH)
    frame = frames.unpack(request.body, identity.public_key(node.signing_key))
    header = frame.header
    site = identity.this_site()
    if frame.type != "chunk" or header.get("session") != str(session.id) or header.get("recipient") != str(site.id):
        raise frames.WrongRecipient()
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session.pk)
        last = _key(session.last_key)
        if last is not None and _key(header["last_key"]) <= last:
            return JsonResponse({"duplicate": True, "last_key": session.last_key, "written": 0, "refused": []})
        if _key(header.get("after")) != last:
            raise Conflict(f"expected the chunk after {session.last_key}", details=[session.last_key])
        outcome = engine.apply_chunk(frame.body, Sender(node=node, session=session.id))
        engine.take_conflicts(header.get("conflicts"), school=str(node.organization.uid))
        session.plan = _clamped(header.get("plan") or session.plan, node)
        session.last_key = header["last_key"]
        session.chunks += 1
        session.records += header.get("n", 0)
        session.bytes += len(request.body)
        session.save(update_fields=["plan", "last_key", "chunks", "records", "bytes"])
    return JsonResponse(
        {"last_key": session.last_key, "written": outcome.written, "refused": outcome.refused, "duplicate": False}
    )


@require_POST
@_guarded
def push_done(request, session_id):
    session, node = _open(request, session_id, Session.Kind.PUSH)
    with transaction.atomic():
        engine.settle(Sender(node=node, session=session.id))
        engine.finish(session.plan or {})
        _close(session, node, "push")
    return JsonResponse({"done": True})


@require_GET
@_guarded
def pull(request, session_id):
    session, node = _open(request, session_id, Session.Kind.PULL)
    after = json.loads(request.GET["after"]) if request.GET.get("after") else None
    partitions = engine.scope_partitions(node.organization.uid)
    chunk = next(engine.chunks(session.plan, partitions, after=after), None)
    if chunk is None:
        return HttpResponse(status=204)
    site = identity.this_site()
    header = {
        "session": str(session.id),
        "sender": str(site.id),
        "recipient": str(node.pk),
        "after": after,
        "first_key": chunk["first_key"],
        "last_key": chunk["last_key"],
        "n": chunk["n"],
        "plan": session.plan,
        "conflicts": chunk["conflicts"],
    }
    data = frames.pack("chunk", header, chunk["body"], site.signing_key)
    Session.objects.filter(pk=session.pk).update(last_key=chunk["last_key"])
    return HttpResponse(data, content_type="application/octet-stream")


@require_POST
@_guarded
def pull_done(request, session_id):
    session, node = _open(request, session_id, Session.Kind.PULL)
    with transaction.atomic():
        # what the node now holds: kept as its holdings, so a USB bundle later carries only what it lacks
        have.raise_all(
            {p: {o: top for o, (_h, top) in origins.items()} for p, origins in (session.plan or {}).items()},
            peer=node.pk,
        )
        _close(session, node, "pull")
    return JsonResponse({"done": True})


def _clamped(plan: dict, node: Node) -> dict:
    """What a node's push may claim to have brought: its own school's partition, never this server's origin.

    `push_done` raises what the centre holds by the plan: a plan naming another school, the reference
    data or the centre's own changes would make the centre skip real changes.
    """
    school, mine = (
        str(node.organization.uid),
        {str(o) for o in Origin.objects.filter(is_self=True).values_list("id", flat=True)},
    )
    return {school: {o: span for o, span in (plan or {}).get(school, {}).items() if o not in mine}}


def _close(session: Session, node: Node, direction: str) -> None:
    now = timezone.now()
    Session.objects.filter(pk=session.pk).update(state=Session.State.DONE, finished_at=now)
    fields = {"last_synced_at": now, "last_result": f"{direction}: {session.records} records"}
    fields["pending_up" if direction == "push" else "pending_down"] = 0
    Node.objects.filter(pk=node.pk).update(**fields)
