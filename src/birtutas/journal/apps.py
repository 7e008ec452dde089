from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class JournalConfig(AppConfig):
    name = "birtutas.journal"
    label = "journal"
    verbose_name = _("Journal")

    def ready(self):
        # The calendar (registry) refuses to change the dates of a closed term; which terms are
        # closed is the journal's to say, and the registry may not import it.
        from birtutas.registry.calendar import register_term_locks

        register_term_locks(closed_terms)


def closed_terms(organization_id, term_ids):
    from .models import TermClosure

    closures = TermClosure.objects.in_force().filter(term_id__in=list(term_ids))
    if organization_id is not None:
        closures = closures.filter(organization_id=organization_id)
    return set(closures.values_list("term_id", flat=True))
