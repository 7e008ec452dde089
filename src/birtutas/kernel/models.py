"""Tables every domain writes to: the append-only audit log and the in-app inbox.

Both refer to accounts through the swappable user model and to organizations and people by
string reference, so the kernel imports nothing of ours.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .context import Via
from .events import Event


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AuditEvent(models.Model):
    """Who changed what, through which channel, when, from which value to which, and why.

    `event` comes from a fixed vocabulary ("mark.set"), `object_key` names the record by its
    natural key ("student:lesson") so the history of one journal cell is one indexed lookup even
    after the record is gone, and `person` is the person the change is about, so "everything that
    happened to this student" is one indexed query too.
    """

    # The event's identity outside this database (set on insert: the row never changes), see kernel.travel.
    uid = models.UUIDField(null=True, editable=False)
    # A default, not auto_now_add: an event received from another server keeps the time it happened.
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.COMMAND)
    organization = models.ForeignKey("registry.Organization", null=True, on_delete=models.PROTECT, related_name="+")
    # No index of its own: audit_person_idx (person, at) starts with it and serves every lookup by person.
    person = models.ForeignKey("registry.Person", null=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    # Values of `Event`; not declared as choices so that a new event needs no migration.
    event = models.CharField(max_length=40)
    object_key = models.CharField(max_length=100)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    reason = models.TextField(_("reason"), blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["event", "object_key"], name="audit_object_idx"),
            models.Index(fields=["person", "at"], name="audit_person_idx"),
        ]
        # A partial unique index, not `unique=True`: on SQLite that would rebuild the table and drop its triggers.
        constraints = [models.UniqueConstraint(fields=["uid"], condition=models.Q(uid__isnull=False), name="audit_uid")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")

    @property
    def event_label(self) -> str:
        return Event(self.event).label if self.event in Event.values else self.event


class Notification(models.Model):
    """One message to one account in the in-app inbox, already in that account's language."""

    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=30)
    text = models.CharField(max_length=500)
    link = models.CharField(max_length=200, blank=True)
    # What the notice is about ("marks:<lesson>:<student>"): a later notice with the same key replaces
    # this one (its text, its time, unread again) instead of adding a second.
    key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # E-mail and SMS: when the notice's current text is due to go out (none: nothing to send), and
    # when it last went out. Edits within the delay are sent once, as the text stands then.
    send_after = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [
            models.Index(fields=["recipient", "-updated_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["send_after"], condition=models.Q(send_after__isnull=False), name="notification_due_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "key"], condition=~models.Q(key=""), name="notification_one_per_key"
            )
        ]
