"""A small, fully known world for tests: two schools, two classes each, teachers, families, analysts.

School A and school B mirror each other, so every test can ask "can this person of school A
reach that object of school B, of the other class, of the other family?".
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from itertools import count

from birtutas.journal.models import (
    ChangeRequest,
    Enrollment,
    Lesson,
    SchoolClass,
    Subject,
    SummativeWork,
    TeachingAssignment,
    TimetableSlot,
)
from birtutas.registry.models import (
    AcademicYear,
    District,
    Guardianship,
    Membership,
    Organization,
    Person,
    Region,
    Term,
    User,
)
from birtutas.registry.roles import Role
from birtutas.registry.rules import make_iin

TODAY = dt.date(2026, 11, 20)  # a Friday in term 2
_serial = count(1)


def person(last: str, first: str, birth: dt.date, sex: str = "F") -> Person:
    while True:
        iin = make_iin(birth, sex, next(_serial) % 10000)
        if iin and not Person.objects.filter(iin=iin).exists():
            return Person.objects.create(iin=iin, last_name=last, first_name=first, birth_date=birth, sex=sex)


def account(p: Person, username: str, language: str = "kk") -> User:
    user = User(username=username, person=p, language=language, email=f"{username}@example.kz")
    user.set_password("correct horse battery")
    user.save()
    return user


@dataclass
class School:
    organization: Organization
    director: User
    teacher: User  # teaches algebra in class_a, class teacher of class_a
    other_teacher: User  # teaches algebra in class_b
    class_a: SchoolClass
    class_b: SchoolClass
    assignment_a: TeachingAssignment
    assignment_b: TeachingAssignment
    student: Person  # in class_a, child of `guardian`
    classmate: Person  # in class_a, another family
    student_b: Person  # in class_b
    student_user: User
    guardian: User
    classmate_guardian: User
    lessons_a: list[Lesson] = field(default_factory=list)
    lessons_b: list[Lesson] = field(default_factory=list)
    work_a: SummativeWork | None = None
    work_b: SummativeWork | None = None
    change_request: ChangeRequest | None = None


@dataclass
class World:
    year: AcademicYear
    terms: list[Term]
    subject: Subject
    a: School
    b: School
    analyst: User  # ministry analyst
    district_officer: User  # officer of school A's district

    @property
    def term(self) -> Term:
        return self.terms[1]


def build_world() -> World:
    region = Region.objects.get(code="KZ-11")
    district_a = District.objects.create(region=region, name_kk="Бурабай ауданы", name_ru="Бурабайский район")
    district_b = District.objects.create(region=region, name_kk="Шортанды ауданы", name_ru="Шортандинский район")
    year = AcademicYear.objects.create(name="2026-2027", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 5, 25))
    calendar = [
        (dt.date(2026, 9, 1), dt.date(2026, 10, 24)),
        (dt.date(2026, 11, 3), dt.date(2026, 12, 26)),
        (dt.date(2027, 1, 8), dt.date(2027, 3, 18)),
        (dt.date(2027, 3, 30), dt.date(2027, 5, 25)),
    ]
    terms = [Term.objects.create(year=year, number=i + 1, starts_on=s, ends_on=e) for i, (s, e) in enumerate(calendar)]
    subject = Subject.objects.create(code="algebra", name_kk="Алгебра", name_ru="Алгебра", name_en="Algebra")
    schools = [
        _school(tag, district, year, terms[1], subject) for tag, district in (("a", district_a), ("b", district_b))
    ]
    analyst_person = person("Сейітова", "Дана", dt.date(1990, 4, 2))
    Membership.objects.create(person=analyst_person, role=Role.MINISTRY_ANALYST)
    officer_person = person("Омаров", "Ерлан", dt.date(1985, 6, 7), "M")
    Membership.objects.create(person=officer_person, role=Role.DISTRICT_OFFICER, district=district_a)
    return World(
        year=year,
        terms=terms,
        subject=subject,
        a=schools[0],
        b=schools[1],
        analyst=account(analyst_person, "analyst"),
        district_officer=account(officer_person, "officer"),
    )


def _school(tag: str, district: District, year: AcademicYear, term: Term, subject: Subject) -> School:
    org = Organization.objects.create(
        district=district,
        name_kk=f"{tag.upper()} мектебі",
        name_ru=f"Школа {tag.upper()}",
        locality="rural",
        language="kk",
        connection="mobile",
        connection_mbps=10,
        student_computers=10,
    )
    director = account(person(f"Директор{tag}", "Айгүл", dt.date(1975, 1, 5)), f"director_{tag}")
    teacher = account(person(f"Мұғалім{tag}", "Асқар", dt.date(1988, 2, 3), "M"), f"teacher_{tag}")
    other_teacher = account(person(f"Басқа{tag}", "Гүлнар", dt.date(1989, 3, 4)), f"teacher2_{tag}")
    for user, role in (
        (director, Role.DIRECTOR),
        (teacher, Role.TEACHER),
        (teacher, Role.CLASS_TEACHER),
        (other_teacher, Role.TEACHER),
    ):
        Membership.objects.create(person=user.person, role=role, organization=org)
    class_a = SchoolClass.objects.create(
        organization=org, year=year, grade=7, letter="А", language="kk", class_teacher=teacher.person
    )
    class_b = SchoolClass.objects.create(organization=org, year=year, grade=7, letter="Ә", language="kk")
    assignment_a = TeachingAssignment.objects.create(
        school_class=class_a, subject=subject, teacher=teacher.person, hours_per_week=3
    )
    assignment_b = TeachingAssignment.objects.create(
        school_class=class_b, subject=subject, teacher=other_teacher.person, hours_per_week=3
    )
    born = dt.date(2013, 5, 6)
    student = person(f"Оқушы{tag}", "Әсел", born)
    classmate = person(f"Сынып{tag}", "Нұрлан", born, "M")
    student_b = person(f"Бөтен{tag}", "Дамир", born, "M")
    for p, c in ((student, class_a), (classmate, class_a), (student_b, class_b)):
        Enrollment.objects.create(school_class=c, student=p)
        Membership.objects.create(person=p, role=Role.STUDENT, organization=org)
    guardian = account(person(f"Ата-ана{tag}", "Мөлдір", dt.date(1984, 7, 8)), f"parent_{tag}")
    classmate_guardian = account(person(f"Көрші{tag}", "Серік", dt.date(1983, 9, 1), "M"), f"parent2_{tag}")
    Guardianship.objects.create(guardian=guardian.person, student=student)
    Guardianship.objects.create(guardian=classmate_guardian.person, student=classmate)
    for g in (guardian, classmate_guardian):
        Membership.objects.create(person=g.person, role=Role.GUARDIAN, organization=org)
    school = School(
        organization=org,
        director=director,
        teacher=teacher,
        other_teacher=other_teacher,
        class_a=class_a,
        class_b=class_b,
        assignment_a=assignment_a,
        assignment_b=assignment_b,
        student=student,
        classmate=classmate,
        student_b=student_b,
        student_user=account(student, f"student_{tag}"),
        guardian=guardian,
        classmate_guardian=classmate_guardian,
    )
    for assignment, lessons in ((assignment_a, school.lessons_a), (assignment_b, school.lessons_b)):
        TimetableSlot.objects.create(assignment=assignment, school_class=assignment.school_class, weekday=1, period=2)
        for day in (dt.date(2026, 11, 16), dt.date(2026, 11, 18), dt.date(2026, 11, 20)):
            lessons.append(
                Lesson.objects.create(assignment=assignment, term=term, date=day, period=2, topic="Көпмүшелер")
            )
    school.work_a = SummativeWork.objects.create(
        assignment=assignment_a, term=term, kind="unit", title="БЖБ 1", max_points=20, date=dt.date(2026, 11, 18)
    )
    school.work_b = SummativeWork.objects.create(
        assignment=assignment_b, term=term, kind="unit", title="БЖБ 1", max_points=20, date=dt.date(2026, 11, 18)
    )
    school.change_request = ChangeRequest.objects.create(
        student=student,
        lesson=school.lessons_a[0],
        new_value="9",
        reason="typo",
        organization=org,
        requested_by=teacher,
    )
    return school


@contextlib.contextmanager
def on_day(day: dt.date):
    """Run with the school's date pinned to `day`."""
    from django.test import override_settings

    with override_settings(BIRTUTAS_TODAY=day.isoformat()):
        yield


def close_term(director: User, organization: Organization, term: Term):
    """Close a term as a director would: the day after it ends, confirming the preview shown."""
    from birtutas.journal import queries, services

    with on_day(term.ends_on + dt.timedelta(days=1)):
        digest = services.preview_digest(queries.close_preview(organization, term))
        return services.close_term(director, organization.pk, term.pk, confirmed_digest=digest)
