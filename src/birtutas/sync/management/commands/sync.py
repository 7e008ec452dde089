"""`birtutas sync`: one round with the central server now (or `--loop` every N seconds), and its helpers.

birtutas sync                      push what the centre lacks, pull what this node lacks (resumable)
birtutas sync --loop 300           the same whenever the link allows, every 300 s (what the task does)
birtutas sync capture              number the writes not captured yet (after a migration: every row)
birtutas sync export FILE [--to NODE]   a signed, encrypted bundle of what the other side lacks
birtutas sync import FILE [--answer FILE]   apply a bundle; write the answering bundle to carry back
birtutas sync status               what this server holds and what waits
"""

from __future__ import annotations

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from birtutas.kernel.context import Via, acting_via
from birtutas.kernel.errors import ServiceError
from birtutas.sync import capture, client, have
from birtutas.sync.models import Dirty, Parked, Session


class Command(BaseCommand):
    help = "Sync this school node with the central server, by link or by USB bundle."

    def add_arguments(self, parser):
        parser.add_argument(
            "action", nargs="?", default="run", choices=["run", "capture", "export", "import", "status"]
        )
        parser.add_argument("file", nargs="?")
        parser.add_argument("--url", help="the central server's sync API (default: from the node's registration)")
        parser.add_argument("--loop", type=float, default=0, help="keep syncing, this many seconds apart")
        parser.add_argument("--to", help="at the central server: the node a bundle is for")
        parser.add_argument("--answer", help="where to write the answering bundle after an import")

    def handle(self, *args, **options):
        self.verbosity = options["verbosity"]
        with acting_via(Via.SYNC):
            try:
                getattr(self, "_" + options["action"])(options)
            except (ServiceError, client.LinkError) as error:
                raise CommandError(str(getattr(error, "message", error))) from None

    def _progress(self, what, done, total=None):
        if self.verbosity:
            total_text = f"/{total}" if total else ""
            sys.stderr.write(f"\r{what}: {done}{total_text}   ")
            sys.stderr.flush()

    def _run(self, options):
        while True:
            try:
                report = client.sync_once(options["url"], progress=self._progress)
                self.stdout.write(
                    f"\nsent {report.pushed} records ({report.bytes_up} B), received {report.pulled} "
                    f"({report.bytes_down} B), refused {len(report.refused)}, in {report.seconds:.1f} s"
                    + (" (origin renewed: restored from a backup)" if report.rewound else "")
                )
            except client.LinkError as error:
                if not options["loop"]:
                    raise
                self.stderr.write(f"no sync now: {error}; next try in {options['loop']:.0f} s")
            if not options["loop"]:
                return
            time.sleep(options["loop"])

    def _capture(self, options):
        n = capture.flush(progress=lambda done: self._progress("captured", done))
        self.stdout.write(f"\n{n} records captured")

    def _export(self, options):
        from birtutas.sync import bundles

        if not options["file"]:
            raise CommandError("name the bundle file to write")
        summary = bundles.export_bundle(options["file"], to_peer=options["to"], progress=self._progress)
        self.stdout.write(f"\n{summary}")

    def _import(self, options):
        from birtutas.sync import bundles

        if not options["file"]:
            raise CommandError("name the bundle file to read")
        summary = bundles.import_bundle(options["file"], answer_path=options["answer"], progress=self._progress)
        self.stdout.write(f"\n{summary}")

    def _status(self, options):
        self.stdout.write(f"origin {capture.self_origin()}")
        for partition, origins in have.vector(None).items():
            for origin, counter in origins.items():
                self.stdout.write(f"holds {partition} {origin} up to {counter}")
        self.stdout.write(f"not captured yet: {Dirty.objects.count()}; parked: {Parked.objects.count()}")
        for s in Session.objects.order_by("-started_at")[:5]:
            self.stdout.write(f"{s.started_at:%Y-%m-%d %H:%M} {s.kind} {s.state} {s.records} records {s.bytes} B")
