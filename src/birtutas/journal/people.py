"""The school's people as the director runs them: who is here now, in which role and class, with the
state of their account; activation letters for a class; leaving, returning and transfers.

Accounts and roles are the registry's (`birtutas.registry.accounts`); the journal adds what it owns,
the enrollments. A transferred student leaves this school's classes and people, while their marks
and history stay theirs: the new school, once it enrolls them, and their family still see them.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from birtutas.kernel import clock
from birtutas.kernel.audit import record
from birtutas.kernel.collation import person_key, sorted_people
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import Conflict, NotFound
from birtutas.kernel.events import Event
from birtutas.registry import accounts
from birtutas.registry.models import Guardianship, Membership, Organization, Person, User
from birtutas.registry.permissions import Action, Actor, require
from birtutas.registry.roles import Role
from birtutas.registry.services import reach

from . import queries
from .models import Enrollment, SchoolClass

STAFF_ROLES = (Role.DIRECTOR, Role.DEPUTY, Role.TEACHER, Role.CLASS_TEACHER)


def _enrollment_key(enrollment: Enrollment) -> str:
    return f"{enrollment.school_class_id}:{enrollment.student_id}"


def _current_year_id(organization_id: int) -> int | None:
    term = queries.current_term(organization_id=organization_id)
    return term.year_id if term else None


# ------------------------------------------------------------------ reading


@dataclass
class PersonRow:
    person: Person
    roles: list[str] = field(default_factory=list)
    classes: list[SchoolClass] = field(default_factory=list)  # a student's class, a guardian's children's
    children: list[Person] = field(default_factory=list)
    state: str = accounts.AccountState.NONE
    username: str = ""
    reachable: bool = False
    held_elsewhere: bool = False

    @property
    def state_label(self) -> str:
        return accounts.AccountState.LABELS[self.state]

    @property
    def role_labels(self) -> str:
        return ", ".join(str(Role(r).label) for r in self.roles)

    @property
    def is_student(self) -> bool:
        return Role.STUDENT in self.roles


@dataclass
class ClassGroup:
    school_class: SchoolClass | None
    students: list[PersonRow] = field(default_factory=list)
    guardians: list[PersonRow] = field(default_factory=list)

    @property
    def key(self) -> str:
        return str(self.school_class.pk) if self.school_class else "none"

    @property
    def activated(self) -> int:
        rows = {r.person.pk: r for r in (*self.students, *self.guardians)}.values()
        return sum(1 for r in rows if r.state == accounts.AccountState.ACTIVE)

    @property
    def people(self) -> int:
        return len({r.person.pk for r in (*self.students, *self.guardians)})


@dataclass
class SchoolPeople:
    """One page of the school's people: the staff and a summary of the classes, one class, or those who left.

    A school of a thousand students would make one list too heavy for a slow rural link."""

    staff: list[PersonRow]
    classes: list[ClassGroup]
    former: list[PersonRow]
    selected: ClassGroup | None = None
    showing: str = "staff"  # "staff" | "class" | "former"


def school_people(
    actor: Actor, organization: Organization, *, class_key: str | None = None, former: bool = False
) -> SchoolPeople:
    """The school's people by role and class, with the state of each account; a fixed number of queries.

    `class_key` (a class id, or "none" for students and parents in no class this year) selects one
    class; `former` lists the people who left. Otherwise the staff and a summary of each class.
    """
    queries.directed_organization(actor, organization.pk)
    memberships = list(Membership.objects.filter(organization=organization).select_related("person"))
    current: dict[int, PersonRow] = {}
    ended: dict[int, PersonRow] = {}
    for m in memberships:
        target = current if m.ended_on is None else ended
        row = target.setdefault(m.person_id, PersonRow(person=m.person))
        row.roles.append(m.role)
    for person_id in list(ended):
        if person_id in current:
            del ended[person_id]
    everyone = {**current, **ended}
    year_id = _current_year_id(organization.pk)
    enrollments = list(
        Enrollment.objects.filter(
            school_class__organization=organization, school_class__year_id=year_id, left_on__isnull=True
        ).select_related("school_class")
    )
    class_of = {e.student_id: e.school_class for e in enrollments}
    links = list(Guardianship.objects.filter(student_id__in=list(class_of)).select_related("student"))
    for link in links:
        row = current.get(link.guardian_id)
        if row is not None and Role.GUARDIAN in row.roles:
            row.children.append(link.student)
            school_class = class_of[link.student_id]
            if school_class not in row.classes:
                row.classes.append(school_class)
    states = accounts.account_states(everyone)
    for person_id, row in everyone.items():
        row.state = states[person_id]
        row.roles.sort()
    groups: dict[int | None, ClassGroup] = {}
    staff = []
    language = get_language()
    for person_id, row in sorted(current.items(), key=lambda item: person_key(item[1].person, language)):
        if any(r in STAFF_ROLES for r in row.roles):
            staff.append(row)
        if Role.STUDENT in row.roles:
            school_class = class_of.get(person_id)
            if school_class is not None:
                row.classes = [school_class]
            key = school_class.pk if school_class else None
            groups.setdefault(key, ClassGroup(school_class)).students.append(row)
        if Role.GUARDIAN in row.roles:
            for school_class in row.classes or [None]:
                key = school_class.pk if school_class else None
                groups.setdefault(key, ClassGroup(school_class)).guardians.append(row)
    ordered = sorted(
        groups.values(),
        key=lambda g: (g.school_class is None, g.school_class.grade if g.school_class else 0, str(g.school_class)),
    )
    former_rows = sorted(ended.values(), key=lambda r: person_key(r.person, language))
    result = SchoolPeople(staff=staff, classes=ordered, former=former_rows)
    if class_key is not None:
        result.selected = next((g for g in ordered if g.key == class_key), None)
        if result.selected is None:
            raise NotFound(_("Not found."))
        result.showing = "class"
        shown = [*result.selected.students, *result.selected.guardians]
    elif former:
        result.showing = "former"
        shown = former_rows
    else:
        shown = staff
    _fill_details(organization, shown)
    return result


def _fill_details(organization: Organization, rows: list[PersonRow]) -> None:
    """Usernames, contacts and reach, only for the rows a page shows."""
    ids = list({r.person.pk for r in rows})
    users = {u.person_id: u for u in User.objects.filter(person_id__in=ids).only("person_id", "username", "email")}
    held = reach(organization.pk, ids)
    for row in rows:
        user = users.get(row.person.pk)
        row.username = user.username if user is not None and row.state == accounts.AccountState.ACTIVE else ""
        row.reachable = bool(accounts.reachable(row.person, user))
        row.held_elsewhere = held[row.person.pk].held_elsewhere


def class_recipients(school_class: SchoolClass) -> list[tuple[Person, str, list[Person]]]:
    """The class's current students and their guardians: (person, role, the students they are a guardian of)."""
    language = get_language()
    students = sorted_people(
        Person.objects.filter(enrollments__school_class=school_class, enrollments__left_on__isnull=True), language
    )
    children: dict[int, list[Person]] = defaultdict(list)
    guardians: dict[int, Person] = {}
    for link in Guardianship.objects.filter(student__in=students).select_related("guardian", "student"):
        guardians[link.guardian_id] = link.guardian
        children[link.guardian_id].append(link.student)
    result = [(s, Role.STUDENT, []) for s in students]
    for guardian in sorted_people(guardians.values(), language):
        result.append((guardian, Role.GUARDIAN, children[guardian.pk]))
    return result


# ------------------------------------------------------------------ letters


@dataclass
class Letter:
    """One activation letter: who it is for, why they are in the school, and the code, printed once."""

    issued: accounts.IssuedCode
    role: str
    school_class: SchoolClass | None
    children: list[Person] = field(default_factory=list)

    @property
    def person(self) -> Person:
        return self.issued.person


@dataclass
class ClassLetters:
    school_class: SchoolClass
    letters: list[Letter] = field(default_factory=list)  # to print: no e-mail or phone
    sent: list[Letter] = field(default_factory=list)  # sent by e-mail or SMS
    active: list[Person] = field(default_factory=list)  # already use their account: nothing issued
    skipped: list[Person] = field(default_factory=list)  # belong elsewhere too, or deactivated


@service
def issue_class_letters(
    by: User, class_id: int, *, include_active: bool = False, now: dt.datetime | None = None, site: str = ""
) -> ClassLetters:
    """Activation codes for a class's students and guardians: sent where they have e-mail or SMS, printed
    on letters for the rest. People already using their account are left alone unless `include_active`
    (then the code lets them set a new password); people who also belong elsewhere are the other
    organization's, or their own, to help."""
    actor = Actor.for_user(by)
    school_class = queries.directed_class(actor, class_id)
    organization_id = school_class.organization_id
    recipients = class_recipients(school_class)
    person_ids = [p.pk for p, _role, _children in recipients]
    states = accounts.account_states(person_ids, now=now)
    members = set(
        Membership.objects.filter(
            person_id__in=person_ids, organization_id=organization_id, ended_on__isnull=True
        ).values_list("person_id", flat=True)
    )
    held = reach(organization_id, person_ids)
    result = ClassLetters(school_class)
    for person, role, children in recipients:
        if person.pk not in members or held[person.pk].held_elsewhere:
            result.skipped.append(person)
            continue
        state = states[person.pk]
        if state == accounts.AccountState.DEACTIVATED:
            result.skipped.append(person)
            continue
        if state == accounts.AccountState.ACTIVE and not include_active:
            result.active.append(person)
            continue
        issued = accounts.issue_code(by, person.pk, organization_id=organization_id, now=now, site=site)
        letter = Letter(issued, role, school_class, children)
        (result.sent if issued.channels else result.letters).append(letter)
    return result


def letter_for(issued: accounts.IssuedCode, organization: Organization) -> Letter:
    """The letter of one person's code: their role and class in this school, or their children's."""
    person = issued.person
    year_id = _current_year_id(organization.pk)
    enrollment = (
        Enrollment.objects.filter(
            student=person, school_class__organization=organization, school_class__year_id=year_id, left_on__isnull=True
        )
        .select_related("school_class")
        .first()
    )
    if enrollment is not None:
        return Letter(issued, Role.STUDENT, enrollment.school_class)
    children = list(
        Person.objects.filter(
            guardians__guardian=person,
            enrollments__school_class__organization=organization,
            enrollments__left_on__isnull=True,
        ).distinct()
    )
    if children:
        return Letter(issued, Role.GUARDIAN, None, children)
    role = (
        Membership.objects.filter(person=person, organization=organization, ended_on__isnull=True)
        .values_list("role", flat=True)
        .first()
    )
    return Letter(issued, role or Role.TEACHER, None)


# ------------------------------------------------------------------ leaving, returning, transfers


def _end_enrollments(by: User, organization_id: int, person_id: int, on: dt.date) -> list[Enrollment]:
    actor = Actor.for_user(by)
    ended = []
    for enrollment in Enrollment.objects.select_for_update().filter(
        student_id=person_id, school_class__organization_id=organization_id, left_on__isnull=True
    ):
        require(actor, Action.CHANGE, enrollment)
        enrollment.left_on = on
        enrollment.save(update_fields=["left_on"])
        record(
            Acting.of(by),
            Event.ENROLLMENT_END,
            _enrollment_key(enrollment),
            before={"left_on": None},
            after={"left_on": on.isoformat()},
            organization_id=organization_id,
            person_id=person_id,
        )
        ended.append(enrollment)
    return ended


def _guardians_left_without_children(organization_id: int, student_id: int) -> list[int]:
    """Guardians of this student who have no other child enrolled in the school now."""
    guardian_ids = list(Guardianship.objects.filter(student_id=student_id).values_list("guardian_id", flat=True))
    still = set(
        Guardianship.objects.filter(
            guardian_id__in=guardian_ids,
            student__enrollments__school_class__organization_id=organization_id,
            student__enrollments__left_on__isnull=True,
        )
        .exclude(student_id=student_id)
        .values_list("guardian_id", flat=True)
    )
    return [g for g in guardian_ids if g not in still]


@service
def transfer_student(by: User, organization_id: int, person_id: int, *, on: dt.date | None = None) -> int:
    """A student moves to another school: their enrollment here ends and their student role here ends.

    Their account stays open and their marks stay theirs. A guardian with no other child in the
    school leaves the school's people too (their account stays open as well). Returns the number of
    enrollments ended.
    """
    on = on or clock.today()
    actor = Actor.for_user(by)
    queries.directed_organization(actor, organization_id)
    is_student = Membership.objects.filter(
        person_id=person_id, organization_id=organization_id, role=Role.STUDENT, ended_on__isnull=True
    ).exists()
    if not is_student:
        raise NotFound(_("Not found."))
    ended = _end_enrollments(by, organization_id, person_id, on)
    accounts.end_roles(by, organization_id, person_id, [Role.STUDENT], on=on)
    for guardian_id in _guardians_left_without_children(organization_id, person_id):
        accounts.end_roles(by, organization_id, guardian_id, [Role.GUARDIAN], on=on)
    return len(ended)


@service
def deactivate_person(by: User, organization_id: int, person_id: int, *, on: dt.date | None = None) -> bool:
    """A person leaves the school for good: their roles here end (a student's enrollment too), and their
    account is closed unless they belong elsewhere as well. Whether the account was closed."""
    on = on or clock.today()
    queries.directed_organization(Actor.for_user(by), organization_id)
    if not Membership.objects.filter(
        person_id=person_id, organization_id=organization_id, ended_on__isnull=True
    ).exists():
        raise NotFound(_("Not found."))
    _end_enrollments(by, organization_id, person_id, on)
    return accounts.deactivate(by, organization_id, person_id, on=on)


@service
def reactivate_person(by: User, organization_id: int, person_id: int) -> list[str]:
    """A person who left comes back: their last roles here resume and their account opens again; a student
    returns to the class of this year they left, unless another school has enrolled them meanwhile."""
    actor = Actor.for_user(by)
    queries.directed_organization(actor, organization_id)
    year_id = _current_year_id(organization_id)
    left = (
        Enrollment.objects.select_for_update()
        .filter(student_id=person_id, school_class__organization_id=organization_id, school_class__year_id=year_id)
        .exclude(left_on__isnull=True)
        .order_by("-left_on")
        .first()
    )
    roles = accounts.reactivate(by, organization_id, person_id)
    if Role.STUDENT in roles and left is not None:
        elsewhere = (
            Enrollment.objects.filter(student_id=person_id, school_class__year_id=year_id, left_on__isnull=True)
            .filter(~Q(school_class__organization_id=organization_id))
            .exists()
        )
        if elsewhere:
            raise Conflict(_("Another school has enrolled this student this year: they cannot return to a class here."))
        require(actor, Action.CHANGE, left)
        before = left.left_on
        left.left_on = None
        left.save(update_fields=["left_on"])
        record(
            Acting.of(by),
            Event.ENROLLMENT_SET,
            _enrollment_key(left),
            before={"left_on": before.isoformat()},
            after={"left_on": None},
            organization_id=organization_id,
            person_id=person_id,
        )
    return roles
