"""Table-driven tests of the pure rules behind the guardrails: future lessons, closing dates, and
how a timetable change moves, removes and creates future lessons."""

import datetime as dt

import pytest

from birtutas.journal import rules

D = dt.date
MON, TUE, WED = D(2026, 11, 23), D(2026, 11, 24), D(2026, 11, 25)
NEXT_MON, NEXT_TUE = D(2026, 11, 30), D(2026, 12, 1)


@pytest.mark.parametrize(
    ("lesson", "today", "refused"),
    [
        (D(2026, 11, 20), D(2026, 11, 20), False),  # today's lesson
        (D(2026, 11, 19), D(2026, 11, 20), False),  # a past lesson
        (D(2026, 11, 21), D(2026, 11, 20), True),  # tomorrow's
        (D(2027, 1, 1), D(2026, 12, 31), True),  # across the new year
    ],
)
def test_marks_wait_for_the_lesson_day(lesson, today, refused):
    if refused:
        with pytest.raises(rules.RuleError):
            rules.check_not_future(lesson, today)
    else:
        rules.check_not_future(lesson, today)


@pytest.mark.parametrize(
    ("last_day", "today", "refused"),
    [
        (D(2026, 12, 26), D(2026, 12, 26), True),  # the last day itself is still a school day
        (D(2026, 12, 26), D(2026, 12, 27), False),
        (D(2026, 12, 26), D(2026, 11, 25), True),  # term 2 in November
        (D(2027, 5, 25), D(2026, 11, 25), True),  # term 4 in November
    ],
)
def test_a_term_closes_after_its_last_day(last_day, today, refused):
    if refused:
        with pytest.raises(rules.RuleError):
            rules.check_term_ended(last_day, today)
    else:
        rules.check_term_ended(last_day, today)


@pytest.mark.parametrize(
    ("existing", "wanted", "move", "remove", "create"),
    [
        # nothing changes
        ([(1, 7, MON, 2)], [(7, MON, 2)], [], [], []),
        # Monday's lesson moves to Tuesday of the same week, keeping its row (topic, homework)
        ([(1, 7, MON, 2)], [(7, TUE, 5)], [(1, TUE, 5)], [], []),
        # a lesson in a week that no longer has the subject is removed
        ([(1, 7, MON, 2)], [], [], [1], []),
        # a new place with no lesson to move is created
        ([], [(7, TUE, 5)], [], [], [(7, TUE, 5)]),
        # moves stay inside their ISO week: next week's place gets a new lesson
        ([(1, 7, MON, 2)], [(7, NEXT_TUE, 5)], [], [1], [(7, NEXT_TUE, 5)]),
        # two subjects swap periods on one day: both lessons move, none is recreated
        ([(1, 7, MON, 2), (2, 8, MON, 3)], [(7, MON, 3), (8, MON, 2)], [(1, MON, 3), (2, MON, 2)], [], []),
        # one of two weekly lessons is dropped: the later one goes, the one in place stays
        ([(1, 7, MON, 2), (2, 7, WED, 4)], [(7, MON, 2)], [], [2], []),
        # a subject gets a second weekly lesson; next week is untouched by this week's plan
        (
            [(1, 7, MON, 2), (3, 7, NEXT_MON, 2)],
            [(7, MON, 2), (7, WED, 1), (7, NEXT_MON, 2), (7, NEXT_TUE, 1)],
            [],
            [],
            [(7, WED, 1), (7, NEXT_TUE, 1)],
        ),
    ],
)
def test_a_timetable_change_moves_before_it_removes_or_creates(existing, wanted, move, remove, create):
    plan = rules.plan_lessons(existing, wanted)
    assert sorted(plan.move) == sorted(move)
    assert list(plan.remove) == remove
    assert sorted(plan.create) == sorted(create)
