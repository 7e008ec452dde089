"""A director's school onboarding from CSV files: classes, teachers, students with guardians, teaching load.

Every row of every file is checked first, against the other files and against what this
organization already has in the database, and every fault is reported with its file and line.
Only when nothing is wrong is anything written, all in one transaction (all or nothing), so a
director fixes the files and uploads them again rather than untangling half an import.
Writing finds before it creates, so importing the same files twice creates nothing new.

Everyone in the teachers file is a teacher of the school; the `role` column `deputy` makes them
a deputy director as well (deputies carry a teaching load, and the load file may name them).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting
from birtutas.kernel.errors import NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.registry.models import AcademicYear, Membership, Organization, Person, Role, User
from birtutas.registry.rules import IINError, parse_iin
from birtutas.registry.services import grant_role, link_guardian, upsert_person

from .models import Enrollment, SchoolClass, Subject, TeachingAssignment
from .services import directed_organization

FILE_ORDER = ("classes", "teachers", "students", "load")

FILE_COLUMNS: dict[str, list[str]] = {
    "classes": ["grade", "letter", "language", "class_teacher_iin"],
    "teachers": ["iin", "last_name", "first_name", "patronymic", "email", "phone", "role"],
    "students": [
        "iin",
        "last_name",
        "first_name",
        "patronymic",
        "grade",
        "letter",
        "guardian_iin",
        "guardian_last_name",
        "guardian_first_name",
        "guardian_patronymic",
        "guardian_email",
        "guardian_phone",
        "relation",
    ],
    "load": ["grade", "letter", "subject_code", "teacher_iin", "hours_per_week"],
}

# The columns a header must have; the others may be left out of the file altogether.
REQUIRED_COLUMNS: dict[str, list[str]] = {
    "classes": ["grade", "letter"],
    "teachers": ["iin", "last_name", "first_name"],
    "students": ["iin", "last_name", "first_name", "grade", "letter"],
    "load": ["grade", "letter", "subject_code", "teacher_iin", "hours_per_week"],
}

CREATED_KEYS = ("classes", "teachers", "students", "guardians", "assignments")
CLASS_LANGUAGES = ("kk", "ru", "en")
TEACHER_ROLES = {"": (Role.TEACHER,), "teacher": (Role.TEACHER,), "deputy": (Role.TEACHER, Role.DEPUTY)}
MAX_GRADE = 12
MAX_HOURS = 12
# Field sizes of the tables written to: checked here so that PostgreSQL never refuses a value.
NAME_LENGTH = 100
EMAIL_LENGTH = 254
PHONE_LENGTH = 20
RELATION_LENGTH = 30
LETTER_LENGTH = 3
PHONE_PATTERN = re.compile(r"^\+?[\d\s()\-]+$")
QUERY_CHUNK = 500  # IINs per IN (...) lookup: well under SQLite's limit on query parameters

ClassKey = tuple[int, str]


@dataclass
class RowError:
    """One bad row (or a bad file, then `line` is where the problem is, usually the header)."""

    file: str  # "classes" | "teachers" | "students" | "load"
    line: int  # 1-based line number in the file; the header is line 1
    message: str  # translated; names the column and what is wrong


@dataclass
class ImportReport:
    errors: list[RowError]
    created: dict[str, int]

    @property
    def ok(self) -> bool:
        return not self.errors


def import_school(user: User, organization_id: int, year_id: int, files: dict[str, bytes | str]) -> ImportReport:
    """Check the CSV files of one school for one academic year and, if all is well, write them.

    `files` maps "classes", "teachers", "students" and "load" to the content of each file given;
    a file left out (or empty) is simply not imported, and the others may refer to what the
    database already holds for this organization and year.
    """
    organization = directed_organization(user, organization_id)
    year = AcademicYear.objects.filter(pk=year_id).first()
    if year is None:
        raise NotFound(_("Not found."))
    unknown = sorted(set(files) - set(FILE_ORDER))
    if unknown:
        raise ServiceError(_("Unknown import file: %(names)s.") % {"names": ", ".join(unknown)})

    with transaction.atomic():
        # One import per school at a time: what is checked below is still true when it is written.
        organization = Organization.objects.select_for_update().get(pk=organization.pk)
        check = _Check(organization, year)
        check.run(files)
        if check.errors:
            return ImportReport(errors=check.sorted_errors(), created=dict.fromkeys(CREATED_KEYS, 0))
        created = _Writer(check).write()
        record(
            Acting.of(user), Event.IMPORT_APPLY, str(organization.pk), after=created, organization_id=organization.pk
        )
    return ImportReport(errors=[], created=created)


# ------------------------------------------------------------------ reading the files


@dataclass
class _Row:
    file: str
    line: int
    cells: dict[str, str]

    def __getitem__(self, column: str) -> str:
        return self.cells.get(column, "")


@dataclass
class _Table:
    name: str
    rows: list[_Row] = field(default_factory=list)
    broken: bool = False  # the file could not be read: references into it are not reported again


def _decode(content: bytes | str) -> tuple[str | None, int]:
    """The text of a file and 0, or None and the line where it stops being UTF-8."""
    if isinstance(content, str):
        return content.removeprefix("\ufeff"), 0
    try:
        return content.decode("utf-8-sig"), 0
    except UnicodeDecodeError as error:
        return None, content[: error.start].count(b"\n") + 1


def _delimiter(text: str) -> str:
    """',' or ';': whichever the header uses more (spreadsheets in ru/kk locales save with ';')."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def _column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


class _UnreadableCSV(Exception):
    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (a quoted value may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise _UnreadableCSV(previous + 1) from None
        yield previous + 1, cells
        previous = reader.line_num


def _read_table(name: str, content: bytes | str | None, errors: list[RowError]) -> _Table | None:
    if content is None:
        return None
    text, bad_line = _decode(content)
    if text is None:
        errors.append(
            RowError(
                name,
                bad_line,
                _('The file is not in UTF-8 encoding: save it as "CSV UTF-8" and upload it again.'),
            )
        )
        return _Table(name, broken=True)
    if not text.strip():
        return None
    table = _Table(name)
    columns: list[str] | None = None
    try:
        for line, cells in _records(text):
            if not any(cell.strip() for cell in cells):
                continue
            if columns is None:
                columns = [_column_name(cell) for cell in cells]
                missing = [c for c in REQUIRED_COLUMNS[name] if c not in columns]
                if missing:
                    errors.append(
                        RowError(
                            name,
                            line,
                            _("The header lacks the required columns: %(columns)s. Expected header: %(header)s.")
                            % {"columns": ", ".join(missing), "header": ",".join(FILE_COLUMNS[name])},
                        )
                    )
                    table.broken = True
                    return table
                continue
            if any(cell.strip() for cell in cells[len(columns) :]):
                errors.append(
                    RowError(
                        name,
                        line,
                        _(
                            "The row has %(values)d values but the header has %(columns)d columns: "
                            "check the delimiter and the quotes."
                        )
                        % {"values": len(cells), "columns": len(columns)},
                    )
                )
                continue
            values = {}
            for index, column in enumerate(columns):
                if column in FILE_COLUMNS[name] and column not in values:
                    values[column] = cells[index].strip() if index < len(cells) else ""
            table.rows.append(_Row(name, line, values))
    except _UnreadableCSV as error:
        errors.append(RowError(name, error.line, _("The file cannot be read as CSV from this line on.")))
        table.broken = True
    return table


# ------------------------------------------------------------------ checking


@dataclass
class _PersonRow:
    line: int
    iin: str
    last_name: str
    first_name: str
    patronymic: str = ""
    email: str = ""
    phone: str = ""

    @property
    def named(self) -> bool:
        return bool(self.last_name and self.first_name)


@dataclass
class _TeacherRow(_PersonRow):
    roles: tuple[str, ...] = (Role.TEACHER,)


@dataclass
class _ClassRow:
    line: int
    key: ClassKey
    language: str | None
    teacher_iin: str | None


@dataclass
class _StudentRow(_PersonRow):
    class_key: ClassKey | None = None
    guardian_iin: str | None = None
    relation: str = ""


@dataclass
class _LoadRow:
    line: int
    class_key: ClassKey
    subject: Subject
    teacher_iin: str
    hours: int


def _class_name(key: ClassKey) -> str:
    return f"{key[0]} «{key[1]}»"


def _chunks(items: Iterable[str]) -> Iterator[list[str]]:
    items = list(items)
    for start in range(0, len(items), QUERY_CHUNK):
        yield items[start : start + QUERY_CHUNK]


class _Check:
    """Reads and checks every row; what it keeps is exactly what the writer needs."""

    def __init__(self, organization: Organization, year: AcademicYear):
        self.organization = organization
        self.year = year
        self.errors: list[RowError] = []
        self.tables: dict[str, _Table] = {}
        self.teachers: dict[str, _TeacherRow] = {}
        self.classes: dict[ClassKey, _ClassRow] = {}
        self.students: dict[str, _StudentRow] = {}
        self.guardians: dict[str, _PersonRow] = {}
        self.load: dict[tuple[ClassKey, int], _LoadRow] = {}
        self.db_classes: dict[ClassKey, SchoolClass] = {
            (c.grade, c.letter.upper()): c for c in SchoolClass.objects.filter(organization=organization, year=year)
        }
        self.db_teachers: dict[str, Person] = {
            m.person.iin: m.person
            for m in Membership.objects.filter(organization=organization, role=Role.TEACHER).select_related("person")
        }

    @cached_property
    def subjects(self) -> dict[str, Subject]:
        return {s.code.lower(): s for s in Subject.objects.all()}

    # -- plumbing

    def run(self, files: dict[str, bytes | str]) -> None:
        for name in FILE_ORDER:
            table = _read_table(name, files.get(name), self.errors)
            if table is not None:
                self.tables[name] = table
        # Teachers first: the classes and the load refer to them.
        for name, check_row in (
            ("teachers", self._teacher),
            ("classes", self._class),
            ("students", self._student),
            ("load", self._load),
        ):
            for row in self._rows(name):
                check_row(row)
        self._check_enrollments()
        self._check_unnamed_guardians()
        self._check_known_people()

    def _rows(self, name: str) -> list[_Row]:
        table = self.tables.get(name)
        return table.rows if table is not None else []

    def _broken(self, name: str) -> bool:
        table = self.tables.get(name)
        return table is not None and table.broken

    def sorted_errors(self) -> list[RowError]:
        return sorted(self.errors, key=lambda e: (FILE_ORDER.index(e.file), e.line))

    def fault(self, row: _Row, column: str, problem: str) -> None:
        self.errors.append(
            RowError(
                row.file,
                row.line,
                _('Column "%(column)s": %(problem)s') % {"column": column, "problem": problem},
            )
        )

    # -- cells

    def _text(self, row: _Row, column: str, *, required: bool = False, max_length: int = NAME_LENGTH) -> str:
        value = row[column]
        if required and not value:
            self.fault(row, column, _("a value is required."))
        elif len(value) > max_length:
            self.fault(row, column, _("at most %(max)d characters are allowed.") % {"max": max_length})
            return value[:max_length]
        return value

    def _number(self, row: _Row, column: str, low: int, high: int) -> int | None:
        value = row[column]
        if not value:
            self.fault(row, column, _("a value is required."))
            return None
        if not (value.isascii() and value.isdigit()):
            self.fault(row, column, _('"%(value)s" is not a whole number.') % {"value": value})
            return None
        number = int(value)
        if not low <= number <= high:
            self.fault(
                row,
                column,
                _("must be from %(low)d to %(high)d, not %(value)d.") % {"low": low, "high": high, "value": number},
            )
            return None
        return number

    def _iin(self, row: _Row, column: str) -> str | None:
        """A valid IIN, or None (with the fault recorded) when the cell is empty or wrong."""
        value = row[column]
        if not value:
            self.fault(row, column, _("a value is required."))
            return None
        try:
            parse_iin(value)
        except IINError as error:
            problem = str(error.message)
            if error.code == "length" and len(value) == 11 and value.isdigit():
                problem += " " + _("A spreadsheet may have dropped a leading zero: format the column as text.")
            self.fault(row, column, problem)
            return None
        return value

    def _email(self, row: _Row, column: str) -> str:
        value = self._text(row, column, max_length=EMAIL_LENGTH)
        if value:
            try:
                validate_email(value)
            except ValidationError:
                self.fault(row, column, _("this is not a valid e-mail address."))
        return value

    def _phone(self, row: _Row, column: str) -> str:
        value = self._text(row, column, max_length=PHONE_LENGTH)
        if value and not PHONE_PATTERN.match(value):
            self.fault(
                row,
                column,
                _("a phone number may hold only digits, spaces, brackets, dashes and a leading +."),
            )
        return value

    def _class_key(self, row: _Row) -> ClassKey | None:
        grade = self._number(row, "grade", 0, MAX_GRADE)
        letter = self._text(row, "letter", required=True, max_length=LETTER_LENGTH).upper()
        if grade is None or not letter:
            return None
        return grade, letter

    def _known_class(self, row: _Row) -> ClassKey | None:
        """The class a student or load row names, if the classes file or the database has it."""
        key = self._class_key(row)
        if key is None:
            return None
        if key in self.classes or key in self.db_classes:
            return key
        if not self._broken("classes"):
            self.errors.append(
                RowError(
                    row.file,
                    row.line,
                    _(
                        'Columns "grade" and "letter": there is no class %(class)s in the classes file '
                        "or in this school for this year."
                    )
                    % {"class": _class_name(key)},
                )
            )
        return None

    def _known_teacher(self, row: _Row, column: str, iin: str | None) -> bool:
        if iin is None:
            return False
        if iin in self.teachers or iin in self.db_teachers:
            return True
        if not self._broken("teachers"):
            self.fault(
                row,
                column,
                _("this person is not a teacher of this school: add them to the teachers file first."),
            )
        return False

    # -- one function per file

    def _teacher(self, row: _Row) -> None:
        iin = self._iin(row, "iin")
        teacher = _TeacherRow(
            line=row.line,
            iin=iin or "",
            last_name=self._text(row, "last_name", required=True),
            first_name=self._text(row, "first_name", required=True),
            patronymic=self._text(row, "patronymic"),
            email=self._email(row, "email"),
            phone=self._phone(row, "phone"),
        )
        role = row["role"].lower()
        if role in TEACHER_ROLES:
            teacher.roles = TEACHER_ROLES[role]
        else:
            self.fault(row, "role", _('must be "teacher" or "deputy", not "%(value)s".') % {"value": row["role"]})
        if iin is None:
            return
        if iin in self.teachers:
            self.fault(row, "iin", _("the same IIN is already on line %(line)d.") % {"line": self.teachers[iin].line})
            return
        self.teachers[iin] = teacher

    def _class(self, row: _Row) -> None:
        key = self._class_key(row)
        language = row["language"].lower() or None
        if language is not None and language not in CLASS_LANGUAGES:
            self.fault(row, "language", _('must be one of kk, ru, en, not "%(value)s".') % {"value": row["language"]})
        teacher_iin = None
        if row["class_teacher_iin"]:
            teacher_iin = self._iin(row, "class_teacher_iin")
            if not self._known_teacher(row, "class_teacher_iin", teacher_iin):
                teacher_iin = None
        if key is None:
            return
        if key in self.classes:
            self.errors.append(
                RowError(
                    row.file,
                    row.line,
                    _('Columns "grade" and "letter": class %(class)s is already on line %(line)d.')
                    % {"class": _class_name(key), "line": self.classes[key].line},
                )
            )
            return
        self.classes[key] = _ClassRow(line=row.line, key=key, language=language, teacher_iin=teacher_iin)

    def _student(self, row: _Row) -> None:
        iin = self._iin(row, "iin")
        student = _StudentRow(
            line=row.line,
            iin=iin or "",
            last_name=self._text(row, "last_name", required=True),
            first_name=self._text(row, "first_name", required=True),
            patronymic=self._text(row, "patronymic"),
            class_key=self._known_class(row),
            relation=self._text(row, "relation", max_length=RELATION_LENGTH),
        )
        student.guardian_iin = self._guardian(row, iin)
        if iin is None:
            return
        if iin in self.students:
            self.fault(row, "iin", _("the same IIN is already on line %(line)d.") % {"line": self.students[iin].line})
            return
        self.students[iin] = student

    def _guardian(self, row: _Row, student_iin: str | None) -> str | None:
        """Check the guardian columns of a student row; the guardian's IIN when they are usable."""
        details = (
            "guardian_last_name",
            "guardian_first_name",
            "guardian_patronymic",
            "guardian_email",
            "guardian_phone",
        )
        if not row["guardian_iin"]:
            if any(row[c] for c in (*details, "relation")):
                self.fault(row, "guardian_iin", _("a value is required when other guardian columns are filled in."))
            return None
        iin = self._iin(row, "guardian_iin")
        guardian = _PersonRow(
            line=row.line,
            iin=iin or "",
            last_name=self._text(row, "guardian_last_name"),
            first_name=self._text(row, "guardian_first_name"),
            patronymic=self._text(row, "guardian_patronymic"),
            email=self._email(row, "guardian_email"),
            phone=self._phone(row, "guardian_phone"),
        )
        # Both names or neither: neither means "the guardian is already known", checked at the end.
        if bool(guardian.last_name) != bool(guardian.first_name):
            missing = "guardian_first_name" if guardian.last_name else "guardian_last_name"
            self.fault(row, missing, _("a value is required when the other name of the guardian is given."))
        if iin is None:
            return None
        if iin == student_iin:
            self.fault(row, "guardian_iin", _("a student cannot be their own guardian."))
            return None
        known = self.guardians.get(iin)
        if known is None:
            self.guardians[iin] = guardian
        elif guardian.named and known.named and _differs(known, guardian):
            self.fault(
                row,
                "guardian_last_name",
                _("the same guardian is named differently on line %(line)d.") % {"line": known.line},
            )
        else:
            _merge(known, guardian)
        return iin

    def _load(self, row: _Row) -> None:
        key = self._known_class(row)
        code = row["subject_code"]
        subject = None
        if not code:
            self.fault(row, "subject_code", _("a value is required."))
        else:
            subject = self.subjects.get(code.lower())
            if subject is None:
                self.fault(row, "subject_code", _('there is no subject with the code "%(code)s".') % {"code": code})
        teacher_iin = self._iin(row, "teacher_iin")
        teacher_known = self._known_teacher(row, "teacher_iin", teacher_iin)
        hours = self._number(row, "hours_per_week", 1, MAX_HOURS)
        if key is None or subject is None or not teacher_known or hours is None:
            return
        if (key, subject.pk) in self.load:
            self.fault(
                row,
                "subject_code",
                _("class %(class)s already has this subject on line %(line)d.")
                % {"class": _class_name(key), "line": self.load[key, subject.pk].line},
            )
            return
        self.load[key, subject.pk] = _LoadRow(row.line, key, subject, teacher_iin, hours)

    # -- checks across rows

    def _check_enrollments(self) -> None:
        """A student is in one class a year: refuse a row that would put them in a second one."""
        for chunk in _chunks(s for s, row in self.students.items() if row.class_key is not None):
            enrolled = Enrollment.objects.filter(school_class__year=self.year, student__iin__in=chunk).values_list(
                "student__iin", "school_class__organization_id", "school_class__grade", "school_class__letter"
            )
            for iin, organization_id, grade, letter in enrolled:
                student = self.students[iin]
                here = organization_id == self.organization.pk
                if here and (grade, letter.upper()) == student.class_key:
                    continue
                if here:
                    problem = _("the student is already enrolled in class %(class)s this year.") % {
                        "class": _class_name((grade, letter))
                    }
                else:
                    problem = _("the student is already enrolled in another school this year.")
                self.fault(_Row("students", student.line, {}), "iin", problem)

    def _check_unnamed_guardians(self) -> None:
        """A guardian given by IIN alone must already be known; a new one needs a name."""
        unnamed = [iin for iin, g in self.guardians.items() if not g.named and iin not in self.teachers]
        known: set[str] = set()
        for chunk in _chunks(unnamed):
            known.update(Person.objects.filter(iin__in=chunk).values_list("iin", flat=True))
        for iin in unnamed:
            if iin not in known:
                self.fault(
                    _Row("students", self.guardians[iin].line, {}),
                    "guardian_last_name",
                    _("a value is required for a guardian who is not yet in the system."),
                )

    def _check_known_people(self) -> None:
        """A file may name a person already in the registry, never rename them: a name that differs is a fault."""
        rows = [("teachers", "iin", r) for r in self.teachers.values()]
        rows += [("students", "iin", r) for r in self.students.values()]
        rows += [("students", "guardian_iin", g) for g in self.guardians.values() if g.named]
        by_iin = {row.iin: (name, column, row) for name, column, row in rows}
        for chunk in _chunks(by_iin):
            for iin, last, first in Person.objects.filter(iin__in=chunk).values_list("iin", "last_name", "first_name"):
                name, column, row = by_iin[iin]
                if (row.last_name.casefold(), row.first_name.casefold()) != (last.casefold(), first.casefold()):
                    self.fault(
                        _Row(name, row.line, {}),
                        column,
                        _(
                            "this IIN belongs to a person already registered under another name; check the IIN, "
                            "or ask for the registry record to be corrected."
                        ),
                    )


def _differs(a: _PersonRow, b: _PersonRow) -> bool:
    pairs = [(a.last_name, b.last_name), (a.first_name, b.first_name)]
    if a.patronymic and b.patronymic:
        pairs.append((a.patronymic, b.patronymic))
    return any(x.casefold() != y.casefold() for x, y in pairs)


def _merge(into: _PersonRow, other: _PersonRow) -> None:
    """Fill what one row of a guardian left empty from another row of the same guardian."""
    for name in ("last_name", "first_name", "patronymic", "email", "phone"):
        if not getattr(into, name):
            setattr(into, name, getattr(other, name))


# ------------------------------------------------------------------ writing


class _Writer:
    """Writes what the check accepted, finding before creating; counts only what is new."""

    def __init__(self, check: _Check):
        self.check = check
        self.organization = check.organization
        self.year = check.year
        self.people: dict[str, Person] = dict(check.db_teachers)
        self.class_by_key: dict[ClassKey, SchoolClass] = dict(check.db_classes)
        self.created = dict.fromkeys(CREATED_KEYS, 0)
        self.had_roles = set(
            Membership.objects.filter(
                organization=self.organization, role__in=(Role.TEACHER, Role.GUARDIAN)
            ).values_list("person_id", "role")
        )

    def write(self) -> dict[str, int]:
        self._teachers()
        self._classes()
        self._students()
        self._load()
        return self.created

    def _person(self, row: _PersonRow) -> Person:
        person = upsert_person(
            iin=row.iin,
            last_name=row.last_name,
            first_name=row.first_name,
            patronymic=row.patronymic,
            email=row.email,
            phone=row.phone,
        )
        self.people[row.iin] = person
        return person

    def _grant(self, person: Person, role: str, counter: str | None = None) -> None:
        grant_role(person, role, organization=self.organization)
        if counter is not None and (person.pk, str(role)) not in self.had_roles:
            self.had_roles.add((person.pk, str(role)))
            self.created[counter] += 1

    def _teachers(self) -> None:
        for row in self.check.teachers.values():
            person = self._person(row)
            for role in row.roles:
                self._grant(person, role, "teachers" if role == Role.TEACHER else None)

    def _classes(self) -> None:
        for key, row in self.check.classes.items():
            teacher = self.people[row.teacher_iin] if row.teacher_iin else None
            school_class = self.class_by_key.get(key)
            if school_class is None:
                school_class = SchoolClass.objects.create(
                    organization=self.organization,
                    year=self.year,
                    grade=key[0],
                    letter=key[1],
                    language=row.language or self.organization.language,
                    class_teacher=teacher,
                )
                self.class_by_key[key] = school_class
                self.created["classes"] += 1
            else:
                changed = []
                if row.language and school_class.language != row.language:
                    school_class.language = row.language
                    changed.append("language")
                if teacher is not None and school_class.class_teacher_id != teacher.pk:
                    school_class.class_teacher = teacher
                    changed.append("class_teacher")
                if changed:
                    school_class.save(update_fields=changed)
            if teacher is not None:
                self._grant(teacher, Role.CLASS_TEACHER)

    def _students(self) -> None:
        check = self.check
        for row in check.students.values():
            student = self._person(row)
            self._grant(student, Role.STUDENT)
            _enrollment, created = Enrollment.objects.get_or_create(
                school_class=self.class_by_key[row.class_key], student=student
            )
            self.created["students"] += created
            if row.guardian_iin is None:
                continue
            guardian = self.people.get(row.guardian_iin)
            if guardian is None:
                details = check.guardians[row.guardian_iin]
                if details.named:
                    guardian = self._person(details)
                else:
                    guardian = Person.objects.get(iin=row.guardian_iin)
                    self.people[row.guardian_iin] = guardian
            self._grant(guardian, Role.GUARDIAN, "guardians")
            link_guardian(guardian, student, row.relation)

    def _load(self) -> None:
        for (key, subject_id), row in self.check.load.items():
            school_class = self.class_by_key[key]
            teacher = self.people[row.teacher_iin]
            assignment, created = TeachingAssignment.objects.get_or_create(
                school_class=school_class,
                subject_id=subject_id,
                defaults={"teacher": teacher, "hours_per_week": row.hours},
            )
            if created:
                self.created["assignments"] += 1
            elif assignment.teacher_id != teacher.pk or assignment.hours_per_week != row.hours:
                assignment.teacher = teacher
                assignment.hours_per_week = row.hours
                assignment.save(update_fields=["teacher", "hours_per_week"])
