"""Delivery of notifications: the in-app inbox always, e-mail and SMS where the person has them.

Messages are rendered in each recipient's own language. Delivery runs after the transaction
that caused it commits, as a Celery task (in-process when no broker is configured).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import translation
from django.utils.module_loading import import_string

from .models import Notification

log = logging.getLogger(__name__)


class SmsGateway:
    """Interface for an SMS provider; set BIRTUTAS_SMS_GATEWAY to a dotted path of a subclass."""

    def send(self, phone: str, text: str) -> None:
        raise NotImplementedError


class OutboxSmsGateway(SmsGateway):
    """Keeps messages in memory: for tests and for trying the flow without a provider."""

    outbox: list[tuple[str, str]] = []

    def send(self, phone: str, text: str) -> None:
        self.outbox.append((phone, text))


def sms_gateway() -> SmsGateway | None:
    return import_string(settings.SMS_GATEWAY)() if settings.SMS_GATEWAY else None


@dataclass(frozen=True)
class Message:
    """What to tell one account: `render` is called with that account's language active."""

    user_id: int
    kind: str
    render: Callable[[], str]
    link: str = ""


def send(messages: list[Message]) -> None:
    """Queue delivery after commit, so a rolled-back change never notifies anyone."""
    if not messages:
        return
    users = get_user_model().objects.in_bulk([m.user_id for m in messages])
    payload = []
    for m in messages:
        user = users.get(m.user_id)
        if user is None:
            continue
        with translation.override(user.language or settings.LANGUAGE_CODE):
            payload.append((m.user_id, m.kind, str(m.render())[:500], m.link))
    transaction.on_commit(lambda: deliver.delay(payload))


@shared_task
def deliver(payload: list[tuple[int, str, str, str]]) -> None:
    Notification.objects.bulk_create(
        Notification(recipient_id=uid, kind=kind, text=text, link=link) for uid, kind, text, link in payload
    )
    users = get_user_model().objects.select_related("person").in_bulk([p[0] for p in payload])
    gateway = sms_gateway()
    for uid, _kind, text, _link in payload:
        user = users[uid]
        person = user.person
        email = user.email or (person.email if person else "")
        if email:
            try:
                send_mail("Birtutas", text, settings.DEFAULT_FROM_EMAIL, [email])
            except OSError:
                log.warning("e-mail delivery failed for account %s", uid)
        if gateway and person and person.phone:
            gateway.send(person.phone, text)
