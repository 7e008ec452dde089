"""Set a year of the ministry's default school calendar, from which every school adopts its own.

    birtutas default_calendar 2026-2027 --from 2026-09-01 --to 2027-05-25 \\
        --term 2026-09-01:2026-10-24 --term 2026-11-03:2026-12-26 \\
        --term 2027-01-08:2027-03-18 --term 2027-03-30:2027-05-25 \\
        --holiday "2026-10-25:2026-11-02:Күзгі демалыс:Осенние каникулы" \\
        --reason "order of the Minister No. …"

Terms are numbered in the order given. The whole year is given each time: holidays left out are
removed, and running it again with the same arguments changes nothing.
"""

import datetime as dt

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from birtutas.kernel.context import Via, acting_via
from birtutas.kernel.errors import ServiceError
from birtutas.registry.calendar import HolidayDates, define_year
from birtutas.registry.rules import TermDates


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(_("“%(value)s” is not a date like 2026-09-01.") % {"value": text}) from None


class Command(BaseCommand):
    help = "Set a year of the ministry's default school calendar: its terms and holidays."

    def add_arguments(self, parser):
        parser.add_argument("name", help="the school year, such as 2026-2027")
        parser.add_argument("--from", dest="starts_on", required=True, help="first day of the year (YYYY-MM-DD)")
        parser.add_argument("--to", dest="ends_on", required=True, help="last day of the year (YYYY-MM-DD)")
        parser.add_argument("--term", action="append", default=[], help="FIRST:LAST day of a term, in order")
        parser.add_argument("--holiday", action="append", default=[], help="FIRST:LAST:name in Kazakh:name in Russian")
        parser.add_argument("--reason", default="", help="the ministry's order, for the audit log")
        parser.add_argument("--language", default="kk", choices=["kk", "ru", "en"], help="language of the messages")

    def handle(self, *args, **options):
        with translation.override(options["language"]):
            terms = []
            for number, text in enumerate(options["term"], start=1):
                parts = text.split(":")
                if len(parts) != 2:
                    raise CommandError(_("A term is given as FIRST:LAST, not “%(value)s”.") % {"value": text})
                terms.append(TermDates(_date(parts[0]), _date(parts[1]), number=number))
            holidays = []
            for text in options["holiday"]:
                parts = text.split(":", 3)
                if len(parts) != 4:
                    raise CommandError(
                        _("A holiday is given as FIRST:LAST:name in Kazakh:name in Russian, not “%(value)s”.")
                        % {"value": text}
                    )
                holidays.append(HolidayDates(_date(parts[0]), _date(parts[1]), parts[2], parts[3]))
            try:
                with acting_via(Via.COMMAND):
                    year = define_year(
                        None,
                        None,
                        options["name"],
                        _date(options["starts_on"]),
                        _date(options["ends_on"]),
                        terms,
                        holidays,
                        reason=options["reason"],
                    )
            except ServiceError as error:
                for detail in error.details or [error.message]:
                    self.stderr.write(str(detail))
                raise CommandError(_("The calendar was not changed.")) from None
            self.stdout.write(
                _("The ministry's calendar for %(year)s: %(terms)d terms, %(holidays)d holidays.")
                % {"year": year.name, "terms": year.terms.count(), "holidays": year.holidays.count()}
            )
