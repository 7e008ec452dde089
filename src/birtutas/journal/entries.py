"""Journal entries: every value written into a cell is kept, and the cell holds the winner.

A cell is one student's mark or attendance at one lesson, or points on one summative work. Each
write appends a `MarkEntry` (never changed, never deleted) with a hybrid-logical-clock stamp later
than every entry of the cell this server holds, so a correction made after seeing a value always
beats it. Entries written on two servers without seeing each other both stay; whichever has the
greater (stamp, uid) wins on every server alike (`rules.cell_winner`), so the same entries always
settle to the same cells, in whatever order they arrive.

The `Mark` and `Attendance` rows are the settled state every page, report and grade reads:
`settle(cells)` makes them hold the winners. A local write knows its entry wins and writes the row
itself (`services._write`); the sync calls `settle_entries` for the entries a chunk brought, and
`settle_closures` for closings and reopenings it brought. An entry of a closed term stamped after
the closing (made on another server that had not heard of it) is held: stored, visible to the
director (`queries.held_entries`), counted again if the term is reopened.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Max, Q
from django.utils import timezone

from birtutas.kernel import hlc
from birtutas.kernel.context import Acting, service
from birtutas.kernel.ids import uuid7
from birtutas.registry.models import Organization, Term

from . import queries, rules
from .models import Attendance, Lesson, Mark, MarkEntry, SummativeWork, TeachingAssignment, TermClosure, TermGrade

# (student id, lesson id, work id, field): a lesson's mark or attendance, or a work's points.
Cell = tuple[int, int | None, int | None, str]

BATCH = 500


def as_text(value) -> str | None:
    """An entry's value: marks and points as decimal text, attendance by its code, None for a clear."""
    return None if value is None else str(value)


def stamp_at(moment) -> int:
    """The stamp of a past moment (an imported or generated entry): its milliseconds, no logical part."""
    return hlc.pack(max(0, int(moment.timestamp() * 1000) - hlc.EPOCH_MS))


def latest_stamp(student_id: int, field_name: str, *, lesson_id: int | None = None, work_id: int | None = None) -> int:
    """The greatest stamp among the cell's entries (held ones too), 0 for a cell never written."""
    found = MarkEntry.objects.filter(
        student_id=student_id, lesson_id=lesson_id, work_id=work_id, field=field_name
    ).aggregate(latest=Max("stamp"))["latest"]
    return found or 0


def append(
    *,
    organization_id: int,
    student_id: int,
    field_name: str,
    value,
    lesson_id: int | None = None,
    work_id: int | None = None,
    user=None,
    reason: str = "",
    approved: bool = False,
) -> MarkEntry:
    """Append a local write to the cell's history, stamped after every entry of the cell.

    Runs inside the writing service, under its lock on the school; the caller writes the cell itself
    (the new entry is the winner: it is the latest, and it counts, the term being open or the change
    approved).
    """
    acting = Acting.of(user)
    after = latest_stamp(student_id, field_name, lesson_id=lesson_id, work_id=work_id)
    entry = MarkEntry(
        uid=uuid7(),
        organization_id=organization_id,
        student_id=student_id,
        lesson_id=lesson_id,
        work_id=work_id,
        field=field_name,
        value=as_text(value),
        stamp=hlc.stamp(after=after),
        approved=approved,
        actor_id=acting.user_id,
        via=acting.via,
        reason=reason,
        at=timezone.now(),
    )
    entry.save()
    return entry


def term_stamp(organization_id: int, term_id: int) -> int:
    """The greatest stamp among a school's entries of a term (0 if none): a closing is stamped after it,
    so everything this server holds when the term closes counts, whatever clock stamped it."""
    found = (
        MarkEntry.objects.filter(organization_id=organization_id)
        .filter(Q(lesson__term_id=term_id) | Q(work__term_id=term_id))
        .aggregate(latest=Max("stamp"))["latest"]
    )
    return found or 0


@dataclass
class Settled:
    """What settling did: the cells whose row changed, the entries held, the (school, term) regraded."""

    changed: list[Cell] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    regraded: list[tuple[int, int]] = field(default_factory=list)


def settle(cells: Iterable[Cell], *, regrade: bool = True) -> Settled:
    """Make each cell's `Mark` or `Attendance` row hold its winning entry's value, or remove it.

    Runs inside a service. When a cell of a closed term changes (an entry made before the closing
    arrived late from another server), that school's term grades are computed again with the policy
    they were closed with, so grades stay a function of the entries on every server.
    """
    out = Settled()
    ordered = sorted(set(cells), key=lambda c: (c[0], c[1] or 0, c[2] or 0, c[3]))
    closed: set[tuple[int, int]] = set()  # (school, term) of changed cells of closed terms
    for start in range(0, len(ordered), BATCH):
        _settle_batch(ordered[start : start + BATCH], out, closed)
    if regrade:
        for org_id, term_id in sorted(closed):
            if _regrade(org_id, term_id):
                out.regraded.append((org_id, term_id))
    return out


def _settle_batch(cells: list[Cell], out: Settled, closed: set) -> None:
    wanted_cells = set(cells)
    students = {c[0] for c in cells}
    lesson_ids = {c[1] for c in cells if c[1]}
    work_ids = {c[2] for c in cells if c[2]}
    # Where each cell is: its term and school (the lesson's or the work's).
    places = {}
    for model, ids, key in ((Lesson, lesson_ids, "lesson"), (SummativeWork, work_ids, "work")):
        if ids:
            for pk, term_id, org_id in model.objects.filter(pk__in=ids).values_list(
                "pk", "term_id", "assignment__school_class__organization_id"
            ):
                places[(key, pk)] = (term_id, org_id)
    orgs = sorted({p[1] for p in places.values()})
    # Queue behind the school's writers (services take the same lock), as a local write would.
    list(Organization.objects.select_for_update().filter(pk__in=orgs).order_by("pk").values_list("pk"))
    closures = {
        (org_id, term_id): stamp
        for org_id, term_id, stamp in TermClosure.objects.in_force()
        .filter(organization_id__in=orgs, term_id__in={p[0] for p in places.values()})
        .values_list("organization_id", "term_id", "stamp")
    }
    where = (Q(lesson_id__in=lesson_ids) if lesson_ids else Q()) | (Q(work_id__in=work_ids) if work_ids else Q())
    found: dict[Cell, list[tuple[int, rules.Entry]]] = defaultdict(list)
    for pk, uid, student, lesson, work, field_name, value, stamp, approved in MarkEntry.objects.filter(
        where, student_id__in=students
    ).values_list("pk", "uid", "student_id", "lesson_id", "work_id", "field", "value", "stamp", "approved"):
        cell = (student, lesson, work, field_name)
        if cell in wanted_cells and rules.entry_value_ok(field_name, value):
            found[cell].append((pk, rules.Entry(id=uid, stamp=stamp, value=value, approved=approved)))
    marks = {}
    for pk, student, lesson, work, value in Mark.objects.filter(where, student_id__in=students).values_list(
        "pk", "student_id", "lesson_id", "work_id", "value"
    ):
        marks[(student, lesson, work)] = (pk, str(value))
    statuses = {}
    if lesson_ids:
        for pk, student, lesson, status in Attendance.objects.filter(
            student_id__in=students, lesson_id__in=lesson_ids
        ).values_list("pk", "student_id", "lesson_id", "status"):
            statuses[(student, lesson, None)] = (pk, status)
    now = timezone.now()
    create_marks, create_statuses, remove_marks, remove_statuses = [], [], [], []
    for cell in cells:
        student, lesson, work, field_name = cell
        place = places.get(("lesson", lesson) if lesson else ("work", work))
        if place is None:
            continue
        term_id, org_id = place
        closure = closures.get((org_id, term_id))
        entries = found.get(cell, [])
        out.held.extend(pk for pk, e in entries if rules.entry_held(e, closure))
        wanted = rules.cell_value([e for _pk, e in entries], closure)
        if wanted is not None and field_name != "attendance":
            wanted = str(int(wanted))  # one spelling of a number: "07" is the 7 the row holds
        rows = statuses if field_name == "attendance" else marks
        current = rows.get((student, lesson, work))
        if (current[1] if current else None) == wanted:
            continue
        out.changed.append(cell)
        if closure is not None:
            closed.add((org_id, term_id))
        if field_name == "attendance":
            if wanted is None:
                remove_statuses.append(current[0])
            elif current is None:
                create_statuses.append(Attendance(student_id=student, lesson_id=lesson, status=wanted))
            else:
                Attendance.objects.filter(pk=current[0]).update(status=wanted, updated_at=now)
        elif wanted is None:
            remove_marks.append(current[0])
        elif current is None:
            create_marks.append(Mark(student_id=student, lesson_id=lesson, work_id=work, value=int(wanted)))
        else:
            Mark.objects.filter(pk=current[0]).update(value=int(wanted), updated_at=now)
    if remove_marks:
        Mark.objects.filter(pk__in=remove_marks).delete()
    if remove_statuses:
        Attendance.objects.filter(pk__in=remove_statuses).delete()
    Mark.objects.bulk_create(create_marks)
    Attendance.objects.bulk_create(create_statuses)


def _closing_policy(org_id: int, term: Term):
    """The policy a closed term's grades were computed with, else the one in force for the term."""
    stored = (
        TermGrade.objects.filter(term=term, assignment__school_class__organization_id=org_id)
        .select_related("policy")
        .first()
    )
    return stored.policy if stored else queries.policy_in_force(term)


def _regrade(org_id: int, term_id: int, *, year_grades: bool = True) -> bool:
    """Compute a closed term's grades of one school again, as closing does, without a new closing."""
    from . import services  # services append entries: imported here, not at the top

    term = Term.objects.get(pk=term_id)
    policy = _closing_policy(org_id, term)
    if policy is None:
        return False
    assignments = TeachingAssignment.objects.filter(
        school_class__organization_id=org_id, school_class__year_id=term.year_id
    )
    services.compute_term_grades(term, assignments, policy=policy)
    if year_grades:
        services.update_year_grades(None, Organization.objects.get(pk=org_id), term.year_id)
    return True


def later_than_closing(closure: TermClosure) -> set[Cell]:
    """The cells of a closing's school and term with entries stamped after it: those it holds or held."""
    return set(
        MarkEntry.objects.filter(organization_id=closure.organization_id, stamp__gt=closure.stamp, approved=False)
        .filter(Q(lesson__term_id=closure.term_id) | Q(work__term_id=closure.term_id))
        .values_list("student_id", "lesson_id", "work_id", "field")
    )


def cells_of_term(closure: TermClosure) -> set[Cell]:
    return set(
        MarkEntry.objects.filter(organization_id=closure.organization_id)
        .filter(Q(lesson__term_id=closure.term_id) | Q(work__term_id=closure.term_id))
        .values_list("student_id", "lesson_id", "work_id", "field")
    )


@service
def settle_entries(entry_ids: list[int]) -> Settled:
    """Settle the cells that these entries (local ids, just written by the sync) belong to."""
    cells = set(
        MarkEntry.objects.filter(pk__in=list(entry_ids)).values_list("student_id", "lesson_id", "work_id", "field")
    )
    return settle(cells)


@service
def settle_closures(closure_ids: list[int]) -> Settled:
    """After the sync wrote closings or reopenings (local ids): settle what they hold or release.

    A closing in force holds the entries of its term stamped after it, and its school's term grades
    are computed from the settled cells as its closing did on the server where it happened; a
    reopening releases them. The year grades follow the closed terms, as they do locally.
    """
    from . import services

    out = Settled()
    for closure in TermClosure.objects.filter(pk__in=list(closure_ids)).select_related("organization", "term"):
        # Every cell of the term, not only those after the closing's stamp now: the closing that arrived may
        # have replaced another of the same term (two servers closed it) with another stamp.
        settled = settle(cells_of_term(closure), regrade=False)
        out.changed += settled.changed
        out.held += settled.held
        in_force = TermClosure.objects.in_force().filter(
            organization_id=closure.organization_id, term_id=closure.term_id
        )
        if in_force.exists() and _regrade(closure.organization_id, closure.term_id, year_grades=False):
            out.regraded.append((closure.organization_id, closure.term_id))
        services.update_year_grades(None, closure.organization, closure.term.year_id)
    return out
