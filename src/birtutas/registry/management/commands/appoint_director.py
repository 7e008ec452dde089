"""Appoint the director of an organization and print their activation code, for the ministry to hand over."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from birtutas.kernel.context import Via, acting_via
from birtutas.kernel.errors import ServiceError
from birtutas.registry import accounts
from birtutas.registry.models import Organization


class Command(BaseCommand):
    help = (
        "Make a person (registered if new) the director of an organization and print their one-time "
        "activation code. The code is not stored anywhere: hand it over."
    )

    def add_arguments(self, parser):
        parser.add_argument("--organization", required=True, help="the organization's BIN (12 digits) or id")
        parser.add_argument("--iin", required=True)
        parser.add_argument("--last-name", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--patronymic", default="")
        parser.add_argument("--email", default="")
        parser.add_argument("--phone", default="")
        parser.add_argument("--replace", action="store_true", help="end the role of the current director(s)")
        parser.add_argument("--new-code", action="store_true", help="a code even if they already use their account")
        parser.add_argument("--site-url", default="", help="the address people open, for the printed instructions")

    def handle(self, *args, **options):
        key = options["organization"].strip()
        lookup = {"bin": key} if len(key) == 12 else {"pk": int(key)} if key.isdigit() else None
        organization = Organization.objects.filter(**lookup).first() if lookup else None
        if organization is None:
            raise CommandError(_("There is no organization %(key)s.") % {"key": key})
        with acting_via(Via.COMMAND):
            try:
                appointment = accounts.appoint_director(
                    None,
                    organization.pk,
                    iin=options["iin"],
                    last_name=options["last_name"],
                    first_name=options["first_name"],
                    patronymic=options["patronymic"],
                    email=options["email"],
                    phone=options["phone"],
                    replace=options["replace"],
                    new_code=options["new_code"],
                    site=options["site_url"],
                )
            except ServiceError as error:
                raise CommandError(str(error.message)) from None
        person = appointment.membership.person
        self.stdout.write(
            _("%(name)s is the director of %(organization)s.")
            % {"name": person.full_name, "organization": organization.name}
        )
        for ended in appointment.ended:
            self.stdout.write(_("The role of %(name)s as director has ended.") % {"name": ended.person.full_name})
        code = appointment.code
        if code is None:
            self.stdout.write(_("They already use their account: no code was issued (use --new-code for one)."))
            return
        expires = timezone.localtime(code.expires_at).strftime("%Y-%m-%d %H:%M")
        self.stdout.write(_("Activation code: %(code)s") % {"code": code.printed})
        self.stdout.write(_("Valid until: %(date)s") % {"date": expires})
        self.stdout.write(
            _("Sign-in address: %(address)s") % {"address": accounts.activation_address(options["site_url"])}
        )
