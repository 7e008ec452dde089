"""Reads of the letters between school and family and of announcements, for the messages pages.

Who teaches a student decides who may write to whom: a student's teachers are those of a subject
in the student's current class and that class's class teacher. Every read starts from what the
actor may see and costs a fixed number of queries whatever the number of letters, conversations,
pupils or recipients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Max, Q
from django.utils.translation import get_language

from birtutas.kernel import clock
from birtutas.kernel.collation import class_key, namesakes, person_key, sort_key, sorted_by_name, sorted_people
from birtutas.kernel.errors import NotFound
from birtutas.registry.models import Guardianship, Membership, Organization, Person, User
from birtutas.registry.permissions import Actor, visible
from birtutas.registry.queries import current_year
from birtutas.registry.roles import SCHOOL_ADMIN_ROLES, TEACHING_ROLES

from .models import Announcement, Conversation, Enrollment, Letter, SchoolClass, TeachingAssignment
from .permissions import SCHOOL_MEMBER_ROLES


def _by_class(language: str):
    return lambda school_class: class_key(school_class.grade, school_class.letter, language)


def _of_current_year(classes) -> list[SchoolClass]:
    """The classes (their `year` loaded) of their school's current year (`registry.queries.current_year`).

    Two queries for each school among them: a family's or a teacher's one or two, whatever the classes.
    """
    today = clock.today()
    current: dict[int, str | None] = {}
    for organization_id in {c.organization_id for c in classes}:
        year = current_year(organization_id, today)
        current[organization_id] = year.name if year else None
    return [c for c in classes if c.year.name == current[c.organization_id]]


# ------------------------------------------------------------------ who teaches whom


def current_classes(student_ids) -> dict[int, SchoolClass]:
    """Each student's current class: the one of their school's current year that they have not left."""
    enrollments = list(
        Enrollment.objects.filter(student_id__in=list(student_ids), left_on__isnull=True)
        .select_related("school_class__year")
        .order_by("student_id", "-school_class_id")
    )
    current = {c.pk for c in _of_current_year([e.school_class for e in enrollments])}
    found: dict[int, SchoolClass] = {}
    for enrollment in enrollments:
        if enrollment.school_class_id in current:
            found.setdefault(enrollment.student_id, enrollment.school_class)
    return found


def _teaching_staff(organization_ids) -> Q:
    """People who teach at one of the organizations now: a teacher who left keeps no family's address."""
    return Q(
        memberships__organization_id__in=list(organization_ids),
        memberships__role__in=TEACHING_ROLES,
        memberships__ended_on__isnull=True,
    )


def teaches(teacher_id: int | None, student_id: int) -> SchoolClass | None:
    """The student's current class if `teacher_id` teaches a subject in it or leads it, else None."""
    if not teacher_id:
        return None
    school_class = current_classes([student_id]).get(student_id)
    if school_class is None:
        return None
    if not Person.objects.filter(_teaching_staff([school_class.organization_id]), pk=teacher_id).exists():
        return None
    if school_class.class_teacher_id == teacher_id:
        return school_class
    taught = TeachingAssignment.objects.filter(school_class=school_class, teacher_id=teacher_id).exists()
    return school_class if taught else None


@dataclass
class Teacher:
    """One of a student's teachers, as a family chooses whom to write to."""

    person: Person
    subjects: list[str] = field(default_factory=list)
    leads: bool = False  # the class teacher
    namesake: bool = False  # another of the child's teachers has the same short name

    @property
    def name(self) -> str:
        """The short name; for namesakes the full name, with the patronymic: a family is not shown a
        teacher's birth date, as pupils are told apart."""
        return self.person.full_name if self.namesake else self.person.short_name


@dataclass
class Child:
    student: Person
    school_class: SchoolClass | None
    teachers: list[Teacher]


def children_and_teachers(actor: Actor) -> list[Child]:
    """The actor's children, each with the teachers the family may write to (four queries, and two for
    each of their schools)."""
    if not actor.ward_ids:
        return []
    language = get_language()
    students = sorted_people(Person.objects.filter(pk__in=actor.ward_ids), language)
    classes = current_classes(actor.ward_ids)
    class_ids = {c.pk for c in classes.values()}
    by_class: dict[int, dict[int, Teacher]] = {pk: {} for pk in class_ids}
    organizations = {c.organization_id for c in classes.values()}
    staff = set(Person.objects.filter(_teaching_staff(organizations)).values_list("pk", flat=True))
    for assignment in TeachingAssignment.objects.filter(
        school_class_id__in=class_ids, teacher_id__in=staff
    ).select_related("teacher", "subject"):
        teacher = by_class[assignment.school_class_id].setdefault(
            assignment.teacher_id, Teacher(person=assignment.teacher)
        )
        teacher.subjects.append(assignment.subject.name)
    leaders = Person.objects.in_bulk({c.class_teacher_id for c in classes.values() if c.class_teacher_id in staff})
    children = []
    for student in students:
        school_class = classes.get(student.pk)
        teachers = by_class.get(school_class.pk, {}) if school_class else {}
        if school_class and school_class.class_teacher_id in leaders:
            teachers.setdefault(school_class.class_teacher_id, Teacher(person=leaders[school_class.class_teacher_id]))
            teachers[school_class.class_teacher_id].leads = True
        # A parent who teaches their own child's class does not write to themself.
        listed = [t for pk, t in teachers.items() if pk != actor.person_id]
        for teacher in listed:
            teacher.subjects.sort(key=lambda name: sort_key(name, language))
        listed.sort(key=lambda t: person_key(t.person, language))
        shared = namesakes(t.person for t in listed)
        for teacher in listed:
            teacher.namesake = teacher.person.pk in shared
        children.append(Child(student, school_class, listed))
    return children


@dataclass
class Pupils:
    """A class the actor teaches, with its pupils: whose family the teacher may write to."""

    school_class: SchoolClass
    students: list[Person]
    namesakes: set[int]
    with_family: set[int]  # pupils with a parent or guardian on record


def taught_classes(actor: Actor) -> list[Pupils]:
    """The classes of the current school year that the actor teaches or leads, with their pupils (three
    queries, and two for each of their schools)."""
    if not actor.person_id:
        return []
    language = get_language()
    classes = list(
        SchoolClass.objects.filter(
            Q(assignments__teacher_id=actor.person_id) | Q(class_teacher_id=actor.person_id),
            organization_id__in=actor.organization_ids(TEACHING_ROLES),
        )
        .select_related("year")
        .distinct()
    )
    classes = _of_current_year(classes)
    pupils: dict[int, list[Person]] = {c.pk: [] for c in classes}
    for enrollment in Enrollment.objects.filter(school_class__in=classes, left_on__isnull=True).select_related(
        "student"
    ):
        pupils[enrollment.school_class_id].append(enrollment.student)
    ids = {p.pk for people in pupils.values() for p in people}
    with_family = set(Guardianship.objects.filter(student_id__in=ids).values_list("student_id", flat=True))
    found = []
    for school_class in sorted(classes, key=_by_class(language)):
        students = sorted_people(pupils[school_class.pk], language)
        found.append(Pupils(school_class, students, namesakes(students), with_family))
    return found


def family_of(student_ids) -> dict[int, list[Person]]:
    """Each student's parents and guardians, in alphabetical order (one query)."""
    language = get_language()
    found: dict[int, list[Person]] = {pk: [] for pk in student_ids}
    for link in Guardianship.objects.filter(student_id__in=list(student_ids)).select_related("guardian"):
        found[link.student_id].append(link.guardian)
    return {pk: sorted_people(people, language) for pk, people in found.items()}


# ------------------------------------------------------------------ conversations


@dataclass
class ConversationRow:
    conversation: Conversation
    others: list[Person]  # the other side: the teacher, or the student's family


def conversations(actor: Actor, limit: int = 100) -> list[ConversationRow]:
    """The actor's conversations, the latest letter first, with the other side of each (two queries)."""
    found = list(
        visible(Conversation, actor)
        .filter(last_letter_at__isnull=False)
        .select_related("student", "teacher")
        .order_by("-last_letter_at", "-id")[:limit]
    )
    families = family_of({c.student_id for c in found if c.teacher_id == actor.person_id})
    return [
        ConversationRow(c, families[c.student_id] if c.teacher_id == actor.person_id else [c.teacher]) for c in found
    ]


def last_letter_seen(actor: Actor) -> int:
    """The newest letter the actor can see: a new letter's form carries it, so a second submission of
    the same form is recognised (see `messaging`)."""
    return visible(Letter, actor).aggregate(last=Max("pk"))["last"] or 0


@dataclass
class ConversationPage:
    conversation: Conversation
    letters: list[Letter]
    family: list[Person]
    as_teacher: bool  # the actor is the conversation's teacher (else one of the student's family)
    open: bool  # the teacher still teaches the student: letters may be written

    @property
    def seen(self) -> int:
        return self.letters[-1].pk if self.letters else 0


def conversation_page(actor: Actor, conversation_id: int) -> ConversationPage:
    """One conversation with every letter, for one of its two sides (five queries); anyone else: not found."""
    conversation = (
        visible(Conversation, actor)
        .select_related("student", "teacher", "organization")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is None:
        raise NotFound()
    letters = list(
        Letter.objects.filter(conversation=conversation).select_related("author__person").order_by("sent_at", "id")
    )
    return ConversationPage(
        conversation=conversation,
        letters=letters,
        family=family_of([conversation.student_id])[conversation.student_id],
        as_teacher=conversation.teacher_id == actor.person_id,
        open=teaches(conversation.teacher_id, conversation.student_id) is not None,
    )


@dataclass
class FamilyPage:
    student: Person
    school_class: SchoolClass
    family: list[Person]
    conversation: Conversation | None


def family_page(actor: Actor, student_id: int) -> FamilyPage:
    """A student the actor teaches, to write to their family; anyone else's student: not found."""
    school_class = teaches(actor.person_id, student_id)
    if school_class is None:
        raise NotFound()
    student = Person.objects.get(pk=student_id)
    conversation = Conversation.objects.filter(student_id=student_id, teacher_id=actor.person_id).first()
    return FamilyPage(student, school_class, family_of([student_id])[student_id], conversation)


# ------------------------------------------------------------------ announcements


def announcements(actor: Actor, limit: int = 20) -> list[Announcement]:
    """The newest announcements the actor may read: their classes' and their schools' (one query)."""
    return list(
        visible(Announcement, actor)
        .select_related("school_class", "organization", "author__person")
        .order_by("-posted_at", "-id")[:limit]
    )


@dataclass
class AnnounceTargets:
    organization: Organization
    whole_school: bool  # the school's administration: any class, or everyone
    classes: list[SchoolClass]  # of the current school year: every class, or the ones the actor leads


def announce_targets(actor: Actor, organization_id: int) -> AnnounceTargets:
    """Where the actor may post in a school; not found for anyone who may post nowhere in it (four queries)."""
    organization = Organization.objects.filter(pk=organization_id).first()
    if organization is None or not actor.person_id:
        raise NotFound()
    runs = organization.pk in actor.organization_ids(SCHOOL_ADMIN_ROLES)
    year = current_year(organization.pk, clock.today())
    classes = []
    if year is not None:
        classes = list(
            (SchoolClass.objects if runs else _led_classes(actor)).filter(
                organization=organization, year__name=year.name
            )
        )
    if not runs and not classes:
        raise NotFound()
    language = get_language()
    return AnnounceTargets(organization, runs, sorted(classes, key=_by_class(language)))


def _led_classes(actor: Actor):
    """The classes the actor leads in the schools where they teach now (a class teacher who left leads none)."""
    return SchoolClass.objects.filter(
        class_teacher_id=actor.person_id, organization_id__in=actor.organization_ids(TEACHING_ROLES)
    )


def announce_places(actor: Actor) -> list[Organization]:
    """The schools where the actor may post an announcement (as `announce_targets` decides): those they
    run, and those where they lead a class of the school's current year."""
    ids = set(actor.organization_ids(SCHOOL_ADMIN_ROLES))
    if actor.person_id:
        ids |= {c.organization_id for c in _of_current_year(_led_classes(actor).select_related("year"))}
    if not ids:
        return []
    language = get_language()
    return sorted_by_name(Organization.objects.filter(pk__in=ids), language)


def last_announcement_seen(actor: Actor) -> int:
    """The newest announcement the actor can see: the posting form carries it (see `messaging`)."""
    return visible(Announcement, actor).aggregate(last=Max("pk"))["last"] or 0


def announcement_recipients(announcement: Announcement) -> list[int]:
    """The accounts told of an announcement: the class's pupils and families, or every member of the school."""
    if announcement.school_class_id:
        pupils = Enrollment.objects.filter(school_class_id=announcement.school_class_id, left_on__isnull=True).values(
            "student_id"
        )
        families = Guardianship.objects.filter(student_id__in=pupils).values("guardian_id")
        people = Q(person_id__in=pupils) | Q(person_id__in=families)
    else:
        members = Membership.objects.filter(
            organization_id=announcement.organization_id, ended_on__isnull=True, role__in=SCHOOL_MEMBER_ROLES
        ).values("person_id")
        people = Q(person_id__in=members)
    return list(
        User.objects.filter(people, is_active=True)
        .exclude(pk=announcement.author_id)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
