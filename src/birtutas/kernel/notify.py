"""Delivery of notifications: the in-app inbox always, e-mail and SMS where the person has them.

Messages are rendered in each recipient's own language (`User.language`, which the site's
language switch keeps). Two kinds:

- `send`: news. Each message is a new notice; one with a `key` replaces the recipient's earlier
  notice of that key instead (its text, its time, unread again): "a new letter in this
  conversation".
- `restate`: a notice that says how something stands now ("Айгерім: 8 and late in Algebra"). The
  caller restates after every change; a notice already saying exactly that is left alone, and
  `gone` withdraws it (deleted if nobody has seen it yet, else its text replaced by the message).

Keyed notices are written in the caller's transaction, so concurrent changes leave the text of the
last one to commit and a rolled-back change leaves nothing. E-mail and SMS go out after commit (a
Celery task, in-process when no broker is configured), `NOTIFY_DELAY` seconds after the last change
of a notice: edits within the delay are sent once, as the text stands then; an edit after the text
went out is sent as a correction.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.module_loading import import_string

from .models import Notification

log = logging.getLogger(__name__)

# Notices sent per round of `send_due`: each round locks, marks and sends one batch.
BATCH = 500


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
    """What to tell one account: `render` is called with that account's language active.

    `key` names what the notice is about ("marks:<lesson>:<student>"): one notice per recipient and
    key. `gone` (with `restate`) says that what the notice told no longer holds.
    """

    user_id: int
    kind: str
    render: Callable[[], str]
    link: str = ""
    key: str = ""
    gone: bool = False


def delay_seconds() -> int:
    return max(0, int(getattr(settings, "NOTIFY_DELAY", 0)))


def _email_of(user) -> str:
    """The account's e-mail address, else its person's."""
    return user.email or (user.person.email if user.person is not None else "")


def _reachable(user) -> bool:
    """Whether anything goes out beyond the inbox: an e-mail address, or a phone and an SMS gateway."""
    person = user.person
    return bool(_email_of(user) or (settings.SMS_GATEWAY and person is not None and person.phone))


def _render(messages: list[Message]) -> list[tuple[Message, object, str]]:
    """Each message with its recipient and its text in the recipient's language (inactive accounts skipped)."""
    users = get_user_model().objects.select_related("person").in_bulk({m.user_id for m in messages})
    texts: dict[tuple[int, str], str] = {}  # a text shared by many recipients is rendered once per language
    found = []
    for m in messages:
        user = users.get(m.user_id)
        if user is None or not user.is_active:
            continue
        language = user.language or settings.LANGUAGE_CODE
        cached = (id(m.render), language)
        if cached not in texts:
            with translation.override(language):
                texts[cached] = str(m.render())[:500]
        found.append((m, user, texts[cached]))
    return found


def send(messages: list[Message]) -> None:
    """Tell each recipient something new; keyed messages replace the recipient's notice of that key."""
    if not messages:
        return
    rendered = _render(messages)
    _replace([r for r in rendered if r[0].key], news=True)
    payload = [(m.user_id, m.kind, text, m.link, _reachable(user)) for m, user, text in rendered if not m.key]
    if payload:
        # After commit, so a rolled-back change never notifies anyone.
        transaction.on_commit(lambda: deliver.delay(payload))


def restate(messages: list[Message]) -> None:
    """Make each recipient's notice of each key say what the message says now (see the module's note)."""
    if any(not m.key for m in messages):
        raise ValueError("a restated notice needs a key")
    if messages:
        _replace(_render(messages), news=False)


def _replace(rendered: list[tuple[Message, object, str]], *, news: bool) -> None:
    if not rendered:
        return
    now = timezone.now()
    due = now + dt.timedelta(seconds=delay_seconds())
    outgoing = False
    with transaction.atomic():
        found = {
            (n.recipient_id, n.key): n
            for n in Notification.objects.select_for_update().filter(
                recipient_id__in={m.user_id for m, _u, _t in rendered}, key__in={m.key for m, _u, _t in rendered}
            )
        }
        changed, created, dropped = [], [], []
        for m, user, text in rendered:
            send_after = due if _reachable(user) else None
            row = found.get((m.user_id, m.key))
            if row is None:
                if not m.gone:
                    created.append(
                        Notification(
                            recipient_id=m.user_id,
                            kind=m.kind,
                            key=m.key,
                            text=text,
                            link=m.link,
                            send_after=send_after,
                        )
                    )
                    outgoing |= send_after is not None
                continue
            if m.gone and row.read_at is None and row.sent_at is None:
                dropped.append(row.pk)  # nobody saw it: as if it had never been
                continue
            if not news and (row.text, row.link) == (text, m.link):
                continue
            row.kind, row.text, row.link = m.kind, text, m.link
            row.updated_at, row.read_at, row.send_after = now, None, send_after
            changed.append(row)
            outgoing |= send_after is not None
        if dropped:
            Notification.objects.filter(pk__in=dropped).delete()
        if changed:
            Notification.objects.bulk_update(changed, ["kind", "text", "link", "updated_at", "read_at", "send_after"])
        if created:
            _create(created, now)
    if outgoing:
        transaction.on_commit(_schedule)


def _create(rows: list[Notification], now) -> None:
    """Insert new notices; one that a concurrent change inserted a moment ago is updated instead."""
    try:
        with transaction.atomic():
            Notification.objects.bulk_create(rows)
        return
    except IntegrityError:
        pass
    for row in rows:
        try:
            with transaction.atomic():
                row.pk = None
                row.save(force_insert=True)
        except IntegrityError:
            Notification.objects.filter(recipient_id=row.recipient_id, key=row.key).update(
                kind=row.kind, text=row.text, link=row.link, updated_at=now, read_at=None, send_after=row.send_after
            )


def _schedule() -> None:
    delay = delay_seconds()
    if delay:
        # A worker runs it then. Without a broker (eager), nothing waits: such installations keep
        # NOTIFY_DELAY at 0, and any notice left due goes out with the next delivery.
        send_due.apply_async(countdown=delay + 1)
    else:
        send_due.delay()


@shared_task
def deliver(payload: list[tuple[int, str, str, str, bool]]) -> None:
    """The inbox notices of `send` without a key, then their e-mail and SMS."""
    now = timezone.now()
    Notification.objects.bulk_create(
        Notification(recipient_id=uid, kind=kind, text=text, link=link, send_after=now if reachable else None)
        for uid, kind, text, link, reachable in payload
    )
    if any(reachable for *_rest, reachable in payload):
        send_due()


@shared_task
def send_due(now: dt.datetime | None = None) -> int:
    """Send by e-mail and SMS every notice whose time has come, its text as it stands; how many.

    Each batch is claimed in a transaction (rows locked, skipping those another worker holds) and
    sent after it commits, so two workers never send one notice twice.
    """
    now = now or timezone.now()
    gateway = sms_gateway()
    sent = 0
    while True:
        with transaction.atomic():
            # An account closed since the notice was written gets nothing more by e-mail or SMS.
            Notification.objects.filter(send_after__lte=now, recipient__is_active=False).update(send_after=None)
            batch = list(
                Notification.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("recipient__person")
                .filter(send_after__lte=now, recipient__is_active=True)
                .order_by("send_after", "pk")[:BATCH]
            )
            Notification.objects.filter(pk__in=[n.pk for n in batch]).update(send_after=None, sent_at=now)
        for notice in batch:
            _send_outside(notice.recipient, notice.text, gateway)
        sent += len(batch)
        if len(batch) < BATCH:
            return sent


def _send_outside(user, text: str, gateway: SmsGateway | None) -> None:
    person = user.person
    email = _email_of(user)
    if email:
        try:
            send_mail("Birtutas", text, settings.DEFAULT_FROM_EMAIL, [email])
        except OSError:
            log.warning("e-mail delivery failed for account %s", user.pk)
    if gateway and person and person.phone:
        gateway.send(person.phone, text)
