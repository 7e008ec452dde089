"""The audit log: one append-only row per change of a legally meaningful record."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from birtutas.registry.permissions import StaffOfOrganization


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit log is append-only.")

    def delete(self):
        raise PermissionError("The audit log is append-only.")


class AuditEvent(models.Model):
    """Who changed what, when, from which value to which, and why.

    `subject` names the record in the domain's words ("mark", "attendance", "term_grade") and
    `subject_key` its natural key ("student:lesson"), so the history of one journal cell is one
    indexed lookup even after the record itself was deleted.
    """

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("registry.Organization", null=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=40)
    subject = models.CharField(max_length=40)
    subject_key = models.CharField(max_length=100)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    reason = models.TextField(_("reason"), blank=True)

    objects = AuditEventQuerySet.as_manager()
    permissions = StaffOfOrganization("organization_id")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["subject", "subject_key"], name="audit_subject_idx")]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit log is append-only.")
