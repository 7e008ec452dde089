"""Refusals of the sync, each a kernel error, so the web and API error handlers answer them with their
status and their message in the reader's language. `code` names the refusal for a program reading it."""

from __future__ import annotations

from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from birtutas.kernel.clock import KAZAKHSTAN
from birtutas.kernel.errors import Forbidden, NotFound, ServiceError


class BadSignature(ServiceError):
    """An Ed25519 signature did not verify: the data changed after it was signed, or another key signed it."""

    code = "bad_signature"

    def __init__(self, message=None, **kwargs):
        super().__init__(
            message
            or _("The signature does not match: the file was changed after it was signed, or another key signed it."),
            **kwargs,
        )


class CentreKeyMismatch(BadSignature):
    code = "centre_key_mismatch"

    def __init__(self):
        super().__init__(
            _(
                "This registration file was signed by a different central server key from the one you gave. "
                "Do not use it: ask the central server's administrators for a new file."
            )
        )


class BadRegistration(ServiceError):
    """A registration file that is not one: unreadable, of an unknown format, or with broken keys."""

    code = "bad_registration"


class UnknownNode(NotFound):
    code = "unknown_node"

    def __init__(self):
        super().__init__(_("This school server is not registered at the central server."))


def _revoked_message(revoked_at, reason: str) -> str:
    return gettext(
        "This school server's registration was revoked on %(date)s. Reason: %(reason)s. "
        "It may not sync any more; register it again to resume."
    ) % {"date": revoked_at.astimezone(KAZAKHSTAN).date().isoformat(), "reason": reason or "—"}


_lazy_revoked_message = lazy(_revoked_message, str)


class NodeRevoked(Forbidden):
    """The node's registration was revoked: every request it makes is refused, and told why."""

    code = "revoked"

    def __init__(self, node_id, revoked_at, reason: str):
        super().__init__(_lazy_revoked_message(revoked_at, reason))
        self.node_id = node_id
        self.revoked_at = revoked_at
        self.reason = reason


class AuthenticationFailed(ServiceError):
    """A sync request's proof of identity failed; `code` says which part."""

    status = 401
    code = "unauthenticated"


class UnknownNonce(AuthenticationFailed):
    code = "nonce_unknown"

    def __init__(self):
        super().__init__(_("The server did not issue this nonce, or it is long gone: ask for a new one."))


class NonceExpired(AuthenticationFailed):
    code = "nonce_expired"

    def __init__(self):
        super().__init__(_("The nonce has expired: ask for a new one and sign it at once."))


class NonceReused(AuthenticationFailed):
    code = "nonce_reused"

    def __init__(self):
        super().__init__(_("The nonce was already used; each nonce works once. Ask for a new one."))


class WrongSignature(AuthenticationFailed):
    code = "wrong_signature"

    def __init__(self):
        super().__init__(_("The signature does not match this school server's registered key: the request is refused."))


class NotCentral(ServiceError):
    code = "not_central"

    def __init__(self):
        super().__init__(_("Only the central server registers school servers."), status=409)
