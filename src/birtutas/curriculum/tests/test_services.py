"""Loading the curriculum: the shipped file, bad rows each named, all or nothing, idempotent, audited."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

from birtutas.curriculum.loading import check_file
from birtutas.curriculum.models import LearningObjective, Subject
from birtutas.curriculum.services import load_curriculum, shipped_objectives
from birtutas.kernel.errors import Forbidden
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent

HEADER = "subject_code,grade,code,text_kk,text_ru,section_kk,section_ru,source\n"
GOOD = (
    HEADER
    + "algebra,7,7.2.1.3,көпмүшелерді көбейту,умножать многочлены,Алгебра,Алгебра,sample\n"
    + "algebra,7,7.2.1.4,қысқаша көбейту формулалары,формулы сокращённого умножения,Алгебра,Алгебра,sample\n"
    + "algebra,8,8.3.1.2,квадрат теңдеулерді шешу,решать квадратные уравнения,Теңдеулер,Уравнения,sample\n"
)


def snapshot():
    """Everything a load may touch, to prove that a refused one touched nothing."""
    return (
        sorted(Subject.objects.values_list("code", "name_kk", "name_ru")),
        sorted(LearningObjective.objects.values_list("subject__code", "grade", "code", "text_kk", "text_ru", "source")),
        AuditEvent.objects.count(),
    )


def load(content, **kwargs):
    with translation.override("en"):
        return load_curriculum(None, content, **kwargs)


@pytest.fixture
def algebra(db):
    return Subject.objects.create(code="algebra", name_kk="Алгебра", name_ru="Алгебра", name_en="Algebra")


# ------------------------------------------------------------------ the shipped file


def test_the_shipped_file_is_correct_and_covers_the_core_subjects_of_grades_5_to_9():
    checked = check_file(shipped_objectives(), known_subjects=set())
    assert checked.ok, checked.errors[:5]
    per_subject_grade = Counter((row.subject_code, row.grade) for row in checked.rows)
    wanted = (
        [("math", g) for g in (5, 6)]
        + [("algebra", g) for g in (7, 8, 9)]
        + [("kazakh", g) for g in range(5, 10)]
        + [("russian", g) for g in range(5, 10)]
    )
    for key in wanted:
        assert per_subject_grade[key] >= 8, key
        sections = {row.code.split(".")[1] for row in checked.rows if (row.subject_code, row.grade) == key}
        assert len(sections) >= 3, key
    assert set(checked.new_subjects) == {"math", "algebra", "kazakh", "russian"}
    for row in checked.rows:
        assert row.code.startswith(f"{row.grade}."), row
        assert row.values["text_kk"] != row.values["text_ru"], row
        assert row.values["section_kk"] and row.values["section_ru"], row
        # Honest about where the wording comes from.
        assert "not the ministry" in row.values["source"], row


def test_the_shipped_file_loads_then_a_second_run_changes_nothing(db):
    report = load(shipped_objectives(), name="objectives.csv")
    assert report.ok and report.created == report.rows > 150 and report.subjects_created == 4
    assert LearningObjective.objects.count() == report.rows
    objective = LearningObjective.objects.get(subject__code="algebra", grade=7, code="7.2.1.4")
    assert objective.section_ru == "Алгебраические выражения и их преобразования"
    with translation.override("ru"):
        assert objective.text.startswith("применять")
    with translation.override("kk"):
        assert objective.text.startswith("қысқаша")
    events = AuditEvent.objects.filter(event=Event.CURRICULUM_LOAD)
    assert events.count() == 1
    assert events.get().after["created"] == report.rows and events.get().after["file"] == "objectives.csv"

    before = snapshot()
    again = load(shipped_objectives())
    assert (again.created, again.updated, again.unchanged, again.subjects_created) == (0, 0, report.rows, 0)
    assert snapshot() == before  # not a row, not an audit event


# ------------------------------------------------------------------ changes


def test_a_changed_text_updates_the_objective_and_is_audited_once(algebra):
    load(GOOD)
    untouched = LearningObjective.objects.get(code="7.2.1.3")
    changed_file = GOOD.replace("умножать многочлены", "умножать многочлен на многочлен")
    report = load(changed_file)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 2)
    assert LearningObjective.objects.get(code="7.2.1.3").text_ru == "умножать многочлен на многочлен"
    assert LearningObjective.objects.get(code="7.2.1.3").pk == untouched.pk  # updated in place: lessons keep it
    event = AuditEvent.objects.filter(event=Event.CURRICULUM_LOAD).order_by("-id").first()
    assert event.before == {"objectives": {"algebra:7.2.1.3": {**event.before["objectives"]["algebra:7.2.1.3"]}}}
    assert event.before["objectives"]["algebra:7.2.1.3"]["text_ru"] == "умножать многочлены"
    assert event.after["objectives"] == {
        "algebra:7.2.1.3": {
            "text_kk": "көпмүшелерді көбейту",
            "text_ru": "умножать многочлен на многочлен",
            "section_kk": "Алгебра",
            "section_ru": "Алгебра",
            "source": "sample",
        }
    }
    assert event.after["updated"] == 1 and event.after["created"] == 0
    assert AuditEvent.objects.filter(event=Event.CURRICULUM_LOAD).count() == 2


def test_spelling_that_differs_only_in_spaces_or_unicode_form_is_no_change(algebra):
    load(GOOD)
    before = snapshot()
    # Extra spaces, and "ё" written as "е" + combining diaeresis (the same text once composed).
    respelled = GOOD.replace("формулы сокращённого", "  формулы   сокращ\u0435\u0308нного ")
    report = load(respelled)
    assert report.updated == 0
    assert snapshot() == before


def test_a_file_without_the_optional_columns_leaves_them_as_they_are(algebra):
    load(GOOD)
    load("subject_code,grade,code,text_kk,text_ru\nalgebra,7,7.2.1.3,көпмүшелерді көбейту,умножать многочлены\n")
    objective = LearningObjective.objects.get(code="7.2.1.3")
    assert (objective.section_kk, objective.source) == ("Алгебра", "sample")


def test_objectives_missing_from_a_later_file_are_kept(algebra):
    load(GOOD)
    load(HEADER + "algebra,7,7.2.1.3,көпмүшелерді көбейту,умножать многочлены,Алгебра,Алгебра,sample\n")
    assert LearningObjective.objects.count() == 3


def test_semicolons_and_a_byte_order_mark_are_read(algebra):
    content = ("\ufeff" + GOOD.replace(",", ";")).encode("utf-8")
    report = load(content)
    assert report.ok and report.created == 3


def test_a_new_subject_is_created_from_its_names_nothing_assumes_a_fixed_list(db):
    content = (
        "subject_code,subject_kk,subject_ru,grade,code,text_kk,text_ru\n"
        "Chemistry,Химия,Химия,8,8.1.1.1,заттың құрылысын сипаттау,описывать строение вещества\n"
        "chemistry,Химия,Химия,8,8.1.1.2,атом құрылысын түсіндіру,объяснять строение атома\n"
    )
    report = load(content)
    assert report.ok and report.subjects_created == 1 and report.created == 2
    assert Subject.objects.get(code="chemistry").name_ru == "Химия"
    assert LearningObjective.objects.filter(subject__code="chemistry").count() == 2


def test_a_check_only_run_counts_and_writes_nothing(algebra):
    before = snapshot()
    report = load(GOOD, dry_run=True)
    assert report.ok and report.created == 3
    assert snapshot() == before


# ------------------------------------------------------------------ refusals


BAD_ROWS = [
    # (row, fragment of the reason); each is line 3 of a file whose line 2 is good
    ("algebra,7,7.2.1,a,b", "not of the form grade.section.subsection.objective"),
    ("algebra,7,8.2.1.1,a,b", "begins with grade 8, but the row is for grade 7"),
    ("algebra,7,7.0.1.1,a,b", "has a zero"),
    ("algebra,seven,7.2.1.1,a,b", "The grade must be a whole number"),
    ("algebra,13,13.2.1.1,a,b", "The grade must be a whole number"),
    ("algebra,7,7.2.1.9,,b", "The Kazakh text (column text_kk) is empty"),
    ("algebra,7,7.2.1.9,a,  ", "The Russian text (column text_ru) is empty"),
    ("physics,7,7.1.1.1,a,b", "Unknown subject “physics”"),
    (",7,7.1.1.1,a,b", "The subject code is empty"),
    ("алгебра,7,7.1.1.1,a,b", "may hold only Latin letters"),
    ("algebra,7,7.2.1.3,a,b", "already on line 2"),
    ("algebra,7,7.2.1.8,a,b,extra", "the header only 5"),
    ("algebra,7,7.2.1.8," + "a" * 2001 + ",b", "longer than 2000 characters"),
]


@pytest.mark.parametrize(("row", "fragment"), BAD_ROWS)
def test_a_bad_row_is_named_with_its_line_and_nothing_is_written(algebra, row, fragment):
    content = "subject_code,grade,code,text_kk,text_ru\nalgebra,7,7.2.1.3,көпмүшелер,многочлены\n" + row + "\n"
    before = snapshot()
    report = load(content)
    assert not report.ok
    assert [(e.line, fragment in e.message) for e in report.errors] == [(3, True)], report.errors
    assert snapshot() == before


def test_every_bad_row_is_named_at_once_and_the_good_ones_are_not_written(algebra):
    rows = [f"algebra,7,7.2.1.{n},мәтін {n},текст {n}" for n in range(1, 40)]
    rows[5] = "algebra,7,7.2.1,a,b"  # line 7
    rows[20] = "algebra,8,7.2.1.21,a,b"  # line 22
    rows[33] = "algebra,7,7.2.1.34,,b"  # line 35
    before = snapshot()
    report = load("subject_code,grade,code,text_kk,text_ru\n" + "\n".join(rows) + "\n")
    assert [e.line for e in report.errors] == [7, 22, 35]
    assert report.created == 0
    assert snapshot() == before


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        ("", 1, "The file is empty"),
        ("subject_code,grade,text_kk,text_ru\nalgebra,7,a,b\n", 1, "lacks the columns: code"),
        (HEADER.encode() + b"algebra,7,7.2.1.3,a,b\n" + b"algebra,7,7.2.1.4,\xff\xfe,b\n", 3, "not in UTF-8"),
        (HEADER + 'algebra,7,7.2.1.3,"a,b\n', 2, "cannot be read as CSV"),
        (
            "subject_code,subject_kk,subject_ru,grade,code,text_kk,text_ru\n"
            "geo,География,География,7,7.1.1.1,a,b\ngeo,Жер,Земля,7,7.1.1.2,a,b\n",
            3,
            "named differently on line 2",
        ),
    ],
)
def test_a_bad_file_is_named_with_its_line(algebra, content, line, fragment):
    before = snapshot()
    report = load(content)
    assert [(e.line, fragment in e.message) for e in report.errors] == [(line, True)], report.errors
    assert snapshot() == before


def test_the_reasons_are_in_the_users_language(algebra):
    content = "subject_code,grade,code,text_kk,text_ru\nalgebra,7,8.1.1.1,a,b\n"
    with translation.override("en"):
        english = load_curriculum(None, content).errors[0].message
    with translation.override("ru"):
        russian = load_curriculum(None, content).errors[0].message
    assert "8.1.1.1" in english and "8.1.1.1" in russian
    assert isinstance(russian, str)


def test_an_account_may_not_load_the_curriculum(world):
    before = snapshot()
    for user in (world.a.director, world.a.teacher, world.analyst):
        with pytest.raises(Forbidden):
            load_curriculum(user, GOOD)
    assert snapshot() == before


# ------------------------------------------------------------------ the command


def test_the_command_loads_the_shipped_file_by_default_and_reports(db):
    out = io.StringIO()
    call_command("load_curriculum", "--quiet", "--language", "en", stdout=out)
    assert "new subjects" in out.getvalue()
    assert LearningObjective.objects.filter(subject__code="kazakh", grade=9).exists()


def test_the_command_lists_every_bad_row_and_fails(algebra, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("subject_code,grade,code,text_kk,text_ru\nalgebra,7,7.2.1,a,b\nalgebra,7,7.2.1.1,,b\n")
    err = io.StringIO()
    before = snapshot()
    with pytest.raises(CommandError, match="Nothing was loaded: 2 problems"):
        call_command("load_curriculum", str(path), "--quiet", "--language", "en", stderr=err)
    assert "line 2:" in err.getvalue() and "line 3:" in err.getvalue()
    assert snapshot() == before


def test_the_command_check_option_writes_nothing(db, tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(shipped_objectives())
    out = io.StringIO()
    call_command("load_curriculum", str(path), "--check", "--quiet", "--language", "en", stdout=out)
    assert "nothing was written" in out.getvalue()
    assert not LearningObjective.objects.exists()
