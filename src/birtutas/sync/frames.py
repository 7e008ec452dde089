"""Frames: the signed unit of every transfer, the same bytes over a link and inside a USB bundle.

    b"BTS1" | type (1 byte) | header length (u32) | header (JSON) | body length (u32) | body | signature (64)

The signature is Ed25519 by the sender over SHA-256 of everything before it. The header names the
protocol and schema versions, the session, the sender and recipient, the frame's sequence number, the
hash of the previous frame of the session (so frames cannot be dropped, reordered or spliced from
another session inside a bundle), the body's SHA-256, and the first and last record keys it carries.
A frame is checked whole, signature first, before a single record of it is read.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.utils.translation import gettext_lazy as _

from birtutas.kernel.errors import ServiceError

MAGIC = b"BTS1"
PROTOCOL = 1
# The schema of what travels: raised whenever a kind's fields change meaning. A reader refuses a newer one.
SCHEMA = 1
TYPES = {"hello": 1, "chunk": 2, "manifest": 3, "ack": 4}
NAMES = {v: k for k, v in TYPES.items()}
MAX_HEADER = 64 * 1024
MAX_BODY = 8 * 1024 * 1024


class TransferError(ServiceError):
    """A frame, chunk or bundle refused whole; nothing of it was written. `code` is for machines."""

    code = "refused"

    def __init__(self, message, **kwargs):
        super().__init__(message, **kwargs)


class BadChunk(TransferError):
    code = "corrupt"

    def __init__(self, detail: str):
        super().__init__(_("The data is damaged or incomplete and was not applied: %(detail)s") % {"detail": detail})


class BadSignature(TransferError):
    code = "signature"
    status = 403

    def __init__(self):
        super().__init__(_("The signature does not match the sender's key: nothing was applied."))


class SchemaTooNew(TransferError):
    code = "schema"
    status = 409

    def __init__(self, theirs: int, ours: int):
        super().__init__(
            _(
                "The data was written by a newer version (schema %(theirs)s); "
                "this server reads schema %(ours)s. Update it."
            )
            % {"theirs": theirs, "ours": ours}
        )


class WrongRecipient(TransferError):
    code = "recipient"
    status = 403

    def __init__(self):
        super().__init__(_("This data is addressed to another server or school, and was not applied."))


@dataclass
class Frame:
    type: str
    header: dict
    body: bytes
    digest: bytes  # SHA-256 of the whole frame, what the next frame's "prev" names

    @property
    def size(self) -> int:
        return len(self.body)


def pack(kind: str, header: dict, body: bytes, private_key: Ed25519PrivateKey) -> bytes:
    header = {**header, "protocol": PROTOCOL, "schema": SCHEMA, "body_sha256": hashlib.sha256(body).hexdigest()}
    head = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    unsigned = MAGIC + bytes([TYPES[kind]]) + struct.pack(">I", len(head)) + head + struct.pack(">I", len(body)) + body
    return unsigned + private_key.sign(hashlib.sha256(unsigned).digest())


def unpack(data: bytes, public_key: Ed25519PublicKey) -> Frame:
    """Check and open one frame; raises a TransferError for anything but a whole, signed, known frame."""
    if len(data) < 4 + 1 + 4 + 4 + 64 or data[:4] != MAGIC:
        raise BadChunk("not a frame")
    kind = NAMES.get(data[4])
    (hlen,) = struct.unpack(">I", data[5:9])
    if kind is None or hlen > MAX_HEADER or 9 + hlen + 4 > len(data):
        raise BadChunk("bad frame header")
    head = data[9 : 9 + hlen]
    (blen,) = struct.unpack(">I", data[9 + hlen : 13 + hlen])
    end = 13 + hlen + blen
    if blen > MAX_BODY or end + 64 != len(data):
        raise BadChunk("the frame is cut or has extra bytes")
    try:
        public_key.verify(data[end:], hashlib.sha256(data[:end]).digest())
    except InvalidSignature as error:
        raise BadSignature() from error
    header = json.loads(head)
    body = data[13 + hlen : end]
    if header.get("protocol") != PROTOCOL:
        raise SchemaTooNew(header.get("protocol"), PROTOCOL)
    if int(header.get("schema", 0)) > SCHEMA:
        raise SchemaTooNew(header["schema"], SCHEMA)
    if header.get("body_sha256") != hashlib.sha256(body).hexdigest():
        raise BadChunk("checksum")
    return Frame(kind, header, body, hashlib.sha256(data).digest())


def split(stream: bytes) -> list[bytes]:
    """Frames written one after another (a bundle): each is self-delimiting."""
    frames, at = [], 0
    while at < len(stream):
        if len(stream) - at < 13:
            raise BadChunk("the bundle is cut")
        (hlen,) = struct.unpack(">I", stream[at + 5 : at + 9])
        if hlen > MAX_HEADER or at + 13 + hlen > len(stream):
            raise BadChunk("the bundle is cut")
        (blen,) = struct.unpack(">I", stream[at + 9 + hlen : at + 13 + hlen])
        end = at + 13 + hlen + blen + 64
        if blen > MAX_BODY or end > len(stream):
            raise BadChunk("the bundle is cut")
        frames.append(stream[at:end])
        at = end
    return frames
