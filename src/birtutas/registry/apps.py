from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "birtutas.registry"
    label = "registry"
    verbose_name = _("Registry")

    def ready(self):
        # The audit log is the kernel's, which knows nothing of roles: who may read it is said here.
        from birtutas.kernel.models import AuditEvent

        from .permissions import AUDIT_READERS

        AuditEvent.permissions = AUDIT_READERS
