"""Pure registry rules, no Django models: the IIN (ЖСН / ИИН) and how it is shown.

The IIN is 12 digits: YYMMDD birth date, a century-and-sex digit (1–6), four serial digits
and a check digit computed with two weight sequences (the second used when the first
gives 10; a second 10 means the number cannot be valid).
"""

from __future__ import annotations

import datetime as dt
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
