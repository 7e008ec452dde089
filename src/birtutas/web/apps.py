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

    def ready(self):
        # Signing in records when; that write of the account goes through the service boundary too.
        from django.contrib.auth.models import update_last_login
        from django.contrib.auth.signals import user_logged_in

        user_logged_in.disconnect(update_last_login, dispatch_uid="update_last_login")
        user_logged_in.connect(_record_sign_in, dispatch_uid="update_last_login")


def _record_sign_in(sender, user, **kwargs):
    from django.contrib.auth.models import update_last_login

    from birtutas.kernel.context import writing

    with writing():
        update_last_login(sender, user, **kwargs)
