"""Sync tables: who this database is (its origins), what changed (the change log), what each side holds.

Kolibri's Morango keeps a second JSON copy of every record (Store, Buffer); here the application
tables are the only copy. The log holds, per record and origin, the counter of that origin's latest
change to it (Morango's record-max-counter), per partition, so "everything a peer has not seen" is an
index range scan. Field clocks (a hybrid logical clock per field) sit in `Record` for mutable kinds.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _

from birtutas.registry.models import Organization, User


class Origin(models.Model):
    """A source of changes. This database's own is `is_self`; a restored backup retires it and opens another."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    is_self = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    retired_reason = models.CharField(max_length=200, blank=True)


class Counter(models.Model):
    """The last counter given out by one of our origins in one partition; locked while a capture runs."""

    origin = models.UUIDField()
    partition = models.UUIDField()
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["origin", "partition"], name="sync_counter_unique")]


class Dirty(models.Model):
    """A row written since the last capture. Database triggers insert here, so no write path is missed."""

    tbl = models.CharField(max_length=63)
    row_id = models.BigIntegerField()
    uid = models.UUIDField(null=True)  # kept for a deleted row: its tombstone needs it

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tbl", "row_id"], name="sync_dirty_unique")]


class Record(models.Model):
    """Per record of a mutable kind: one clock per field, `[stamp, origin, previous stamp, value digest]`."""

    kind = models.CharField(max_length=40)
    uid = models.UUIDField()
    clocks = models.JSONField(default=dict)
    deleted = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "uid"], name="sync_record_unique")]


class Change(models.Model):
    """Record × origin × partition: that origin's latest counter for the record (Morango's record-max-counter)."""

    partition = models.UUIDField()
    origin = models.UUIDField()
    counter = models.BigIntegerField()
    kind = models.CharField(max_length=40)
    uid = models.UUIDField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "uid", "origin", "partition"], name="sync_change_unique"),
        ]
        indexes = [models.Index(fields=["partition", "origin", "counter"], name="sync_change_queue")]


class Have(models.Model):
    """What a database holds: every change of `origin` in `partition` up to `counter`.

    `peer` is empty for this database itself; otherwise it is what that peer last said it holds
    (used to plan a USB bundle, which cannot ask).
    """

    peer = models.UUIDField(null=True)
    partition = models.UUIDField()
    origin = models.UUIDField()
    counter = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["peer", "partition", "origin"], name="sync_have_unique"),
            models.UniqueConstraint(
                fields=["partition", "origin"], condition=models.Q(peer__isnull=True), name="sync_have_own"
            ),
        ]


class Node(models.Model):
    """A school's own server, registered at the central server: its identity, scope and sync health."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    signing_key = models.CharField(max_length=64)  # Ed25519 public key, hex
    box_key = models.CharField(max_length=100)  # age X25519 recipient, for bundles sealed to the node
    registered_at = models.DateTimeField(auto_now_add=True)
    registered_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=200, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    last_result = models.CharField(max_length=200, blank=True)
    pending_up = models.BigIntegerField(default=0)
    pending_down = models.BigIntegerField(default=0)
    clock_skew_ms = models.BigIntegerField(default=0)


class Session(models.Model):
    """One transfer: pushed, pulled, or carried as a bundle. Resumes after `last_key`."""

    class Kind(models.TextChoices):
        PUSH = "push", _("sent")
        PULL = "pull", _("received")
        BUNDLE_OUT = "bundle_out", _("bundle written")
        BUNDLE_IN = "bundle_in", _("bundle read")

    class State(models.TextChoices):
        OPEN = "open", _("in progress")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    peer = models.UUIDField()
    kind = models.CharField(max_length=12, choices=Kind.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    plan = models.JSONField(default=dict)  # {partition: {origin: [from, to]}}
    last_key = models.JSONField(null=True)
    chunks = models.IntegerField(default=0)
    records = models.BigIntegerField(default=0)
    bytes = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)


class Conflict(models.Model):
    """A field two sites changed without seeing each other's change: what was kept, what was replaced.

    Every site that merges the two versions computes the same row (its id is derived from the record,
    field and the replaced clock), so conflicts need not travel and the director sees them anywhere.
    """

    id = models.UUIDField(primary_key=True, editable=False)
    partition = models.UUIDField()
    kind = models.CharField(max_length=40)
    uid = models.UUIDField()
    field = models.CharField(max_length=63)
    kept = models.JSONField(null=True)
    replaced = models.JSONField(null=True)
    kept_clock = models.JSONField()
    replaced_clock = models.JSONField()
    detected_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["partition", "detected_at"], name="sync_conflict_school")]


class Refusal(models.Model):
    """An incoming change the central server did not write, and why (outside the node's scope, no permission)."""

    node = models.ForeignKey(Node, null=True, on_delete=models.CASCADE, related_name="refusals")
    session = models.UUIDField(null=True)
    kind = models.CharField(max_length=40)
    uid = models.UUIDField(null=True)
    reason = models.CharField(max_length=40)
    detail = models.TextField(blank=True)
    at = models.DateTimeField(auto_now_add=True)


class Parked(models.Model):
    """An incoming record whose parent has not arrived yet; retried after every chunk."""

    kind = models.CharField(max_length=40)
    uid = models.UUIDField()
    payload = models.JSONField()
    missing = models.CharField(max_length=200)
    since = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "uid"], name="sync_parked_unique")]
