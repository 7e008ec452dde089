"""Reading and checking a curriculum file, before anything is written (`services.load_curriculum` writes).

The file is CSV in UTF-8 (comma or semicolon, as spreadsheets in Kazakh and Russian locales save
it), one learning objective a row, with a header naming the columns:

- required: `subject_code`, `grade`, `code` (grade.section.subsection.objective), `text_kk`, `text_ru`;
- optional: `section_kk`, `section_ru`, `source`, and `subject_kk`, `subject_ru`, `subject_en`
  (the subject's names, which create a subject the platform does not have yet).

Other columns are ignored, so the ministry's own export can be loaded as it is. Every row is
checked and every fault reported with its line; the caller writes only when there is none.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from birtutas.kernel import csvtext
from birtutas.kernel.progress import Progress

from .rules import CODE_MAX_LENGTH, RuleError, parse_grade, parse_objective_code

REQUIRED_COLUMNS = ("subject_code", "grade", "code", "text_kk", "text_ru")
OBJECTIVE_COLUMNS = ("text_kk", "text_ru", "section_kk", "section_ru", "source")
SUBJECT_COLUMNS = ("subject_kk", "subject_ru", "subject_en")
# Field sizes of the tables written to, checked here so that no database refuses a value.
LENGTHS = {"section_kk": 200, "section_ru": 200, "source": 300, "subject_kk": 200, "subject_ru": 200, "subject_en": 200}
TEXT_MAX_LENGTH = 2000  # an objective is a sentence; more is a shifted column, not a text
PROGRESS_EVERY = 500  # rows between two progress lines
SUBJECT_CODE = re.compile(r"^[a-z0-9_\-]{1,20}$")


@dataclass(frozen=True)
class RowError:
    line: int  # 1-based line in the file; the header is line 1
    message: str  # translated, in the language active when the file was checked


@dataclass(frozen=True)
class ObjectiveRow:
    line: int
    subject_code: str  # lower case
    grade: int
    code: str  # normalised: 7.1.2.3
    values: dict[str, str]  # the objective columns the file has (text_kk, text_ru, section_kk, ...)

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.subject_code, self.grade, self.code)


@dataclass(frozen=True)
class NewSubject:
    code: str
    name_kk: str
    name_ru: str
    name_en: str
    line: int


@dataclass
class CheckedFile:
    rows: list[ObjectiveRow] = field(default_factory=list)
    new_subjects: dict[str, NewSubject] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    columns: tuple[str, ...] = ()  # the objective columns present in the header

    @property
    def ok(self) -> bool:
        return not self.errors


def clean(text: str | None) -> str:
    """One spelling of the same text: composed Unicode, no edge or repeated whitespace."""
    return " ".join(unicodedata.normalize("NFC", text or "").split())


def check_file(
    content: bytes | str,
    known_subjects: set[str],
    *,
    progress: bool = False,
) -> CheckedFile:
    """Check every row of a curriculum file; `known_subjects` are the subject codes the platform has.

    `progress` shows the rows checked on stderr (a long ministry file takes a while).
    """
    checked = CheckedFile()
    text, bad_line = csvtext.decode(content)
    if text is None:
        checked.errors.append(
            RowError(bad_line, _("The file is not in UTF-8 from this line on: save it as “CSV UTF-8” and try again."))
        )
        return checked
    known = {code.lower() for code in known_subjects}
    try:
        records = list(_records(text))
    except csvtext.UnreadableCSV as error:
        checked.errors.append(RowError(error.line, _("This line cannot be read as CSV (check the quotation marks).")))
        return checked
    if not records:
        checked.errors.append(RowError(1, _("The file is empty: it needs a header and one objective a row.")))
        return checked
    header_line, header = records[0]
    columns = [csvtext.column_name(c) for c in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        checked.errors.append(
            RowError(header_line, _("The header lacks the columns: %(columns)s.") % {"columns": ", ".join(missing)})
        )
        return checked
    checked.columns = tuple(c for c in OBJECTIVE_COLUMNS if c in columns)
    first_seen: dict[tuple[str, int, str], int] = {}
    shown = Progress(len(records) - 1, _("rows checked"), enabled=progress and len(records) > 1)
    for index, (line, cells) in enumerate(records[1:], start=1):
        if index % PROGRESS_EVERY == 0 or index == len(records) - 1:
            shown.step(index - shown.done)
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(columns):
            checked.errors.append(
                RowError(
                    line,
                    _(
                        "The row has %(cells)d cells but the header only %(columns)d: "
                        "a value may contain an unquoted comma."
                    )
                    % {"cells": len(cells), "columns": len(columns)},
                )
            )
            continue
        row = {name: clean(value) for name, value in zip(columns, cells, strict=False)}
        _check_row(checked, line, row, known, first_seen)
    return checked


def _check_row(checked: CheckedFile, line: int, row: dict[str, str], known: set[str], first_seen: dict) -> None:
    problems: list[str] = []
    subject_code = row.get("subject_code", "").lower()
    if not subject_code:
        problems.append(_("The subject code is empty."))
    elif not SUBJECT_CODE.match(subject_code):
        problems.append(
            _("The subject code “%(code)s” may hold only Latin letters, digits, “_” and “-”, at most 20.")
            % {"code": subject_code}
        )
    elif subject_code not in known:
        problem = _new_subject(checked, line, subject_code, row)
        if problem:
            problems.append(problem)
    grade = code = None
    try:
        grade = parse_grade(row.get("grade", ""))
    except RuleError as error:
        problems.append(str(error.message))
    if grade is not None:
        try:
            code = str(parse_objective_code(row.get("code", ""), grade))
        except RuleError as error:
            problems.append(str(error.message))
    if code is not None and len(code) > CODE_MAX_LENGTH:  # pragma: no cover - the code's pattern is shorter
        problems.append(_("The code is too long."))
    empty = {
        "text_kk": _("The Kazakh text (column text_kk) is empty."),
        "text_ru": _("The Russian text (column text_ru) is empty."),
    }
    for column, message in empty.items():
        value = row.get(column, "")
        if not value:
            problems.append(message)
        elif len(value) > TEXT_MAX_LENGTH:
            problems.append(
                _("The text in column %(column)s is longer than %(max)d characters.")
                % {"column": column, "max": TEXT_MAX_LENGTH}
            )
    for column, limit in LENGTHS.items():
        if len(row.get(column, "")) > limit:
            problems.append(
                _("The value in column %(column)s is longer than %(max)d characters.")
                % {"column": column, "max": limit}
            )
    if subject_code and grade is not None and code is not None:
        key = (subject_code, grade, code)
        if key in first_seen:
            problems.append(
                _("The objective %(code)s of this subject is already on line %(line)d.")
                % {"code": code, "line": first_seen[key]}
            )
        else:
            first_seen[key] = line
    if problems:
        checked.errors.extend(RowError(line, message) for message in problems)
        return
    values = {column: row.get(column, "") for column in checked.columns}
    checked.rows.append(ObjectiveRow(line=line, subject_code=subject_code, grade=grade, code=code, values=values))


def _new_subject(checked: CheckedFile, line: int, code: str, row: dict[str, str]) -> str | None:
    """Record a subject the file creates; a problem if it cannot, or names it two ways."""
    name_kk, name_ru, name_en = (row.get(c, "") for c in SUBJECT_COLUMNS)
    if not name_kk or not name_ru:
        return _(
            "Unknown subject “%(code)s”: use a subject code the platform has, or give its names "
            "in the columns subject_kk and subject_ru to create it."
        ) % {"code": code}
    earlier = checked.new_subjects.get(code)
    if earlier is None:
        checked.new_subjects[code] = NewSubject(code, name_kk, name_ru, name_en, line)
    elif (earlier.name_kk, earlier.name_ru) != (name_kk, name_ru):
        return _("The new subject “%(code)s” is named differently on line %(line)d.") % {
            "code": code,
            "line": earlier.line,
        }
    return None


# ------------------------------------------------------------------ CSV


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with its line; blank lines skipped, a malformed quote refused."""
    return csvtext.records(text, strict=True, skip_blank=True)
