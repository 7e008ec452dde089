"""Table-driven tests of the pure curriculum rules: grading maths and objective codes (no database)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from birtutas.curriculum.rules import (
    CRITERIA_BASED_2016,
    GradingRules,
    ObjectiveCode,
    Points,
    RuleError,
    TermResult,
    check_formative,
    check_points,
    exact_term_percent,
    grade_for_percent,
    letter_grade,
    parse_grade,
    parse_objective_code,
    term_percent,
    term_result,
    year_grade,
)

RULES = CRITERIA_BASED_2016
D = Decimal


def P(scored: int, maximum: int) -> Points:  # noqa: N802 - reads like the data it builds
    return Points(scored=scored, maximum=maximum)


# ---------------------------------------------------------------- term percentage


@pytest.mark.parametrize(
    ("formative", "unit", "term", "expected"),
    [
        # 25/25/50: formative mean 7 -> 0.7, unit 9/10 -> 0.9, term 16/20 -> 0.8
        #   25 * 0.7 + 25 * 0.9 + 50 * 0.8 = 17.5 + 22.5 + 40 = 80.00
        ([8, 6], [P(9, 10)], [P(16, 20)], D("80.00")),
        # formative mean 8.5 -> 0.85, unit (15 + 8) / (20 + 10) = 23/30, term 21/30 = 0.7
        #   21.25 + 19.1666... + 35 = 75.41666... -> 75.42
        ([8, 9, 10, 7], [P(15, 20), P(8, 10)], [P(21, 30)], D("75.42")),
        # everything full -> 100; everything lowest (formative 1, points 0) -> 25 * 0.1 = 2.5
        ([10, 10], [P(10, 10)], [P(30, 30)], D("100.00")),
        ([1], [P(0, 10)], [P(0, 30)], D("2.50")),
        # the term summative weighs double: same formative/unit, term 0 vs term full
        ([10], [P(10, 10)], [P(0, 20)], D("50.00")),
        ([5], [P(5, 10)], [P(20, 20)], D("75.00")),  # 12.5 + 12.5 + 50
        # several term summatives are pooled too: (10 + 30) / (20 + 40) = 2/3 -> 33.33...;
        # formative 0.6, unit 0.6
        #   15 + 15 + 33.333... = 63.33
        ([6], [P(6, 10)], [P(10, 20), P(30, 40)], D("63.33")),
    ],
)
def test_term_percent_25_25_50(formative, unit, term, expected):
    assert term_percent(RULES, formative, unit, term) == expected


@pytest.mark.parametrize(
    ("formative", "unit", "expected"),
    [
        # no term summative -> 50/50: 50 * 0.7 + 50 * 0.9 = 35 + 45 = 80.00
        ([8, 6], [P(9, 10)], D("80.00")),
        # 50 * 0.8 + 50 * (2/3) = 40 + 33.333... = 73.33
        ([7, 8, 9], [P(2, 3)], D("73.33")),
        ([10], [P(0, 10)], D("50.00")),
        ([1], [P(10, 10)], D("55.00")),
    ],
)
def test_term_percent_50_50_without_term_summative(formative, unit, expected):
    assert term_percent(RULES, formative, unit, []) == expected


def test_term_percent_ignores_a_term_summative_worth_nothing():
    # A term work with maximum 0 is no term work: the 50/50 rule applies.
    assert term_percent(RULES, [8, 6], [P(9, 10)], [P(0, 0)]) == D("80.00")


@pytest.mark.parametrize(
    ("formative", "expected"),
    [
        ([7, 8, 9], D("80.00")),  # mean 8 / 10
        ([10], D("100.00")),
        ([1], D("10.00")),
        ([1, 2], D("15.00")),
        ([9, 9, 10], D("93.33")),  # 28 / 30
        ([9, 10, 10], D("96.67")),  # 29 / 30
    ],
)
def test_term_percent_only_formative(formative, expected):
    assert term_percent(RULES, formative, [], []) == expected


@pytest.mark.parametrize(
    ("unit", "term", "expected"),
    [
        ([P(13, 20)], [], D("65.00")),  # only unit summatives
        ([], [P(27, 40)], D("67.50")),  # only the term summative
        ([P(5, 10)], [P(16, 20)], D("70.00")),  # no formative: (25 * 0.5 + 50 * 0.8) / 75 = 52.5 / 75
    ],
)
def test_term_percent_missing_components_rescale(unit, term, expected):
    assert term_percent(RULES, [], unit, term) == expected


def test_term_percent_formative_and_term_without_unit():
    # (25 * 0.6 + 50 * 0.9) / 75 = (15 + 45) / 75 = 0.8
    assert term_percent(RULES, [6], [], [P(18, 20)]) == D("80.00")


@pytest.mark.parametrize(
    ("formative", "unit", "term"),
    [
        ([], [], []),
        ([], [P(0, 0)], []),
        ([], [P(0, 0)], [P(0, 0)]),
    ],
)
def test_term_percent_nothing_to_assess(formative, unit, term):
    assert term_percent(RULES, formative, unit, term) is None
    assert term_result(RULES, 5, formative, unit, term) is None


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        # sum over sum, not mean of ratios: (5 + 20) / (10 + 20) = 83.33, the mean of 50 % and 100 % is 75
        ([P(5, 10), P(20, 20)], D("83.33")),
        ([P(20, 20), P(5, 10)], D("83.33")),  # order does not matter
        # (3 + 7 + 15) / (5 + 10 + 25) = 25 / 40 = 62.5; mean of ratios would be 63.33
        ([P(3, 5), P(7, 10), P(15, 25)], D("62.50")),
        # a zero-maximum work adds nothing
        ([P(5, 10), P(0, 0)], D("50.00")),
        ([P(0, 10), P(0, 10), P(10, 10)], D("33.33")),
    ],
)
def test_term_percent_unit_summatives_sum_over_sum(unit, expected):
    assert term_percent(RULES, [], unit, []) == expected


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ([P(1, 32)], D("3.13")),  # 3.125: half up (half-even would give 3.12)
        ([P(5, 32)], D("15.63")),  # 15.625 (half-even would give 15.62)
        ([P(3, 32)], D("9.38")),  # 9.375
        ([P(1, 3)], D("33.33")),
        ([P(2, 3)], D("66.67")),
    ],
)
def test_term_percent_rounds_half_up_to_hundredths(unit, expected):
    percent = term_percent(RULES, [], unit, [])
    assert percent == expected
    assert percent.as_tuple().exponent == -2


def test_term_percent_uses_the_policy_weights():
    rules = GradingRules(
        formative_weight=D(30),
        unit_weight=D(30),
        term_weight=D(40),
        no_term_formative_weight=D(40),
        no_term_unit_weight=D(60),
        bands=((0, 2), (50, 3), (70, 4), (90, 5)),
        bands_grade_1=((0, 2), (30, 3), (60, 4), (90, 5)),
    )
    # 30 * 1.0 + 30 * 0.5 + 40 * 0.0 = 45
    assert term_percent(rules, [10], [P(5, 10)], [P(0, 10)]) == D("45.00")
    # 40 * 1.0 + 60 * 0.5 = 70
    assert term_percent(rules, [10], [P(5, 10)], []) == D("70.00")
    assert grade_for_percent(rules, D(69), 5) == 3
    assert grade_for_percent(rules, D(70), 5) == 4
    assert GradingRules.from_json(rules.to_json()) == rules
    assert GradingRules.from_json(CRITERIA_BASED_2016.to_json()) == CRITERIA_BASED_2016


# ---------------------------------------------------------------- percentage -> grade

GRADES_2_TO_11_EDGES = [
    ("0", 2),
    ("39", 2),
    ("39.49", 2),
    ("39.5", 3),  # rounds half up to 40
    ("40", 3),
    ("64", 3),
    ("64.49", 3),
    ("64.5", 4),  # rounds to 65
    ("65", 4),
    ("84", 4),
    ("84.49", 4),
    ("84.5", 5),
    ("85", 5),
    ("100", 5),
]


@pytest.mark.parametrize("class_grade", range(2, 12))
@pytest.mark.parametrize(("percent", "expected"), GRADES_2_TO_11_EDGES)
def test_grade_for_percent_grades_2_to_11(percent, expected, class_grade):
    assert grade_for_percent(RULES, D(percent), class_grade) == expected


@pytest.mark.parametrize(
    ("percent", "expected"),
    [
        ("0", 2),
        ("20", 2),
        ("20.49", 2),
        ("20.5", 3),
        ("21", 3),
        ("39", 3),  # would be 2 in grades 2-11
        ("50", 3),
        ("50.5", 4),
        ("51", 4),
        ("64", 4),  # would be 3 in grades 2-11
        ("80", 4),
        ("80.5", 5),
        ("81", 5),
        ("84", 5),  # would be 4 in grades 2-11
        ("100", 5),
    ],
)
def test_grade_for_percent_grade_1(percent, expected):
    assert grade_for_percent(RULES, D(percent), 1) == expected


@pytest.mark.parametrize(
    ("class_grade", "formative", "unit", "term", "expected"),
    [
        (5, [8, 6], [P(9, 10)], [P(16, 20)], TermResult(D("80.00"), 4)),
        (5, [10, 10], [P(10, 10)], [P(30, 30)], TermResult(D("100.00"), 5)),
        (5, [], [P(39, 100)], [], TermResult(D("39.00"), 2)),
        (5, [], [P(79, 200)], [], TermResult(D("39.50"), 3)),
        (1, [], [P(21, 100)], [], TermResult(D("21.00"), 3)),
        (2, [], [P(21, 100)], [], TermResult(D("21.00"), 2)),
        (11, [9, 9, 10], [], [], TermResult(D("93.33"), 5)),
    ],
)
def test_term_result(class_grade, formative, unit, term, expected):
    assert term_result(RULES, class_grade, formative, unit, term) == expected


def test_term_result_grade_comes_from_the_exact_percentage_rounded_once():
    # Unit 5/7 and term 4/17: exactly 39.4958...%. Shown as 39.50, but rounded once it is 39: a 2.
    # Rounding twice (to 39.50, then to 40) would wrongly give a 3.
    result = term_result(RULES, 7, [], [P(5, 7)], [P(4, 17)])
    assert result.percent == Decimal("39.50")
    assert result.grade == 2
    for scored in range(0, 201):
        for class_grade in (1, 5):
            exact = exact_term_percent(RULES, [7], [P(scored, 200)], [P(scored % 31, 30)])
            result = term_result(RULES, class_grade, [7], [P(scored, 200)], [P(scored % 31, 30)])
            assert result.grade == grade_for_percent(RULES, exact, class_grade)


# ---------------------------------------------------------------- year grade


@pytest.mark.parametrize(
    ("term_grades", "expected"),
    [
        ([4, 4, 5, 5], 5),  # 4.5 rounds half up
        ([3, 4, 4, 4], 4),  # 3.75
        ([3, 3, 4, 4], 4),  # 3.5
        ([3, 3, 3, 4], 3),  # 3.25
        ([2, 2, 2, 3], 2),  # 2.25
        ([2, 3], 3),  # 2.5 (half-even would give 2)
        ([4, 5], 5),  # 4.5 (half-even would give 4)
        ([4, 4, 5], 4),  # 4.33
        ([4, 5, 5], 5),  # 4.67
        ([5, 5, 5, 5], 5),
        ([2, 2, 2, 2], 2),
        ([3], 3),
    ],
)
def test_year_grade(term_grades, expected):
    assert year_grade(term_grades) == expected


def test_year_grade_without_terms():
    assert year_grade([]) is None


# ---------------------------------------------------------------- university letter scale


@pytest.mark.parametrize(
    ("percent", "letter", "points"),
    [
        ("100", "A", "4.0"),
        ("95", "A", "4.0"),
        ("94.5", "A", "4.0"),
        ("94.49", "A-", "3.67"),
        ("94", "A-", "3.67"),
        ("90", "A-", "3.67"),
        ("89", "B+", "3.33"),
        ("85", "B+", "3.33"),
        ("84", "B", "3.0"),
        ("80", "B", "3.0"),
        ("79", "B-", "2.67"),
        ("75", "B-", "2.67"),
        ("74", "C+", "2.33"),
        ("70", "C+", "2.33"),
        ("69", "C", "2.0"),
        ("65", "C", "2.0"),
        ("64", "C-", "1.67"),
        ("60", "C-", "1.67"),
        ("59", "D+", "1.33"),
        ("55", "D+", "1.33"),
        ("54", "D", "1.0"),
        ("50", "D", "1.0"),
        ("49.5", "D", "1.0"),
        ("49.49", "F", "0"),
        ("49", "F", "0"),
        ("0", "F", "0"),
    ],
)
def test_letter_grade(percent, letter, points):
    assert letter_grade(D(percent)) == (letter, D(points))


@pytest.mark.parametrize("percent", ["-1", "-0.5", "100.5", "101", "150"])
def test_letter_grade_refuses_out_of_range(percent):
    with pytest.raises(RuleError):
        letter_grade(D(percent))


# ---------------------------------------------------------------- checks


@pytest.mark.parametrize("value", range(1, 11))
def test_check_formative_accepts(value):
    assert check_formative(value) == value


@pytest.mark.parametrize("value", [-1, 0, 11, 100])
def test_check_formative_refuses(value):
    with pytest.raises(RuleError):
        check_formative(value)


@pytest.mark.parametrize(("value", "maximum"), [(0, 10), (10, 10), (5, 10), (0, 0), (40, 40)])
def test_check_points_accepts(value, maximum):
    assert check_points(value, maximum) == value


@pytest.mark.parametrize(("value", "maximum"), [(-1, 10), (11, 10), (1, 0), (41, 40)])
def test_check_points_refuses(value, maximum):
    with pytest.raises(RuleError) as exc:
        check_points(value, maximum)
    assert str(maximum) in str(exc.value)


# ---------------------------------------------------------------- objective codes


@pytest.mark.parametrize(
    ("text", "grade", "expected"),
    [
        ("7.1.2.3", 7, ObjectiveCode(7, 1, 2, 3)),
        (" 5.4.1.12 ", 5, ObjectiveCode(5, 4, 1, 12)),
        ("10.2.1.1", 10, ObjectiveCode(10, 2, 1, 1)),
        ("07.1.1.1", 7, ObjectiveCode(7, 1, 1, 1)),  # a spreadsheet's leading zero is the same code
        ("1.1.1.100", 1, ObjectiveCode(1, 1, 1, 100)),
    ],
)
def test_parse_objective_code(text, grade, expected):
    assert parse_objective_code(text, grade) == expected


def test_objective_codes_order_numerically_and_print_without_zeros():
    codes = [parse_objective_code(c, 7) for c in ("7.1.2.10", "7.1.2.9", "7.2.1.1", "7.1.10.1", "07.1.1.1")]
    assert [str(c) for c in sorted(codes)] == ["7.1.1.1", "7.1.2.9", "7.1.2.10", "7.1.10.1", "7.2.1.1"]


@pytest.mark.parametrize(
    ("text", "grade", "fragment"),
    [
        ("", 7, "not of the form"),
        ("7.1.2", 7, "not of the form"),
        ("7.1.2.3.4", 7, "not of the form"),
        ("7,1,2,3", 7, "not of the form"),
        ("7.1.2.a", 7, "not of the form"),
        ("7.1..3", 7, "not of the form"),
        ("７.1.2.3", 7, "not of the form"),  # full-width digit
        ("7.1.2.3", 8, "begins with grade 7"),
        ("8.1.2.3", 7, "begins with grade 8"),
        ("7.0.2.3", 7, "has a zero"),
        ("7.1.0.3", 7, "has a zero"),
        ("7.1.2.0", 7, "has a zero"),
    ],
)
def test_parse_objective_code_refuses_and_says_why(text, grade, fragment):
    with translation.override("en"), pytest.raises(RuleError) as exc:
        parse_objective_code(text, grade)
    with translation.override("en"):
        assert fragment in str(exc.value.message)


@pytest.mark.parametrize(("text", "expected"), [("0", 0), ("7", 7), (" 11 ", 11), ("12", 12)])
def test_parse_grade(text, expected):
    assert parse_grade(text) == expected


@pytest.mark.parametrize("text", ["", "13", "-1", "7a", "seven", "7.0", "٧"])
def test_parse_grade_refuses(text):
    with pytest.raises(RuleError):
        parse_grade(text)
