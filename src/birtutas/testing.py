"""A small, fully known world for tests: two schools, two classes each, teachers, families, analysts.

School A and school B mirror each other, so every test can ask "can this person of school A
reach that object of school B, of the other class, of the other family?".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
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


def signed_in(user: User, language: str = "en"):
    """A test client signed in as `user`, whose browser asks for pages in `language`."""
    from django.test import Client

    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


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


# ------------------------------------------------------------------ the access test's additions

from birtutas.journal.models import ImportJob  # noqa: E402 - appended beside the helper that uses them
from birtutas.registry.models import Holiday, LinkRequest  # noqa: E402


@dataclass
class AccessWorld:
    """The test world with every role of `Role` held by someone, and records worth reaching for.

    Added to `build_world()` for the access test: a deputy director and a class teacher who
    teaches nothing in the class they lead (school A), an officer of the region both schools are
    in and a system administrator; a term of the previous school year (the ministry's calendar),
    school A's own copy of that year, and school B's own calendar of the year before, with a
    holiday; marks, absences, points and homework (unique text per class) in every class, with
    the families' notifications delivered; a checked import job of each school; a link request
    that A's teacher may decide and one they may not; term 1 closed in both schools.
    """

    world: World
    deputy: User  # deputy director of school A
    class_teacher: User  # leads A's class_b and teaches nothing in it
    region_officer: User  # officer of the region of both schools
    sysadmin: User
    a_year: AcademicYear  # school A's own copy of the previous school year
    a_term: Term  # its term 2: ended and open, so A's director may close it
    old_term: Term  # term 2 of the previous school year, in the ministry's calendar
    b_year: AcademicYear  # school B's own calendar of 2024-2025, a year only it has
    b_term: Term
    b_holiday: Holiday
    homework: dict[tuple[str, str], str]  # ("a" or "b" school, "a" or "b" class) -> homework text
    job_a: ImportJob
    job_b: ImportJob
    link_a: LinkRequest  # about A's teacher, asked by school B: A's teacher and director decide it
    link_b: LinkRequest  # about B's other teacher, asked by school A: nobody of school A decides it
    # ("a" or "b" school, "student" or "classmate") -> the letter its family wrote to the teacher of class a;
    # ("a" or "b" school, "a", "b" class or "school") -> an announcement to that class, or to the whole school.
    letters: dict = field(default_factory=dict)
    announcements: dict = field(default_factory=dict)


def build_access_world(world: World | None = None) -> AccessWorld:
    from django.test import TestCase

    from birtutas.journal import messaging, onboarding, services
    from birtutas.kernel.context import writing
    from birtutas.registry import calendar
    from birtutas.registry import services as registry_services

    world = world or build_world()
    a, b = world.a, world.b
    with writing():
        deputy = account(person("Орынбасарa", "Жанар", dt.date(1979, 8, 9)), "deputy_a")
        Membership.objects.create(person=deputy.person, role=Role.DEPUTY, organization=a.organization)
        leader = account(person("Жетекшіa", "Бауыржан", dt.date(1986, 10, 11), "M"), "class_teacher_a")
        Membership.objects.create(person=leader.person, role=Role.CLASS_TEACHER, organization=a.organization)
        SchoolClass.objects.filter(pk=a.class_b.pk).update(class_teacher=leader.person)
        a.class_b.class_teacher = leader.person
        region = a.organization.district.region
        region_officer = account(person("Облысов", "Марат", dt.date(1980, 12, 1), "M"), "region_officer")
        Membership.objects.create(person=region_officer.person, role=Role.REGION_OFFICER, region=region)
        sysadmin = account(person("Жүйешіл", "Тимур", dt.date(1991, 1, 2), "M"), "sysadmin")
        Membership.objects.create(person=sysadmin.person, role=Role.SYSADMIN)
        old_year = AcademicYear.objects.create(
            name="2025-2026", starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2026, 5, 25)
        )
        old_terms = [
            Term.objects.create(year=old_year, number=i + 1, starts_on=start, ends_on=end)
            for i, (start, end) in enumerate(
                [
                    (dt.date(2025, 9, 1), dt.date(2025, 10, 24)),
                    (dt.date(2025, 11, 3), dt.date(2025, 12, 26)),
                    (dt.date(2026, 1, 8), dt.date(2026, 3, 18)),
                    (dt.date(2026, 3, 30), dt.date(2026, 5, 25)),
                ]
            )
        ]
        old_term = old_terms[1]
        Holiday.objects.create(
            year=old_year, starts_on=dt.date(2025, 12, 29), ends_on=dt.date(2026, 1, 7), name_kk="Қыс", name_ru="Зима"
        )
        # School B has been on the platform a year longer: its own calendar of a year nobody else has.
        b_year = AcademicYear.objects.create(
            organization=b.organization, name="2024-2025", starts_on=dt.date(2024, 9, 2), ends_on=dt.date(2025, 5, 25)
        )
        b_term = Term.objects.create(
            year=b_year, number=2, starts_on=dt.date(2024, 11, 4), ends_on=dt.date(2024, 12, 27)
        )
        b_holiday = Holiday.objects.create(
            year=b_year,
            starts_on=dt.date(2024, 12, 30),
            ends_on=dt.date(2025, 1, 7),
            name_kk="Қысқы демалысb",
            name_ru="Зимние каникулыb",
        )
    # School A keeps its own copy of the previous year (its own terms and holiday, which its director edits).
    a_year = calendar.adopt_default(a.director, a.organization.pk, old_year.pk)
    homework = {}
    # Services write the records, so the audit log and the families' inboxes hold them too.
    with TestCase.captureOnCommitCallbacks(execute=True):
        for tag, school in (("a", a), ("b", b)):
            for klass, teacher, lessons, work, pupils in (
                ("a", school.teacher, school.lessons_a, school.work_a, (school.student, school.classmate)),
                ("b", school.other_teacher, school.lessons_b, school.work_b, (school.student_b,)),
            ):
                homework[(tag, klass)] = f"Жаттығу-{tag}{klass}-17"
                services.update_lesson(
                    teacher, lessons[0].pk, topic="Көпмүшелер", homework=homework[(tag, klass)], homework_due=None
                )
                for n, pupil in enumerate(pupils):
                    services.update_cell(teacher, lessons[0].pk, pupil.pk, mark=8 - n)
                    services.update_cell(teacher, lessons[1].pk, pupil.pk, attendance="late" if n else "illness")
                    services.set_points(teacher, work.pk, pupil.pk, 15 - n)
        letters, announcements = {}, {}
        for tag, school in (("a", a), ("b", b)):
            for family, guardian, pupil in (
                ("student", school.guardian, school.student),
                ("classmate", school.classmate_guardian, school.classmate),
            ):
                letters[(tag, family)] = messaging.write_to_teacher(
                    guardian, pupil.pk, school.teacher.person_id, f"Хат-{tag}-{family}-17"
                )
            for klass, school_class in (("a", school.class_a), ("b", school.class_b), ("school", None)):
                announcements[(tag, klass)] = messaging.post_announcement(
                    school.director,
                    school.organization.pk,
                    school_class.pk if school_class else None,
                    f"Хабарландыру-{tag}{klass}-17",
                    "Жиналыс",
                )
        job_a, job_b = (
            onboarding.start_job(
                school.director,
                school.organization.pk,
                world.year.pk,
                {"classes": "grade,letter,language,class_teacher_iin\n9,Б,kk,\n"},
            )
            for school in (a, b)
        )
        job_a, job_b = (onboarding.check_job(job.pk) for job in (job_a, job_b))
        link_a, link_b = (
            registry_services.request_links(
                [registry_services.LinkDraft(person_id=who.person_id, name_given="", roles={Role.TEACHER.value})],
                organization=asking.organization,
                requested_by=asking.director,
            )[0]
            for who, asking in ((a.teacher, b), (b.other_teacher, a))
        )
    for school in (a, b):  # a closed term in each school: officers find it, teachers ask to change it
        close_term(school.director, school.organization, world.terms[0])
    return AccessWorld(
        world=world,
        a_year=a_year,
        a_term=a_year.terms.get(number=2),
        deputy=deputy,
        class_teacher=leader,
        region_officer=region_officer,
        sysadmin=sysadmin,
        old_term=old_term,
        b_year=b_year,
        b_term=b_term,
        b_holiday=b_holiday,
        homework=homework,
        job_a=job_a,
        job_b=job_b,
        link_a=link_a,
        link_b=link_b,
        letters=letters,
        announcements=announcements,
    )


# ------------------------------------------------------------------ races on a real server


def put_back_reference_data() -> None:
    """A transactional test starts from an emptied database: put back the region and the grading policy."""
    from birtutas.curriculum.models import GradingPolicy
    from birtutas.journal import rules

    GradingPolicy.objects.get_or_create(
        code="criteria-based",
        version=1,
        defaults={"effective_from": dt.date(2016, 9, 1), "rules": rules.CRITERIA_BASED_2016.to_json()},
    )
    Region.objects.get_or_create(
        code="KZ-11", defaults={"kind": "region", "name_kk": "Ақмола", "name_ru": "Акмолинская"}
    )


def race(*calls) -> list:
    """Run the calls at the same moment, each in its own thread and connection; return results or errors."""
    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=10)
            results[i] = call()
        except Exception as error:  # noqa: BLE001 - the caller inspects what each call raised
            results[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results
