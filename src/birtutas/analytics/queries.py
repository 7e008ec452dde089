"""Aggregates of an area. Only counts and averages leave here, and none drawn from fewer than 5 people.

Every figure is checked against the group it is drawn from, not only against the school's size: a
school of 300 whose absences all belong to two students would otherwise tell those two students'
absences to anyone who knows the school is otherwise well attended.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Count, Q

from birtutas.journal import rules
from birtutas.journal.models import Attendance, Enrollment, Mark
from birtutas.registry.models import Organization, Term
from birtutas.registry.permissions import Actor

MIN_GROUP = 5


@dataclass
class OrganizationFigures:
    organization: Organization
    students: int | None  # None: suppressed, fewer than MIN_GROUP
    mean_mark: Decimal | None  # None: no term, or marks of fewer than MIN_GROUP students
    absences_per_student: Decimal | None  # None: no term, or absences of 1 to MIN_GROUP - 1 students
    computers_per_100: Decimal | None


def area_organizations(actor: Actor):
    area = actor.area()
    if area is None:
        return Organization.objects.none()
    return Organization.objects.filter(area).select_related("district__region").order_by("district__name_kk", "name_kk")


def area_figures(actor: Actor, term: Term | None) -> list[OrganizationFigures]:
    organizations = list(area_organizations(actor))
    ids = [o.pk for o in organizations]
    enrolled = Enrollment.objects.filter(school_class__organization_id__in=ids)
    if term is not None:
        enrolled = enrolled.filter(school_class__year_id=term.year_id)
    students = dict(
        enrolled.values_list("school_class__organization_id").annotate(n=Count("student_id", distinct=True))
    )
    marks: dict = {}
    absences: dict = {}
    few_absent: set = set()
    if term is not None:
        # A mean over fewer than MIN_GROUP students would tell their marks: such means are left out.
        marks = {
            org: avg
            for org, avg, n in Mark.objects.filter(
                lesson__term=term, lesson__assignment__school_class__organization_id__in=ids
            )
            .values_list("lesson__assignment__school_class__organization_id")
            .annotate(avg=Avg("value"), n=Count("student_id", distinct=True))
            if n >= MIN_GROUP
        }
        # Absences of a few students would be those students' absences: a school's figure is shown only
        # when none of its students was absent (a fact about the whole school) or MIN_GROUP or more were.
        for org, n, absent in (
            Attendance.objects.filter(lesson__term=term, lesson__assignment__school_class__organization_id__in=ids)
            .filter(~Q(status=rules.LATE))
            .values_list("lesson__assignment__school_class__organization_id")
            .annotate(n=Count("id"), absent=Count("student_id", distinct=True))
        ):
            if absent >= MIN_GROUP:
                absences[org] = n
            else:
                few_absent.add(org)
    figures = []
    for o in organizations:
        n = students.get(o.pk, 0)
        if n < MIN_GROUP:
            figures.append(OrganizationFigures(o, None, None, None, None))
            continue
        mean = marks.get(o.pk)
        figures.append(
            OrganizationFigures(
                organization=o,
                students=n,
                mean_mark=Decimal(str(round(mean, 2))) if mean is not None else None,
                absences_per_student=(
                    None if term is None or o.pk in few_absent else Decimal(absences.get(o.pk, 0)) / n
                ),
                computers_per_100=Decimal(o.student_computers * 100) / n,
            )
        )
    return figures
