"""Sign-in throttling that slows a guesser without locking the owner out, kept in the shared cache.

The design is OWASP's "device cookie" one. A successful sign-in leaves a signed cookie on the
device, naming the account and a random nonce. An attempt from such a device for that account is
*trusted*: only failures made with that same cookie count against it, so a stranger elsewhere can
never lock the owner out of their own phone or the school's computer. Any other attempt is
*untrusted* and counts, within a window, against three limits: the account from this address, this
address for every account, and the account from every untrusted device (a guesser spread over many
addresses). When the last one bites, the owner on a new device asks for an unlock link by e-mail,
which makes that device trusted for the account.

The cache is Redis in production, so the counts hold across every app server; each counter
expires after the window. Everything here is checked before the password is even hashed.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.core.cache import cache

DEVICE_COOKIE = "birtutas_device"
DEVICE_SALT = "birtutas.web.throttle.device"
UNLOCK_SALT = "birtutas.web.throttle.unlock"
DEVICE_MAX_AGE = 365 * 86400
UNLOCK_MAX_AGE = 3600
DEVICE_ACCOUNTS = 10  # a family tablet remembers a few accounts; the oldest is forgotten first

DEFAULTS = {"per_account_address": 5, "per_account": 10, "per_address": 20, "per_device": 10, "window_seconds": 900}

# Why an attempt is refused.
ADDRESS = "address"  # this address, for this account or for every account: wait for the window
ACCOUNT = "account"  # the account, from devices it has never signed in on: unlock by e-mail, or wait


def limits() -> dict:
    return {**DEFAULTS, **settings.LOGIN_THROTTLE}


def account_key(username: str) -> str:
    # The sign-in form normalises usernames with NFKC: count "ｔeacher" and "teacher" as one account.
    normal = unicodedata.normalize("NFKC", username).strip().casefold()
    return hashlib.sha256(normal.encode()).hexdigest()[:32]


def _key(kind: str, *parts: str) -> str:
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"login-fail:{kind}:{digest}"


def client_address(request) -> str:
    """The client's address; behind N trusted proxies, the one the outermost proxy saw."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


# ------------------------------------------------------------------ the device cookie


def device_accounts(request) -> dict[str, str]:
    """The accounts this device has signed in to, as {account key: nonce}; {} if none or forged."""
    value = request.COOKIES.get(DEVICE_COOKIE, "")
    if not value:
        return {}
    try:
        accounts = signing.loads(value, salt=DEVICE_SALT, max_age=DEVICE_MAX_AGE)
    except signing.BadSignature:
        return {}
    if not isinstance(accounts, dict):
        return {}
    return {k: v for k, v in accounts.items() if isinstance(k, str) and isinstance(v, str)}


def remember_device(request, response, username: str) -> None:
    """Mark this device as one the account signs in on (after a sign-in, or an unlock link)."""
    accounts = device_accounts(request)
    key = account_key(username)
    nonce = accounts.pop(key, None) or secrets.token_urlsafe(9)
    accounts[key] = nonce  # most recent last
    while len(accounts) > DEVICE_ACCOUNTS:
        accounts.pop(next(iter(accounts)))
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(accounts, salt=DEVICE_SALT, compress=True),
        max_age=DEVICE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.PRODUCTION,
    )
    cache.delete(_key("device", key, nonce))


# ------------------------------------------------------------------ attempts


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt: who it claims to be, from where, and from which known device if any."""

    account: str
    address: str
    nonce: str | None  # the device cookie's nonce for this account, if the device has one

    @classmethod
    def of(cls, request, username: str) -> Attempt:
        account = account_key(username)
        return cls(account, client_address(request), device_accounts(request).get(account))

    @property
    def trusted(self) -> bool:
        """From a device that signed in to this account before, and has not used up its own tries."""
        return self.nonce is not None and _count(self._device_key) < limits()["per_device"]

    @property
    def _device_key(self) -> str:
        return _key("device", self.account, self.nonce or "")

    def _untrusted_keys(self) -> dict[str, str]:
        return {
            "per_account_address": _key("account-address", self.account, self.address),
            "per_address": _key("address", self.address),
            "per_account": _key("account", self.account),
        }

    def refusal(self) -> str | None:
        """None if the attempt may go on to the password check; else why not (ADDRESS or ACCOUNT)."""
        if self.trusted:
            return None
        bounds = limits()
        keys = self._untrusted_keys()
        counts = cache.get_many(list(keys.values()))
        over = {name for name, key in keys.items() if counts.get(key, 0) >= bounds[name]}
        if over & {"per_account_address", "per_address"}:
            return ADDRESS
        return ACCOUNT if over else None

    def failed(self) -> None:
        keys = [self._device_key] if self.trusted else list(self._untrusted_keys().values())
        for key in keys:
            _increment(key)

    def succeeded(self) -> None:
        # Only what the right password proves is cleared: never the address's count, which a guesser
        # could otherwise reset by signing in to an account of their own between guesses.
        cache.delete_many([self._device_key, _key("account-address", self.account, self.address)])


def _count(key: str) -> int:
    return cache.get(key, 0)


def _increment(key: str) -> None:
    window = limits()["window_seconds"]
    cache.add(key, 0, window)
    try:
        cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.set(key, 1, window)


# The functions the sign-in view and the API call; `request` carries the address and the device cookie.


def refusal(request, username: str) -> str | None:
    return Attempt.of(request, username).refusal()


def record_failure(request, username: str) -> None:
    Attempt.of(request, username).failed()


def record_success(request, response, username: str) -> None:
    Attempt.of(request, username).succeeded()
    remember_device(request, response, username)


# ------------------------------------------------------------------ unlock links


def unlock_token(username: str) -> str:
    return signing.dumps({"a": account_key(username), "u": username}, salt=UNLOCK_SALT, compress=True)


def read_unlock_token(token: str) -> str | None:
    """The username an unlock link was sent for, if the link is genuine and under an hour old."""
    try:
        data = signing.loads(token, salt=UNLOCK_SALT, max_age=UNLOCK_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), str) or data.get("a") != account_key(data["u"]):
        return None
    return data["u"]


def may_send_unlock_mail(request, username: str) -> bool:
    """One unlock mail per account per window, and a few per address: the link must not become a way
    to flood a mailbox, or everyone's."""
    address_key = _key("unlock-address", client_address(request))
    if _count(address_key) >= limits()["per_address"]:
        return False
    _increment(address_key)
    return cache.add(_key("unlock-mail", account_key(username)), 1, limits()["window_seconds"])
