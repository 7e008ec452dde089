"""Login throttling per account and per client address, kept in the shared cache.

The cache is Redis in production, so the counts hold across every app server; a failure
counter per key expires after the window. Checked before the password is even hashed.
"""

from __future__ import annotations

import hashlib
import unicodedata

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    # The sign-in form normalises usernames with NFKC: count "ｔeacher" and "teacher" as one account.
    normal = unicodedata.normalize("NFKC", value).strip().casefold()
    digest = hashlib.sha256(normal.encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def client_address(request) -> str:
    """The client's address; behind N trusted proxies, the one the outermost proxy saw."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def is_locked(username: str, address: str) -> bool:
    limits = settings.LOGIN_THROTTLE
    return (cache.get(_key("account", username), 0) >= limits["per_account"]) or (
        cache.get(_key("address", address), 0) >= limits["per_address"]
    )


def record_failure(username: str, address: str) -> None:
    window = settings.LOGIN_THROTTLE["window_seconds"]
    for key in (_key("account", username), _key("address", address)):
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, window)


def reset(username: str) -> None:
    cache.delete(_key("account", username))
