"""Every write to the curriculum: loading the learning objectives (and new subjects) from a file.

All or nothing: a file with one bad row writes nothing, and the report names every bad row.
Loading is idempotent: an objective is found by subject, grade and code, a changed text updates
it, and a second run of the same file changes nothing and records nothing. A load that changes
something records one audit event with the counts and, for every changed objective, its texts
before and after. Objectives missing from a file are kept (lessons refer to them).

The curriculum is national: the system loads it (a command, the demo), never a school's account.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import Conflict
from birtutas.kernel.events import Event
from birtutas.kernel.progress import Progress
from birtutas.registry.permissions import Action, Actor, require

from .loading import CheckedFile, RowError, check_file
from .models import LearningObjective, Subject

DATA_DIR = Path(__file__).resolve().parent / "data"
SHIPPED_OBJECTIVES = DATA_DIR / "objectives.csv"
BATCH = 2000


@dataclass
class LoadReport:
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    subjects_created: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed(self) -> bool:
        return bool(self.subjects_created or self.created or self.updated)

    def counts(self) -> dict[str, int]:
        return {
            "rows": self.rows,
            "subjects_created": self.subjects_created,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }


def shipped_objectives() -> bytes:
    """The objectives file shipped with the platform (sample text where the ministry's is not at hand)."""
    return SHIPPED_OBJECTIVES.read_bytes()


@service
def load_curriculum(
    user,
    content: bytes | str,
    *,
    name: str = "",
    dry_run: bool = False,
    progress: bool = False,
) -> LoadReport:
    """Check a curriculum file and, when every row is right (and not `dry_run`), write it.

    `user` is None for the system (a command, the demo); an account is refused, as the curriculum
    is the ministry's. `name` (the file's name) goes into the audit record.
    """
    if user is not None:
        require(Actor.for_user(user), Action.CREATE, LearningObjective())
    checked = check_file(content, set(Subject.objects.values_list("code", flat=True)), progress=progress)
    report = LoadReport(errors=checked.errors, rows=len(checked.rows))
    if not checked.ok:
        return report
    if dry_run:
        _plan(checked, report, write=False)
        return report
    try:
        with transaction.atomic():
            before, after = _plan(checked, report, write=True, progress=progress)
            if report.changed:
                digest = hashlib.sha256(content if isinstance(content, bytes) else content.encode()).hexdigest()
                record(
                    Acting.of(user),
                    Event.CURRICULUM_LOAD,
                    f"objectives:{digest[:16]}",
                    before={"objectives": before} if before else None,
                    after={"file": name, **report.counts(), "objectives": after},
                )
    except IntegrityError:
        # Another load wrote the same objectives or subjects between our check and our write.
        raise Conflict(_("Another curriculum load ran at the same time. Run this one again.")) from None
    return report


def _plan(checked: CheckedFile, report: LoadReport, *, write: bool, progress: bool = False) -> tuple[dict, dict]:
    """Count (and, when `write`, make) the changes; the texts before and after of what changes."""
    subjects = {s.code.lower(): s for s in Subject.objects.all()}
    new_subjects = [s for code, s in checked.new_subjects.items() if code not in subjects]
    report.subjects_created = len(new_subjects)
    if write and new_subjects:
        for new in new_subjects:
            subjects[new.code] = Subject.objects.create(
                code=new.code, name_kk=new.name_kk, name_ru=new.name_ru, name_en=new.name_en
            )
    subject_ids = [subjects[code].pk for code in {row.subject_code for row in checked.rows} if code in subjects]
    existing = {
        (o.subject_id, o.grade, o.code): o for o in LearningObjective.objects.filter(subject_id__in=subject_ids)
    }
    creates, updates, before, after = [], [], {}, {}
    writing = Progress(len(checked.rows), _("objectives written"), enabled=progress and write)
    for index, row in enumerate(checked.rows, start=1):
        if index % 500 == 0 or index == len(checked.rows):
            writing.step(index - writing.done)
        subject = subjects.get(row.subject_code)
        found = existing.get((subject.pk, row.grade, row.code)) if subject and subject.pk else None
        key = f"{row.subject_code}:{row.code}"
        if found is None:
            report.created += 1
            after[key] = row.values
            if write:
                creates.append(LearningObjective(subject=subject, grade=row.grade, code=row.code, **row.values))
            continue
        old = {column: getattr(found, column) for column in row.values}
        if old == row.values:
            report.unchanged += 1
            continue
        report.updated += 1
        before[key], after[key] = old, row.values
        if write:
            for column, value in row.values.items():
                setattr(found, column, value)
            updates.append(found)
    if write:
        LearningObjective.objects.bulk_create(creates, batch_size=BATCH)
        if updates:
            LearningObjective.objects.bulk_update(updates, list(checked.columns), batch_size=BATCH)
    return before, after
