"""Register one organization (a school, a college, a university) under its BIN."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from birtutas.kernel.context import Via, acting_via
from birtutas.kernel.errors import ServiceError
from birtutas.registry import accounts
from birtutas.registry.models import District, Organization, Region


class Command(BaseCommand):
    help = "Register an organization under its BIN, in a district (registered too when new)."

    def add_arguments(self, parser):
        parser.add_argument("--bin", required=True, help="12 digits, with the IIN/BIN check digit")
        parser.add_argument("--name-kk", required=True)
        parser.add_argument("--name-ru", required=True)
        parser.add_argument("--name-en", default="")
        parser.add_argument("--region", required=True, help="region code, such as KZ-11")
        parser.add_argument("--district", required=True, help="the district's name in Kazakh")
        parser.add_argument("--district-ru", default="", help="the district's name in Russian, if it is new")
        parser.add_argument("--kind", default=Organization.Kind.SCHOOL, choices=Organization.Kind.values)
        parser.add_argument("--locality", required=True, choices=Organization.Locality.values)
        parser.add_argument("--language", required=True, choices=Organization.Language.values)
        parser.add_argument("--connection", required=True, choices=Organization.Connection.values)
        parser.add_argument("--mbps", default="0", help="connection speed, Mbit/s")
        parser.add_argument("--computers", default="0", help="computers for students")
        parser.add_argument("--small-ungraded", action="store_true")

    def handle(self, *args, **options):
        region = Region.objects.filter(code=options["region"].strip().upper()).first()
        if region is None:
            raise CommandError(_("There is no region with the code %(code)s.") % {"code": options["region"]})
        district = District.objects.filter(region=region, name_kk__iexact=options["district"].strip()).first()
        with acting_via(Via.COMMAND):
            try:
                if district is None:
                    district = self._new_district(region, options)
                organization = accounts.register_organization(
                    None,
                    bin=options["bin"],
                    district_id=district.pk,
                    name_kk=options["name_kk"],
                    name_ru=options["name_ru"],
                    name_en=options["name_en"],
                    kind=options["kind"],
                    locality=options["locality"],
                    language=options["language"],
                    connection=options["connection"],
                    connection_mbps=options["mbps"],
                    student_computers=options["computers"],
                    small_ungraded="yes" if options["small_ungraded"] else "no",
                )
            except ServiceError as error:
                raise CommandError(str(error.message)) from None
        self.stdout.write(
            _("Registered %(name)s (BIN %(bin)s), id %(id)d.")
            % {"name": organization.name, "bin": organization.bin, "id": organization.pk}
        )

    def _new_district(self, region, options) -> District:
        if not options["district_ru"].strip():
            raise CommandError(_("The district is not registered yet: give its Russian name with --district-ru."))
        return accounts.register_district(None, region, options["district"], options["district_ru"])
