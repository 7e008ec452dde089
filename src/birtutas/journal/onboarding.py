"""A director's school onboarding from CSV files: classes, teachers, students with guardians, teaching load.

An import shows before it writes. Every row of every file is checked first, against the other
files and against what the school already has, and every fault is reported with its file and
line. When nothing is wrong, the import lists every change it would make (new people, new roles,
new classes and changed class teachers, enrollments, guardian links, new and changed teaching
load, and how many rows change nothing) and writes nothing until a director confirms that very
preview by its digest (of the files and of the preview). On confirmation the import checks again
and writes only if it would still do exactly what was shown; otherwise it refuses and shows the
new preview. Writing is one short transaction of bulk writes (all or nothing), through the
registry's services and with one audit event per change, so a large import never holds the
database long enough for anyone's sign-in to fail.

The registry is national and a school's reach is its own people. A person the files name who is
registered elsewhere, or who uses their own account, is never changed by the import: what the
school asks of them (roles, guardian links, an enrollment, a class to lead, a teaching load)
becomes a pending link request that they, or their current school's director, accept or decline.
The preview and the report say the same of such a person as of one new to the registry, and
never show anything the registry holds about them.

Everyone in the teachers file is a teacher of the school; the `role` column `deputy` makes them
a deputy director as well (deputies carry a teaching load, and the load file may name them).
Long imports run as a background job (`ImportJob`, see `start_job`, `check_job`, `confirm_job`,
`apply_job`), on Celery where a broker is configured and in-process otherwise.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import Q
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from birtutas.kernel import clock, csvtext
from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, Via, acting_via, service, writing
from birtutas.kernel.errors import Conflict, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.registry import services as registry
from birtutas.registry.models import (
    AcademicYear,
    Guardianship,
    LinkRequest,
    Membership,
    Organization,
    Person,
    Role,
    User,
)
from birtutas.registry.permissions import Actor, visible
from birtutas.registry.roles import SCHOOL_ADMIN_ROLES
from birtutas.registry.rules import IINError, parse_iin

from . import queries
from .models import Enrollment, ImportJob, SchoolClass, Subject, TeachingAssignment

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
PROGRESS_EVERY = 250  # rows between two progress reports of a job
# What one import may hold, unless the settings say otherwise (IMPORT_MAX_BYTES, IMPORT_MAX_ROWS).
DEFAULT_MAX_BYTES = 5 * 1024 * 1024
# Writing is one transaction, and SQLite lets a sign-in wait 5 s for it: 6,000 rows (a large school's
# students with their guardians) write in about 2 s on a busy 2-core machine (tests/test_import_pages.py).
DEFAULT_MAX_ROWS = 6_000

# The kinds of change a preview lists, in the order it lists them, and the audit event each becomes.
PERSON = "person"
CONTACTS = "contacts"
ROLE = "role"
CLASS_NEW = "class_new"
CLASS_CHANGE = "class_change"
ENROLLMENT = "enrollment"
GUARDIAN_LINK = "guardian_link"
LOAD_NEW = "load_new"
LOAD_CHANGE = "load_change"
CHANGE_KINDS = (PERSON, CONTACTS, ROLE, CLASS_NEW, CLASS_CHANGE, ENROLLMENT, GUARDIAN_LINK, LOAD_NEW, LOAD_CHANGE)
EVENT_OF_KIND = {
    PERSON: Event.PERSON_CREATE,
    CONTACTS: Event.PERSON_UPDATE,
    ROLE: Event.ROLE_GRANT,
    CLASS_NEW: Event.CLASS_SET,
    CLASS_CHANGE: Event.CLASS_SET,
    ENROLLMENT: Event.ENROLLMENT_SET,
    GUARDIAN_LINK: Event.GUARDIAN_LINK,
    LOAD_NEW: Event.LOAD_SET,
    LOAD_CHANGE: Event.LOAD_SET,
}

ClassKey = tuple[int, str]


def _decide_url() -> str:
    """The page where a person or their school decides a link request."""
    return reverse("school:links")


ProgressFn = Callable[[int], None]


@dataclass
class RowError:
    """One bad row (or a bad file, then `line` is where the problem is, usually the header)."""

    file: str  # "classes" | "teachers" | "students" | "load"
    line: int  # 1-based line number in the file; the header is line 1
    message: str  # translated; names the column and what is wrong


@dataclass
class Preview:
    """What an import would do: the faults to correct, or every change it would make and its digest."""

    errors: list[RowError] = field(default_factory=list)
    changes: list[dict] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=dict)
    digest: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(change["kind"] for change in self.changes)
        return {kind: found[kind] for kind in CHANGE_KINDS}

    @property
    def has_changes(self) -> bool:
        return bool(self.changes)

    def as_json(self) -> dict:
        return {"changes": self.changes, "unchanged": self.unchanged}


@dataclass
class ImportReport:
    """What a confirmed import did: the counts of its preview (the same whoever the people are)."""

    changes: dict[str, int]
    unchanged: dict[str, int]

    def as_json(self) -> dict:
        return {"changes": self.changes, "unchanged": self.unchanged}


class StalePreview(Conflict):
    """The import would no longer do what the confirmed preview showed; `preview` is what it would do now."""

    def __init__(self, preview: Preview):
        super().__init__(
            gettext_lazy(
                "The school's records changed after this preview was made, so nothing was imported. "
                "Check the new preview and confirm it again."
            )
        )
        self.preview = preview


# ------------------------------------------------------------------ limits and digests


def limits() -> tuple[int, int]:
    """The largest upload (bytes, all files together) and the most rows one import may hold."""
    return (
        int(getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)),
        int(getattr(settings, "IMPORT_MAX_ROWS", DEFAULT_MAX_ROWS)),
    )


def refuse_size(total_bytes: int) -> None:
    """Refuse an upload larger than the limit, before it is read."""
    max_bytes, _max_rows = limits()
    if total_bytes > max_bytes:
        raise ServiceError(
            _(
                "The files are too large: %(size)s together, and at most %(max)s can be imported at once. "
                "Split them into smaller files and import them one after another."
            )
            % {"size": filesizeformat(total_bytes), "max": filesizeformat(max_bytes)}
        )


def count_rows(files: dict[str, bytes]) -> int:
    """Lines of all files together, counted without parsing them (a quoted value may span lines)."""
    return sum(
        content.count(b"\n") + (0 if content.endswith(b"\n") or not content else 1) for content in files.values()
    )


def check_limits(files: dict[str, bytes]) -> int:
    """Refuse files over the size or row limit before they are parsed; the number of rows otherwise."""
    refuse_size(sum(len(content) for content in files.values()))
    _max_bytes, max_rows = limits()
    rows = count_rows(files)
    if rows > max_rows:
        raise ServiceError(
            _(
                "The files have %(rows)d rows together, and at most %(max)d can be imported at once. "
                "Split them into smaller files and import them one after another."
            )
            % {"rows": rows, "max": max_rows}
        )
    return rows


def _as_bytes(files: dict[str, bytes | str]) -> dict[str, bytes]:
    return {
        name: content.encode("utf-8") if isinstance(content, str) else bytes(content) for name, content in files.items()
    }


def files_digest(files: dict[str, bytes | str]) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(_as_bytes(files).items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(content).hexdigest().encode() + b"\n")
    return digest.hexdigest()


def _preview_digest(organization_id: int, year_id: int, digest_of_files: str, preview: Preview) -> str:
    payload = json.dumps(
        {
            "organization": organization_id,
            "year": year_id,
            "files": digest_of_files,
            "changes": preview.changes,
            "unchanged": preview.unchanged,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------ previewing and applying


def _target(user: User, organization_id: int, year_id: int, files: dict) -> tuple[Organization, AcademicYear]:
    organization = queries.directed_organization(Actor.for_user(user), organization_id)
    # The ministry's default calendar, or the school's own: never another school's year.
    year = (
        AcademicYear.objects.filter(pk=year_id)
        .filter(Q(organization__isnull=True) | Q(organization=organization))
        .first()
    )
    if year is None:
        raise NotFound(_("Not found."))
    unknown = sorted(set(files) - set(FILE_ORDER))
    if unknown:
        raise ServiceError(_("Unknown import file: %(names)s.") % {"names": ", ".join(unknown)})
    return organization, year


def preview_import(
    user: User, organization_id: int, year_id: int, files: dict[str, bytes | str], *, progress: ProgressFn | None = None
) -> Preview:
    """Check the CSV files of one school for one academic year and say what importing them would change.

    `files` maps "classes", "teachers", "students" and "load" to the content of each file given;
    a file left out (or empty) is simply not imported, and the others may refer to what the
    database already holds for this organization and year. Writes nothing and takes no lock.
    """
    organization, year = _target(user, organization_id, year_id, files)
    check = _Check(organization, year, progress)
    check.run(files)
    return _Plan(check).preview(files_digest(files))


def apply_import(
    user: User,
    organization_id: int,
    year_id: int,
    files: dict[str, bytes | str],
    digest: str,
    *,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Write exactly what the preview with this digest showed, or refuse (`StalePreview`) if it would not.

    The rows are read and checked before any lock is taken; what they are checked against in the
    database is read again inside the one short transaction that writes, so nothing can change
    in between.
    """
    organization, year = _target(user, organization_id, year_id, files)
    check = _Check(organization, year, progress)
    check.run(files)
    _decide_url()  # resolved before the lock is taken: the first resolution of the URLs takes a while
    with acting_via(Via.IMPORT), writing():
        # One import per school at a time: what is read below is still true when it is written.
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        plan = _Plan(check)
        preview = plan.preview(files_digest(files))
        if not preview.ok or preview.digest != digest:
            raise StalePreview(preview)
        if not preview.has_changes:
            return ImportReport(changes=preview.counts, unchanged=preview.unchanged)
        return _Writer(plan, user).write(preview)


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


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    return csvtext.records(text)


def _read_table(name: str, content: bytes | str | None, errors: list[RowError]) -> _Table | None:
    if content is None:
        return None
    text, bad_line = csvtext.decode(content)
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
                columns = [csvtext.column_name(cell) for cell in cells]
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
    except csvtext.UnreadableCSV as error:
        errors.append(RowError(name, error.line, _("The file cannot be read as CSV from this line on.")))
        table.broken = True
    return table


# ------------------------------------------------------------------ checking the rows (no database but subjects)


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

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)


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


def _chunks(items: Iterable) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), QUERY_CHUNK):
        yield items[start : start + QUERY_CHUNK]


class _Check:
    """Reads and checks every row on its own and against the other rows, without the school's records.

    What a row refers to in the database (a class, a teacher) is noted here and checked by `_Plan`,
    which reads the database; this part, the long one, runs before any lock is taken.
    """

    def __init__(self, organization: Organization, year: AcademicYear, progress: ProgressFn | None = None):
        self.organization = organization
        self.year = year
        self.progress = progress
        self.rows_done = 0
        self.errors: list[RowError] = []
        self.tables: dict[str, _Table] = {}
        self.teachers: dict[str, _TeacherRow] = {}
        self.classes: dict[ClassKey, _ClassRow] = {}
        self.students: dict[str, _StudentRow] = {}
        self.guardians: dict[str, _PersonRow] = {}
        self.load: dict[tuple[ClassKey, int], _LoadRow] = {}
        self.class_refs: list[tuple[str, int, ClassKey]] = []
        self.teacher_refs: list[tuple[str, int, str, str]] = []

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
                self.rows_done += 1
                if self.progress is not None and self.rows_done % PROGRESS_EVERY == 0:
                    self.progress(self.rows_done)
        if self.progress is not None:
            self.progress(self.rows_done)

    def _rows(self, name: str) -> list[_Row]:
        table = self.tables.get(name)
        return table.rows if table is not None else []

    def broken(self, name: str) -> bool:
        table = self.tables.get(name)
        return table is not None and table.broken

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
        """The class a student or load row names; whether it exists is checked against the database later."""
        key = self._class_key(row)
        if key is not None:
            self.class_refs.append((row.file, row.line, key))
        return key

    def _known_teacher(self, row: _Row, column: str, iin: str | None) -> bool:
        if iin is None:
            return False
        self.teacher_refs.append((row.file, row.line, column, iin))
        return True

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
        # Both names or neither: neither means "the guardian is already in this school", checked later.
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


# ------------------------------------------------------------------ the plan: the rows against the school's records

# How the import stands to each person the files name.
NEW = "new"  # not in the registry
FREE = "free"  # in the registry, held by no one and without an account of their own: this school may take them
MEMBER = "member"  # already holds a role in this school
HELD = "held"  # registered elsewhere or using their own account: only a link request, nothing changed


@dataclass
class _Who:
    iin: str
    row: _PersonRow
    file: str
    line: int
    column: str
    status: str = NEW
    person_id: int | None = None
    fill_email: str = ""
    fill_phone: str = ""

    @property
    def name(self) -> str:
        return self.row.full_name


@dataclass
class _DbPerson:
    pk: int
    last_name: str
    first_name: str
    patronymic: str
    email: str
    phone: str

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.last_name, self.first_name, self.patronymic) if p)


_ABSENT = object()


class _Plan:
    """The checked rows against what the database holds now: the remaining faults, or every change.

    Everything read from the database is read here, in a fixed number of bulk queries, so that the
    same plan can be made again inside the writing transaction in a fraction of a second.
    """

    def __init__(self, check: _Check):
        self.check = check
        self.organization = check.organization
        self.year = check.year
        self.errors: list[RowError] = []
        self.people: dict[str, _Who] = {}
        self.changes: list[dict] = []
        self.rows_changed: set[tuple[str, int]] = set()
        # What the writer does, beside what the preview shows.
        self.roles: list[tuple[str, str]] = []
        self.classes_new: list[tuple[ClassKey, str, str | None]] = []
        self.class_changes: list[tuple[SchoolClass, str | None, str | None]] = []
        self.enrollments: list[tuple[str, ClassKey, int | None]] = []
        self.links: list[tuple[str, str, str]] = []
        self.load_new: list[tuple[ClassKey, int, str, int]] = []
        self.load_changes: list[tuple[int, ClassKey, int, str, int, int, int]] = []
        self._load()
        self._classify()
        self._check_references()
        self._check_enrollments()
        self._check_unnamed_guardians()
        if not self.errors and not check.errors:
            self._changes()

    # -- reading the database

    def _load(self) -> None:
        check, organization = self.check, self.organization
        self.db_classes: dict[ClassKey, SchoolClass] = {
            (c.grade, c.letter.upper()): c
            for c in SchoolClass.objects.filter(organization=organization, year=self.year)
        }
        self.db_teachers: dict[str, _DbPerson] = {}
        for pk, iin, last, first, patronymic in Membership.objects.filter(
            organization=organization, role=Role.TEACHER, ended_on__isnull=True
        ).values_list("person_id", "person__iin", "person__last_name", "person__first_name", "person__patronymic"):
            self.db_teachers[iin] = _DbPerson(pk, last, first, patronymic, "", "")
        iins = sorted(set(check.teachers) | set(check.students) | set(check.guardians))
        self.persons: dict[str, _DbPerson] = {}
        for pk, iin, last, first, patronymic, email, phone in registry.select_in(
            Person, ("id", "iin", "last_name", "first_name", "patronymic", "email", "phone"), "iin", iins
        ):
            self.persons[iin] = _DbPerson(pk, last, first, patronymic, email, phone)
        ids = sorted(p.pk for p in self.persons.values())
        self.reach = registry.reach(organization, ids)
        self.roles_here: dict[tuple[int, str], object] = {
            (pk, role): ended_on
            for pk, role, ended_on in registry.select_in(
                Membership,
                ("person_id", "role", "ended_on"),
                "person_id",
                ids,
                "organization_id = %s",
                (organization.pk,),
            )
        }
        self.existing_links: set[tuple[int, int]] = set()
        wards: dict[int, set[int]] = defaultdict(set)
        for guardian, student in registry.select_in(Guardianship, ("guardian_id", "student_id"), "guardian_id", ids):
            self.existing_links.add((guardian, student))
            wards[student].add(guardian)
        # Enrollments this year of the people in the files and of their children, with their classes.
        enrollments = registry.select_in(
            Enrollment, ("id", "student_id", "school_class_id", "left_on"), "student_id", sorted(set(ids) | set(wards))
        )
        classes = {
            pk: (org_id, (grade, letter.upper()))
            for pk, org_id, grade, letter in registry.select_in(
                SchoolClass,
                ("id", "organization_id", "grade", "letter"),
                "id",
                sorted({class_id for _e, _s, class_id, _l in enrollments}),
                "year_id = %s",
                (self.year.pk,),
            )
        }
        self.enrolled: dict[int, list[tuple[int, int, int, ClassKey, object]]] = defaultdict(list)
        elsewhere_now: set[int] = set()
        for pk, student, class_id, left_on in enrollments:
            if class_id not in classes:
                continue  # another year
            org_id, key = classes[class_id]
            self.enrolled[student].append((pk, class_id, org_id, key, left_on))
            if org_id != organization.pk and left_on is None:
                elsewhere_now.add(student)
        # The journal's part of "registered elsewhere": enrolled this year in another school, or the
        # guardian of someone who is (the registry's part, a role elsewhere, is in `reach`).
        self.enrolled_elsewhere = elsewhere_now & set(ids)
        self.guarding_elsewhere: set[int] = {g for student in elsewhere_now for g in wards.get(student, ())}
        self.assignments: dict[tuple[int, int], tuple[int, int, int]] = {
            (class_id, subject_id): (pk, teacher_id, hours)
            for pk, class_id, subject_id, teacher_id, hours in TeachingAssignment.objects.filter(
                school_class__organization=organization, school_class__year=self.year
            ).values_list("pk", "school_class_id", "subject_id", "teacher_id", "hours_per_week")
        }
        staff = {c.class_teacher_id for c in self.db_classes.values()} | {t for _p, t, _h in self.assignments.values()}
        self.staff_names = {
            p.pk: p.full_name for p in Person.objects.filter(pk__in=[pk for pk in staff if pk is not None])
        }

    # -- how the import stands to each person

    def _classify(self) -> None:
        check = self.check
        for iin, row in check.teachers.items():
            self._who(iin, row, "teachers", row.line, "iin")
        for iin, row in check.students.items():
            self._who(iin, row, "students", row.line, "iin")
        for iin, row in check.guardians.items():
            if iin not in self.people:
                self._who(iin, row, "students", row.line, "guardian_iin")

    def _who(self, iin: str, row: _PersonRow, file: str, line: int, column: str) -> None:
        who = self.people[iin] = _Who(iin, row, file, line, column)
        found = self.persons.get(iin)
        if found is None:
            return
        who.person_id = found.pk
        reach = self.reach[found.pk]
        held_by_journal = found.pk in self.enrolled_elsewhere or found.pk in self.guarding_elsewhere
        same_name = not row.named or (
            (row.last_name.casefold(), row.first_name.casefold())
            == (found.last_name.casefold(), found.first_name.casefold())
        )
        if reach.member_here:
            who.status = MEMBER
            if not same_name:
                # This school's own member: the school may hear that its file disagrees with its record.
                self.errors.append(
                    RowError(
                        file,
                        line,
                        _('Column "%(column)s": %(problem)s')
                        % {
                            "column": column,
                            "problem": _(
                                "this IIN belongs to a person already registered under another name; check the "
                                "IIN, or ask for the registry record to be corrected."
                            ),
                        },
                    )
                )
        elif reach.may_change_contacts and not held_by_journal and same_name and row.named:
            who.status = FREE
        else:
            # Registered elsewhere, using their own account, or a name that does not match: the school
            # learns none of it; the person or their school decides.
            who.status = HELD
            return
        if reach.may_change_contacts and not held_by_journal:
            who.fill_email = row.email if row.email and not found.email else ""
            who.fill_phone = row.phone if row.phone and not found.phone else ""

    def _teacher(self, iin: str) -> _Who:
        """The person a class or load row names as teacher: from the teachers file, or this school's own."""
        who = self.people.get(iin)
        if who is None:
            known = self.db_teachers[iin]
            row = _PersonRow(0, iin, known.last_name, known.first_name, known.patronymic)
            who = self.people[iin] = _Who(iin, row, "teachers", 0, "iin", MEMBER, known.pk)
        return who

    # -- faults that depend on the school's records

    def fault(self, file: str, line: int, column: str, problem: str) -> None:
        self.errors.append(
            RowError(file, line, _('Column "%(column)s": %(problem)s') % {"column": column, "problem": problem})
        )

    def _check_references(self) -> None:
        check = self.check
        for file, line, key in check.class_refs:
            if key in check.classes or key in self.db_classes or check.broken("classes"):
                continue
            self.errors.append(
                RowError(
                    file,
                    line,
                    _(
                        'Columns "grade" and "letter": there is no class %(class)s in the classes file '
                        "or in this school for this year."
                    )
                    % {"class": _class_name(key)},
                )
            )
        for file, line, column, iin in check.teacher_refs:
            if iin in check.teachers or iin in self.db_teachers or check.broken("teachers"):
                continue
            self.fault(
                file,
                line,
                column,
                _("this person is not a teacher of this school: add them to the teachers file first."),
            )

    def _check_enrollments(self) -> None:
        """A student is in one class a year: refuse a row that would put this school's student in a second one."""
        for iin, row in self.check.students.items():
            who = self.people[iin]
            if who.person_id is None or row.class_key is None:
                continue
            for _pk, _class_id, org_id, key, left_on in self.enrolled.get(who.person_id, ()):
                if left_on is not None:
                    continue
                if org_id == self.organization.pk and key != row.class_key:
                    problem = _("the student is already enrolled in class %(class)s this year.") % {
                        "class": _class_name(key)
                    }
                elif org_id != self.organization.pk and who.status == MEMBER:
                    problem = _("the student is already enrolled in another school this year.")
                else:
                    continue  # in this class already, or someone the school does not hold: a request
                self.fault("students", row.line, "iin", problem)

    def _check_unnamed_guardians(self) -> None:
        """A guardian given by IIN alone must be one this school has; anyone else needs a name."""
        for iin, guardian in self.check.guardians.items():
            if guardian.named or iin in self.check.teachers or self.people[iin].status == MEMBER:
                continue
            self.fault(
                "students",
                guardian.line,
                "guardian_last_name",
                _("a value is required for a guardian who is not yet in this school."),
            )

    # -- the changes

    def _add(self, kind: str, file: str, line: int, **fields) -> None:
        self.changes.append({"kind": kind, "file": file, "line": line, **fields})
        self.rows_changed.add((file, line))

    def _person(self, who: _Who, file: str, line: int) -> None:
        if who.iin in self._shown:
            return
        self._shown.add(who.iin)
        if who.status != MEMBER:
            # New to the registry or not: the same words, and only what the file itself says.
            self._add(PERSON, file, line, iin=who.iin, name=who.name)
        elif who.fill_email or who.fill_phone:
            self._add(CONTACTS, file, line, iin=who.iin, name=who.name, email=who.fill_email, phone=who.fill_phone)

    def _role(self, who: _Who, role: str, file: str, line: int) -> None:
        if (who.iin, role) in self._granted:
            return
        self._granted.add((who.iin, role))
        if who.person_id is not None and self.roles_here.get((who.person_id, role), _ABSENT) is None:
            return  # holds it already
        self._add(ROLE, file, line, iin=who.iin, name=who.name, role=str(role))
        self.roles.append((who.iin, str(role)))

    def _teacher_id(self, iin: str) -> int | None:
        return self._teacher(iin).person_id

    def _changes(self) -> None:
        check, organization = self.check, self.organization
        self._shown: set[str] = set()
        self._granted: set[tuple[str, str]] = set()
        for iin, row in check.teachers.items():
            who = self.people[iin]
            self._person(who, "teachers", row.line)
            for role in row.roles:
                self._role(who, role, "teachers", row.line)
        for key, row in check.classes.items():
            teacher = self._teacher(row.teacher_iin) if row.teacher_iin else None
            existing = self.db_classes.get(key)
            if existing is None:
                language = row.language or organization.language
                self._add(
                    CLASS_NEW,
                    "classes",
                    row.line,
                    **{
                        "class": _class_name(key),
                        "language": language,
                        "class_teacher": teacher.name if teacher else "",
                    },
                )
                self.classes_new.append((key, language, row.teacher_iin))
            else:
                before, after = {}, {}
                language = row.language if row.language and row.language != existing.language else None
                if language:
                    before["language"], after["language"] = existing.language, language
                teacher_iin = None
                if teacher is not None and (
                    teacher.person_id is None or teacher.person_id != existing.class_teacher_id
                ):
                    teacher_iin = teacher.iin
                    before["class_teacher"] = self.staff_names.get(existing.class_teacher_id, "")
                    after["class_teacher"] = teacher.name
                if after:
                    self._add(
                        CLASS_CHANGE,
                        "classes",
                        row.line,
                        **{"class": _class_name(key), "before": before, "after": after},
                    )
                    self.class_changes.append((existing, language, teacher_iin))
            if teacher is not None:
                self._role(teacher, Role.CLASS_TEACHER, "classes", row.line)
        for iin, row in check.students.items():
            who = self.people[iin]
            self._person(who, "students", row.line)
            self._role(who, Role.STUDENT, "students", row.line)
            school_class = self.db_classes.get(row.class_key)
            rows = [e for e in self.enrolled.get(who.person_id, ()) if school_class and e[1] == school_class.pk]
            if not any(left_on is None for *_rest, left_on in rows):
                self._add(
                    ENROLLMENT, "students", row.line, iin=iin, name=who.name, **{"class": _class_name(row.class_key)}
                )
                self.enrollments.append((iin, row.class_key, rows[0][0] if rows else None))
            if row.guardian_iin is None:
                continue
            guardian = self.people[row.guardian_iin]
            self._person(guardian, "students", row.line)
            self._role(guardian, Role.GUARDIAN, "students", row.line)
            if (guardian.person_id, who.person_id) not in self.existing_links:
                self._add(
                    GUARDIAN_LINK,
                    "students",
                    row.line,
                    guardian_iin=guardian.iin,
                    guardian=guardian.name,
                    iin=iin,
                    name=who.name,
                    relation=row.relation,
                )
                self.links.append((guardian.iin, iin, row.relation))
        for (key, subject_id), row in check.load.items():
            teacher = self._teacher(row.teacher_iin)
            school_class = self.db_classes.get(key)
            existing = self.assignments.get((school_class.pk, subject_id)) if school_class else None
            what = {"class": _class_name(key), "subject": row.subject.name}
            if existing is None:
                self._add(LOAD_NEW, "load", row.line, **what, teacher=teacher.name, hours=row.hours)
                self.load_new.append((key, subject_id, teacher.iin, row.hours))
            elif existing[1] != teacher.person_id or existing[2] != row.hours:
                self._add(
                    LOAD_CHANGE,
                    "load",
                    row.line,
                    **what,
                    before={"teacher": self.staff_names.get(existing[1], ""), "hours": existing[2]},
                    after={"teacher": teacher.name, "hours": row.hours},
                )
                self.load_changes.append(
                    (existing[0], key, subject_id, teacher.iin, row.hours, existing[1], existing[2])
                )

    def unchanged(self) -> dict[str, int]:
        check = self.check
        lines = {
            "teachers": [r.line for r in check.teachers.values()],
            "classes": [r.line for r in check.classes.values()],
            "students": [r.line for r in check.students.values()],
            "load": [r.line for r in check.load.values()],
        }
        return {
            name: sum(1 for line in lines[name] if (name, line) not in self.rows_changed)
            for name in FILE_ORDER
            if name in check.tables
        }

    def preview(self, digest_of_files: str) -> Preview:
        if self.errors or self.check.errors:
            errors = self.check.errors + self.errors
            return Preview(errors=sorted(errors, key=lambda e: (FILE_ORDER.index(e.file), e.line)))
        preview = Preview(changes=self.changes, unchanged=self.unchanged())
        preview.digest = _preview_digest(self.organization.pk, self.year.pk, digest_of_files, preview)
        return preview


# ------------------------------------------------------------------ writing


class _Writer:
    """Writes a plan in one transaction: bulk writes, the registry's services, one audit event per change.

    People the school does not hold are never written: what the plan asks of them is collected in
    one link request each, and applied when they or their school accept it (`decide_link`).
    """

    def __init__(self, plan: _Plan, user: User):
        self.plan = plan
        self.user = user
        self.organization = plan.organization
        self.acting = Acting.of(user)
        self.ids: dict[str, int] = {}
        self.held = {iin for iin, who in plan.people.items() if who.status == HELD}
        self.drafts: dict[str, registry.LinkDraft] = {}

    def write(self, preview: Preview) -> ImportReport:
        self._people()
        self._roles()
        class_ids = self._classes()
        self._enrollments(class_ids)
        self._links()
        self._load(class_ids)
        registry.request_links(
            self.drafts.values(),
            organization=self.organization,
            requested_by=self.user,
            decide_url=_decide_url(),
            acting=self.acting,
        )
        report = ImportReport(changes=preview.counts, unchanged=preview.unchanged)
        # The same summary whoever the people are: it must not tell the school who is registered elsewhere.
        record(
            self.acting,
            Event.IMPORT_APPLY,
            str(self.organization.pk),
            after=report.as_json(),
            organization_id=self.organization.pk,
        )
        return report

    def _draft(self, iin: str) -> registry.LinkDraft:
        draft = self.drafts.get(iin)
        if draft is None:
            who = self.plan.people[iin]
            draft = self.drafts[iin] = registry.LinkDraft(person_id=who.person_id, name_given=who.name)
        return draft

    def _audit(self, event: Event, key: str, before, after, person_id: int | None = None) -> tuple:
        acting = self.acting
        return (acting.user_id, acting.via, self.organization.pk, person_id, event, key, before, after, acting.reason)

    def _people(self) -> None:
        plan = self.plan
        new = [
            registry.PersonFacts(
                iin, who.row.last_name, who.row.first_name, who.row.patronymic, who.row.email, who.row.phone
            )
            for iin, who in plan.people.items()
            if who.status == NEW
        ]
        created = registry.register_people(new, organization=self.organization, acting=self.acting)
        for iin, who in plan.people.items():
            self.ids[iin] = who.person_id if who.person_id is not None else created[iin]
            if who.status in (FREE, MEMBER) and (who.fill_email or who.fill_phone):
                registry.fill_contacts(
                    Person(pk=who.person_id),
                    email=who.fill_email,
                    phone=who.fill_phone,
                    organization=self.organization,
                    acting=self.acting,
                )
        for iin in self.held:
            self._draft(iin)

    def _roles(self) -> None:
        direct = []
        for iin, role in self.plan.roles:
            if iin in self.held:
                self._draft(iin).roles.add(role)
            else:
                direct.append((self.ids[iin], role))
        registry.grant_roles(direct, organization=self.organization, acting=self.acting)

    def _teacher_now(self, iin: str | None) -> int | None:
        """The teacher to write now: none for someone who joins only when they confirm."""
        return None if iin is None or iin in self.held else self.ids[iin]

    def _classes(self) -> dict[ClassKey, int]:
        plan, organization = self.plan, self.organization
        class_ids = {key: c.pk for key, c in plan.db_classes.items()}
        new = [
            SchoolClass(
                organization=organization,
                year=plan.year,
                grade=key[0],
                letter=key[1],
                language=language,
                class_teacher_id=self._teacher_now(teacher_iin),
            )
            for key, language, teacher_iin in plan.classes_new
        ]
        SchoolClass.objects.bulk_create(new)
        if any(c.pk is None for c in new):  # a database that does not return keys from a bulk insert
            found = SchoolClass.objects.filter(organization=organization, year=plan.year)
            class_ids.update(((c.grade, c.letter.upper()), c.pk) for c in found)
        else:
            class_ids.update(((c.grade, c.letter.upper()), c.pk) for c in new)
        rows = []
        for (key, language, teacher_iin), school_class in zip(plan.classes_new, new, strict=True):
            class_id = class_ids[key]
            if teacher_iin in self.held:
                self._draft(teacher_iin).attachments.setdefault("class_teacher", []).append([class_id, None])
            after = {
                "grade": key[0],
                "letter": key[1],
                "language": language,
                "class_teacher": school_class.class_teacher_id,
            }
            rows.append(self._audit(Event.CLASS_SET, str(class_id), None, after))
        for school_class, language, teacher_iin in plan.class_changes:
            before = {"language": school_class.language, "class_teacher": school_class.class_teacher_id}
            changed = []
            if language:
                school_class.language = language
                changed.append("language")
            if teacher_iin in self.held:
                self._draft(teacher_iin).attachments.setdefault("class_teacher", []).append(
                    [school_class.pk, school_class.class_teacher_id]
                )
            elif teacher_iin is not None:
                school_class.class_teacher_id = self.ids[teacher_iin]
                changed.append("class_teacher")
            if changed:
                school_class.save(update_fields=changed)
                after = {"language": school_class.language, "class_teacher": school_class.class_teacher_id}
                rows.append(self._audit(Event.CLASS_SET, str(school_class.pk), before, after))
        registry.record_rows(rows)
        return class_ids

    def _enrollments(self, class_ids: dict[ClassKey, int]) -> None:
        new, reopened = [], []
        for iin, key, reopen_id in self.plan.enrollments:
            class_id = class_ids[key]
            if iin in self.held:
                self._draft(iin).attachments.setdefault("enroll", []).append(class_id)
            elif reopen_id is not None:
                reopened.append((reopen_id, class_id, self.ids[iin]))
            else:
                new.append((class_id, self.ids[iin]))
        for chunk in _chunks([pk for pk, _c, _s in reopened]):
            Enrollment.objects.filter(pk__in=chunk).update(left_on=None)
        registry.bulk_insert(Enrollment, ("school_class_id", "student_id"), new)
        pairs = [(c, s) for _pk, c, s in reopened] + new
        registry.record_rows(
            [self._audit(Event.ENROLLMENT_SET, f"{c}:{s}", None, {"class": c}, person_id=s) for c, s in pairs]
        )

    def _links(self) -> None:
        direct = []
        for guardian_iin, student_iin, relation in self.plan.links:
            guardian, student = self.ids[guardian_iin], self.ids[student_iin]
            if guardian_iin in self.held:
                self._draft(guardian_iin).wards[student] = relation
            if student_iin in self.held:
                self._draft(student_iin).guardians[guardian] = relation
            if guardian_iin not in self.held and student_iin not in self.held:
                direct.append((guardian, student, relation))
        registry.link_guardians(direct, organization=self.organization, acting=self.acting)

    def _load(self, class_ids: dict[ClassKey, int]) -> None:
        new, rows = [], []
        for key, subject_id, teacher_iin, hours in self.plan.load_new:
            class_id = class_ids[key]
            if teacher_iin in self.held:
                self._draft(teacher_iin).attachments.setdefault("load", []).append(
                    [class_id, subject_id, hours, None, None]
                )
            else:
                new.append(
                    TeachingAssignment(
                        school_class_id=class_id,
                        subject_id=subject_id,
                        teacher_id=self.ids[teacher_iin],
                        hours_per_week=hours,
                    )
                )
        TeachingAssignment.objects.bulk_create(new, batch_size=QUERY_CHUNK)
        for a in new:
            after = {"teacher": a.teacher_id, "hours": a.hours_per_week}
            rows.append(self._audit(Event.LOAD_SET, f"{a.school_class_id}:{a.subject_id}", None, after))
        for pk, key, subject_id, teacher_iin, hours, old_teacher, old_hours in self.plan.load_changes:
            class_id = class_ids[key]
            if teacher_iin in self.held:
                self._draft(teacher_iin).attachments.setdefault("load", []).append(
                    [class_id, subject_id, hours, old_teacher, old_hours]
                )
                continue
            TeachingAssignment.objects.filter(pk=pk).update(teacher_id=self.ids[teacher_iin], hours_per_week=hours)
            rows.append(
                self._audit(
                    Event.LOAD_SET,
                    f"{class_id}:{subject_id}",
                    {"teacher": old_teacher, "hours": old_hours},
                    {"teacher": self.ids[teacher_iin], "hours": hours},
                )
            )
        registry.record_rows(rows)


# ------------------------------------------------------------------ link requests: the journal's part


def link_details(links: list[LinkRequest]) -> dict[int, dict]:
    """What each request asks, in words: the children, guardians and classes it names."""
    person_ids = {pid for link in links for pid, _rel in (link.wards or []) + (link.guardians or [])}
    class_ids = {c for link in links for c in link.attachments.get("enroll", [])}
    class_ids |= {c for link in links for c, *_rest in link.attachments.get("class_teacher", [])}
    class_ids |= {c for link in links for c, *_rest in link.attachments.get("load", [])}
    subject_ids = {s for link in links for _c, s, *_rest in link.attachments.get("load", [])}
    names = {p.pk: p.full_name for p in Person.objects.filter(pk__in=person_ids)}
    classes = {c.pk: c.name for c in SchoolClass.objects.filter(pk__in=class_ids)}
    subjects = {s.pk: s.name for s in Subject.objects.filter(pk__in=subject_ids)}
    return {
        link.pk: {
            "roles": [Role(r).label for r in link.roles if r in Role.values],
            "wards": [names.get(pid, "") for pid, _rel in link.wards],
            "guardians": [names.get(pid, "") for pid, _rel in link.guardians],
            "enroll": [classes.get(c, "") for c in link.attachments.get("enroll", [])],
            "leads": [classes.get(c, "") for c, *_rest in link.attachments.get("class_teacher", [])],
            "teaches": [
                f"{classes.get(c, '')} · {subjects.get(s, '')} ({hours})"
                for c, s, hours, *_rest in link.attachments.get("load", [])
            ],
        }
        for link in links
    }


@service
def decide_link(user: User, request_id: int, *, accept: bool) -> LinkRequest:
    """Accept or decline a link request; on acceptance also the journal's part: enrollment, class, load.

    A student still enrolled this year in their current school moves only when that school's
    director accepts: their enrollment there ends with the same acceptance.
    """
    link = registry.decide_link(user, request_id, accept=accept)
    if accept and link.attachments:
        _attach(user, link)
    return link


def _attach(user: User, link: LinkRequest) -> None:
    acting = Acting.of(user)
    actor = Actor.for_user(user)
    organization_id = link.organization_id
    person_id = link.person_id
    rows = []

    def audit(event, key, before, after, who=None):
        rows.append((acting.user_id, acting.via, organization_id, who, event, key, before, after, acting.reason))

    classes = SchoolClass.objects.select_for_update().filter(organization_id=organization_id)
    for class_id in link.attachments.get("enroll", []):
        school_class = classes.filter(pk=class_id).first()
        if school_class is None:
            continue
        current = Enrollment.objects.filter(
            student_id=person_id, school_class__year_id=school_class.year_id, left_on__isnull=True
        ).exclude(school_class=school_class)
        directed = set(actor.organization_ids(SCHOOL_ADMIN_ROLES))
        for enrollment in current.select_related("school_class"):
            other = enrollment.school_class.organization_id
            if other not in directed:
                raise Conflict(
                    _(
                        "The student is still enrolled in their current school this year: that school's "
                        "director accepts the move."
                    )
                )
            enrollment.left_on = clock.today()
            enrollment.save(update_fields=["left_on"])
            rows.append(
                (
                    acting.user_id,
                    acting.via,
                    other,
                    person_id,
                    Event.ENROLLMENT_END,
                    f"{enrollment.school_class_id}:{person_id}",
                    None,
                    {"left_on": enrollment.left_on.isoformat()},
                    acting.reason,
                )
            )
            registry.revoke_role(Person(pk=person_id), Role.STUDENT, organization=other, acting=acting)
        enrollment = Enrollment.objects.filter(school_class=school_class, student_id=person_id).first()
        if enrollment is None:
            Enrollment.objects.create(school_class=school_class, student_id=person_id)
        elif enrollment.left_on is not None:
            enrollment.left_on = None
            enrollment.save(update_fields=["left_on"])
        else:
            continue
        audit(Event.ENROLLMENT_SET, f"{school_class.pk}:{person_id}", None, {"class": school_class.pk}, person_id)
    for class_id, before_teacher in link.attachments.get("class_teacher", []):
        school_class = classes.filter(pk=class_id).first()
        # Changed by the school since it asked: its later decision stands.
        if school_class is None or school_class.class_teacher_id != before_teacher:
            continue
        school_class.class_teacher_id = person_id
        school_class.save(update_fields=["class_teacher"])
        audit(
            Event.CLASS_SET,
            str(class_id),
            {"class_teacher": before_teacher},
            {"class_teacher": person_id},
        )
    for class_id, subject_id, hours, before_teacher, before_hours in link.attachments.get("load", []):
        if not classes.filter(pk=class_id).exists():
            continue
        assignment = TeachingAssignment.objects.filter(school_class_id=class_id, subject_id=subject_id).first()
        current = None if assignment is None else [assignment.teacher_id, assignment.hours_per_week]
        if current != ([before_teacher, before_hours] if before_teacher is not None else None):
            continue
        if assignment is None:
            TeachingAssignment.objects.create(
                school_class_id=class_id, subject_id=subject_id, teacher_id=person_id, hours_per_week=hours
            )
        else:
            assignment.teacher_id, assignment.hours_per_week = person_id, hours
            assignment.save(update_fields=["teacher", "hours_per_week"])
        before = None if current is None else {"teacher": current[0], "hours": current[1]}
        audit(Event.LOAD_SET, f"{class_id}:{subject_id}", before, {"teacher": person_id, "hours": hours})
    registry.record_rows(rows)


# ------------------------------------------------------------------ import jobs: the same, in the background


def _encode(files: dict[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(content).decode("ascii") for name, content in files.items()}


def job_files(job: ImportJob) -> dict[str, bytes]:
    return {name: base64.b64decode(content) for name, content in job.files.items()}


def _update(job_id: int, **fields) -> None:
    with writing():
        ImportJob.objects.filter(pk=job_id).update(**fields)


def _progress(job_id: int, field_name: str, also: ProgressFn | None = None) -> ProgressFn:
    def report(done: int) -> None:
        _update(job_id, **{field_name: done})
        if also is not None:
            also(done)

    return report


def visible_job(user: User, organization_id: int, job_id: int) -> ImportJob:
    job = (
        visible(ImportJob, Actor.for_user(user)).filter(pk=job_id, organization_id=organization_id).first()
        if job_id
        else None
    )
    if job is None:
        raise NotFound(_("Not found."))
    return job


@service
def start_job(
    user: User, organization_id: int, year_id: int, files: dict[str, bytes | str], *, language: str = ""
) -> ImportJob:
    """Keep the uploaded files in a new job, to be checked (`check_job`) in the background.

    Files over the size or row limit are refused here, before anything is parsed.
    """
    files = {name: content for name, content in _as_bytes(files).items() if content.strip()}
    organization, year = _target(user, organization_id, year_id, files)
    if not files:
        raise ServiceError(_("Choose at least one CSV file."))
    rows = check_limits(files)
    return ImportJob.objects.create(
        organization=organization,
        year=year,
        created_by=user,
        language=language or translation.get_language() or settings.LANGUAGE_CODE,
        files=_encode(files),
        files_digest=files_digest(files),
        rows_total=max(rows - len(files), 0),  # less a header a file
    )


def check_job(job_id: int, *, progress: ProgressFn | None = None) -> ImportJob:
    """Check a job's files and keep its preview (or the rows to correct); reads the records, writes only the job."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.state != ImportJob.State.CHECKING:
        return job
    with translation.override(job.language):
        try:
            preview = preview_import(
                job.created_by,
                job.organization_id,
                job.year_id,
                job_files(job),
                progress=_progress(job.pk, "rows_checked", progress),
            )
        except ServiceError as error:
            _update(job.pk, state=ImportJob.State.FAILED, message=str(error.message), files={})
            return ImportJob.objects.get(pk=job_id)
        _keep_preview(job, preview)
    return ImportJob.objects.get(pk=job_id)


def _keep_preview(job: ImportJob, preview: Preview, message: str = "") -> None:
    if preview.ok:
        _update(
            job.pk,
            state=ImportJob.State.PREVIEW,
            preview=preview.as_json(),
            digest=preview.digest,
            errors=[],
            message=message,
        )
    else:
        # Nothing to confirm: the files are corrected and uploaded again, so they are not kept.
        _update(
            job.pk,
            state=ImportJob.State.INVALID,
            preview=None,
            digest="",
            errors=[[e.file, e.line, str(e.message)] for e in preview.errors],
            message=message,
            files={},
        )


@service
def confirm_job(user: User, organization_id: int, job_id: int, digest: str) -> ImportJob:
    """Confirm the preview a director saw, by its digest; the job is then applied (`apply_job`).

    A second confirmation, or one of a preview that has since been replaced, is refused.
    """
    queries.directed_organization(Actor.for_user(user), organization_id)
    job = visible_job(user, organization_id, job_id)
    if job.state in (ImportJob.State.APPLYING, ImportJob.State.DONE):
        raise Conflict(_("This import has already been confirmed."))
    if job.state != ImportJob.State.PREVIEW:
        raise ServiceError(_("There is no preview to confirm: upload the files again."))
    if not digest or not ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.PREVIEW, digest=digest).update(
        state=ImportJob.State.APPLYING, confirmed_by=user, rows_checked=0, rows_written=0, message=""
    ):
        raise Conflict(_("This preview is no longer the current one: check the preview below and confirm it."))
    job.refresh_from_db()
    return job


def apply_job(job_id: int, *, progress: ProgressFn | None = None) -> ImportJob:
    """Apply a confirmed job: write exactly its preview, or put the new preview before the director."""
    job = ImportJob.objects.select_related("confirmed_by").get(pk=job_id)
    if job.state != ImportJob.State.APPLYING:
        return job  # applied already, or not confirmed: never twice
    with translation.override(job.language):
        try:
            report = apply_import(
                job.confirmed_by,
                job.organization_id,
                job.year_id,
                job_files(job),
                job.digest,
                progress=_progress(job.pk, "rows_checked", progress),
            )
        except StalePreview as stale:
            _keep_preview(job, stale.preview, message=str(stale.message))
        except ServiceError as error:
            _update(job.pk, state=ImportJob.State.FAILED, message=str(error.message), files={})
        except Exception:
            _update(job.pk, state=ImportJob.State.FAILED, message=_("The import failed: nothing was imported."))
            raise
        else:
            _update(
                job.pk,
                state=ImportJob.State.DONE,
                report=report.as_json(),
                rows_written=job.rows_total,
                files={},
                message="",
            )
    return ImportJob.objects.get(pk=job_id)


# ------------------------------------------------------------------ what the import page shows

STALLED_AFTER = dt.timedelta(minutes=15)
SHOWN_PER_KIND = 200  # a preview of thousands of rows lists the first of each kind and counts the rest
KIND_TITLES = {
    PERSON: gettext_lazy("New people"),
    CONTACTS: gettext_lazy("Contacts filled in"),
    ROLE: gettext_lazy("New roles in this school"),
    CLASS_NEW: gettext_lazy("New classes"),
    CLASS_CHANGE: gettext_lazy("Changed classes"),
    ENROLLMENT: gettext_lazy("New enrollments"),
    GUARDIAN_LINK: gettext_lazy("New guardian links"),
    LOAD_NEW: gettext_lazy("New teaching load"),
    LOAD_CHANGE: gettext_lazy("Changed teacher or hours"),
}


def describe_job(job: ImportJob | None) -> dict:
    """What the import page shows of a job: progress, the rows to correct, the preview, or the report."""
    if job is None:
        return {"job": None}
    changes = (job.preview or {}).get("changes", [])
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for change in changes:
        by_kind[change["kind"]].append(change)
    sections = []
    for kind in CHANGE_KINDS:
        items = by_kind.get(kind, [])
        if not items:
            continue
        shown = [
            {**item, "role_label": Role(item["role"]).label} if kind == ROLE and item["role"] in Role.values else item
            for item in items[:SHOWN_PER_KIND]
        ]
        sections.append({"kind": kind, "title": KIND_TITLES[kind], "items": shown, "more": len(items) - len(shown)})
    working = job.state in (ImportJob.State.CHECKING, ImportJob.State.APPLYING)
    # A job that has not moved for a long while lost its worker; its one writing transaction
    # either committed (then it would say "done") or left nothing behind.
    stalled = working and timezone.now() - job.updated_at > STALLED_AFTER
    report = job.report or {}
    return {
        "job": job,
        "working": working and not stalled,
        "stalled": stalled,
        "percent": min(100, 100 * job.rows_checked // max(job.rows_total, 1)),
        "errors": job.errors,
        "sections": sections,
        "unchanged": (job.preview or report).get("unchanged", {}),
        "report": [(KIND_TITLES[k], n) for k, n in report.get("changes", {}).items() if n and k in KIND_TITLES],
    }
