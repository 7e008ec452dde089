"""Pure curriculum rules, no database: criteria-based grading maths and the objective code.

Grading follows the ministry's criteria-based assessment for grades 1–11: a term percentage from
formative marks (1–10), unit summatives (БЖБ/СОР) and the term summative (ТЖБ/СОЧ), weighted
25/25/50, or 50/50 when a term has no term summative; the percentage maps to a 2–5 grade by
bands. Rules change by ministry order, so the numbers are data (`GradingRules`), loaded from a
versioned policy; a closed term keeps the policy it was computed with.

A learning objective is coded grade.section.subsection.objective (7.1.2.3: grade 7, section 1,
subsection 2, objective 3), as in the national curriculum.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_lazy as _

HUNDRED = Decimal(100)
FORMATIVE_MIN, FORMATIVE_MAX = 1, 10


class RuleError(ValueError):
    """Input a rule refuses; `message` is translated for the person who typed it."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class GradingRules:
    formative_weight: Decimal
    unit_weight: Decimal
    term_weight: Decimal
    # Weights used when the term has no term summative (formative, unit).
    no_term_formative_weight: Decimal
    no_term_unit_weight: Decimal
    # (lowest whole percentage, grade), ascending, for grades 2–11 and for grade 1.
    bands: tuple[tuple[int, int], ...]
    bands_grade_1: tuple[tuple[int, int], ...]

    @classmethod
    def from_json(cls, data: dict) -> GradingRules:
        return cls(
            formative_weight=Decimal(str(data["formative_weight"])),
            unit_weight=Decimal(str(data["unit_weight"])),
            term_weight=Decimal(str(data["term_weight"])),
            no_term_formative_weight=Decimal(str(data["no_term_formative_weight"])),
            no_term_unit_weight=Decimal(str(data["no_term_unit_weight"])),
            bands=tuple((int(lo), int(g)) for lo, g in data["bands"]),
            bands_grade_1=tuple((int(lo), int(g)) for lo, g in data["bands_grade_1"]),
        )

    def to_json(self) -> dict:
        return {
            "formative_weight": str(self.formative_weight),
            "unit_weight": str(self.unit_weight),
            "term_weight": str(self.term_weight),
            "no_term_formative_weight": str(self.no_term_formative_weight),
            "no_term_unit_weight": str(self.no_term_unit_weight),
            "bands": [list(b) for b in self.bands],
            "bands_grade_1": [list(b) for b in self.bands_grade_1],
        }


# The rules in force since the 2016 order on criteria-based assessment (as amended).
CRITERIA_BASED_2016 = GradingRules(
    formative_weight=Decimal(25),
    unit_weight=Decimal(25),
    term_weight=Decimal(50),
    no_term_formative_weight=Decimal(50),
    no_term_unit_weight=Decimal(50),
    bands=((0, 2), (40, 3), (65, 4), (85, 5)),
    bands_grade_1=((0, 2), (21, 3), (51, 4), (81, 5)),
)


@dataclass(frozen=True)
class Points:
    """Points scored on one summative work, out of its maximum."""

    scored: int
    maximum: int


@dataclass(frozen=True)
class TermResult:
    percent: Decimal  # 0.00–100.00
    grade: int  # 2–5


def _share(points: Iterable[Points]) -> Decimal | None:
    points = list(points)
    total_max = sum(p.maximum for p in points)
    if total_max == 0:
        return None
    return Decimal(sum(p.scored for p in points)) / Decimal(total_max)


def round_half_up(value: Decimal, places: str = "1") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def term_percent(
    rules: GradingRules,
    formative: Sequence[int],
    unit: Sequence[Points],
    term: Sequence[Points],
) -> Decimal | None:
    """The term percentage shown to people (two decimals), or None when there is nothing to assess."""
    raw = exact_term_percent(rules, formative, unit, term)
    return None if raw is None else round_half_up(raw, "0.01")


def exact_term_percent(
    rules: GradingRules,
    formative: Sequence[int],
    unit: Sequence[Points],
    term: Sequence[Points],
) -> Decimal | None:
    """The unrounded term percentage, or None when there is nothing to assess.

    Formative: mean mark / 10. Summatives: points scored / points possible over all works of
    that kind. A component with no work is left out and the others' weights are rescaled to
    100 (the ministry's 50/50 rule for a term without a term summative is part of the policy).
    """
    formative_share = (Decimal(sum(formative)) / (FORMATIVE_MAX * len(formative))) if formative else None
    unit_share = _share(unit)
    term_share = _share(term)
    if term_share is None:
        parts = [(rules.no_term_formative_weight, formative_share), (rules.no_term_unit_weight, unit_share)]
    else:
        parts = [
            (rules.formative_weight, formative_share),
            (rules.unit_weight, unit_share),
            (rules.term_weight, term_share),
        ]
    present = [(w, s) for w, s in parts if s is not None]
    if not present:
        return None
    weight_sum = sum(w for w, _ in present)
    return sum(w * s for w, s in present) * HUNDRED / weight_sum


def grade_for_percent(rules: GradingRules, percent: Decimal, class_grade: int) -> int:
    """Map a percentage to a grade 2–5; the percentage is first rounded half up to a whole number."""
    whole = int(round_half_up(percent, "1"))
    bands = rules.bands_grade_1 if class_grade == 1 else rules.bands
    grade = bands[0][1]
    for lowest, band_grade in bands:
        if whole >= lowest:
            grade = band_grade
    return grade


def term_result(
    rules: GradingRules,
    class_grade: int,
    formative: Sequence[int],
    unit: Sequence[Points],
    term: Sequence[Points],
) -> TermResult | None:
    """The shown percentage and the grade; the grade comes from the exact value, rounded once."""
    exact = exact_term_percent(rules, formative, unit, term)
    if exact is None:
        return None
    return TermResult(percent=round_half_up(exact, "0.01"), grade=grade_for_percent(rules, exact, class_grade))


def year_grade(term_grades: Sequence[int]) -> int | None:
    """The year grade: the mean of the term grades, rounded half up (4, 4, 5, 5 -> 5)."""
    if not term_grades:
        return None
    return int(round_half_up(Decimal(sum(term_grades)) / len(term_grades), "1"))


# University letter scale: (lowest percentage, letter, grade point).
LETTER_SCALE = (
    (95, "A", Decimal("4.0")),
    (90, "A-", Decimal("3.67")),
    (85, "B+", Decimal("3.33")),
    (80, "B", Decimal("3.0")),
    (75, "B-", Decimal("2.67")),
    (70, "C+", Decimal("2.33")),
    (65, "C", Decimal("2.0")),
    (60, "C-", Decimal("1.67")),
    (55, "D+", Decimal("1.33")),
    (50, "D", Decimal("1.0")),
    (0, "F", Decimal("0")),
)


def letter_grade(percent: Decimal) -> tuple[str, Decimal]:
    whole = int(round_half_up(percent, "1"))
    if not 0 <= whole <= 100:
        raise RuleError(_("A percentage must be between 0 and 100."))
    for lowest, letter, points in LETTER_SCALE:
        if whole >= lowest:
            return letter, points
    raise RuleError(_("A percentage must be between 0 and 100."))


def check_formative(value: int) -> int:
    if not FORMATIVE_MIN <= value <= FORMATIVE_MAX:
        raise RuleError(
            _("A formative mark must be from %(low)d to %(high)d.") % {"low": FORMATIVE_MIN, "high": FORMATIVE_MAX}
        )
    return value


def check_points(value: int, maximum: int) -> int:
    if not 0 <= value <= maximum:
        raise RuleError(_("Points must be from 0 to %(max)d, the maximum for this work.") % {"max": maximum})
    return value


# ---------------------------------------------------------------- learning objective codes

# Grade 0 is the pre-school year; 12 the last year of some colleges' general programme.
GRADE_MIN, GRADE_MAX = 0, 12
CODE_MAX_LENGTH = 20
_CODE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{1,2})\.(\d{1,3})$")


@dataclass(frozen=True, order=True)
class ObjectiveCode:
    """A parsed objective code; ordering is numeric, so 7.1.2.10 comes after 7.1.2.9."""

    grade: int
    section: int
    subsection: int
    number: int

    def __str__(self) -> str:
        return f"{self.grade}.{self.section}.{self.subsection}.{self.number}"


def parse_grade(text: str) -> int:
    """A class grade from a file or a form: a whole number from 0 to 12."""
    text = (text or "").strip()
    if not text.isascii() or not text.isdigit() or not GRADE_MIN <= int(text) <= GRADE_MAX:
        raise RuleError(
            _("The grade must be a whole number from %(low)d to %(high)d, not “%(value)s”.")
            % {"low": GRADE_MIN, "high": GRADE_MAX, "value": text}
        )
    return int(text)


def parse_objective_code(text: str, grade: int) -> ObjectiveCode:
    """Check an objective code grade.section.subsection.objective and that it belongs to `grade`."""
    text = (text or "").strip()
    match = _CODE.match(text) if text.isascii() else None
    if match is None:
        raise RuleError(
            _(
                "The code “%(code)s” is not of the form grade.section.subsection.objective "
                "(four whole numbers separated by dots, such as 7.1.2.3)."
            )
            % {"code": text}
        )
    code = ObjectiveCode(*(int(part) for part in match.groups()))
    if code.grade != grade:
        raise RuleError(
            _("The code “%(code)s” begins with grade %(code_grade)d, but the row is for grade %(grade)d.")
            % {"code": text, "code_grade": code.grade, "grade": grade}
        )
    if min(code.section, code.subsection, code.number) < 1:
        raise RuleError(
            _("The code “%(code)s” has a zero: sections, subsections and objectives are numbered from 1.")
            % {"code": text}
        )
    return code
