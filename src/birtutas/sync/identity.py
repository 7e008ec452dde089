"""Who this site is in the sync: the central server, or a school's node, with its keys.

The central server keeps its keys in files under `SYNC_KEYS_DIR`, made on first use, readable by
the server's own account only (mode 0600):

- `centre.ed25519`: its Ed25519 signing key (32 raw bytes; a PKCS#8 PEM file is read too);
- `centre.age`: its age X25519 identity (`AGE-SECRET-KEY-1…`), for bundles sealed to the centre;
- `centre.id`: its UUID, the centre's name in the sync.

A node is a site whose `NODE_FILE` names its node file, written by `birtutas node register` from the
registration file the centre signed (see `nodes`): its id, its organization, its own keys, the
centre's public keys and URL, and the key every site derives person ids with. Keys never go into a
database, so a database backup carries none.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyrage import x25519

from .errors import BadSignature, CentreKeyMismatch

NODE_FORMAT = "birtutas-node/1"
CENTRE_SIGNING_FILE = "centre.ed25519"
CENTRE_BOX_FILE = "centre.age"
CENTRE_ID_FILE = "centre.id"


@dataclass(frozen=True)
class Site:
    """This site in the sync: its id and keys, and the public keys of its peer (a node's peer is the centre)."""

    id: uuid.UUID
    is_node: bool
    organization_uid: uuid.UUID | None
    signing_key: Ed25519PrivateKey
    box_identity: x25519.Identity
    peer_signing_key: Ed25519PublicKey | None  # a node: the centre's; the centre: None (each node has its own)
    peer_box_recipient: x25519.Recipient | None
    centre_url: str
    peer_id: uuid.UUID | None = None  # a node: the centre's id

    @property
    def public_key_hex(self) -> str:
        return public_hex(self.signing_key.public_key())

    @property
    def box_recipient(self) -> str:
        return str(self.box_identity.to_public())


@dataclass(frozen=True)
class CentreKeys:
    id: uuid.UUID
    signing_key: Ed25519PrivateKey
    box_identity: x25519.Identity


# --- Small helpers on keys -------------------------------------------------------------------------


def canonical(value) -> bytes:
    """The one byte string a JSON value is signed as: sorted keys, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def public_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def private_hex(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    ).hex()


def public_key(value: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its 64 hex digits; ValueError if it is not one."""
    raw = bytes.fromhex(value)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    return Ed25519PublicKey.from_public_bytes(raw)


def private_key(value: str) -> Ed25519PrivateKey:
    raw = bytes.fromhex(value)
    if len(raw) != 32:
        raise ValueError("an Ed25519 private key is 32 bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def verify(public_key_hex: str, data: bytes, signature: bytes) -> None:
    """Check an Ed25519 signature; raises BadSignature, whatever is wrong (key, signature or data)."""
    try:
        public_key(public_key_hex).verify(signature, data)
    except (InvalidSignature, ValueError, TypeError):
        raise BadSignature() from None


def sign(data: bytes) -> bytes:
    """Sign with this site's key (the centre's, or this node's)."""
    return this_site().signing_key.sign(data)


# --- Secret files ------------------------------------------------------------------------------------


def write_secret(path: Path, data: bytes, *, replace: bool = False) -> bool:
    """Write a file only this account can read (0600, whatever the umask), whole or not at all.

    Without `replace`, an existing file is kept and False returned: two processes making the same key
    at once end with one key, the first one's.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        if replace:
            os.replace(tmp, path)
            return True
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        if tmp.exists():
            tmp.unlink()


def read_secret(path: Path) -> bytes:
    """Read a key file, refusing one that other accounts may read (as ssh does)."""
    path = Path(path)
    mode = path.stat().st_mode
    if stat.S_IMODE(mode) & 0o077:
        raise ImproperlyConfigured(
            f"{path} may be read by other accounts; it holds a secret key. Run: chmod 600 {path}"
        )
    return path.read_bytes()


def _stat_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path), st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino, st.st_mode)


# --- The central server --------------------------------------------------------------------------------


def centre_keys() -> CentreKeys:
    """The central server's id and keys, made on first use."""
    folder = Path(settings.SYNC_KEYS_DIR)
    signing, box, ident = folder / CENTRE_SIGNING_FILE, folder / CENTRE_BOX_FILE, folder / CENTRE_ID_FILE
    if not signing.exists():
        write_secret(signing, Ed25519PrivateKey.generate().private_bytes_raw())
    if not box.exists():
        write_secret(box, (str(x25519.Identity.generate()) + "\n").encode())
    if not ident.exists():
        write_secret(ident, (str(uuid.uuid4()) + "\n").encode())
    return _load_centre(_stat_key(signing), _stat_key(box), _stat_key(ident))


@lru_cache(maxsize=8)
def _load_centre(signing: tuple, box: tuple, ident: tuple) -> CentreKeys:
    raw = read_secret(Path(signing[0]))
    if raw.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(raw, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ImproperlyConfigured(f"{signing[0]} does not hold an Ed25519 key.")
    elif len(raw) == 32:
        key = Ed25519PrivateKey.from_private_bytes(raw)
    else:
        raise ImproperlyConfigured(f"{signing[0]} must hold 32 raw bytes or a PEM Ed25519 private key.")
    try:
        identity = x25519.Identity.from_str(read_secret(Path(box[0])).decode().strip())
    except Exception as error:
        raise ImproperlyConfigured(f"{box[0]} does not hold an age X25519 identity.") from error
    try:
        site_id = uuid.UUID(read_secret(Path(ident[0])).decode().strip())
    except ValueError as error:
        raise ImproperlyConfigured(f"{ident[0]} does not hold a UUID.") from error
    return CentreKeys(id=site_id, signing_key=key, box_identity=identity)


# --- A node -------------------------------------------------------------------------------------------


def is_node() -> bool:
    return bool(settings.NODE_FILE)


def this_site() -> Site:
    """This site: a node when `NODE_FILE` is set, else the central server."""
    if is_node():
        return _node_site()
    keys = centre_keys()
    return Site(
        id=keys.id,
        is_node=False,
        organization_uid=None,
        signing_key=keys.signing_key,
        box_identity=keys.box_identity,
        peer_signing_key=None,
        peer_box_recipient=None,
        centre_url=settings.SITE_URL,
    )


def person_id_key() -> bytes:
    """The key person ids are derived with: the centre's, which a node received at registration."""
    if is_node():
        return _node_file()["registration"]["person_id_key"].encode()
    return settings.BIRTUTAS_PERSON_ID_KEY.encode()


def _node_key() -> tuple:
    path = Path(settings.NODE_FILE)
    try:
        return _stat_key(path)
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"BIRTUTAS_NODE_FILE names {path}, which does not exist. Register this node first: "
            "birtutas node register REGISTRATION-FILE"
        ) from None


def _node_file() -> dict:
    return _load_node_file(_node_key())


def _node_site() -> Site:
    return _load_node_site(_node_key())


@lru_cache(maxsize=8)
def _load_node_file(key: tuple) -> dict:
    path = Path(key[0])
    try:
        content = json.loads(read_secret(path))
        check_registration(content)
    except (ValueError, KeyError, TypeError, BadSignature) as error:
        raise ImproperlyConfigured(f"{path} is not a valid node file: {error}") from error
    return content


@lru_cache(maxsize=8)
def _load_node_site(key: tuple) -> Site:
    return parse_site(_load_node_file(key))


def check_registration(content: dict, centre_key: str | None = None) -> dict:
    """Check a registration (or node) file's form and the centre's signature; returns its payload.

    Raises BadSignature if the signature fails (against the centre key inside, and `centre_key`
    when given), ValueError/KeyError/TypeError if the form is wrong.
    """
    payload = content["registration"]
    if not isinstance(payload, dict) or payload.get("format") != NODE_FORMAT:
        raise ValueError(f"unknown format {payload.get('format') if isinstance(payload, dict) else None!r}")
    inside = payload["centre"]["signing_key"]
    if centre_key is not None and centre_key.strip().lower() != str(inside).lower():
        raise CentreKeyMismatch()
    verify(inside, canonical(payload), bytes.fromhex(content["signature"]))
    parse_site({"registration": payload})  # every key in it must parse
    return payload


def parse_site(content: dict) -> Site:
    payload = content["registration"]
    centre = payload["centre"]
    return Site(
        id=uuid.UUID(payload["node"]),
        is_node=True,
        organization_uid=uuid.UUID(payload["organization"]["uid"]),
        signing_key=private_key(payload["keys"]["signing"]),
        box_identity=_identity(payload["keys"]["box"]),
        peer_signing_key=public_key(centre["signing_key"]),
        peer_box_recipient=_recipient(centre["box_recipient"]),
        centre_url=centre["url"],
        peer_id=uuid.UUID(centre["id"]),
    )


def _identity(value: str) -> x25519.Identity:
    try:
        return x25519.Identity.from_str(value)
    except Exception as error:  # pyrage raises its own IdentityError
        raise ValueError("not an age X25519 identity") from error


def _recipient(value: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(value)
    except Exception as error:
        raise ValueError("not an age X25519 recipient") from error
