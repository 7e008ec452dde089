"""Generate a deterministic demo region: Kazakh-, Russian- and mixed-language schools, families whose names
agree, valid IINs, bell schedules, timetables with rooms, lessons on the curriculum's objectives with
homework, and the terms' marks and absences with their audit history."""

import datetime as dt
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from birtutas.demo import DemoSize, Generator


class Command(BaseCommand):
    help = "Generate demo data from a seed (resumable: finished schools are skipped)."

    def add_arguments(self, parser):
        parser.add_argument("--schools", type=int, default=4)
        parser.add_argument("--students", type=int, default=1200)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD; default today")
        parser.add_argument("--no-accounts", action="store_true", help="do not create the demo accounts")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **options):
        if options["schools"] < 1 or options["students"] < options["schools"] * 11:
            raise CommandError("Need at least one school and 11 students per school (one per grade).")
        accounts = not options["no_accounts"]
        if accounts and not settings.DEMO_MODE:
            raise CommandError("Demo accounts exist only in demo mode: set BIRTUTAS_DEMO=1, or pass --no-accounts.")
        started = time.monotonic()
        size = DemoSize(
            schools=options["schools"],
            students=options["students"],
            seed=options["seed"],
            today=options["today"],
            demo_accounts=accounts,
            progress=not options["quiet"],
        )
        Generator(size).run()
        self.stdout.write(f"demo data ready in {time.monotonic() - started:.1f}s")
