"""A small school world written with the models as they were before records could travel.

The database is at the schema of the old migrations (no `uid` anywhere, no sync app), so the rows
are written through the historical models of that state (`apps` of the migration loader's project
state), never through today's models. It holds at least one row of every table that travels, and of
the journal's tables that do not (marks, absences, grades), so the migration test can check each.
"""

from __future__ import annotations

import datetime as dt
from itertools import count

from django.db import connection
from django.utils import timezone

from birtutas.registry.rules import make_iin

D = dt.date
PASSWORD = "md5$legacy$0123456789abcdef0123456789abcdef"  # noqa: S105 - a fixed, unusable hash


def build(apps) -> dict[str, int]:
    """Write the world; returns the ids of a few rows the test names."""
    m = apps.get_model
    Region, District, Organization = m("registry", "Region"), m("registry", "District"), m("registry", "Organization")  # noqa: N806
    Person, User, Membership = m("registry", "Person"), m("registry", "User"), m("registry", "Membership")  # noqa: N806
    Guardianship, LinkRequest = m("registry", "Guardianship"), m("registry", "LinkRequest")  # noqa: N806
    AcademicYear, Term, Holiday = m("registry", "AcademicYear"), m("registry", "Term"), m("registry", "Holiday")  # noqa: N806
    Subject, Objective = m("curriculum", "Subject"), m("curriculum", "LearningObjective")  # noqa: N806
    Policy = m("curriculum", "GradingPolicy")  # noqa: N806
    j = {name: m("journal", name) for name in (
        "SchoolClass", "Enrollment", "TeachingAssignment", "TimetableSlot", "BellPeriod", "Lesson", "SummativeWork",
        "Mark", "Attendance", "TermGrade", "YearGrade", "TermClosure", "ChangeRequest", "Conversation", "Letter",
        "Announcement", "ImportJob",
    )}  # fmt: skip
    AuditEvent, Notification = m("kernel", "AuditEvent"), m("kernel", "Notification")  # noqa: N806

    # ---- territory, schools, reference data
    region, _ = Region.objects.get_or_create(
        code="KZ-11", defaults={"kind": "region", "name_kk": "Ақмола облысы", "name_ru": "Акмолинская область"}
    )
    city = Region.objects.create(code="KZ-T9", kind="city", name_kk="Сынақ қаласы", name_ru="Город проб")
    burabay = District.objects.create(region=region, name_kk="Бурабай ауданы", name_ru="Бурабайский район")
    shortandy = District.objects.create(
        region=region, name_kk="Шортанды ауданы", name_ru="Шортандинский район", name_en="Shortandy"
    )
    District.objects.create(region=city, name_kk="Есіл ауданы", name_ru="Есильский район")
    school_a = Organization.objects.create(
        district=burabay, bin="060540001234", name_kk="№1 мектеп", name_ru="Школа №1", locality="rural",
        language="kk", connection="mobile", connection_mbps="7.50", student_computers=12,
    )  # fmt: skip
    school_b = Organization.objects.create(
        district=shortandy, bin=None, name_kk="Шағын мектеп", name_ru="Малокомплектная школа", locality="rural",
        is_small_ungraded=True, language="mixed", connection="none",
    )  # fmt: skip
    algebra, _ = Subject.objects.get_or_create(code="algebra", defaults={"name_kk": "Алгебра", "name_ru": "Алгебра"})
    geometry = Subject.objects.create(code="geom-legacy", name_kk="Геометрия", name_ru="Геометрия", name_en="Geometry")
    objectives = [
        Objective.objects.create(
            subject=algebra, grade=7, code=code, text_kk=kk, text_ru=ru, section_kk="Алгебра", source="sample"
        )
        for code, kk, ru in (
            ("7.L1.1.1", "көпмүшелерді қосу", "сложение многочленов"),
            ("7.L1.1.2", "көпмүшелерді көбейту", "умножение многочленов"),
        )
    ]
    Objective.objects.create(subject=geometry, grade=7, code="7.L1.1.1", text_kk="бұрыштар", text_ru="углы")
    policy, _ = Policy.objects.get_or_create(
        code="criteria-based", version=1, defaults={"effective_from": D(2016, 9, 1), "rules": {"legacy": True}}
    )
    Policy.objects.create(code="legacy-test", version=3, effective_from=D(2024, 9, 1), rules={"bands": [40, 65, 85]})

    # ---- calendars: the ministry's default year, and each school's own copy
    default_year = AcademicYear.objects.create(name="2026-2027", starts_on=D(2026, 9, 1), ends_on=D(2027, 5, 25))
    for n, (s, e) in enumerate(((D(2026, 9, 1), D(2026, 10, 24)), (D(2026, 11, 3), D(2026, 12, 26))), start=1):
        Term.objects.create(year=default_year, number=n, starts_on=s, ends_on=e)
    Holiday.objects.create(
        year=default_year, starts_on=D(2026, 10, 25), ends_on=D(2026, 11, 2), name_kk="Күзгі демалыс",
        name_ru="Осенние каникулы",
    )  # fmt: skip
    year_a = AcademicYear.objects.create(
        organization=school_a, name="2026-2027", starts_on=D(2026, 9, 1), ends_on=D(2027, 5, 25)
    )
    terms_a = [
        Term.objects.create(year=year_a, number=n, starts_on=s, ends_on=e)
        for n, (s, e) in enumerate(((D(2026, 9, 1), D(2026, 10, 24)), (D(2026, 11, 3), D(2026, 12, 26))), start=1)
    ]
    Holiday.objects.create(year=year_a, starts_on=D(2026, 12, 16), ends_on=D(2026, 12, 17), name_kk="Тәуелсіздік")
    year_b = AcademicYear.objects.create(
        organization=school_b, name="2026-2027", starts_on=D(2026, 9, 1), ends_on=D(2027, 5, 25)
    )
    term_b = Term.objects.create(
        year=year_b, kind="semester", number=1, starts_on=D(2026, 9, 1), ends_on=D(2026, 12, 26)
    )

    # ---- people and accounts
    serial = count(101)

    def person(last, first, born, sex="F", **extra):
        while (iin := make_iin(born, sex, next(serial))) is None:
            pass
        return Person.objects.create(iin=iin, last_name=last, first_name=first, birth_date=born, sex=sex, **extra)

    def account(p, username, **extra):
        return User.objects.create(
            username=username, person=p, password=PASSWORD, email=f"{username}@example.kz", **extra
        )

    director = person("Директорова", "Айгүл", D(1975, 1, 5), patronymic="Серікқызы", phone="+77010000001")
    teacher = person("Мұғалімов", "Асқар", D(1988, 2, 3), "M", email="askar@example.kz")
    teacher_b = person("Ауылова", "Гүлнар", D(1989, 3, 4))
    student = person("Оқушыева", "Әсел", D(2013, 5, 6))
    classmate = person("Сыныпов", "Нұрлан", D(2013, 7, 8), "M")
    left = person("Кеткенов", "Дамир", D(2013, 9, 10), "M")  # left school A in September
    student_b = person("Ауылбаев", "Ерасыл", D(2015, 1, 2), "M")
    parent = person("Ата-анаева", "Мөлдір", D(1984, 7, 8))  # children in both schools
    parent2 = person("Көршіев", "Серік", D(1983, 9, 1), "M")  # no role of their own: only a child
    officer = person("Омаров", "Ерлан", D(1985, 6, 7), "M")
    analyst = person("Сейітова", "Дана", D(1990, 4, 2))
    person("Тіркелген", "Жан", D(2001, 2, 3), "M")  # registered, with no role anywhere yet

    u_director = account(director, "legacy_director", language="ru", is_staff=True)
    u_teacher = account(teacher, "legacy_teacher", session_token="0123456789abcdef0123456789abcdef")
    u_teacher_b = account(teacher_b, "legacy_teacher_b")
    account(student, "legacy_student", last_login=timezone.now())
    u_parent = account(parent, "legacy_parent", language="ru")
    account(officer, "legacy_officer")
    account(analyst, "legacy_analyst", is_active=False)
    u_admin = account(None, "legacy_admin", is_superuser=True, is_staff=True)  # no person behind it
    account(None, "legacy_demo", is_demo=True)

    roles = [
        (director, "director", school_a),
        (teacher, "teacher", school_a),
        (teacher, "class_teacher", school_a),
        (student, "student", school_a),
        (classmate, "student", school_a),
        (parent, "guardian", school_a),
        (teacher_b, "teacher", school_b),
        (teacher_b, "director", school_b),
        (student_b, "student", school_b),
    ]
    for p, role, org in roles:
        Membership.objects.create(person=p, role=role, organization=org)
    Membership.objects.create(person=left, role="student", organization=school_a, ended_on=D(2026, 9, 30))
    Membership.objects.create(person=officer, role="district_officer", district=burabay, personal_data_access=True)
    Membership.objects.create(person=analyst, role="ministry_analyst")
    for guardian, ward, relation in (
        (parent, student, "mother"),
        (parent, student_b, "aunt"),
        (parent2, classmate, "father"),
    ):
        Guardianship.objects.create(guardian=guardian, student=ward, relation=relation)

    # ---- classes, load, timetable, bells
    SchoolClass, Enrollment = j["SchoolClass"], j["Enrollment"]  # noqa: N806
    class_a = SchoolClass.objects.create(
        organization=school_a, year=year_a, grade=7, letter="А", language="kk", class_teacher=teacher
    )
    class_a2 = SchoolClass.objects.create(
        organization=school_a, year=year_a, grade=7, letter="Ә", language="ru", shift=2
    )
    class_b = SchoolClass.objects.create(organization=school_b, year=year_b, grade=5, letter="А", language="kk")
    for c, p, left_on in (
        (class_a, student, None),
        (class_a, classmate, None),
        (class_a, left, D(2026, 9, 30)),
        (class_a2, left, None),
        (class_b, student_b, None),
    ):
        Enrollment.objects.create(school_class=c, student=p, left_on=left_on)
    assign = j["TeachingAssignment"].objects.create
    algebra_a = assign(school_class=class_a, subject=algebra, teacher=teacher, hours_per_week=3)
    geometry_a = assign(school_class=class_a, subject=geometry, teacher=teacher, hours_per_week=2)
    assign(school_class=class_a2, subject=algebra, teacher=teacher)
    algebra_b = assign(school_class=class_b, subject=algebra, teacher=teacher_b, hours_per_week=4)
    slot = j["TimetableSlot"].objects.create
    slot(assignment=algebra_a, school_class=class_a, weekday=1, period=2, room="12")
    slot(assignment=geometry_a, school_class=class_a, weekday=3, period=1)
    slot(assignment=algebra_b, school_class=class_b, weekday=6, period=4, room="2")
    bell = j["BellPeriod"].objects.create
    bell(organization=school_a, period=1, starts=dt.time(8, 30), ends=dt.time(9, 15))
    bell(organization=school_a, period=2, starts=dt.time(9, 25), ends=dt.time(10, 10))
    bell(organization=school_a, shift=2, period=1, starts=dt.time(14, 0), ends=dt.time(14, 45))
    bell(organization=school_b, period=1, starts=dt.time(9, 0), ends=dt.time(9, 40))

    # ---- lessons, works, marks, absences, grades
    Lesson = j["Lesson"]  # noqa: N806
    lessons = [
        Lesson.objects.create(assignment=algebra_a, term=terms_a[0], date=D(2026, 10, 5), period=2, topic="Бірмүше"),
        Lesson.objects.create(
            assignment=algebra_a, term=terms_a[1], date=D(2026, 11, 16), period=2, topic="Көпмүшелер",
            homework="№ 12, 14", homework_due=D(2026, 11, 18),
        ),
        Lesson.objects.create(assignment=geometry_a, term=terms_a[1], date=D(2026, 11, 18), period=1),
    ]  # fmt: skip
    lessons[0].objectives.add(objectives[0])
    lessons[1].objectives.add(*objectives)
    lesson_b = Lesson.objects.create(assignment=algebra_b, term=term_b, date=D(2026, 11, 21), period=4, topic="Сандар")
    work = j["SummativeWork"].objects.create
    unit = work(assignment=algebra_a, term=terms_a[0], kind="unit", title="БЖБ 1", max_points=20, date=D(2026, 10, 7))
    work(assignment=algebra_a, term=terms_a[0], kind="term", title="ТЖБ", max_points=25, date=D(2026, 10, 20))
    unit_b = work(assignment=algebra_b, term=term_b, kind="unit", title="БЖБ 1", max_points=15, date=D(2026, 11, 21))
    mark = j["Mark"].objects.create
    mark(student=student, lesson=lessons[0], value=8)
    mark(student=classmate, lesson=lessons[0], value=10)
    mark(student=student, lesson=lessons[1], value=6)
    mark(student=student, work=unit, value=17)  # points of a summative work
    mark(student=classmate, work=unit, value=20)
    mark(student=student_b, lesson=lesson_b, value=9)
    mark(student=student_b, work=unit_b, value=12)
    absent = j["Attendance"].objects.create
    absent(student=classmate, lesson=lessons[1], status=_status("ILLNESS"))
    absent(student=student, lesson=lessons[2], status=_status("LATE"))
    absent(student=student_b, lesson=lesson_b, status=_status("UNEXCUSED"))
    j["TermGrade"].objects.create(
        student=student, assignment=algebra_a, term=terms_a[0], percent="81.25", grade=5, policy=policy
    )
    j["TermGrade"].objects.create(
        student=classmate, assignment=algebra_a, term=terms_a[0], percent="64.90", grade=3, policy=policy
    )
    j["YearGrade"].objects.create(student=student, assignment=algebra_a, grade=5)

    # ---- closing, change requests, letters, announcements, link requests
    Closure = j["TermClosure"]  # noqa: N806
    Closure.objects.create(
        organization=school_a, term=terms_a[0], closed_by=u_director, reopened_by=u_admin,
        reopened_at=timezone.now(), reopen_reason="a mark was entered for the wrong student",
    )  # fmt: skip
    Closure.objects.create(organization=school_a, term=terms_a[0], closed_by=u_director)  # closed again: in force
    change = j["ChangeRequest"].objects.create
    change(
        student=student, lesson=lessons[0], new_value="9", reason="typo", organization=school_a,
        requested_by=u_teacher,
    )  # fmt: skip
    change(
        student=classmate, work=unit, new_value="19", reason="recounted", organization=school_a,
        requested_by=u_teacher, state="approved", decided_by=u_director, decided_at=timezone.now(),
    )  # fmt: skip
    conversation = j["Conversation"].objects.create(
        organization=school_a, student=student, teacher=teacher, last_letter_at=timezone.now()
    )
    j["Letter"].objects.create(conversation=conversation, author=u_parent, text="Сәлеметсіз бе! Әсел ауырып қалды.")
    j["Letter"].objects.create(conversation=conversation, author=u_teacher, text="Жазу үшін рақмет.")
    j["Conversation"].objects.create(organization=school_b, student=student_b, teacher=teacher_b)
    j["Announcement"].objects.create(
        organization=school_a, author=u_director, title="Ата-аналар жиналысы", text="Жұма, 18:00."
    )
    j["Announcement"].objects.create(
        organization=school_a, school_class=class_a, author=u_teacher, title="Экскурсия", text="Сенбі күні."
    )
    LinkRequest.objects.create(
        person=teacher_b, organization=school_a, name_given="Ауылова Гүлнар", roles=["teacher"],
        attachments={"teaching": [[class_a2.pk, geometry.pk]]}, requested_by=u_director,
    )  # fmt: skip
    LinkRequest.objects.create(
        person=parent, organization=school_b, roles=["guardian"], wards=[student_b.pk], state="accepted",
        requested_by=u_teacher_b, decided_by=u_parent, decided_at=timezone.now(),
    )  # fmt: skip

    # ---- what does not travel: inbox, tokens, codes, an import job
    Notification.objects.create(recipient=u_parent, kind="marks", text="Әсел: 8", key=f"marks:{lessons[0].pk}:x")
    Notification.objects.create(recipient=u_teacher, kind="letter", text="Жаңа хат", read_at=timezone.now())
    m("registry", "ApiToken").objects.create(user=u_teacher, digest="a" * 64, label="phone")
    m("registry", "AccountCode").objects.create(
        person=classmate, purpose="activation", digest="b" * 64, organization=school_a, issued_by=u_director,
        created_at=timezone.now(), expires_at=timezone.now() + dt.timedelta(days=30),
    )  # fmt: skip
    j["ImportJob"].objects.create(
        organization=school_a, year=year_a, created_by=u_director, files={"a.csv": "YQ=="}, files_digest="c" * 64,
        state="done", rows_total=3, rows_written=3, report={"created": 3},
    )  # fmt: skip

    # ---- the audit log: through the model (an insert is allowed), and by hand as older code did
    event = AuditEvent.objects.create
    event(actor=u_teacher, via="web", organization=school_a, person=student, event="mark.set",
          object_key=f"{student.pk}:{lessons[0].pk}", before=None, after={"value": 8})  # fmt: skip
    event(actor=u_director, via="web", organization=school_a, event="term.close", object_key=f"{terms_a[0].pk}",
          after={"closed": True}, reason="")  # fmt: skip
    event(actor=u_teacher_b, via="api", organization=school_b, person=student_b, event="mark.set",
          object_key=f"{student_b.pk}:{lesson_b.pk}", after={"value": 9})  # fmt: skip
    event(actor=u_admin, via="command", event="district.register", object_key=str(burabay.pk))  # no organization
    _raw_audit(u_admin.pk, school_a.pk, student.pk, "attendance.set", f"{student.pk}:{lessons[2].pk}",
               {"status": "late"}, "entered by the import")  # fmt: skip
    _raw_audit(None, None, None, "curriculum.load", "algebra", None, "")
    return {"school_a": school_a.pk, "school_b": school_b.pk, "default_year": default_year.pk}


def _status(name: str) -> str:
    """The stored value of an attendance status (the journal's rules name them)."""
    from birtutas.journal import rules

    return {"ILLNESS": rules.ABSENT_ILLNESS, "LATE": rules.LATE, "UNEXCUSED": rules.ABSENT_UNEXCUSED}[name]


def _raw_audit(actor, organization, person, event, key, after, reason) -> None:
    ops = connection.ops
    after_param = "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"
    columns = "at, actor_id, via, organization_id, person_id, event, object_key, before, after, reason"
    sql = (
        f"INSERT INTO kernel_auditevent ({columns}) VALUES (%s, %s, 'command', %s, %s, %s, %s, NULL, {after_param}, %s)"  # noqa: S608, E501
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                ops.adapt_datetimefield_value(timezone.now() - dt.timedelta(days=40)),
                actor,
                organization,
                person,
                event,
                key,
                None if after is None else ops.adapt_json_value(after, None),
                reason,
            ],
        )
