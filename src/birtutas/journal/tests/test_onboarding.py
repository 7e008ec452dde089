"""School onboarding from CSV: all or nothing, idempotent, every fault reported with its line."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from django.utils import translation

from birtutas.kernel.models import AuditEvent
from birtutas.journal.models import Enrollment, SchoolClass, Subject, TeachingAssignment
from birtutas.journal.onboarding import FILE_COLUMNS, import_school
from birtutas.kernel.errors import NotFound, ServiceError
from birtutas.registry.models import (
    AcademicYear,
    District,
    Guardianship,
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


def make_person(last_name: str, born: dt.date = dt.date(1980, 5, 5), sex: str = "M") -> Person:
    return Person.objects.create(iin=iin(born, sex), last_name=last_name, first_name="Test", birth_date=born, sex=sex)


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
            [
                self.students[0],
                "Жұмабаев",
                "Арман",
                "",
                "6",
                "А",
                self.mother,
                "Жұмабаева",
                "Сая",
                "",
                "",
                "",
                "анасы",
            ],
            [self.students[1], "Жұмабаева", "Дана", "", "6", "а", self.mother, "", "", "", "", "", "анасы"],
            [
                self.students[2],
                "Попов",
                "Илья",
                "Олегович",
                "6",
                "Б",
                self.father,
                "Попов",
                "Олег",
                "",
                "",
                "",
                "отец",
            ],
            [
                self.students[3],
                "Ли",
                "Мария",
                "",
                "6",
                "Б",
                self.grandmother,
                "Ли",
                "Вера",
                "",
                "",
                "",
                "бабушка",
            ],
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
    }


def lines(report) -> list[tuple[str, int]]:
    return [(e.file, e.line) for e in report.errors]


# ------------------------------------------------------------------ a good import


def test_good_import_creates_exactly_the_expected_rows(director, school, year, subjects):
    files = Files()
    before = counts()

    report = import_school(director, school.pk, year.pk, files.as_dict())

    assert report.ok, report.errors
    assert report.created == {"classes": 2, "teachers": 2, "students": 4, "guardians": 3, "assignments": 3}
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

    event = AuditEvent.objects.get(event="import.apply")
    assert (event.actor_id, event.organization_id, event.event) == (director.pk, school.pk, "import.apply")
    assert event.object_key == str(school.pk)
    assert event.after == report.created


def test_second_identical_import_creates_nothing(director, school, year, subjects):
    files = Files().as_dict()
    assert import_school(director, school.pk, year.pk, files).ok
    before = counts()

    again = import_school(director, school.pk, year.pk, files)

    assert again.ok, again.errors
    assert again.created == {"classes": 0, "teachers": 0, "students": 0, "guardians": 0, "assignments": 0}
    assert counts() == before


def test_reimport_updates_the_load_in_place(director, school, year, subjects):
    files = Files()
    assert import_school(director, school.pk, year.pk, files.as_dict()).ok
    files.load[2] = ["6", "А", "math", files.teacher_a, "6"]

    report = import_school(director, school.pk, year.pk, {"load": csv_text(files.load)})

    assert report.ok, report.errors
    assert report.created["assignments"] == 0
    math = TeachingAssignment.objects.get(school_class__letter="А", subject=subjects["math"])
    assert (math.teacher.iin, math.hours_per_week) == (files.teacher_a, 6)


def test_later_files_may_refer_to_rows_already_in_the_database(director, school, year, subjects):
    files = Files()
    assert import_school(director, school.pk, year.pk, {"classes": csv_text(files.classes)}).ok is False
    # The class teacher is not known yet: the teachers come first, then classes and the rest.
    assert import_school(director, school.pk, year.pk, {"teachers": csv_text(files.teachers)}).ok
    assert import_school(director, school.pk, year.pk, {"classes": csv_text(files.classes)}).ok
    report = import_school(
        director,
        school.pk,
        year.pk,
        {"students": csv_text(files.students_rows), "load": csv_text(files.load)},
    )
    assert report.ok, report.errors
    assert report.created == {"classes": 0, "teachers": 0, "students": 4, "guardians": 3, "assignments": 3}


# ------------------------------------------------------------------ all or nothing


def test_three_bad_rows_import_nothing_and_are_all_reported(director, school, year, subjects):
    files = Files()
    files.students_rows[2][0] = broken_check_digit(files.students[1])  # line 3: a typo in the IIN
    files.students_rows[3][4:6] = ["9", "Я"]  # line 4: no such class
    files.students_rows.append(list(files.students_rows[1]))  # line 6: the IIN of line 2 again
    before = counts()

    report = import_school(director, school.pk, year.pk, files.as_dict())

    assert not report.ok
    assert lines(report) == [("students", 3), ("students", 4), ("students", 6)]
    assert "check digit" in report.errors[0].message
    assert "9 «Я»" in report.errors[1].message
    assert "line 2" in report.errors[2].message
    assert report.created == {"classes": 0, "teachers": 0, "students": 0, "guardians": 0, "assignments": 0}
    assert counts() == before
    assert not AuditEvent.objects.filter(event="import.apply").exists()


def test_bad_check_digit_names_the_column_and_the_check_digit(director, school, year):
    files = Files()
    files.teachers[1][0] = broken_check_digit(files.teacher_a)

    report = import_school(director, school.pk, year.pk, {"teachers": csv_text(files.teachers)})

    assert lines(report) == [("teachers", 2)]
    message = report.errors[0].message
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

    report = import_school(director, school.pk, year.pk, files.as_dict())

    messages = {(e.file, e.line, e.message.split(":")[0]) for e in report.errors}
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

    report = import_school(director, school.pk, year.pk, {"teachers": csv_text(files.teachers)})

    assert lines(report) == [("teachers", 2)]
    assert "leading zero" in report.errors[0].message


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

    report = import_school(director, school.pk, year.pk, contents)

    assert report.ok, report.errors
    assert report.created["students"] == 4
    assert Person.objects.get(iin=files.teacher_a).last_name == "Омарова"  # no BOM glued to the first cell


def test_missing_required_column_is_one_error_on_the_header(director, school, year):
    files = Files()
    rows = [[cell for index, cell in enumerate(row) if index != 5] for row in files.students_rows]  # no "letter"

    report = import_school(director, school.pk, year.pk, {"students": csv_text(rows)})

    assert lines(report) == [("students", 1)]
    assert "letter" in report.errors[0].message


def test_optional_columns_may_be_left_out(director, school, year):
    files = Files()
    teachers = [["IIN", "last_name", "first_name"], [files.teacher_a, "Омарова", "Айнұр"]]

    report = import_school(director, school.pk, year.pk, {"teachers": csv_text(teachers)})

    assert report.ok, report.errors
    assert report.created["teachers"] == 1


def test_file_not_in_utf8_is_reported(director, school, year):
    files = Files()
    content = csv_text(files.teachers).encode("cp1251", errors="replace")

    report = import_school(director, school.pk, year.pk, {"teachers": content})

    assert lines(report) == [("teachers", 2)]
    assert "UTF-8" in report.errors[0].message


# ------------------------------------------------------------------ people and references


def test_teacher_of_another_school_cannot_be_used(director, school, year, subjects):
    other = make_school("№2 мектеп")
    stranger = make_person("Бөтен", dt.date(1979, 4, 4))
    Membership.objects.create(person=stranger, role="teacher", organization=other)
    files = Files()
    files.classes[1][3] = stranger.iin
    files.load[1][3] = stranger.iin
    before = counts()

    report = import_school(
        director, school.pk, year.pk, {"classes": csv_text(files.classes), "load": csv_text(files.load)}
    )

    bad = [(e.file, e.line) for e in report.errors if "not a teacher of this school" in e.message]
    assert ("classes", 2) in bad
    assert ("load", 2) in bad
    assert counts() == before


def test_teacher_already_in_this_school_can_be_used_without_the_teachers_file(director, school, year, subjects):
    colleague = make_person("Әріптес", dt.date(1977, 3, 3))
    Membership.objects.create(person=colleague, role="teacher", organization=school)
    files = Files()
    files.classes[1][3] = colleague.iin
    files.load = [files.load[0], ["6", "А", "math", colleague.iin, "5"]]

    report = import_school(
        director, school.pk, year.pk, {"classes": csv_text(files.classes), "load": csv_text(files.load)}
    )

    assert report.ok, report.errors
    assert report.created == {"classes": 2, "teachers": 0, "students": 0, "guardians": 0, "assignments": 1}
    assert SchoolClass.objects.get(letter="А").class_teacher == colleague


def test_student_enrolled_in_another_class_this_year_is_refused(director, school, year, subjects):
    files = Files()
    assert import_school(director, school.pk, year.pk, files.as_dict()).ok
    files.students_rows[1][5] = "Б"  # moves the first student from 6 «А» to 6 «Б»

    report = import_school(director, school.pk, year.pk, {"students": csv_text(files.students_rows)})

    assert lines(report) == [("students", 2)]
    assert "6 «А»" in report.errors[0].message


def test_student_enrolled_in_another_school_this_year_is_refused(director, school, year):
    other = make_school("№3 мектеп")
    other_class = SchoolClass.objects.create(organization=other, year=year, grade=6, letter="В", language="kk")
    taken = make_person("Басқа", dt.date(2013, 3, 3))
    Enrollment.objects.create(school_class=other_class, student=taken)
    files = Files()
    classes = csv_text([files.classes[0], ["6", "А", "", ""]])
    students = csv_text(
        [files.students_rows[0], [taken.iin, taken.last_name, taken.first_name, "", "6", "А"] + [""] * 7]
    )

    report = import_school(director, school.pk, year.pk, {"classes": classes, "students": students})

    assert lines(report) == [("students", 2)]
    assert "another school" in report.errors[0].message
    assert not SchoolClass.objects.filter(organization=school).exists()


def test_new_guardian_needs_a_name_and_a_known_one_does_not(director, school, year):
    files = Files()
    known = make_person("Бұрынғы", dt.date(1970, 2, 2))
    rows = [
        files.students_rows[0],
        [files.students[0], "Жұмабаев", "Арман", "", "6", "Б", known.iin] + [""] * 5 + ["әкесі"],
        [files.students[1], "Жұмабаева", "Дана", "", "6", "Б", files.mother] + [""] * 6,
    ]
    classes = csv_text([files.classes[0], files.classes[2]])

    report = import_school(director, school.pk, year.pk, {"classes": classes, "students": csv_text(rows)})

    assert lines(report) == [("students", 3)]
    assert "guardian_last_name" in report.errors[0].message


def test_guardian_named_differently_in_two_rows_is_reported(director, school, year, subjects):
    files = Files()
    files.students_rows[2][7:9] = ["Жұмабаева", "Сәуле"]  # line 3: same IIN as the mother on line 2

    report = import_school(director, school.pk, year.pk, files.as_dict())

    assert lines(report) == [("students", 3)]
    assert "line 2" in report.errors[0].message


# ------------------------------------------------------------------ who may import


def test_user_who_is_not_a_director_gets_not_found(school, year):
    teacher = make_user(school, "teacher", "teacher")
    with pytest.raises(NotFound):
        import_school(teacher, school.pk, year.pk, Files().as_dict())
    assert SchoolClass.objects.count() == 0


def test_director_of_another_school_gets_not_found(school, year):
    other_director = make_user(make_school("№4 мектеп"), "director", "other")
    with pytest.raises(NotFound):
        import_school(other_director, school.pk, year.pk, Files().as_dict())
    assert SchoolClass.objects.count() == 0


def test_unknown_year_gets_not_found(director, school):
    with pytest.raises(NotFound):
        import_school(director, school.pk, 987654, Files().as_dict())


def test_unknown_file_name_is_refused(director, school, year):
    with pytest.raises(ServiceError):
        import_school(director, school.pk, year.pk, {"parents": "iin\n"})


def test_empty_files_are_not_imported(director, school, year):
    report = import_school(director, school.pk, year.pk, {"classes": b"", "teachers": "\ufeff\n"})
    assert report.ok
    assert report.created == {"classes": 0, "teachers": 0, "students": 0, "guardians": 0, "assignments": 0}


def test_deputy_may_import(school, year):
    deputy = make_user(school, "deputy", "deputy")
    files = Files()
    assert import_school(deputy, school.pk, year.pk, {"teachers": csv_text(files.teachers)}).ok


# ------------------------------------------------------------------ the sample files


def test_sample_files_have_the_documented_headers():
    for name, columns in FILE_COLUMNS.items():
        header = (SAMPLES / f"{name}.csv").read_text(encoding="utf-8").splitlines()[0]
        assert header.split(",") == columns


def test_sample_files_import(director, school, year, subjects):
    files = {name: (SAMPLES / f"{name}.csv").read_bytes() for name in FILE_COLUMNS}

    report = import_school(director, school.pk, year.pk, files)

    assert report.ok, report.errors
    assert report.created == {"classes": 2, "teachers": 3, "students": 6, "guardians": 4, "assignments": 9}
    assert import_school(director, school.pk, year.pk, files).created == dict.fromkeys(report.created, 0)


def test_an_import_cannot_rename_or_redirect_someone_registered_elsewhere(director, school, year):
    other = make_school("№4 мектеп")
    stranger = make_person("Бөгде", dt.date(1980, 4, 4))
    stranger.phone = "+7 701 111 2233"
    stranger.save()
    Membership.objects.create(person=stranger, role="guardian", organization=other)
    files = Files()
    teachers = csv_text(
        [files.teachers[0], [stranger.iin, "Жалған", "Есім", "", "evil@example.kz", "+77000000000", "deputy"]]
    )

    report = import_school(director, school.pk, year.pk, {"teachers": teachers})

    assert lines(report) == [("teachers", 2)]
    assert "another name" in report.errors[0].message
    stranger.refresh_from_db()
    assert (stranger.last_name, stranger.phone) == ("Бөгде", "+7 701 111 2233")
    assert not Membership.objects.filter(person=stranger, organization=school).exists()
