"""The bell schedule: its rules by table, its services against a real database, its page and the diary."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import translation

from birtutas.journal import bells
from birtutas.journal.bells import Bell, check_bells, parse_schedule, parse_time
from birtutas.journal.models import BellPeriod, SchoolClass
from birtutas.journal.rules import RuleError
from birtutas.kernel.errors import NotFound
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.testing import signed_in


def t(text: str) -> dt.time:
    return dt.time.fromisoformat(text)


def schedule(*rows: tuple[int, str, str]) -> list[Bell]:
    return [Bell(period, t(starts), t(ends)) for period, starts, ends in rows]


# ------------------------------------------------------------------ pure rules

GOOD = [
    ("one period", 1, schedule((1, "08:30", "09:15"))),
    ("back to back", 1, schedule((1, "08:30", "09:15"), (2, "09:15", "10:00"))),
    ("a gap and a missing period", 2, schedule((1, "13:30", "14:15"), (3, "15:20", "16:05"))),
    ("given out of order", 1, schedule((2, "09:25", "10:10"), (1, "08:30", "09:15"))),
    ("period ten, shift three", 3, schedule((10, "18:00", "18:40"))),
    ("empty", 1, []),
]

BAD = [
    ("ends before it starts", 1, schedule((1, "09:15", "08:30")), "Period 1 must start before it ends"),
    ("ends as it starts", 1, schedule((2, "09:15", "09:15")), "Period 2 must start before it ends"),
    ("overlap", 1, schedule((1, "08:30", "09:15"), (2, "09:10", "09:55")), "2 must start after period 1 ends (09:15)"),
    ("reversed", 1, schedule((1, "10:00", "10:45"), (2, "08:30", "09:15")), "2 must start after period 1 ends (10:45)"),
    ("gap", 1, schedule((1, "08:30", "11:00"), (4, "10:40", "11:25")), "4 must start after period 1 ends (11:00)"),
    ("period zero", 1, schedule((0, "08:00", "08:40")), "A period must be from 1 to 10"),
    ("period eleven", 1, schedule((11, "18:00", "18:40")), "A period must be from 1 to 10"),
    ("shift four", 4, schedule((1, "08:30", "09:15")), "The shift must be 1, 2 or 3"),
    ("a period twice", 1, schedule((1, "08:30", "09:15"), (1, "09:30", "10:15")), "Period 1 is given twice"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "shift", "rows"), GOOD, ids=[g[0] for g in GOOD])
def test_schedules_a_school_can_ring_pass(name, shift, rows):
    check_bells(shift, rows)


@pytest.mark.parametrize(("name", "shift", "rows", "message"), BAD, ids=[b[0] for b in BAD])
def test_schedules_no_school_can_ring_are_refused_naming_the_period(name, shift, rows, message):
    with translation.override("en"):
        with pytest.raises(RuleError) as refused:
            check_bells(shift, rows)
        assert message in str(refused.value.message)


TIMES = [("08:30", dt.time(8, 30)), ("8:05", dt.time(8, 5)), (" 13.40 ", dt.time(13, 40)), ("", None), (None, None)]
NOT_TIMES = ["24:00", "8:60", "830", "08:3", "noon", "08:30:00", "-1:00"]


@pytest.mark.parametrize(("text", "time"), TIMES)
def test_times_are_read_as_typed(text, time):
    assert parse_time(text) == time


@pytest.mark.parametrize("text", NOT_TIMES)
def test_what_is_not_a_time_is_refused(text):
    with pytest.raises(RuleError):
        parse_time(text)


SCHEDULES = [
    ("both times", {1: ("08:30", "09:15")}, {1: (t("08:30"), t("09:15"))}),
    ("neither: no such period", {1: ("", " "), 2: (None, None)}, {1: None, 2: None}),
    ("some periods only", {1: ("8:30", "9:15"), 2: ("", "")}, {1: (t("08:30"), t("09:15")), 2: None}),
]
HALF_SCHEDULES = [("a start only", {1: ("08:30", "09:15"), 4: ("11:00", "")}), ("an end only", {2: ("", "10:10")})]


@pytest.mark.parametrize(("name", "typed", "times"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_a_typed_schedule_is_read_period_by_period(name, typed, times):
    assert parse_schedule(typed) == times


@pytest.mark.parametrize(("name", "typed"), HALF_SCHEDULES, ids=[s[0] for s in HALF_SCHEDULES])
def test_a_period_with_one_time_only_is_refused_naming_it(name, typed):
    period = max(typed)
    with translation.override("en"):
        with pytest.raises(RuleError) as refused:
            parse_schedule(typed)
        assert str(refused.value.message) == f"Period {period} needs both a start and an end, or neither."


# ------------------------------------------------------------------ services

pytestmark_db = pytest.mark.django_db


def ring(world, user=None, shift=1, **periods):
    """Set periods given as p1=("08:30", "09:15"), p2=None, …"""
    times = {int(k[1:]): (None if v is None else (t(v[0]), t(v[1]))) for k, v in periods.items()}
    return bells.set_bell_schedule(user or world.a.director, world.a.organization.pk, shift, times)


@pytestmark_db
def test_the_director_sets_changes_and_clears_periods_each_on_record(world):
    assert ring(world, p1=("08:30", "09:15"), p2=("09:25", "10:10")) == 2
    assert ring(world, p1=("08:30", "09:15"), p2=("09:25", "10:10")) == 0  # a second click writes nothing
    assert ring(world, p2=("09:20", "10:05")) == 1
    assert ring(world, p1=None) == 1
    assert ring(world, p1=None) == 0
    rows = list(BellPeriod.objects.values_list("shift", "period", "starts", "ends"))
    assert rows == [(1, 2, t("09:20"), t("10:05"))]
    events = list(AuditEvent.objects.filter(event__startswith="bell.").order_by("pk"))
    key = f"{world.a.organization.pk}:1:"
    first, second, moved = (
        {"starts": "08:30", "ends": "09:15"},
        {"starts": "09:25", "ends": "10:10"},
        {"starts": "09:20", "ends": "10:05"},
    )
    assert [(e.event, e.object_key, e.before, e.after) for e in events] == [
        (Event.BELL_SET, key + "1", None, first),
        (Event.BELL_SET, key + "2", None, second),
        (Event.BELL_SET, key + "2", second, moved),
        (Event.BELL_CLEAR, key + "1", first, None),
    ]
    assert all(e.actor_id == world.a.director.pk and e.organization_id == world.a.organization.pk for e in events)


@pytestmark_db
def test_a_change_that_would_overlap_another_period_writes_nothing(world):
    ring(world, p1=("08:30", "09:15"), p2=("09:25", "10:10"))
    with translation.override("en"), pytest.raises(RuleError, match="Period 3 must start after period 2 ends"):
        ring(world, p1=("08:00", "08:45"), p3=("10:00", "10:45"))
    assert BellPeriod.objects.get(period=1).starts == t("08:30")  # the good half was not written either
    assert not BellPeriod.objects.filter(period=3).exists()
    # Each shift is its own schedule: the same times in shift 2 are no overlap.
    assert ring(world, shift=2, p1=("08:40", "09:20")) == 1


@pytestmark_db
def test_only_the_schools_administration_sets_its_bells(world):
    for user in (world.a.teacher, world.a.guardian, world.b.director, world.analyst):
        with pytest.raises(NotFound):
            ring(world, user=user, p1=("08:30", "09:15"))
    assert not BellPeriod.objects.exists()
    assert not AuditEvent.objects.filter(event__startswith="bell.").exists()


# ------------------------------------------------------------------ the page and the diary


@pytestmark_db
def test_the_bell_page_saves_a_shift_and_keeps_what_was_typed_when_refused(world):
    org = world.a.organization
    client = signed_in(world.a.director)
    url = f"/school/{org.pk}/bells/"
    assert f'href="{url}"' in client.get(f"/school/{org.pk}/").content.decode()
    response = client.post(
        url, {"shift": "1", "starts-1": "08:30", "ends-1": "09:15", "starts-2": "9:25", "ends-2": "10:10"}
    )
    assert response.status_code == 302 and response["Location"].endswith("?shift=1")
    assert BellPeriod.objects.count() == 2
    page = client.get(url).content.decode()
    assert 'name="starts-2" value="09:25"' in page
    # Period 3 starts before period 2 ends, period 4 has a start only: refused, nothing written, all kept.
    typed = {"shift": "1", "starts-1": "08:30", "ends-1": "09:15", "starts-2": "09:25", "ends-2": "10:10",
             "starts-3": "10:00", "ends-3": "10:45"}  # fmt: skip
    response = client.post(url, typed)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Period 3 must start after period 2 ends (10:10)" in page
    assert 'name="starts-3" value="10:00"' in page
    assert BellPeriod.objects.count() == 2
    response = client.post(url, {"shift": "1", "starts-4": "11:00"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    assert BellPeriod.objects.count() == 2
    # Everyone else: "not found", whatever they send.
    for user in (world.a.teacher, world.a.guardian, world.b.director):
        assert signed_in(user).get(url).status_code == 404
        assert signed_in(user).post(url, {"shift": "1", "starts-1": "07:00", "ends-1": "07:45"}).status_code == 404
    assert BellPeriod.objects.get(period=1).starts == t("08:30")


@pytestmark_db
def test_the_diary_shows_the_lesson_time_teacher_and_room_and_the_period_alone_without_bells(world):
    from birtutas.journal.models import TimetableSlot
    from birtutas.kernel.context import writing

    a = world.a
    week = f"/diary/{a.student.pk}/?week=2026-11-16"
    parent = signed_in(a.guardian)
    page = parent.get(week).content.decode()
    assert "<time" not in page  # no bell schedule: the period number only
    assert a.teacher.person.short_name in page
    ring(world, p2=("09:25", "10:10"))
    with writing():
        TimetableSlot.objects.filter(assignment=a.assignment_a).update(room="214")
    page = parent.get(week).content.decode()
    # Monday 16 November is period 2 of the slot on weekday 1: its time and room; Wednesday's has no slot room.
    assert page.count('<time datetime="09:25">09:25</time>–<time datetime="10:10">10:10</time>') == 3
    assert page.count("room 214") == 1
    # A bell schedule of the other shift is not this class's.
    ring(world, p2=None)
    ring(world, shift=2, p2=("14:00", "14:45"))
    assert "<time" not in parent.get(week).content.decode()
    assert re.search(r'class="period"><span class="visually-hidden">Period 2</span><span aria-hidden="true">2<', page)


@pytestmark_db
def test_the_director_moves_a_class_to_the_second_shift_and_its_diary_follows(world):
    a = world.a
    ring(world, p2=("09:25", "10:10"))
    ring(world, shift=2, p2=("14:00", "14:45"))
    week = f"/diary/{a.student.pk}/?week=2026-11-16"
    url = f"/school/class/{a.class_a.pk}/shift/"
    # Another school's director, and a teacher of the class, find no such class; a bad shift changes nothing.
    for user in (world.b.director, a.teacher):
        assert signed_in(user).post(url, {"shift": "2"}).status_code == 404
    refused = signed_in(a.director).post(url, {"shift": "4"}, follow=True)
    assert "The shift must be 1, 2 or 3." in refused.content.decode()
    assert SchoolClass.objects.get(pk=a.class_a.pk).shift == 1
    assert '<time datetime="09:25">' in signed_in(a.guardian).get(week).content.decode()
    director = signed_in(a.director)
    assert director.post(url, {"shift": "2"}).status_code == 302
    director.post(url, {"shift": "2"})  # a second click changes nothing more
    assert SchoolClass.objects.get(pk=a.class_a.pk).shift == 2
    page = signed_in(a.guardian).get(week).content.decode()
    assert '<time datetime="14:00">' in page and '<time datetime="09:25">' not in page
    events = AuditEvent.objects.filter(event=Event.CLASS_SET, object_key=f"class:{a.class_a.pk}")
    assert [(e.before, e.after, e.actor_id) for e in events] == [({"shift": 1}, {"shift": 2}, a.director.pk)]
