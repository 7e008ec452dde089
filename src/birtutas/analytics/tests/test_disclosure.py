"""Table-driven tests of the disclosure rules: no cell from fewer than 5 people, no total that gives one away."""

from __future__ import annotations

from decimal import Decimal

import pytest

from birtutas.analytics.disclosure import (
    ABSENCES,
    EMPTY,
    HIDDEN,
    MARKS,
    MIN_GROUP,
    SHOWN,
    STUDENTS,
    Tally,
    figures,
    over_schools,
    over_terms,
    shown_part,
)


def school(students, *, marked=None, absent=0, absences=None, computers=10, mark=7):
    """A school's tally: every marked student has one mark of `mark`; each absent student 2 absences."""
    marked = students if marked is None else marked
    return Tally(
        students=students,
        computers=computers,
        mark_sum=mark * marked,
        marks=marked,
        marked=marked,
        absences=2 * absent if absences is None else absences,
        absent=absent,
        absence_base=students,
    )


def states(tally):
    f = figures(tally)
    return tuple(c.state for c in f.cells())


def values(tally):
    f = figures(tally)
    return tuple(c.value for c in f.cells())


assert MIN_GROUP == 5


@pytest.mark.parametrize(
    ("tally", "expected"),
    [
        # students: 0 is a fact about no one; 1-4 hides the whole row; 5 shows it
        (school(0), (SHOWN, EMPTY, EMPTY, EMPTY)),
        (school(1), (HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
        (school(4), (HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
        (school(5), (SHOWN, SHOWN, SHOWN, SHOWN)),
        # marks: of 0 students nothing to show; of 4 hidden; of 5 shown, whatever the school's size
        (school(300, marked=0), (SHOWN, EMPTY, SHOWN, SHOWN)),
        (school(300, marked=4), (SHOWN, HIDDEN, SHOWN, SHOWN)),
        (school(300, marked=5), (SHOWN, SHOWN, SHOWN, SHOWN)),
        # absences: nobody absent is a fact about everyone; 1-4 absent students are hidden; 5 shown
        (school(300, absent=0), (SHOWN, SHOWN, SHOWN, SHOWN)),
        (school(300, absent=1), (SHOWN, SHOWN, HIDDEN, SHOWN)),
        (school(300, absent=4), (SHOWN, SHOWN, HIDDEN, SHOWN)),
        (school(300, absent=5), (SHOWN, SHOWN, SHOWN, SHOWN)),
        (school(5, absent=5), (SHOWN, SHOWN, SHOWN, SHOWN)),
    ],
)
def test_a_cell_is_shown_only_when_drawn_from_five_people_or_more(tally, expected):
    assert states(tally) == expected


@pytest.mark.parametrize(
    ("tally", "expected"),
    [
        (school(8, computers=2, mark=7, absent=5), (8, Decimal("7.00"), Decimal("1.3"), Decimal("25.0"))),
        (school(3, computers=2), (None, None, None, None)),  # never the number, even a harmless one
        (
            Tally(students=6, mark_sum=20, marks=3, marked=5, absences=1, absent=0, absence_base=6),
            (6, Decimal("6.67"), Decimal("0.2"), Decimal("0.0")),
        ),
    ],
)
def test_values_are_rounded_and_hidden_cells_carry_no_number(tally, expected):
    assert values(tally) == expected


# Complementary cases: a total over schools adds up only what each school's row shows.
@pytest.mark.parametrize(
    ("schools", "expected_students", "expected_states"),
    [
        # one school hidden (3 students): the district shows the other two only, so nothing subtracts to 3
        ([school(100), school(50), school(3)], 150, (SHOWN, SHOWN, SHOWN, SHOWN)),
        # every school hidden: the total is hidden too, not a 0 that would read as "no students"
        ([school(3), school(4)], None, (HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
        # no school at all: nothing hidden, nothing to show
        ([], 0, (SHOWN, EMPTY, EMPTY, EMPTY)),
        # two schools of 4: together 8, yet each is hidden, so the total stays hidden (8 - 4 = 4)
        ([school(4), school(4)], None, (HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
        # absences of 2 students in a big school: left out of the district's absences, which stay shown
        ([school(100, absent=10), school(200, absent=2)], 300, (SHOWN, SHOWN, SHOWN, SHOWN)),
        # the only absences were hidden ones: the total's absences are hidden, not "0"
        ([school(200, absent=2)], 200, (SHOWN, SHOWN, HIDDEN, SHOWN)),
        # marks of 4 students only: hidden in the school and in the total
        ([school(200, marked=4)], 200, (SHOWN, HIDDEN, SHOWN, SHOWN)),
    ],
)
def test_a_total_is_the_sum_of_the_shown_parts(schools, expected_students, expected_states):
    total = over_schools(schools)
    assert states(total) == expected_states
    assert figures(total).students.value == expected_students


def test_no_subtraction_recovers_a_hidden_absence_figure():
    big, small = school(100, absent=10, absences=30), school(200, absent=2, absences=40)
    total = over_schools([big, small])
    shown = figures(total).absences_per_student
    # The district's absences over its students equal the big school's alone: the 40 are nowhere.
    assert shown.value == Decimal("0.3")  # 30 / 100, not 70 / 300
    assert total.absences == 30 and total.absence_base == 100
    assert ABSENCES in total.hidden
    # A district shows what a region adds: the region of two districts equals the sum of the districts.
    other = school(60, absent=6, absences=12)
    region = over_schools([big, small, other])
    assert region == over_schools([over_schools([big, small]), over_schools([other])])


def test_a_shown_part_keeps_exactly_what_its_row_shows():
    assert shown_part(school(3)) == Tally(hidden=frozenset({STUDENTS, MARKS, ABSENCES}))
    assert shown_part(school(0)) == Tally()
    part = shown_part(school(50, marked=4, absent=3))
    assert (part.students, part.marks, part.absences, part.absence_base) == (50, 0, 0, 0)
    assert part.hidden == {MARKS, ABSENCES}
    assert shown_part(school(50)) == school(50)


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        # a year of two terms, both shown: both add up
        ([school(50, absent=5, absences=10), school(50, absent=6, absences=20)], (SHOWN, Decimal("0.6"))),
        # term 1 hidden (2 absent students): the year leaves it out, so year − term 2 is not term 1
        ([school(50, absent=2, absences=40), school(50, absent=6, absences=20)], (SHOWN, Decimal("0.4"))),
        # every term hidden: the year is hidden
        ([school(50, absent=2), school(50, absent=3)], (HIDDEN, None)),
        # no lessons at all
        ([], (SHOWN, None)),
    ],
)
def test_a_whole_year_adds_up_only_the_terms_shown(terms, expected):
    year = over_terms(terms)
    cell = figures(year).absences_per_student
    if not terms:
        assert year == Tally()
        return
    assert (cell.state, cell.value) == expected
    assert year.students == 50  # the same students in every term: not added up


def test_a_year_of_terms_each_marked_by_few_stays_hidden():
    # Four terms of 4 marked students each: 16 marks, but every part is hidden, and so is the year.
    year = over_terms([school(60, marked=4)] * 4)
    assert figures(year).mean_mark.state == HIDDEN
