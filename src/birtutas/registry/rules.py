"""Pure registry rules, no Django models: the IIN (ЖСН / ИИН) and how it is shown, and the school calendar.

The IIN is 12 digits: YYMMDD birth date, a century-and-sex digit (1–6), four serial digits
and a check digit computed with two weight sequences (the second used when the first
gives 10; a second 10 means the number cannot be valid).

A school year holds terms (or semesters) in order, not overlapping, inside the year, and holidays
inside the year; a school day is a Monday to Saturday inside a term and outside every holiday.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

WEIGHTS_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# digit 7 -> (century start, sex)
CENTURY_SEX = {
    1: (1800, "M"),
    2: (1800, "F"),
    3: (1900, "M"),
    4: (1900, "F"),
    5: (2000, "M"),
    6: (2000, "F"),
}


class IINError(ValueError):
    """A specific reason an IIN is not acceptable; `code` is stable, `message` is translated."""

    def __init__(self, code: str, message):
        super().__init__(str(message))
        self.code = code
        self.message = message


@dataclass(frozen=True)
class IINFacts:
    birth_date: dt.date
    sex: str  # "M" or "F"


def iin_check_digit(first_eleven: str) -> int | None:
    """The check digit for 11 digits, or None when both weight sequences give 10."""
    digits = [int(c) for c in first_eleven]
    for weights in (WEIGHTS_FIRST, WEIGHTS_SECOND):
        remainder = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if remainder != 10:
            return remainder
    return None


def parse_iin(iin: str) -> IINFacts:
    """Validate an IIN and return the birth date and sex it encodes, or raise IINError."""
    if not isinstance(iin, str) or not iin.isascii() or not iin.isdigit():
        raise IINError("digits", _("The IIN must consist of digits only."))
    if len(iin) != 12:
        raise IINError("length", _("The IIN must have 12 digits, not %(count)d.") % {"count": len(iin)})
    century_digit = int(iin[6])
    if century_digit not in CENTURY_SEX:
        raise IINError("century", _("The 7th digit of the IIN (century and sex) must be from 1 to 6."))
    century, sex = CENTURY_SEX[century_digit]
    try:
        birth_date = dt.date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))
    except ValueError:
        raise IINError("date", _("The first six digits of the IIN are not a valid birth date (YYMMDD).")) from None
    expected = iin_check_digit(iin[:11])
    if expected is None or expected != int(iin[11]):
        raise IINError("checksum", _("The check digit of the IIN is wrong: the number has a typo."))
    return IINFacts(birth_date=birth_date, sex=sex)


def check_iin_matches(iin: str, birth_date: dt.date | None, sex: str | None) -> IINFacts:
    """Validate an IIN against a person's record: the birth date and sex must agree."""
    facts = parse_iin(iin)
    if birth_date is not None and facts.birth_date != birth_date:
        raise IINError(
            "date_mismatch",
            _("The IIN encodes the birth date %(iin_date)s, but the record says %(record_date)s.")
            % {"iin_date": facts.birth_date.isoformat(), "record_date": birth_date.isoformat()},
        )
    if sex is not None and facts.sex != sex:
        raise IINError("sex_mismatch", _("The IIN encodes a different sex than the record."))
    return facts


def make_iin(birth_date: dt.date, sex: str, serial: int) -> str | None:
    """Build a valid IIN for a birth date, sex and 4-digit serial; None if that serial has no check digit."""
    century = (birth_date.year // 100) * 100
    digit = next((d for d, (c, s) in CENTURY_SEX.items() if c == century and s == sex), None)
    if digit is None:
        raise ValueError("An IIN can only encode birth years 1800-2099 and sex 'M' or 'F'.")
    if not 0 <= serial <= 9999:
        raise ValueError("The IIN serial must be from 0 to 9999.")
    first = f"{birth_date:%y%m%d}{digit}{serial:04d}"
    check = iin_check_digit(first)
    return None if check is None else f"{first}{check}"


def mask_iin(iin: str) -> str:
    """What lists show: enough to tell two people apart, too little to identify anyone."""
    if len(iin) != 12:
        return "•" * 12
    return f"{iin[:2]}••••••••{iin[-2:]}"


# ---------------------------------------------------------------- the school calendar

SCHOOL_WEEKDAYS = 6  # Monday (1) to Saturday (6): many schools teach on Saturdays


@dataclass(frozen=True)
class Span:
    """Dates from the first to the last day, both included."""

    starts_on: dt.date
    ends_on: dt.date

    def covers(self, day: dt.date) -> bool:
        return self.starts_on <= day <= self.ends_on

    def overlaps(self, other: Span) -> bool:
        return self.starts_on <= other.ends_on and other.starts_on <= self.ends_on


@dataclass(frozen=True)
class TermDates(Span):
    number: int = 1


def _a_year_after(day: dt.date) -> dt.date:
    """The same date a year later (29 February becomes 1 March)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return dt.date(day.year + 1, 3, 1)


def _day(date: dt.date) -> str:
    return date.strftime("%d.%m.%Y")


def term_name(number: int, semesters: bool) -> str:
    return str(
        _("Semester %(number)d") % {"number": number} if semesters else _("Term %(number)d") % {"number": number}
    )


def calendar_problems(
    year: Span, terms: Sequence[TermDates], holidays: Sequence[Span] = (), *, semesters: bool = False
) -> list[str]:
    """Everything wrong with a school year's dates, each said in the user's language (none: all is well).

    The year ends after it begins and lasts at most a year; terms (`semesters`: semesters) are
    numbered 1, 2, 3… without gaps, each ends on or after its first day, inside the year, and each
    begins after the previous one ends; holidays end on or after their first day, inside the year.
    """
    problems: list[str] = []
    year_ok = False
    if year.ends_on <= year.starts_on:
        problems.append(_("The school year must end after it begins."))
    elif year.ends_on >= _a_year_after(year.starts_on):
        problems.append(_("A school year cannot be longer than a year."))
    else:
        year_ok = True
    if not terms:
        problems.append(_("A school year needs at least one term."))
    numbers = [t.number for t in terms]
    if sorted(numbers) != list(range(1, len(numbers) + 1)):
        problems.append(
            _("Terms are numbered 1, 2, 3… in order, without gaps or repeats (not %(numbers)s).")
            % {"numbers": ", ".join(str(n) for n in numbers)}
        )
    ordered = sorted(terms, key=lambda t: (t.number, t.starts_on))
    for term in ordered:
        name = term_name(term.number, semesters)
        if term.ends_on < term.starts_on:
            problems.append(
                _("%(term)s ends on %(end)s, before its first day %(start)s.")
                % {"term": name, "end": _day(term.ends_on), "start": _day(term.starts_on)}
            )
        elif year_ok and not (year.covers(term.starts_on) and year.covers(term.ends_on)):
            problems.append(
                _("%(term)s (%(start)s – %(end)s) is not inside the school year (%(year_start)s – %(year_end)s).")
                % {
                    "term": name,
                    "start": _day(term.starts_on),
                    "end": _day(term.ends_on),
                    "year_start": _day(year.starts_on),
                    "year_end": _day(year.ends_on),
                }
            )
    for previous, term in zip(ordered, ordered[1:], strict=False):
        if term.starts_on <= previous.ends_on:
            problems.append(
                _("%(term)s must begin after %(previous)s ends (%(end)s).")
                % {
                    "term": term_name(term.number, semesters),
                    "previous": term_name(previous.number, semesters),
                    "end": _day(previous.ends_on),
                }
            )
    for holiday in holidays:
        if holiday.ends_on < holiday.starts_on:
            problems.append(
                _("A holiday cannot end on %(end)s, before its first day %(start)s.")
                % {"end": _day(holiday.ends_on), "start": _day(holiday.starts_on)}
            )
        elif year_ok and not (year.covers(holiday.starts_on) and year.covers(holiday.ends_on)):
            problems.append(
                _("The holiday %(start)s – %(end)s is not inside the school year (%(year_start)s – %(year_end)s).")
                % {
                    "start": _day(holiday.starts_on),
                    "end": _day(holiday.ends_on),
                    "year_start": _day(year.starts_on),
                    "year_end": _day(year.ends_on),
                }
            )
    return [str(p) for p in problems]


def is_school_day(day: dt.date, terms: Iterable[Span], holidays: Iterable[Span]) -> bool:
    """Monday to Saturday, inside a term, and not a holiday."""
    return (
        day.isoweekday() <= SCHOOL_WEEKDAYS
        and any(term.covers(day) for term in terms)
        and not any(holiday.covers(day) for holiday in holidays)
    )


def school_days(first: dt.date, last: dt.date, terms: Sequence[Span], holidays: Sequence[Span]) -> list[dt.date]:
    """The school days from `first` to `last`, both included."""
    days, day = [], first
    while day <= last:
        if is_school_day(day, terms, holidays):
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def term_for(day: dt.date, terms: Sequence):
    """The term a day belongs to; between terms, the one that ended last; before the first, the first.

    Any objects with `starts_on` and `ends_on` will do (TermDates, or the registry's Term rows).
    """
    ordered = sorted(terms, key=lambda t: t.starts_on)
    if not ordered:
        return None
    covering = next((t for t in ordered if t.starts_on <= day <= t.ends_on), None)
    if covering is not None:
        return covering
    started = [t for t in ordered if t.starts_on <= day]
    return started[-1] if started else ordered[0]


def semesters_from_terms(terms: Sequence[TermDates]) -> list[TermDates]:
    """Two semesters from a school year's terms, for a college or university adopting the school calendar:
    the first half of the terms makes the first semester, the rest the second."""
    ordered = sorted(terms, key=lambda t: t.number)
    if len(ordered) <= 2:
        return [TermDates(t.starts_on, t.ends_on, number=i) for i, t in enumerate(ordered, start=1)]
    half = (len(ordered) + 1) // 2
    first, second = ordered[:half], ordered[half:]
    return [
        TermDates(first[0].starts_on, first[-1].ends_on, number=1),
        TermDates(second[0].starts_on, second[-1].ends_on, number=2),
    ]
