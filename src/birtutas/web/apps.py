from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    """Layout, sign-in, profile, inbox pages and error pages.

    The label stays "core", the package's first name, so databases created before the rename keep
    their migration history; the inbox table it once held now belongs to the kernel.
    """

    name = "birtutas.web"
    label = "core"
    verbose_name = _("Web")
