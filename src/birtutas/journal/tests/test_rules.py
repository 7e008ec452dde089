"""Table-driven tests of the pure journal rules: what a teacher types in a cell (no database).

The grading maths moved to the curriculum (its tests are in curriculum/tests/test_rules.py); the
journal still reaches it as `rules.term_result`, `rules.GradingRules`, ... and so do its callers.
"""

from __future__ import annotations

import pytest
from django.utils import translation

from birtutas.curriculum import rules as curriculum_rules
from birtutas.journal import rules
from birtutas.journal.rules import (
    ABSENT_EXCUSED,
    ABSENT_ILLNESS,
    ABSENT_UNEXCUSED,
    LATE,
    CellEntry,
    RuleError,
    format_cell,
    parse_cell,
)


@pytest.mark.parametrize(
    "name",
    [
        "CRITERIA_BASED_2016",
        "GradingRules",
        "Points",
        "RuleError",
        "TermResult",
        "check_formative",
        "check_points",
        "exact_term_percent",
        "grade_for_percent",
        "letter_grade",
        "term_percent",
        "term_result",
        "year_grade",
    ],
)
def test_the_journal_reaches_the_grading_maths_under_its_old_names(name):
    assert getattr(rules, name) is getattr(curriculum_rules, name)


# ---------------------------------------------------------------- journal cells

CODES = [
    # code, language, status
    ("ж", "kk", ABSENT_UNEXCUSED),
    ("а", "kk", ABSENT_ILLNESS),
    ("с", "kk", ABSENT_EXCUSED),
    ("к", "kk", LATE),
    ("н", "ru", ABSENT_UNEXCUSED),
    ("б", "ru", ABSENT_ILLNESS),
    ("у", "ru", ABSENT_EXCUSED),
    ("о", "ru", LATE),
    ("n", "en", ABSENT_UNEXCUSED),
    ("i", "en", ABSENT_ILLNESS),
    ("e", "en", ABSENT_EXCUSED),
    ("l", "en", LATE),
]


@pytest.mark.parametrize(("code", "_language", "status"), CODES)
def test_parse_cell_every_code(code, _language, status):
    assert parse_cell(code) == CellEntry(mark=None, attendance=status)
    assert parse_cell(code.upper()) == CellEntry(mark=None, attendance=status)
    assert parse_cell(f"  {code} ") == CellEntry(mark=None, attendance=status)


@pytest.mark.parametrize(("code", "_language", "status"), [c for c in CODES if c[2] == LATE])
@pytest.mark.parametrize("mark", [1, 8, 10])
def test_parse_cell_late_with_mark(code, _language, status, mark):
    expected = CellEntry(mark=mark, attendance=LATE)
    spellings = (
        f"{code}{mark}",
        f"{mark}{code}",
        f"{code} {mark}",
        f"{mark} {code}",
        f"{code.upper()}{mark}",
    )
    for text in spellings:
        assert parse_cell(text) == expected, text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", CellEntry(None, None)),
        ("   ", CellEntry(None, None)),
        (None, CellEntry(None, None)),
        ("1", CellEntry(1, None)),
        ("8", CellEntry(8, None)),
        ("10", CellEntry(10, None)),
        (" 7 ", CellEntry(7, None)),
        ("к8", CellEntry(8, LATE)),
        ("8к", CellEntry(8, LATE)),
        ("о 9", CellEntry(9, LATE)),
        ("9 о", CellEntry(9, LATE)),
        ("К10", CellEntry(10, LATE)),
        ("10О", CellEntry(10, LATE)),
        ("L5", CellEntry(5, LATE)),
        ("Н", CellEntry(None, ABSENT_UNEXCUSED)),
        ("Ж", CellEntry(None, ABSENT_UNEXCUSED)),
        ("N", CellEntry(None, ABSENT_UNEXCUSED)),
        ("I", CellEntry(None, ABSENT_ILLNESS)),
        ("о\u00a09", CellEntry(9, LATE)),  # a pasted no-break space
        ("\tк8\n", CellEntry(8, LATE)),
    ],
)
def test_parse_cell(text, expected):
    assert parse_cell(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "11",
        "0",
        "00",
        "100",
        "абв",
        "кк",
        "x",
        "н8",  # absent with a mark
        "8н",
        "ж5",
        "а5",
        "б5",
        "с5",
        "у5",
        "n5",
        "i5",
        "e5",
        "8к9",  # the letter in the middle
        "к8к",
        "к11",
        "к0",
        "8.5",
        "-1",
        "²",  # a superscript digit is not a mark (it used to escape as a bare ValueError)
        "8²",
        "к?",
    ],
)
def test_parse_cell_refuses(text):
    with pytest.raises(RuleError) as exc:
        parse_cell(text)
    assert str(exc.value.message)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("н8", "absent"),
        ("11", "from 1 to 10"),
        ("абв", "Unknown code"),
        ("8к9", "Type a mark"),
    ],
)
def test_parse_cell_says_why(text, fragment):
    with translation.override("en"), pytest.raises(RuleError) as exc:
        parse_cell(text)
    with translation.override("en"):
        assert fragment in str(exc.value.message)


@pytest.mark.parametrize(
    ("mark", "attendance", "language", "expected"),
    [
        (None, None, "kk", ""),
        (None, None, "ru", ""),
        (None, None, "en", ""),
        (8, None, "kk", "8"),
        (10, None, "ru", "10"),
        (8, LATE, "kk", "к8"),
        (8, LATE, "ru", "о8"),
        (8, LATE, "en", "l8"),
        (None, LATE, "kk", "к"),
        (None, ABSENT_UNEXCUSED, "kk", "ж"),
        (None, ABSENT_ILLNESS, "kk", "а"),
        (None, ABSENT_EXCUSED, "kk", "с"),
        (None, ABSENT_UNEXCUSED, "ru", "н"),
        (None, ABSENT_ILLNESS, "ru", "б"),
        (None, ABSENT_EXCUSED, "ru", "у"),
        (None, ABSENT_UNEXCUSED, "en", "n"),
        (None, ABSENT_ILLNESS, "en", "i"),
        (None, ABSENT_EXCUSED, "en", "e"),
        (None, ABSENT_UNEXCUSED, "ru-ru", "н"),  # a regional variant uses its language
        (None, ABSENT_UNEXCUSED, "en-us", "n"),
        (None, ABSENT_UNEXCUSED, "de", "ж"),  # unknown language -> Kazakh
        (None, ABSENT_UNEXCUSED, "", "ж"),
        (None, ABSENT_UNEXCUSED, None, "ж"),
    ],
)
def test_format_cell(mark, attendance, language, expected):
    assert format_cell(mark, attendance, language) == expected


ALL_CELLS = (
    [(mark, None) for mark in [None, *range(1, 11)]]
    + [(mark, LATE) for mark in [None, *range(1, 11)]]
    + [(None, status) for status in (ABSENT_UNEXCUSED, ABSENT_ILLNESS, ABSENT_EXCUSED)]
)


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
@pytest.mark.parametrize(("mark", "attendance"), ALL_CELLS)
def test_format_cell_is_the_inverse_of_parse_cell(mark, attendance, language):
    text = format_cell(mark, attendance, language)
    assert parse_cell(text) == CellEntry(mark=mark, attendance=attendance)
    # and back: what parse_cell reads from that text formats to the same text
    entry = parse_cell(text)
    assert format_cell(entry.mark, entry.attendance, language) == text


@pytest.mark.parametrize(("code", "language", "status"), CODES)
def test_format_cell_uses_the_codes_parse_cell_reads(code, language, status):
    assert format_cell(None, status, language) == code
