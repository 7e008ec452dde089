"""Identities of records that travel between databases: the same fact entered in two places is one record.

A record with a natural key (a mark is student × lesson) gets a UUIDv5 of that key under its kind's
namespace, so two schools' nodes, the central server and a later shard all derive the same id without
asking each other. A record without one gets a time-ordered UUIDv7 (RFC 9562), good for index locality;
its time part only orders, it never decides. A person's id is keyed: a plain UUIDv5 of an IIN could be
brute-forced over the billion plausible IINs, so it is a UUIDv8 made from an HMAC of the IIN under a
secret every site of one deployment shares.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import time
import unicodedata
import uuid

ROOT = uuid.UUID("364e53e5-7b93-5f55-bc2a-176a8340dddf")  # uuid5(NAMESPACE_URL, "urn:birtutas"), fixed forever
SHARED = uuid.UUID(int=0)  # the partition of reference data every site holds


def namespace(kind: str) -> uuid.UUID:
    return uuid.uuid5(ROOT, kind)


def canonical(part) -> str:
    """One spelling per value, so every site hashes the same bytes for the same key."""
    if part is None:
        return ""
    if isinstance(part, uuid.UUID):
        return str(part)
    if isinstance(part, bool):
        return "1" if part else "0"
    if isinstance(part, int):
        return str(part)
    if isinstance(part, (dt.date, dt.datetime)):
        return part.isoformat()
    return unicodedata.normalize("NFC", str(part))


def natural_id(kind: str, *parts) -> uuid.UUID:
    return uuid.uuid5(namespace(kind), "|".join(canonical(p) for p in parts))


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """RFC 9562 UUIDv7: 48 bits of Unix milliseconds, then 74 random bits."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    value = (ms & ((1 << 48) - 1)) << 80 | int.from_bytes(os.urandom(10), "big") & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 9562 variant
    return uuid.UUID(int=value)


def keyed_id(key: bytes, kind: str, *parts) -> uuid.UUID:
    """RFC 9562 UUIDv8 from HMAC-SHA256 under `key`: stable for whoever holds the key, opaque to others."""
    digest = hmac.new(key, f"{kind}|{'|'.join(canonical(p) for p in parts)}".encode(), hashlib.sha256).digest()
    value = int.from_bytes(digest[:16], "big")
    value = value & ~(0xF << 76) | 0x8 << 76
    value = value & ~(0x3 << 62) | 0x2 << 62
    return uuid.UUID(int=value)
