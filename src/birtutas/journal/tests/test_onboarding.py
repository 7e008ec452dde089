"""School onboarding from CSV: a preview before any write, all or nothing, idempotent, every fault with its
line, and a school's reach limited to its own people."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections import Counter
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.utils import translation

from birtutas.journal import onboarding
from birtutas.journal.models import Enrollment, SchoolClass, Subject, TeachingAssignment
from birtutas.journal.onboarding import (
    EVENT_OF_KIND,
    FILE_COLUMNS,
    StalePreview,
    apply_import,
    preview_import,
)
from birtutas.kernel.context import Acting, guard_writes, guarded_tables
from birtutas.kernel.errors import Forbidden, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.registry import services as registry
from birtutas.registry.models import (
    AcademicYear,
    District,
    Guardianship,
    LinkRequest,
    Membership,
    Organization,
    Person,
    Region,
    User,
)
from birtutas.registry.rules import make_iin

SAMPLES = Path(__file__).resolve().parents[4] / "docs" / "samples" / "onboarding"
SUBJECT_CODES = ("kazakh", "russian", "english", "math", "algebra", "geometry", "physics")
_serials = itertools.count(1000)


def iin(born: dt.date, sex: str = "M") -> str:
    """A valid IIN, different on every call."""
    while True:
        value = make_iin(born, sex, next(_serials))
        if value is not None:
            return value


def broken_check_digit(value: str) -> str:
    return value[:11] + str((int(value[11]) + 1) % 10)


def csv_text(rows: list[list[str]], delimiter: str = ",") -> str:
    return "\n".join(delimiter.join(row) for row in rows) + "\n"


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def year(db):
    return AcademicYear.objects.create(name="2025-2026", starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2026, 5, 25))


@pytest.fixture
def subjects(db):
    return {code: Subject.objects.create(code=code, name_kk=code, name_ru=code, name_en=code) for code in SUBJECT_CODES}


def make_school(name: str, language: str = "kk") -> Organization:
    district, _created = District.objects.get_or_create(
        region=Region.objects.get(code="KZ-11"), name_kk="Көкшетау", name_ru="Кокшетау"
    )
    return Organization.objects.create(
        district=district,
        name_kk=name,
        name_ru=name,
        locality=Organization.Locality.URBAN,
        language=language,
        connection=Organization.Connection.FIBER,
    )


def make_person(last_name: str, born: dt.date = dt.date(1980, 5, 5), sex: str = "M", **extra) -> Person:
    return Person.objects.create(
        iin=iin(born, sex), last_name=last_name, first_name="Test", birth_date=born, sex=sex, **extra
    )


def make_user(organization: Organization | None, role: str | None, username: str) -> User:
    person = make_person(username.capitalize())
    if role is not None:
        Membership.objects.create(person=person, role=role, organization=organization)
    return User.objects.create_user(username=username, password="x", person=person)


@pytest.fixture
def school(db):
    return make_school("№1 мектеп-гимназия")


@pytest.fixture
def director(school):
    return make_user(school, "director", "director")


class Files:
    """A small consistent set of files: 2 classes, 2 teachers, 4 students (3 guardians), 3 subjects."""

    def __init__(self):
        self.teacher_a = iin(dt.date(1981, 2, 3), "F")
        self.teacher_b = iin(dt.date(1975, 10, 12), "M")
        self.students = [iin(dt.date(2013, 3, d), "M" if d % 2 else "F") for d in (1, 2, 3, 4)]
        self.mother = iin(dt.date(1985, 7, 7), "F")
        self.father = iin(dt.date(1982, 8, 8), "M")
        self.grandmother = iin(dt.date(1960, 9, 9), "F")
        self.classes = [
            ["grade", "letter", "language", "class_teacher_iin"],
            ["6", "А", "", self.teacher_a],
            ["6", "Б", "ru", ""],
        ]
        self.teachers = [
            ["iin", "last_name", "first_name", "patronymic", "email", "phone", "role"],
            [self.teacher_a, "Омарова", "Айнұр", "Қанатқызы", "ainur@example.kz", "+7 701 111 2233", ""],
            [self.teacher_b, "Соколов", "Игорь", "", "", "", "deputy"],
        ]
        g = ["guardian_iin", "guardian_last_name", "guardian_first_name", "guardian_patronymic"]
        self.students_rows = [
            ["iin", "last_name", "first_name", "patronymic", "grade", "letter", *g]
            + ["guardian_email", "guardian_phone", "relation"],
            [self.students[0], "Жұмабаев", "Арман", "", "6", "А", self.mother, "Жұмабаева", "Сая"]
            + ["", "", "", "анасы"],
            [self.students[1], "Жұмабаева", "Дана", "", "6", "а", self.mother, "", "", "", "", "", "анасы"],
            [self.students[2], "Попов", "Илья", "Олегович", "6", "Б", self.father, "Попов", "Олег"]
            + ["", "", "", "отец"],
            [self.students[3], "Ли", "Мария", "", "6", "Б", self.grandmother, "Ли", "Вера", "", "", "", "бабушка"],
        ]
        self.load = [
            ["grade", "letter", "subject_code", "teacher_iin", "hours_per_week"],
            ["6", "А", "kazakh", self.teacher_a, "4"],
            ["6", "А", "math", self.teacher_b, "5"],
            ["6", "Б", "Physics", self.teacher_b, "2"],
        ]

    def as_dict(self) -> dict[str, str]:
        return {
            "classes": csv_text(self.classes),
            "teachers": csv_text(self.teachers),
            "students": csv_text(self.students_rows),
            "load": csv_text(self.load),
        }


def counts() -> dict[str, int]:
    return {
        "people": Person.objects.count(),
        "memberships": Membership.objects.count(),
        "classes": SchoolClass.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "guardianships": Guardianship.objects.count(),
        "assignments": TeachingAssignment.objects.count(),
        "audit": AuditEvent.objects.count(),
    }


def whole_database() -> dict[str, int]:
    """Rows of every table the project has, the audit log included."""
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


@contextlib.contextmanager
def guarded():
    """Any write of a registry or journal table outside a service fails, as in the web requests."""
    with connection.execute_wrapper(guard_writes(guarded_tables())):
        yield


def run_import(user, organization, year, files):
    """Preview, then confirm that very preview: what a director does on the page."""
    with guarded():
        preview = preview_import(user, organization.pk, year.pk, files)
        if not preview.ok:
            return preview, None
        return preview, apply_import(user, organization.pk, year.pk, files, preview.digest)


def lines(preview) -> list[tuple[str, int]]:
    return [(e.file, e.line) for e in preview.errors]


def kinds(preview) -> dict[str, int]:
    return {kind: n for kind, n in preview.counts.items() if n}


def events_since(last_id: int) -> Counter:
    return Counter(AuditEvent.objects.filter(pk__gt=last_id).values_list("event", flat=True))


def last_event_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


# ------------------------------------------------------------------ preview, then confirm


def test_good_import_previews_then_creates_exactly_the_expected_rows(director, school, year, subjects):
    files = Files()
    before = counts()

    with guarded():
        preview = preview_import(director, school.pk, year.pk, files.as_dict())

    assert preview.ok, preview.errors
    assert counts() == before  # the preview writes nothing
    assert kinds(preview) == {
        "person": 2 + 4 + 3,
        "role": 3 + 1 + 4 + 3,  # teacher ×2 and deputy; class teacher; students; guardians
        "class_new": 2,
        "enrollment": 4,
        "guardian_link": 4,
        "load_new": 3,
    }
    mark = last_event_id()

    with guarded():
        report = apply_import(director, school.pk, year.pk, files.as_dict(), preview.digest)

    assert report.changes == preview.counts
    after = counts()
    assert after["people"] - before["people"] == 2 + 4 + 3
    assert after["classes"] - before["classes"] == 2
    assert after["enrollments"] - before["enrollments"] == 4
    assert after["guardianships"] - before["guardianships"] == 4
    assert after["assignments"] - before["assignments"] == 3

    a, b = SchoolClass.objects.filter(organization=school, year=year).order_by("letter")
    assert (a.grade, a.letter, a.language) == (6, "А", "kk")  # the school's language when none is given
    assert (b.letter, b.language, b.class_teacher) == ("Б", "ru", None)
    teacher_a = Person.objects.get(iin=files.teacher_a)
    assert a.class_teacher == teacher_a
    assert (teacher_a.birth_date, teacher_a.sex) == (dt.date(1981, 2, 3), "F")
    assert teacher_a.email == "ainur@example.kz"

    def roles(person_iin):
        return set(
            Membership.objects.filter(person__iin=person_iin, organization=school).values_list("role", flat=True)
        )

    assert roles(files.teacher_a) == {"teacher", "class_teacher"}
    assert roles(files.teacher_b) == {"teacher", "deputy"}
    assert roles(files.students[0]) == {"student"}
    assert roles(files.mother) == {"guardian"}

    mother = Person.objects.get(iin=files.mother)
    assert set(mother.wards.values_list("student__iin", flat=True)) == {files.students[0], files.students[1]}
    assert mother.wards.first().relation == "анасы"
    assert set(Enrollment.objects.filter(school_class=a).values_list("student__iin", flat=True)) == {
        files.students[0],
        files.students[1],
    }
    physics = TeachingAssignment.objects.get(school_class=b, subject=subjects["physics"])
    assert (physics.teacher.iin, physics.hours_per_week) == (files.teacher_b, 2)

    # One audit event per change of the preview, each through the import, and one summary.
    expected = Counter(EVENT_OF_KIND[c["kind"]] for c in preview.changes) + Counter({Event.IMPORT_APPLY: 1})
    assert events_since(mark) == expected
    assert set(AuditEvent.objects.filter(pk__gt=mark).values_list("via", "actor_id")) == {("import", director.pk)}
    event = AuditEvent.objects.get(event="import.apply")
    assert (event.organization_id, event.object_key) == (school.pk, str(school.pk))
    assert event.after == report.as_json()


def test_preview_lists_each_kind_of_change_and_writes_nothing(director, school, year, subjects):
    files = Files()
    assert run_import(director, school, year, files.as_dict())[1] is not None
    # The second file set: one of each kind of change, and rows that change nothing.
    newcomer = iin(dt.date(1990, 1, 1), "F")
    files.teachers[2][4] = "sokolov@example.kz"  # contacts the school's own teacher lacked
    files.teachers[1][6] = "deputy"  # a new role for a teacher of the school
    files.teachers.append([newcomer, "Жаңа", "Мұғалім", "", "", "", ""])  # a new person
    files.classes[1][3] = newcomer  # 6 «А» gets another class teacher
    files.classes.append(["7", "В", "kk", ""])  # a new class
    late = iin(dt.date(2012, 5, 5), "F")
    files.students_rows.append([late, "Кеш", "Келген", "", "7", "В", files.father, "", "", "", "", "", "әкесі"])
    files.load[2][3:5] = [files.teacher_a, "6"]  # math in 6 «А»: another teacher, other hours
    files.load.append(["7", "В", "math", newcomer, "5"])  # new load
    before = whole_database()

    with guarded():
        preview = preview_import(director, school.pk, year.pk, files.as_dict())

    assert preview.ok, preview.errors
    assert whole_database() == before
    assert kinds(preview) == {
        "person": 2,  # the new teacher and the new student
        "contacts": 1,
        "role": 4,  # deputy; the newcomer's teacher and class teacher; the new student's student role
        "class_new": 1,
        "class_change": 1,
        "enrollment": 1,
        "guardian_link": 1,
        "load_new": 1,
        "load_change": 1,
    }
    by_kind = {c["kind"]: c for c in preview.changes}
    assert by_kind["class_change"]["before"] == {"class_teacher": "Омарова Айнұр Қанатқызы"}
    assert by_kind["class_change"]["after"] == {"class_teacher": "Жаңа Мұғалім"}
    assert by_kind["load_change"]["before"] == {"teacher": "Соколов Игорь", "hours": 5}
    assert by_kind["load_change"]["after"] == {"teacher": "Омарова Айнұр Қанатқызы", "hours": 6}
    assert by_kind["contacts"]["email"] == "sokolov@example.kz"
    roles = sorted((c["name"], c["role"]) for c in preview.changes if c["kind"] == "role")
    assert roles == [
        ("Жаңа Мұғалім", "class_teacher"),
        ("Жаңа Мұғалім", "teacher"),
        ("Кеш Келген", "student"),
        ("Омарова Айнұр Қанатқызы", "deputy"),
    ]
    # Rows that bring nothing new are counted, not listed.
    assert preview.unchanged == {"classes": 1, "teachers": 0, "students": 4, "load": 2}

    mark = last_event_id()
    with guarded():
        apply_import(director, school.pk, year.pk, files.as_dict(), preview.digest)

    assert events_since(mark) == Counter(EVENT_OF_KIND[c["kind"]] for c in preview.changes) + Counter(
        {Event.IMPORT_APPLY: 1}
    )
    class_a = SchoolClass.objects.get(organization=school, letter="А")
    assert class_a.class_teacher.iin == newcomer
    math = TeachingAssignment.objects.get(school_class=class_a, subject=subjects["math"])
    assert (math.teacher.iin, math.hours_per_week) == (files.teacher_a, 6)
    assert Person.objects.get(iin=files.teacher_b).email == "sokolov@example.kz"
    event = AuditEvent.objects.get(event="class.set", object_key=str(class_a.pk), pk__gt=mark)
    assert event.before["class_teacher"] != event.after["class_teacher"]


def test_the_class_teacher_is_replaced_only_on_confirmation(director, school, year, subjects):
    files = Files()
    run_import(director, school, year, files.as_dict())
    files.classes[1][3] = files.teacher_b

    preview = preview_import(director, school.pk, year.pk, {"classes": csv_text(files.classes)})

    assert [c["kind"] for c in preview.changes] == ["class_change", "role"]
    assert SchoolClass.objects.get(letter="А").class_teacher.iin == files.teacher_a
    apply_import(director, school.pk, year.pk, {"classes": csv_text(files.classes)}, preview.digest)
    assert SchoolClass.objects.get(letter="А").class_teacher.iin == files.teacher_b


def test_confirmation_is_refused_when_the_records_changed_since_the_preview(director, school, year, subjects):
    files = Files()
    run_import(director, school, year, {"teachers": csv_text(files.teachers), "classes": csv_text(files.classes)})
    preview = preview_import(director, school.pk, year.pk, files.as_dict())
    assert preview.ok
    # Meanwhile someone else puts 6 «А»'s maths with another teacher and other hours.
    class_a = SchoolClass.objects.get(letter="А")
    TeachingAssignment.objects.create(
        school_class=class_a, subject=subjects["math"], teacher=class_a.class_teacher, hours_per_week=1
    )
    before = whole_database()

    with pytest.raises(StalePreview) as refused:
        apply_import(director, school.pk, year.pk, files.as_dict(), preview.digest)

    assert "changed after this preview" in str(refused.value.message)
    assert whole_database() == before
    fresh = refused.value.preview
    assert fresh.digest != preview.digest
    assert "load_change" in kinds(fresh) and "load_new" in kinds(fresh)
    # The fresh preview, confirmed, is applied.
    apply_import(director, school.pk, year.pk, files.as_dict(), fresh.digest)
    assert TeachingAssignment.objects.get(school_class=class_a, subject=subjects["math"]).hours_per_week == 5


def test_a_made_up_digest_is_refused(director, school, year, subjects):
    before = whole_database()
    with pytest.raises(StalePreview):
        apply_import(director, school.pk, year.pk, Files().as_dict(), "0" * 64)
    assert whole_database() == before


def test_second_identical_import_changes_nothing(director, school, year, subjects):
    files = Files().as_dict()
    first, _report = run_import(director, school, year, files)
    before = whole_database()

    again, report = run_import(director, school, year, files)

    assert again.ok, again.errors
    assert again.changes == []
    assert again.unchanged == {"classes": 2, "teachers": 2, "students": 4, "load": 3}
    assert report.changes == dict.fromkeys(onboarding.CHANGE_KINDS, 0)
    assert whole_database() == before  # not even a summary event
    # Confirming the first preview again is refused: the import would no longer do that.
    with pytest.raises(StalePreview):
        apply_import(director, school.pk, year.pk, files, first.digest)
    assert whole_database() == before


def test_reimport_updates_the_load_in_place(director, school, year, subjects):
    files = Files()
    run_import(director, school, year, files.as_dict())
    files.load[2] = ["6", "А", "math", files.teacher_a, "6"]

    preview, _report = run_import(director, school, year, {"load": csv_text(files.load)})

    assert kinds(preview) == {"load_change": 1}
    math = TeachingAssignment.objects.get(school_class__letter="А", subject=subjects["math"])
    assert (math.teacher.iin, math.hours_per_week) == (files.teacher_a, 6)


def test_later_files_may_refer_to_rows_already_in_the_database(director, school, year, subjects):
    files = Files()
    assert not preview_import(director, school.pk, year.pk, {"classes": csv_text(files.classes)}).ok
    # The class teacher is not known yet: the teachers come first, then classes and the rest.
    run_import(director, school, year, {"teachers": csv_text(files.teachers)})
    run_import(director, school, year, {"classes": csv_text(files.classes)})
    preview, _report = run_import(
        director, school, year, {"students": csv_text(files.students_rows), "load": csv_text(files.load)}
    )
    assert preview.ok, preview.errors
    assert kinds(preview) == {"person": 7, "role": 7, "enrollment": 4, "guardian_link": 4, "load_new": 3}


# ------------------------------------------------------------------ all or nothing


def test_three_bad_rows_import_nothing_and_are_all_reported(director, school, year, subjects):
    files = Files()
    files.students_rows[2][0] = broken_check_digit(files.students[1])  # line 3: a typo in the IIN
    files.students_rows[3][4:6] = ["9", "Я"]  # line 4: no such class
    files.students_rows.append(list(files.students_rows[1]))  # line 6: the IIN of line 2 again
    before = whole_database()

    preview = preview_import(director, school.pk, year.pk, files.as_dict())

    assert not preview.ok
    assert lines(preview) == [("students", 3), ("students", 4), ("students", 6)]
    assert "check digit" in preview.errors[0].message
    assert "9 «Я»" in preview.errors[1].message
    assert "line 2" in preview.errors[2].message
    assert preview.changes == []
    assert whole_database() == before
    with pytest.raises(StalePreview):
        apply_import(director, school.pk, year.pk, files.as_dict(), preview.digest)
    assert whole_database() == before


def test_a_failure_midway_leaves_nothing(director, school, year, subjects, monkeypatch):
    files = Files()
    preview = preview_import(director, school.pk, year.pk, files.as_dict())
    before = whole_database()

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(onboarding._Writer, "_load", broken)  # after people, classes and enrollments
    with pytest.raises(RuntimeError):
        apply_import(director, school.pk, year.pk, files.as_dict(), preview.digest)

    assert whole_database() == before


def test_bad_check_digit_names_the_column_and_the_check_digit(director, school, year):
    files = Files()
    files.teachers[1][0] = broken_check_digit(files.teacher_a)

    preview = preview_import(director, school.pk, year.pk, {"teachers": csv_text(files.teachers)})

    assert lines(preview) == [("teachers", 2)]
    message = preview.errors[0].message
    assert '"iin"' in message
    assert "check digit" in message


def test_bad_values_are_each_reported(director, school, year, subjects):
    files = Files()
    files.classes[2] = ["13", "Б", "de", ""]  # line 3: grade and language
    files.teachers[2][4] = "not-an-email"  # line 3: e-mail
    files.teachers[2][6] = "director"  # line 3: role
    files.load[1][4] = "0"  # line 2: hours out of range
    files.load[2][4] = "five"  # line 3: not a number
    files.load[3][2] = "astronomy"  # line 4: no such subject

    preview = preview_import(director, school.pk, year.pk, files.as_dict())

    messages = {(e.file, e.line, e.message.split(":")[0]) for e in preview.errors}
    assert ("classes", 3, 'Column "grade"') in messages
    assert ("classes", 3, 'Column "language"') in messages
    assert ("teachers", 3, 'Column "email"') in messages
    assert ("teachers", 3, 'Column "role"') in messages
    assert ("load", 2, 'Column "hours_per_week"') in messages
    assert ("load", 3, 'Column "hours_per_week"') in messages
    assert ("load", 4, 'Column "subject_code"') in messages
    assert SchoolClass.objects.count() == 0


def test_iin_that_lost_its_leading_zero_gets_a_hint(director, school, year):
    files = Files()
    files.teachers[1][0] = iin(dt.date(2001, 1, 1), "F")[1:]

    preview = preview_import(director, school.pk, year.pk, {"teachers": csv_text(files.teachers)})

    assert lines(preview) == [("teachers", 2)]
    assert "leading zero" in preview.errors[0].message


def test_errors_are_in_the_users_language(director, school, year):
    files = Files()
    files.teachers[1][0] = broken_check_digit(files.teacher_a)
    with translation.override("ru"):
        russian = preview_import(director, school.pk, year.pk, {"teachers": csv_text(files.teachers)})
    english = preview_import(director, school.pk, year.pk, {"teachers": csv_text(files.teachers)})
    assert russian.errors[0].message != english.errors[0].message


# ------------------------------------------------------------------ limits


def test_files_over_the_size_limit_are_refused_before_they_are_read(settings):
    settings.IMPORT_MAX_BYTES = 1000
    with pytest.raises(ServiceError) as refused:
        onboarding.check_limits({"students": b"x" * 1001})
    assert "too large" in str(refused.value.message)
    assert "1000" in str(refused.value.message) or "KB" in str(refused.value.message)


def test_files_over_the_row_limit_are_refused(settings):
    settings.IMPORT_MAX_ROWS = 10
    with pytest.raises(ServiceError) as refused:
        onboarding.check_limits({"students": b"a\n" * 6, "teachers": b"b\n" * 5})
    assert "11 rows" in str(refused.value.message)
    assert onboarding.check_limits({"students": b"a\n" * 6, "teachers": b"b\n" * 4}) == 10


# ------------------------------------------------------------------ file format


def test_semicolon_delimiter_bom_and_header_case(director, school, year, subjects):
    files = Files()
    files.classes[0] = ["GRADE", "Letter", "Language", "Class_Teacher_IIN"]
    contents = {
        name: ("\ufeff" + csv_text(rows, ";")).encode("utf-8")
        for name, rows in (
            ("classes", files.classes),
            ("teachers", files.teachers),
            ("students", files.students_rows),
            ("load", files.load),
        )
    }

    preview, _report = run_import(director, school, year, contents)

    assert preview.ok, preview.errors
    assert preview.counts["enrollment"] == 4
    assert Person.objects.get(iin=files.teacher_a).last_name == "Омарова"  # no BOM glued to the first cell


def test_missing_required_column_is_one_error_on_the_header(director, school, year):
    files = Files()
    rows = [[cell for index, cell in enumerate(row) if index != 5] for row in files.students_rows]  # no "letter"

    preview = preview_import(director, school.pk, year.pk, {"students": csv_text(rows)})

    assert lines(preview) == [("students", 1)]
    assert "letter" in preview.errors[0].message


def test_optional_columns_may_be_left_out(director, school, year):
    files = Files()
    teachers = [["IIN", "last_name", "first_name"], [files.teacher_a, "Омарова", "Айнұр"]]

    preview, _report = run_import(director, school, year, {"teachers": csv_text(teachers)})

    assert preview.ok, preview.errors
    assert kinds(preview) == {"person": 1, "role": 1}


def test_file_not_in_utf8_is_reported(director, school, year):
    files = Files()
    content = csv_text(files.teachers).encode("cp1251", errors="replace")

    preview = preview_import(director, school.pk, year.pk, {"teachers": content})

    assert lines(preview) == [("teachers", 2)]
    assert "UTF-8" in preview.errors[0].message


# ------------------------------------------------------------------ people and references


def test_teacher_of_another_school_cannot_be_used_without_the_teachers_file(director, school, year, subjects):
    other = make_school("№2 мектеп")
    stranger = make_person("Бөтен", dt.date(1979, 4, 4))
    Membership.objects.create(person=stranger, role="teacher", organization=other)
    files = Files()
    files.classes[1][3] = stranger.iin
    files.load[1][3] = stranger.iin
    before = whole_database()

    preview = preview_import(
        director, school.pk, year.pk, {"classes": csv_text(files.classes), "load": csv_text(files.load)}
    )

    bad = [(e.file, e.line) for e in preview.errors if "not a teacher of this school" in e.message]
    assert ("classes", 2) in bad
    assert ("load", 2) in bad
    assert whole_database() == before


def test_teacher_already_in_this_school_can_be_used_without_the_teachers_file(director, school, year, subjects):
    colleague = make_person("Әріптес", dt.date(1977, 3, 3))
    Membership.objects.create(person=colleague, role="teacher", organization=school)
    files = Files()
    files.classes[1][3] = colleague.iin
    files.load = [files.load[0], ["6", "А", "math", colleague.iin, "5"]]

    preview, _report = run_import(
        director, school, year, {"classes": csv_text(files.classes), "load": csv_text(files.load)}
    )

    assert preview.ok, preview.errors
    assert kinds(preview) == {"role": 1, "class_new": 2, "load_new": 1}
    assert SchoolClass.objects.get(letter="А").class_teacher == colleague


def test_student_enrolled_in_another_class_this_year_is_refused(director, school, year, subjects):
    files = Files()
    run_import(director, school, year, files.as_dict())
    files.students_rows[1][5] = "Б"  # moves the first student from 6 «А» to 6 «Б»

    preview = preview_import(director, school.pk, year.pk, {"students": csv_text(files.students_rows)})

    assert lines(preview) == [("students", 2)]
    assert "6 «А»" in preview.errors[0].message


def test_a_left_student_is_enrolled_again(director, school, year, subjects):
    files = Files()
    run_import(director, school, year, files.as_dict())
    Enrollment.objects.filter(student__iin=files.students[0]).update(left_on=dt.date(2026, 1, 10))

    preview, _report = run_import(director, school, year, {"students": csv_text(files.students_rows)})

    assert kinds(preview) == {"enrollment": 1}
    assert Enrollment.objects.get(student__iin=files.students[0]).left_on is None


def test_new_guardian_needs_a_name_and_one_of_this_school_does_not(director, school, year):
    files = Files()
    ours = make_person("Бұрынғы", dt.date(1970, 2, 2))
    Membership.objects.create(person=ours, role="guardian", organization=school)
    elsewhere = make_person("Басқа", dt.date(1971, 2, 2))
    Membership.objects.create(person=elsewhere, role="guardian", organization=make_school("№7 мектеп"))
    rows = [
        files.students_rows[0],
        [files.students[0], "Жұмабаев", "Арман", "", "6", "Б", ours.iin] + [""] * 5 + ["әкесі"],
        [files.students[1], "Жұмабаева", "Дана", "", "6", "Б", files.mother] + [""] * 6,
        [files.students[2], "Попов", "Илья", "", "6", "Б", elsewhere.iin] + [""] * 6,
    ]
    classes = csv_text([files.classes[0], files.classes[2]])

    preview = preview_import(director, school.pk, year.pk, {"classes": classes, "students": csv_text(rows)})

    # A guardian registered elsewhere is as unknown to this school as one new to the registry.
    assert lines(preview) == [("students", 3), ("students", 4)]
    assert preview.errors[0].message == preview.errors[1].message
    assert "guardian_last_name" in preview.errors[0].message


def test_guardian_named_differently_in_two_rows_is_reported(director, school, year, subjects):
    files = Files()
    files.students_rows[2][7:9] = ["Жұмабаева", "Сәуле"]  # line 3: same IIN as the mother on line 2

    preview = preview_import(director, school.pk, year.pk, files.as_dict())

    assert lines(preview) == [("students", 3)]
    assert "line 2" in preview.errors[0].message


def test_a_member_of_this_school_under_another_name_is_reported(director, school, year):
    ours = make_person("Өзіміздің", dt.date(1980, 4, 4))
    Membership.objects.create(person=ours, role="teacher", organization=school)
    files = Files()
    teachers = csv_text([files.teachers[0], [ours.iin, "Басқаша", "Есім", "", "", "", ""]])

    preview = preview_import(director, school.pk, year.pk, {"teachers": teachers})

    assert lines(preview) == [("teachers", 2)]
    assert "another name" in preview.errors[0].message


# ------------------------------------------------------------------ a school's reach: people registered elsewhere


def answer(preview) -> list:
    """A preview with its IINs blanked: what a director reads, whoever the people are."""
    return [{k: ("<iin>" if k in ("iin", "guardian_iin") else v) for k, v in c.items()} for c in preview.changes] + [
        preview.unchanged,
        [(e.file, e.line, e.message) for e in preview.errors],
    ]


@pytest.fixture
def other_school(db):
    """School B: a parent with an empty e-mail, with a child there; and B's director."""
    other = make_school("№5 мектеп")
    b_director = make_user(other, "director", "b_director")
    parent = make_person("Бөгде", dt.date(1980, 4, 4), phone="+7 701 111 2233")
    child = make_person("Бөгдеұлы", dt.date(2014, 4, 4))
    Membership.objects.create(person=parent, role="guardian", organization=other)
    Membership.objects.create(person=child, role="student", organization=other)
    Guardianship.objects.create(guardian=parent, student=child)
    return other, b_director, parent, child


def students_naming(guardian_iin: str, student_iin: str, last_name="Бөгде") -> dict[str, str]:
    files = Files()
    rows = [
        files.students_rows[0],
        [student_iin, "Жаңа", "Оқушы", "", "6", "Б", guardian_iin, last_name, "Test", "", "evil@example.kz"]
        + ["+77000000000", "әкесі"],
    ]
    return {"classes": csv_text([files.classes[0], files.classes[2]]), "students": csv_text(rows)}


def test_a_parent_of_another_school_is_never_changed_and_looks_new(director, school, year, other_school):
    other, b_director, parent, child = other_school
    student = iin(dt.date(2013, 9, 9))
    brand_new = students_naming(iin(dt.date(1980, 4, 4)), student)
    stranger = students_naming(parent.iin, student)

    assert answer(preview_import(director, school.pk, year.pk, stranger)) == answer(
        preview_import(director, school.pk, year.pk, brand_new)
    )
    # A name the registry does not have makes no difference either: nothing tells the school.
    renamed = students_naming(parent.iin, student, last_name="Жалған")
    new_renamed = students_naming(iin(dt.date(1980, 4, 4)), student, last_name="Жалған")
    assert answer(preview_import(director, school.pk, year.pk, renamed)) == answer(
        preview_import(director, school.pk, year.pk, new_renamed)
    )

    preview, report = run_import(director, school, year, stranger)

    parent.refresh_from_db()
    assert (parent.last_name, parent.email, parent.phone) == ("Бөгде", "", "+7 701 111 2233")
    assert set(Membership.objects.filter(person=parent).values_list("organization_id", "role")) == {
        (other.pk, "guardian")
    }
    assert list(Guardianship.objects.filter(guardian=parent).values_list("student_id", flat=True)) == [child.pk]
    assert not AuditEvent.objects.filter(person=parent).exclude(event="link.request").exists()
    # The school's own history shows nothing of it; a request waits for the parent or their school.
    assert not AuditEvent.objects.filter(organization=school, event="link.request").exists()
    link = LinkRequest.objects.get(person=parent)
    assert (link.organization, link.state, link.roles) == (school, "pending", ["guardian"])
    new_student = Person.objects.get(iin=student)
    assert link.wards == [[new_student.pk, "әкесі"]]
    assert report.changes == preview.counts


def test_the_parent_accepts_and_the_link_is_made(director, school, year, other_school):
    other, b_director, parent, child = other_school
    parent_user = User.objects.create_user(username="parent_b", password="x", person=parent)
    student = iin(dt.date(2013, 9, 9))
    run_import(director, school, year, students_naming(parent.iin, student))
    link = LinkRequest.objects.get(person=parent)

    # Neither the asking school nor anyone else may decide it.
    for outsider in (director, make_user(school, "deputy", "a_deputy"), make_user(None, None, "nobody")):
        with pytest.raises(NotFound):
            onboarding.decide_link(outsider, link.pk, accept=True)
    with guarded():
        onboarding.decide_link(parent_user, link.pk, accept=True)

    new_student = Person.objects.get(iin=student)
    assert Guardianship.objects.filter(guardian=parent, student=new_student, relation="әкесі").exists()
    assert Membership.objects.filter(person=parent, organization=school, role="guardian").exists()
    parent.refresh_from_db()
    assert parent.email == ""  # accepting a link never takes the school's contacts
    with pytest.raises(ServiceError):  # decided once, never twice
        onboarding.decide_link(parent_user, link.pk, accept=True)
    assert Guardianship.objects.filter(guardian=parent).count() == 2


def test_the_parents_school_may_decline_for_them(director, school, year, other_school):
    other, b_director, parent, child = other_school
    run_import(director, school, year, students_naming(parent.iin, iin(dt.date(2013, 9, 9))))
    link = LinkRequest.objects.get(person=parent)

    onboarding.decide_link(b_director, link.pk, accept=False)

    link.refresh_from_db()
    assert (link.state, link.decided_by) == ("declined", b_director)
    assert not Membership.objects.filter(person=parent, organization=school).exists()
    assert Guardianship.objects.filter(guardian=parent).count() == 1


def test_importing_the_same_file_twice_asks_once(director, school, year, other_school):
    other, b_director, parent, child = other_school
    files = students_naming(parent.iin, iin(dt.date(2013, 9, 9)))
    run_import(director, school, year, files)
    again, _report = run_import(director, school, year, files)
    assert LinkRequest.objects.filter(person=parent).count() == 1
    assert AuditEvent.objects.filter(event="link.request", person=parent).count() == 1


def test_a_student_of_another_school_moves_when_that_school_accepts(director, school, year, other_school):
    other, b_director, parent, child = other_school
    b_class = SchoolClass.objects.create(organization=other, year=year, grade=6, letter="А", language="kk")
    Enrollment.objects.create(school_class=b_class, student=child)
    files = Files()
    classes = csv_text([files.classes[0], ["6", "А", "", ""]])
    students = csv_text([files.students_rows[0], [child.iin, child.last_name, "Test", "", "6", "А"] + [""] * 7])
    newcomer = csv_text(
        [files.students_rows[0], [iin(dt.date(2013, 3, 3)), "Бөгдеұлы", "Test", "", "6", "А"] + [""] * 7]
    )

    assert answer(preview_import(director, school.pk, year.pk, {"classes": classes, "students": students})) == answer(
        preview_import(director, school.pk, year.pk, {"classes": classes, "students": newcomer})
    )
    run_import(director, school, year, {"classes": classes, "students": students})
    assert list(Enrollment.objects.filter(student=child).values_list("school_class_id", flat=True)) == [b_class.pk]
    link = LinkRequest.objects.get(person=child)
    child_user = User.objects.create_user(username="child_b", password="x", person=child)

    with pytest.raises(ServiceError):  # the child alone cannot leave their school
        onboarding.decide_link(child_user, link.pk, accept=True)
    onboarding.decide_link(b_director, link.pk, accept=True)

    a_class = SchoolClass.objects.get(organization=school, letter="А")
    assert Enrollment.objects.get(school_class=a_class, student=child).left_on is None
    assert Enrollment.objects.get(school_class=b_class, student=child).left_on is not None
    assert set(
        Membership.objects.filter(person=child, ended_on__isnull=True).values_list("organization_id", "role")
    ) == {(school.pk, "student")}


def test_a_teacher_of_another_school_joins_with_their_class_and_load(director, school, year, subjects):
    other = make_school("№6 мектеп")
    teacher = make_person("Екі", dt.date(1979, 4, 4))
    Membership.objects.create(person=teacher, role="teacher", organization=other)
    teacher_user = User.objects.create_user(username="teacher_b", password="x", person=teacher)
    files = Files()
    teachers = csv_text([files.teachers[0], [teacher.iin, "Екі", "Test", "", "t@example.kz", "", ""]])
    classes = csv_text([files.classes[0], ["6", "А", "", teacher.iin]])
    load = csv_text([files.load[0], ["6", "А", "math", teacher.iin, "4"]])

    preview, _report = run_import(director, school, year, {"teachers": teachers, "classes": classes, "load": load})

    assert kinds(preview) == {"person": 1, "role": 2, "class_new": 1, "load_new": 1}
    class_a = SchoolClass.objects.get(organization=school, letter="А")
    assert class_a.class_teacher is None
    assert not TeachingAssignment.objects.filter(school_class=class_a).exists()
    link = LinkRequest.objects.get(person=teacher)
    onboarding.decide_link(teacher_user, link.pk, accept=True)
    class_a.refresh_from_db()
    assert class_a.class_teacher == teacher
    assert TeachingAssignment.objects.get(school_class=class_a, subject=subjects["math"]).teacher == teacher
    assert set(Membership.objects.filter(person=teacher, organization=school).values_list("role", flat=True)) == {
        "teacher",
        "class_teacher",
    }
    teacher.refresh_from_db()
    assert teacher.email == ""


# ------------------------------------------------------------------ the registry's own rules, for every caller


def test_upsert_person_fills_contacts_only_of_people_this_school_alone_holds(school, other_school):
    other, b_director, parent, child = other_school
    acting = Acting(user_id=None)
    mark = last_event_id()

    registry.upsert_person(
        iin=parent.iin, last_name="Жалған", first_name="Есім", email="evil@example.kz", organization=school
    )
    parent.refresh_from_db()
    assert (parent.last_name, parent.email) == ("Бөгде", "")

    ours = make_person("Біздің", dt.date(1981, 1, 1))
    Membership.objects.create(person=ours, role="teacher", organization=school)
    with guarded():
        registry.upsert_person(
            iin=ours.iin,
            last_name="Біздің",
            first_name="Test",
            email="ours@example.kz",
            organization=school,
            acting=acting,
        )
    ours.refresh_from_db()
    assert ours.email == "ours@example.kz"
    assert list(events_since(mark)) == ["person.update"]
    # Someone who uses their own account keeps their own contacts, even in their only school.
    User.objects.create_user(username="ours", password="x", person=ours)
    registry.upsert_person(iin=ours.iin, last_name="Біздің", first_name="Test", phone="+7 700", organization=school)
    ours.refresh_from_db()
    assert ours.phone == ""


def test_a_school_cannot_grant_roles_to_or_link_someone_registered_elsewhere(school, other_school):
    other, b_director, parent, child = other_school
    ours = make_person("Біздің", dt.date(2014, 1, 1))
    Membership.objects.create(person=ours, role="student", organization=school)
    before = whole_database()
    with pytest.raises(Forbidden):
        registry.grant_role(parent, "student", organization=school)
    with pytest.raises(Forbidden):
        registry.grant_roles([(parent.pk, "guardian")], organization=school)
    with pytest.raises(Forbidden):
        registry.link_guardian(parent, ours, organization=school)
    with pytest.raises(Forbidden):
        registry.unlink_guardian(parent, child, organization=school)
    assert whole_database() == before


def test_granting_a_role_again_reopens_it(school):
    person = make_person("Қайтқан", dt.date(1980, 1, 1))
    with guarded():
        first = registry.grant_role(person, "teacher", organization=school)
        registry.revoke_role(person, "teacher", organization=school)
        again = registry.grant_role(person, "teacher", organization=school)
        registry.grant_roles([(person.pk, "teacher")], organization=school)
    assert again.pk == first.pk
    assert Membership.objects.filter(person=person).count() == 1
    assert Membership.objects.get(person=person).ended_on is None
    assert list(AuditEvent.objects.filter(person=person).order_by("pk").values_list("event", flat=True)) == [
        "role.grant",
        "role.revoke",
        "role.grant",
    ]


def test_every_registry_service_records_its_event(school):
    acting = Acting(user_id=None)
    with guarded():
        guardian = registry.upsert_person(
            iin=iin(dt.date(1980, 1, 1)), last_name="А", first_name="Б", organization=school, acting=acting
        )
        student = registry.upsert_person(
            iin=iin(dt.date(2014, 1, 1)), last_name="В", first_name="Г", organization=school, acting=acting
        )
        registry.link_guardian(guardian, student, "анасы", organization=school, acting=acting)
        registry.unlink_guardian(guardian, student, organization=school, acting=acting)
        user = registry.ensure_account(guardian, username="g", password=None, acting=acting)
        token = registry.issue_api_token(user, "phone")
        registry.revoke_api_token(user, token)
    events = list(AuditEvent.objects.order_by("pk").values_list("event", flat=True))
    assert events == [
        "person.create",
        "person.create",
        "guardian.link",
        "guardian.unlink",
        "account.create",
        "token.issue",
        "token.revoke",
    ]
    assert AuditEvent.objects.get(event="guardian.link").person_id == student.pk


# ------------------------------------------------------------------ who may import


def test_user_who_is_not_a_director_gets_not_found(school, year):
    teacher = make_user(school, "teacher", "teacher")
    with pytest.raises(NotFound):
        preview_import(teacher, school.pk, year.pk, Files().as_dict())
    with pytest.raises(NotFound):
        apply_import(teacher, school.pk, year.pk, Files().as_dict(), "0" * 64)
    assert SchoolClass.objects.count() == 0


def test_director_of_another_school_gets_not_found(school, year):
    other_director = make_user(make_school("№4 мектеп"), "director", "other")
    with pytest.raises(NotFound):
        preview_import(other_director, school.pk, year.pk, Files().as_dict())
    assert SchoolClass.objects.count() == 0


def test_unknown_year_gets_not_found(director, school):
    with pytest.raises(NotFound):
        preview_import(director, school.pk, 987654, Files().as_dict())


def test_another_schools_own_year_gets_not_found(director, school):
    other_year = AcademicYear.objects.create(
        name="2025-2026",
        organization=make_school("№9 мектеп"),
        starts_on=dt.date(2025, 9, 1),
        ends_on=dt.date(2026, 5, 25),
    )
    with pytest.raises(NotFound):
        preview_import(director, school.pk, other_year.pk, Files().as_dict())


def test_unknown_file_name_is_refused(director, school, year):
    with pytest.raises(ServiceError):
        preview_import(director, school.pk, year.pk, {"parents": "iin\n"})


def test_empty_files_are_not_imported(director, school, year):
    preview = preview_import(director, school.pk, year.pk, {"classes": b"", "teachers": "\ufeff\n"})
    assert preview.ok
    assert preview.changes == []


def test_deputy_may_import(school, year):
    deputy = make_user(school, "deputy", "deputy")
    files = Files()
    preview, report = run_import(deputy, school, year, {"teachers": csv_text(files.teachers)})
    assert report is not None and report.changes["person"] == 2


# ------------------------------------------------------------------ the sample files


def test_sample_files_have_the_documented_headers():
    for name, columns in FILE_COLUMNS.items():
        header = (SAMPLES / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == columns


def test_sample_files_import(director, school, year, subjects):
    files = {name: (SAMPLES / f"{name}.csv").read_bytes() for name in FILE_COLUMNS}

    preview, report = run_import(director, school, year, files)

    assert preview.ok, preview.errors
    assert kinds(preview) == {
        "person": 3 + 6 + 4,
        "role": 4 + 2 + 6 + 4,
        "class_new": 2,
        "enrollment": 6,
        "guardian_link": 5,
        "load_new": 9,
    }
    again = preview_import(director, school.pk, year.pk, files)
    assert again.changes == []
