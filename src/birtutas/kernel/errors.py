"""Errors a service raises for a person to read; views and the API turn them into responses."""

from django.http import Http404
from django.utils.translation import gettext_lazy as _


class ServiceError(Exception):
    """The request is understood but refused; `message` is translated, `status` is the HTTP code."""

    status = 400

    def __init__(self, message, *, status: int | None = None, details: list | None = None):
        super().__init__(str(message))
        self.message = message
        self.details = details or []
        if status is not None:
            self.status = status


class NotFound(ServiceError, Http404):
    """The object does not exist or the actor may not see it: both look the same from outside.

    Being an Http404 too, it becomes a 404 page wherever a view lets it pass. With no message it
    says "Not found.", which is all a person may learn about something they may not see.
    """

    status = 404

    def __init__(self, message=None, **kwargs):
        super().__init__(_("Not found.") if message is None else message, **kwargs)


class Conflict(ServiceError):
    status = 409


class Forbidden(ServiceError):
    """The actor may see the object but may not make this change."""

    status = 403


def raise_refusal(error: Exception) -> None:
    """Re-raise a refusal of who is asking (403, 404), so it becomes the error page; a mistake in
    what they typed (400, 409) is the caller's to show beside the form."""
    if getattr(error, "status", 400) in (403, 404):
        raise error
