"""School servers (nodes): registration at the central server, revocation, and the proof of identity
every sync request carries.

**Registration.** At the centre, the school's director (or the system administration) registers a
node: the centre makes the node's Ed25519 signing key and age X25519 identity, keeps only their
public halves in `sync.Node`, and hands back a registration file signed by the centre. The file
holds the node's private keys and the key person ids are derived with, so it is carried like a key
(to the school, by hand or over a trusted link) and deleted once the node is registered. On the
node, `birtutas node register FILE` checks the centre's signature and writes the node file (0600);
the node's scope is its organization's data plus the shared reference data.

**Every request.** The node asks the centre for a nonce (32 random bytes, valid 120 s, usable once)
and signs `b"birtutas-sync-hello|" + nonce + node id (16 bytes)` with its key; `authenticate`
checks the node is registered and not revoked, the nonce, and the signature. Only the centre's clock
matters: a node's wrong clock cannot make a nonce look fresh.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from pyrage import x25519

from birtutas.journal.queries import RUNS_SCHOOL, directed_organization
from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.registry.accounts import is_system_administrator
from birtutas.registry.models import Organization, User
from birtutas.registry.permissions import Actor

from . import identity
from .errors import (
    BadRegistration,
    BadSignature,
    NodeRevoked,
    NonceExpired,
    NonceReused,
    NotCentral,
    UnknownNode,
    UnknownNonce,
    WrongSignature,
)
from .kinds import BY_LABEL
from .models import Node

NONCE_TTL = 120  # seconds a nonce may be used in
NONCE_MEMORY = 3600  # seconds a nonce is remembered, to tell "expired" and "used" from "never issued"
HELLO = b"birtutas-sync-hello|"
NAME_MAX = 100
REASON_MAX = 200


def _now() -> float:
    return time.time()


# --- Registration and revocation (at the centre) ------------------------------------------------------


def _organization(user: User | None, organization_id: int) -> Organization:
    """The organization, if the user may register its servers: its administration, or the system's."""
    if is_system_administrator(user):
        organization = Organization.objects.filter(pk=organization_id).first()
        if organization is None:
            raise NotFound()
        return organization
    return directed_organization(Actor.for_user(user), organization_id)


def _may_administer(user: User | None, organization: Organization) -> bool:
    return is_system_administrator(user) or RUNS_SCHOOL.allows(Actor.for_user(user), organization)


def _clean(value: str, *, limit: int, missing, too_long) -> str:
    value = " ".join((value or "").split())
    if not value:
        raise ServiceError(missing)
    if len(value) > limit:
        raise ServiceError(too_long % {"limit": limit})
    return value


def _organization_uid(organization: Organization):
    """The organization's travelling id, given now if capture has not given it yet."""
    if organization.uid is None:
        from .capture import assign_uids

        assign_uids(BY_LABEL["registry.organization"], [organization.pk])
        organization.refresh_from_db(fields=["uid"])
    return organization.uid


@service
def register_node(user: User | None, organization_id: int, name: str) -> tuple[Node, bytes]:
    """Register a school server; returns it and its registration file (which holds secrets)."""
    if identity.is_node():
        raise NotCentral()
    organization = _organization(user, organization_id)
    name = _clean(
        name,
        limit=NAME_MAX,
        missing=_("Give the school server a name."),
        too_long=_("The name may have at most %(limit)d characters."),
    )
    organization_uid = _organization_uid(organization)
    centre = identity.centre_keys()
    signing = Ed25519PrivateKey.generate()
    box = x25519.Identity.generate()
    node = Node.objects.create(
        organization=organization,
        name=name,
        signing_key=identity.public_hex(signing.public_key()),
        box_key=str(box.to_public()),
        registered_by=user if user is not None and user.is_authenticated else None,
    )
    record(
        Acting.of(user),
        Event.NODE_REGISTER,
        f"node:{node.id}",
        after={"name": name, "signing_key": node.signing_key, "box_key": node.box_key},
        organization_id=organization.pk,
    )
    payload = {
        "format": identity.NODE_FORMAT,
        "node": str(node.id),
        "name": name,
        "organization": {
            "uid": str(organization_uid),
            "bin": organization.bin or "",
            "names": {"kk": organization.name_kk, "ru": organization.name_ru, "en": organization.name_en},
        },
        "centre": {
            "id": str(centre.id),
            "url": settings.SITE_URL,
            "signing_key": identity.public_hex(centre.signing_key.public_key()),
            "box_recipient": str(centre.box_identity.to_public()),
        },
        "keys": {"signing": identity.private_hex(signing), "box": str(box)},
        "person_id_key": identity.person_id_key().decode(),
        "issued_at": timezone.now().isoformat(),
    }
    signature = centre.signing_key.sign(identity.canonical(payload))
    content = {"registration": payload, "signature": signature.hex()}
    return node, (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode()


def _node_id(node_id) -> uuid.UUID:
    if isinstance(node_id, uuid.UUID):
        return node_id
    try:
        return uuid.UUID(str(node_id))
    except ValueError:
        raise UnknownNode() from None


@service
def revoke_node(user: User | None, node_id, reason: str) -> Node:
    """Revoke a node's registration: every request it makes from now on is refused, with `reason`.

    Revoking a revoked node changes nothing (the first date and reason stay)."""
    reason = _clean(
        reason,
        limit=REASON_MAX,
        missing=_("Give the reason for revoking the registration."),
        too_long=_("The reason may have at most %(limit)d characters."),
    )
    node = Node.objects.select_for_update().select_related("organization").filter(pk=_node_id(node_id)).first()
    if node is None or not _may_administer(user, node.organization):
        raise UnknownNode()
    if node.revoked_at is not None:
        return node
    node.revoked_at = timezone.now()
    node.revoked_reason = reason
    node.save(update_fields=["revoked_at", "revoked_reason"])
    record(
        Acting.of(user, reason),
        Event.NODE_REVOKE,
        f"node:{node.id}",
        before={"revoked_at": None},
        after={"revoked_at": node.revoked_at.isoformat()},
        organization_id=node.organization_id,
    )
    return node


def check_node(node_id) -> Node:
    """The registered node, or UnknownNode (404) / NodeRevoked (403, with the date and reason)."""
    node = Node.objects.filter(pk=_node_id(node_id)).first()
    if node is None:
        raise UnknownNode()
    if node.revoked_at is not None:
        raise NodeRevoked(node.id, node.revoked_at, node.revoked_reason)
    return node


def all_nodes():
    return Node.objects.select_related("organization").order_by("organization__name_kk", "name", "registered_at")


# --- On the node: reading a registration file -----------------------------------------------------------


def read_registration(data: bytes, *, centre_key: str | None = None) -> identity.Site:
    """Check a registration file; returns the site it makes. BadSignature or BadRegistration if not."""
    try:
        content = json.loads(data)
        identity.check_registration(content, centre_key)
        return identity.parse_site(content)
    except BadSignature:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BadRegistration(
            _("This is not a valid school server registration file (%(error)s).") % {"error": error}
        ) from None


def install_registration(data: bytes, node_file: Path, *, centre_key: str | None = None, replace=False):
    """Check a registration file and write the node file (0600). Nothing is written if the check fails."""
    site = read_registration(data, centre_key=centre_key)
    content = json.loads(data)
    content = {
        "registration": content["registration"],
        "signature": content["signature"],
        "installed_at": timezone.now().isoformat(),
    }
    body = (json.dumps(content, indent=2, ensure_ascii=False) + "\n").encode()
    if not identity.write_secret(Path(node_file), body, replace=replace):
        raise ServiceError(
            _("%(path)s already exists: this computer is already registered as a school server.") % {"path": node_file}
        )
    return site


# --- Authentication of a sync request ---------------------------------------------------------------------


def hello_message(node_id, nonce: bytes) -> bytes:
    """What a node signs to prove who it is: the fixed prefix, the centre's nonce, the node's id."""
    return HELLO + nonce + _node_id(node_id).bytes


def sign_hello(nonce: bytes) -> bytes:
    """On a node: the signature of a nonce the centre issued, for `authenticate` at the centre."""
    site = identity.this_site()
    return site.signing_key.sign(hello_message(site.id, nonce))


def _nonce_key(value: bytes) -> str:
    return f"birtutas:sync:nonce:{value.hex()}"


def nonce() -> bytes:
    """A fresh nonce, usable once in the next NONCE_TTL seconds, by the centre's clock."""
    value = secrets.token_bytes(32)
    cache.set(_nonce_key(value), _now() + NONCE_TTL, NONCE_MEMORY)
    return value


def _raw(value) -> bytes | None:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    try:
        return bytes.fromhex(str(value))
    except ValueError:
        return None


def authenticate(node_id, nonce, signature) -> Node:
    """Check a request's proof of identity; returns the node. The nonce is spent, whatever follows.

    Refuses an unknown node (404), a revoked one (403, with date and reason), a nonce never issued,
    expired or already used, and a signature that is not the node's (401), each with its reason.
    """
    node = check_node(node_id)
    value = _raw(nonce)
    expires = cache.get(_nonce_key(value)) if value and len(value) == 32 else None
    if expires is None:
        raise UnknownNonce()
    if _now() > expires:
        raise NonceExpired()
    if not cache.add(_nonce_key(value) + ":used", 1, NONCE_MEMORY):
        raise NonceReused()
    try:
        identity.verify(node.signing_key, hello_message(node.id, value), _raw(signature) or b"")
    except BadSignature:
        raise WrongSignature() from None
    return node
