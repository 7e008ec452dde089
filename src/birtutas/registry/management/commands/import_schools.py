"""Import the national list of schools from CSV: all or nothing, every bad row named, safe to run again."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from birtutas.kernel.context import Via, acting_via
from birtutas.kernel.progress import Progress
from birtutas.registry import accounts


class Command(BaseCommand):
    help = (
        "Import organizations from a CSV file (columns: "
        + ",".join(accounts.SCHOOL_COLUMNS)
        + "). Every row is checked first; if any is wrong nothing is imported. Rows are matched by BIN, so a "
        "second run changes only what changed. See docs/samples/schools.csv."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8, comma or semicolon), or - for standard input")
        parser.add_argument("--no-progress", action="store_true", help="do not show progress")

    def handle(self, *args, **options):
        name = options["file"]
        try:
            content = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as error:
            raise CommandError(_("Cannot read %(file)s: %(error)s") % {"file": name, "error": error.strerror}) from None
        bar: list[Progress] = []

        def progress(done: int, total: int) -> None:
            if not bar:
                bar.append(Progress(total, _("schools"), out=self.stderr, enabled=not options["no_progress"]))
            bar[0].step()

        with acting_via(Via.IMPORT):
            report = accounts.import_schools(None, content, progress=progress)
        if not report.ok:
            for error in report.errors:
                self.stderr.write(_("line %(line)d: %(message)s") % {"line": error.line, "message": error.message})
            raise CommandError(
                _("Nothing was imported: %(count)d rows need correcting.") % {"count": len(report.errors)}
            )
        self.stdout.write(
            _("Imported: %(created)d new, %(updated)d updated, %(unchanged)d unchanged, %(districts)d new districts.")
            % {
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "districts": report.districts,
            }
        )
