"""Import a school's CSV files from the terminal: the same checks, preview and confirmation as the page.

    birtutas import_people --organization 12 --as director --students students.csv --teachers teachers.csv
    birtutas import_people ... --confirm <digest>     # import exactly the preview that was shown
    birtutas import_people ... --yes                  # import whatever the preview shows, without asking

The files are checked with progress on the terminal, the preview's counts and digest are shown,
and nothing is written until the preview is confirmed (interactively, by --confirm with its
digest, or by --yes). Writing is one short transaction: an interrupted run has written nothing
or everything, and running the same command again resumes the same job and never doubles a row.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from birtutas.journal import onboarding
from birtutas.journal.models import ImportJob
from birtutas.kernel.context import Via, acting_via, writing
from birtutas.kernel.errors import ServiceError
from birtutas.kernel.progress import Progress
from birtutas.registry.models import AcademicYear, User


class Command(BaseCommand):
    help = "Check a school's CSV files, show what importing them would change, and import them once confirmed."

    def add_arguments(self, parser):
        parser.add_argument("--organization", type=int, required=True, help="the school (id)")
        parser.add_argument("--as", dest="username", required=True, help="a director or deputy of the school")
        parser.add_argument("--year", help="the academic year, e.g. 2026-2027 (default: the current one)")
        for name in onboarding.FILE_ORDER:
            parser.add_argument(f"--{name}", type=Path, help=f"{name}.csv")
        parser.add_argument("--confirm", metavar="DIGEST", help="import the preview with this digest")
        parser.add_argument("--yes", action="store_true", help="import what the preview shows without asking")
        parser.add_argument("--language", default="", help="language of the messages: kk, ru or en")
        parser.add_argument("--quiet", action="store_true", help="no progress line")

    def handle(self, *args, **options):
        with translation.override(options["language"] or None), acting_via(Via.IMPORT):
            self._handle(options)

    def _handle(self, options):
        user = User.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError("No such active account.")
        year = self._year(options["year"], options["organization"])
        paths = {name: options[name] for name in onboarding.FILE_ORDER if options[name] is not None}
        for path in paths.values():
            if not path.is_file():
                raise CommandError(f"No such file: {path}")
        try:
            # Refused by size before a byte is read, as the page does.
            onboarding.refuse_size(sum(path.stat().st_size for path in paths.values()))
            files = {name: path.read_bytes() for name, path in paths.items()}
            job = self._job(user, options["organization"], year, files, options["language"])
        except ServiceError as error:
            raise CommandError(str(error.message)) from None
        quiet = options["quiet"]
        progress = Progress(job.rows_total, "checked", out=self.stderr, enabled=not quiet)
        job = onboarding.check_job(job.pk, progress=_stepper(progress))
        _finish(progress)
        if job.state == ImportJob.State.INVALID:
            for file, line, message in job.errors:
                self.stderr.write(f"{file}.csv:{line}: {message}")
            raise CommandError(f"{len(job.errors)} rows need correcting; nothing was imported.")
        if job.state != ImportJob.State.PREVIEW:
            raise CommandError(job.message or "The import failed; nothing was imported.")
        preview = onboarding.Preview(changes=job.preview["changes"], unchanged=job.preview["unchanged"])
        self._show(preview, job)
        if not preview.has_changes:
            self._done(job, preview)
            return
        digest = self._digest(options, job)
        if digest is None:
            self.stdout.write(f"Nothing imported. To import exactly this, run again with --confirm {job.digest}")
            return
        try:
            onboarding.confirm_job(user, job.organization_id, job.pk, digest)
        except ServiceError as error:
            raise CommandError(str(error.message)) from None
        progress = Progress(job.rows_total, "checked again and imported", out=self.stderr, enabled=not quiet)
        job = onboarding.apply_job(job.pk, progress=_stepper(progress))
        _finish(progress)
        if job.state == ImportJob.State.DONE:
            self.stdout.write(f"Imported: {_summary(job.report['changes'])}.")
        elif job.state == ImportJob.State.PREVIEW:
            raise CommandError(f"{job.message} New digest: {job.digest}")
        else:
            raise CommandError(job.message or "The import failed; nothing was imported.")

    def _year(self, name: str | None, organization_id: int) -> AcademicYear:
        if name:
            # The school's own copy of the year first, else the ministry's default.
            year = (
                AcademicYear.objects.filter(name=name, organization_id=organization_id).first()
                or AcademicYear.objects.filter(name=name, organization__isnull=True).first()
            )
        else:
            from birtutas.journal import queries

            term = queries.current_term()
            year = term.year if term is not None else None
        if year is None:
            raise CommandError("No such academic year.")
        return year

    def _job(self, user, organization_id: int, year: AcademicYear, files: dict, language: str) -> ImportJob:
        """The unfinished job of these very files, to resume; a new one otherwise."""
        digest = onboarding.files_digest({k: v for k, v in files.items() if v.strip()})
        unfinished = (
            ImportJob.objects.filter(
                organization_id=organization_id,
                year=year,
                files_digest=digest,
                created_by=user,
                state__in=(ImportJob.State.CHECKING, ImportJob.State.PREVIEW, ImportJob.State.APPLYING),
            )
            .exclude(files={})
            .order_by("-pk")
            .first()
        )
        if unfinished is not None:
            # Whatever it had reached, the files are checked again: the school's records may have changed,
            # and an interrupted write left nothing behind (it is one transaction).
            onboarding.visible_job(user, organization_id, unfinished.pk)
            with writing():
                ImportJob.objects.filter(pk=unfinished.pk).update(state=ImportJob.State.CHECKING, rows_checked=0)
            self.stderr.write(f"Resuming import job {unfinished.pk}.")
            return unfinished
        return onboarding.start_job(user, organization_id, year.pk, files, language=language)

    def _show(self, preview: onboarding.Preview, job: ImportJob) -> None:
        counts = preview.counts
        self.stdout.write(f"Import job {job.pk}: {job.rows_total} rows.")
        self.stdout.write(f"Would change: {_summary(counts) or 'nothing'}.")
        unchanged = ", ".join(f"{name} {n}" for name, n in preview.unchanged.items())
        if unchanged:
            self.stdout.write(f"Rows that change nothing: {unchanged}.")
        if counts[onboarding.PERSON]:
            self.stdout.write("People already registered in another school join after they or their school confirm.")
        self.stdout.write(f"Digest: {job.digest}")

    def _digest(self, options, job: ImportJob) -> str | None:
        if options["confirm"]:
            return options["confirm"]
        if options["yes"]:
            return job.digest
        if sys.stdin.isatty():
            answer = input("Import exactly this? [y/N] ")
            return job.digest if answer.strip().lower() in ("y", "yes") else None
        return None

    def _done(self, job: ImportJob, preview: onboarding.Preview) -> None:
        with writing():
            ImportJob.objects.filter(pk=job.pk).update(
                state=ImportJob.State.DONE, report=preview.as_json(), files={}, rows_written=job.rows_total
            )
        self.stdout.write("Nothing to import: everything in these files is already in place.")


def _summary(counts: dict[str, int]) -> str:
    return ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in counts.items() if n)


def _finish(progress: Progress) -> None:
    if progress.done < progress.total:
        progress.step(progress.total - progress.done)


def _stepper(progress: Progress):
    def step(done: int) -> None:
        progress.step(max(0, min(done, progress.total) - progress.done))

    return step
