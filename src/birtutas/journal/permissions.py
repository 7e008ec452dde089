"""Who may read and write the journal's records, beside the registry's rules they compose with.

Reading follows the class: its school's administration, its teachers, its students and their
families. Writing follows the capability: only the teacher of a subject writes its marks,
attendance, lessons and summative works; only the school's administration sets classes, load,
timetable and closes a term; only an officer of the school's district or region reopens one.
"""

from __future__ import annotations

from django.db.models import Q

from birtutas.registry.permissions import (
    NOTHING,
    Actor,
    GuardianOf,
    IsSelfPerson,
    Permission,
    StaffOfOrganization,
    resolve,
)
from birtutas.registry.roles import SCHOOL_ADMIN_ROLES, TEACHING_ROLES, Role


def _prefix(path: str) -> str:
    return f"{path}__" if path else ""


class TeachesClass(Permission):
    """The actor teaches a subject in the class, or is its class teacher; `path` leads to a SchoolClass."""

    def __init__(self, path: str):
        self.path = path

    def q(self, actor: Actor) -> Q:
        if not actor.person_id:
            return NOTHING
        from .models import TeachingAssignment

        taught = TeachingAssignment.objects.filter(teacher_id=actor.person_id).values("school_class_id")
        prefix = _prefix(self.path)
        return Q(**{f"{prefix}id__in": taught}) | Q(**{f"{prefix}class_teacher_id": actor.person_id})


class TeachesAssignment(Permission):
    """Read side: the actor teaches this class-subject, or is the class teacher of its class."""

    def __init__(self, path: str):
        self.path = path

    def q(self, actor: Actor) -> Q:
        if not actor.person_id:
            return NOTHING
        prefix = _prefix(self.path)
        return Q(**{f"{prefix}teacher_id": actor.person_id}) | Q(
            **{f"{prefix}school_class__class_teacher_id": actor.person_id}
        )


class TeachesSubject(Permission):
    """The actor is the teacher of this class-subject itself (not the class teacher, not the director).

    `path` leads to a TeachingAssignment; it is the write rule of everything a subject teacher records.
    """

    def __init__(self, path: str):
        self.path = path

    def q(self, actor: Actor) -> Q:
        if not actor.person_id:
            return NOTHING
        return Q(**{f"{_prefix(self.path)}teacher_id": actor.person_id})

    def allows(self, actor: Actor, obj) -> bool:
        assignment = resolve(obj, self.path) if self.path else obj
        return actor.person_id is not None and assignment is not None and assignment.teacher_id == actor.person_id


def class_readers(path: str) -> Permission:
    """Who may read a class and what hangs off it; `path` leads to a SchoolClass ("" for the class itself)."""
    prefix = _prefix(path)
    return (
        StaffOfOrganization(f"{prefix}organization_id")
        | TeachesClass(path)
        | IsSelfPerson(f"{prefix}enrollments__student_id")
        | GuardianOf(f"{prefix}enrollments__student_id")
    )


def student_record_readers(assignment_path: str) -> Permission:
    """Who may read one student's record (mark, absence, grade) made under a class-subject."""
    return (
        StaffOfOrganization(f"{assignment_path}__school_class__organization_id")
        | TeachesAssignment(assignment_path)
        | IsSelfPerson("student_id")
        | GuardianOf("student_id")
    )


SCHOOL_MEMBER_ROLES = (*SCHOOL_ADMIN_ROLES, *TEACHING_ROLES, Role.STUDENT, Role.GUARDIAN)


def members_of_organization(path: str) -> Permission:
    """Everyone who belongs to the organization: its staff, its students and their families."""
    return StaffOfOrganization(path, SCHOOL_MEMBER_ROLES)


def conversation_parties(path: str) -> Permission:
    """The two sides of a conversation about a student: its teacher, and the student's guardians.

    `path` leads to a Conversation. Whether the teacher teaches the student is the service's check,
    made when a conversation starts and each time a letter is sent.
    """
    prefix = _prefix(path)
    return IsSelfPerson(f"{prefix}teacher_id") | GuardianOf(f"{prefix}student_id")


class ToWholeSchool(Permission):
    """An announcement with no class: every member of its school reads it."""

    members = members_of_organization("organization_id")

    def q(self, actor: Actor) -> Q:
        members = self.members.q(actor)
        return NOTHING if members == NOTHING else Q(school_class__isnull=True) & members

    def allows(self, actor: Actor, obj) -> bool:
        return obj.school_class_id is None and self.members.allows(actor, obj)


class InClassNow(Permission):
    """The actor is a current pupil of the class, or a guardian of one; `path` leads to a SchoolClass.

    Unlike `class_readers`, a pupil who has left the class (and their family) no longer qualifies.
    """

    def __init__(self, path: str):
        self.path = path

    def q(self, actor: Actor) -> Q:
        people = [actor.person_id, *actor.ward_ids] if actor.person_id else []
        if not people:
            return NOTHING
        prefix = _prefix(self.path)
        return Q(**{f"{prefix}enrollments__student_id__in": people, f"{prefix}enrollments__left_on__isnull": True})


def announcement_readers() -> Permission:
    """The school's administration reads every announcement; the class's teachers, current pupils and
    their families read that class's; every member of the school reads the school's. A teacher does
    not read the notices of a class they do not teach (they may name its pupils), nor does a pupil
    who has left the class."""
    return (
        StaffOfOrganization("organization_id")
        | TeachesClass("school_class")
        | InClassNow("school_class")
        | ToWholeSchool()
    )
