"""Recompute term grades for every school (or one), school by school, with progress.

Each school is computed and committed on its own and the computation is idempotent, so an
interrupted run is resumed by running it again. Closed terms are skipped: their grades are final.
"""

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from birtutas.journal.models import TermClosure
from birtutas.journal.services import grade_open_term
from birtutas.kernel.progress import Progress
from birtutas.registry.models import Organization, Term


class Command(BaseCommand):
    help = "Compute term grades of open terms from the marks, school by school."

    def add_arguments(self, parser):
        parser.add_argument("--term", type=int, required=True, help="term id")
        parser.add_argument("--organization", type=int, help="only this school (id)")
        parser.add_argument("--jobs", type=int, default=1, help="schools computed at once (PostgreSQL: one per core)")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, *args, **options):
        term = Term.objects.filter(pk=options["term"]).first()
        if term is None:
            raise CommandError("No such term.")
        schools = Organization.objects.filter(classes__year=term.year).distinct().order_by("pk")
        if options["organization"]:
            schools = schools.filter(pk=options["organization"])
        closed = set(TermClosure.objects.in_force().filter(term=term).values_list("organization_id", flat=True))
        ids = [pk for pk in schools.values_list("pk", flat=True) if pk not in closed]
        progress = Progress(len(ids), "schools", enabled=not options["quiet"])
        started, changed = time.monotonic(), 0
        work = [(term.pk, pk) for pk in ids]
        if options["jobs"] > 1:
            connections.close_all()  # each worker process opens its own connection
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(max_workers=options["jobs"], mp_context=context) as pool:
                for count in pool.map(grade_school, work):
                    changed += count
                    progress.step()
        else:
            for item in work:
                changed += grade_school(item)
                progress.step()
        elapsed = time.monotonic() - started
        self.stdout.write(
            f"{changed} grades changed in {len(ids)} schools ({len(closed)} closed skipped) in {elapsed:.1f}s"
        )


def grade_school(item: tuple[int, int]) -> int:
    term_id, organization_id = item
    # Closure is checked again under the school's lock, as closing takes it: a term closed since
    # the list above was made keeps the grades its closing computed.
    return grade_open_term(organization_id, Term.objects.get(pk=term_id))
