"""A school's bell schedule: when each period of each shift starts and ends.

The checks are pure functions over plain times (`check_bells`), tested by table; the services set
and clear periods the way every journal write is made (permission, lock, early return, write,
audit row in one transaction). The diary reads the schedule to show each lesson's time; a school
without one shows the period number only.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from birtutas.kernel import clock
from birtutas.kernel.audit import record
from birtutas.kernel.collation import class_key
from birtutas.kernel.context import Acting, service
from birtutas.kernel.events import Event
from birtutas.registry.models import Organization, User
from birtutas.registry.permissions import Action, Actor, require
from birtutas.registry.queries import current_year

from . import queries
from .models import BellPeriod, SchoolClass
from .rules import RuleError

PERIODS = range(1, 11)
SHIFTS = (1, 2, 3)
TIME = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*$")

# ------------------------------------------------------------------ pure rules


@dataclass(frozen=True)
class Bell:
    period: int
    starts: dt.time
    ends: dt.time


def parse_time(text: str | None) -> dt.time | None:
    """ "8:30", "08:30" or "08.30" as a time; None for an empty field. Anything else is refused."""
    if text is None or not text.strip():
        return None
    found = TIME.match(text)
    hour, minute = (int(found.group(1)), int(found.group(2))) if found else (99, 99)
    if hour > 23 or minute > 59:
        raise RuleError(_("Enter times as hours and minutes, such as 08:30."))
    return dt.time(hour, minute)


def parse_schedule(typed: Mapping[int, tuple[str | None, str | None]]) -> dict[int, tuple[dt.time, dt.time] | None]:
    """A shift's schedule as typed in the form, period by period: both times or neither (an empty
    period is one the shift does not have)."""
    times = {}
    for period, (starts, ends) in typed.items():
        start, end = parse_time(starts), parse_time(ends)
        if (start is None) != (end is None):
            raise RuleError(_("Period %(period)d needs both a start and an end, or neither.") % {"period": period})
        times[period] = (start, end) if start is not None else None
    return times


def check_bells(shift: int, bells: Iterable[Bell]) -> None:
    """Refuse a shift's schedule that a school could not ring: each rule names the period it breaks.

    A period is 1–10 and starts before it ends; periods follow their numbers without overlapping
    (period 3 starts no earlier than period 2 ends).
    """
    if shift not in SHIFTS:
        raise RuleError(_("The shift must be 1, 2 or 3."))
    ordered = sorted(bells, key=lambda b: b.period)
    for bell in ordered:
        if bell.period not in PERIODS:
            raise RuleError(_("A period must be from 1 to 10."))
        if bell.starts >= bell.ends:
            raise RuleError(_("Period %(period)d must start before it ends.") % {"period": bell.period})
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.period == later.period:
            raise RuleError(_("Period %(period)d is given twice.") % {"period": later.period})
        if later.starts < earlier.ends:
            raise RuleError(
                _("Period %(period)d must start after period %(other)d ends (%(time)s).")
                % {"period": later.period, "other": earlier.period, "time": earlier.ends.strftime("%H:%M")}
            )


# ------------------------------------------------------------------ reads


def shifts_in_use(organization: Organization) -> dict[int, list[SchoolClass]]:
    """The classes of the school's current year (`registry.queries.current_year`) by shift, for the
    director's page, in the order of the language being shown."""
    year = current_year(organization.pk, clock.today())
    classes = SchoolClass.objects.filter(organization=organization)
    if year is not None:
        classes = classes.filter(year__name=year.name)
    found: dict[int, list[SchoolClass]] = {shift: [] for shift in SHIFTS}
    language = get_language()
    for school_class in sorted(classes, key=lambda c: class_key(c.grade, c.letter, language)):
        found.setdefault(school_class.shift, []).append(school_class)
    return found


# ------------------------------------------------------------------ writes


def _as_json(bell: Bell | BellPeriod | None) -> dict | None:
    if bell is None:
        return None
    return {"starts": bell.starts.strftime("%H:%M"), "ends": bell.ends.strftime("%H:%M")}


@service
def set_bell_schedule(
    user: User, organization_id: int, shift: int, times: Mapping[int, tuple[dt.time, dt.time] | None]
) -> int:
    """Make the given periods of a shift ring at these times (None: no such period); returns how many changed.

    The whole shift is checked as it will be after the change, so two periods are never left
    overlapping, and nothing is written when any period is refused.
    """
    actor = Actor.for_user(user)
    organization = queries.directed_organization(actor, organization_id)
    if shift not in SHIFTS:
        raise RuleError(_("The shift must be 1, 2 or 3."))
    if any(period not in PERIODS for period in times):
        raise RuleError(_("A period must be from 1 to 10."))
    # The school's row is the lock every schedule change of the school queues on.
    list(Organization.objects.select_for_update().filter(pk=organization.pk).values_list("pk"))
    rows = {row.period: row for row in BellPeriod.objects.filter(organization=organization, shift=shift)}
    wanted = {period: Bell(period, row.starts, row.ends) for period, row in rows.items()}
    for period, found in times.items():
        if found is None:
            wanted.pop(period, None)
        else:
            wanted[period] = Bell(period, *found)
    check_bells(shift, wanted.values())
    changed = 0
    for period in sorted(times):
        row, after = rows.get(period), wanted.get(period)
        before = _as_json(row)
        if before == _as_json(after):
            continue
        if after is None:
            require(actor, Action.DELETE, row)
            row.delete()
        elif row is None:
            row = BellPeriod(
                organization=organization, shift=shift, period=period, starts=after.starts, ends=after.ends
            )
            require(actor, Action.CREATE, row)
            row.save()
        else:
            require(actor, Action.CHANGE, row)
            row.starts, row.ends = after.starts, after.ends
            row.save(update_fields=["starts", "ends"])
        record(
            Acting.of(user),
            Event.BELL_CLEAR if after is None else Event.BELL_SET,
            f"{organization.pk}:{shift}:{period}",
            before=before,
            after=_as_json(after),
            organization_id=organization.pk,
        )
        changed += 1
    return changed


@service
def set_class_shift(user: User, school_class_id: int, shift: int) -> bool:
    """Which shift's bell schedule a class follows; whether it changed."""
    actor = Actor.for_user(user)
    school_class = queries.directed_class(actor, school_class_id)
    if shift not in SHIFTS:
        raise RuleError(_("The shift must be 1, 2 or 3."))
    school_class = SchoolClass.objects.select_for_update().get(pk=school_class.pk)
    require(actor, Action.CHANGE, school_class)
    if school_class.shift == shift:
        return False
    before = school_class.shift
    school_class.shift = shift
    school_class.save(update_fields=["shift"])
    record(
        Acting.of(user),
        Event.CLASS_SET,
        f"class:{school_class.pk}",
        before={"shift": before},
        after={"shift": shift},
        organization_id=school_class.organization_id,
    )
    return True
