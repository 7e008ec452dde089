"""Load learning objectives from a CSV file (by default the one shipped with the platform).

    birtutas load_curriculum                       # the shipped objectives
    birtutas load_curriculum objectives.csv --language ru
    birtutas load_curriculum objectives.csv --check   # report the bad rows, write nothing

All or nothing: when a row is wrong, every wrong row is listed with its line and nothing is
loaded. Running it again with the same file changes nothing.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation
from django.utils.translation import gettext as _

from birtutas.curriculum.services import SHIPPED_OBJECTIVES, load_curriculum
from birtutas.kernel.context import Via, acting_via


class Command(BaseCommand):
    help = "Load the curriculum's learning objectives from a CSV file (default: the shipped file)."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="CSV file (UTF-8); default: the file shipped with Birtutas")
        parser.add_argument("--language", default="kk", choices=["kk", "ru", "en"], help="language of the messages")
        parser.add_argument("--check", action="store_true", help="check the file and report, write nothing")
        parser.add_argument("--quiet", action="store_true", help="no progress")

    def handle(self, *args, **options):
        path = Path(options["file"]) if options["file"] else SHIPPED_OBJECTIVES
        with translation.override(options["language"]):
            try:
                content = path.read_bytes()
            except OSError as error:
                raise CommandError(
                    _("Cannot read %(file)s: %(reason)s") % {"file": path, "reason": error.strerror}
                ) from None
            with acting_via(Via.COMMAND):
                report = load_curriculum(
                    None, content, name=path.name, dry_run=options["check"], progress=not options["quiet"]
                )
            if not report.ok:
                for error in report.errors:
                    self.stderr.write(_("line %(line)d: %(message)s") % {"line": error.line, "message": error.message})
                raise CommandError(
                    _("Nothing was loaded: %(count)d problems in %(file)s. Correct them and run it again.")
                    % {"count": len(report.errors), "file": path.name}
                )
            summary = _(
                "%(rows)d objectives in the file: %(created)d new, %(updated)d changed, %(unchanged)d unchanged; "
                "%(subjects)d new subjects."
            ) % {
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "subjects": report.subjects_created,
            }
            if options["check"]:
                summary = _("The file is correct (nothing was written). %(summary)s") % {"summary": summary}
            self.stdout.write(summary)
