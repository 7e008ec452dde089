"""Lenient parsing of form, query and path values: a bad value becomes None, and the caller decides.

A number no database column can hold is as bad as no number: it becomes None here, never an
OverflowError or a DataError later. A real date beyond the years a school can mean is clamped to
them, so date arithmetic on it (the diary's previous and next week) can never overflow.
"""

import datetime as dt

from django.urls import converters, register_converter
from django.utils.translation import gettext as _

from birtutas.kernel.errors import ServiceError

# Object ids are signed 64-bit on every database we run on (bigint on PostgreSQL, INTEGER on SQLite).
MAX_ID = 2**63 - 1
# Dates a school can mean: the diary steps a week either side, so neither end may reach date.min or date.max.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2199, 12, 31)


def to_int(text) -> int | None:
    try:
        value = int(text)
    except (TypeError, ValueError):
        return None
    return value if -MAX_ID <= value <= MAX_ID else None


def to_date(text: str | None) -> dt.date | None:
    try:
        value = dt.date.fromisoformat(text) if text else None
    except (TypeError, ValueError):
        return None
    return None if value is None else min(max(value, DATE_MIN), DATE_MAX)


def require_date(text: str | None) -> dt.date | None:
    """A typed date: None when nothing was typed, a ServiceError (400) when it is not a date."""
    text = (text or "").strip()
    if not text:
        return None
    value = to_date(text)
    if value is None:
        raise ServiceError(_("“%(value)s” is not a date like 2026-09-01.") % {"value": text})
    return value


class ObjectIdConverter:
    """`<id:name>` in a URL: a positive whole number that fits an id column; anything else is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 1 <= number <= MAX_ID:
            raise ValueError(value)  # the resolver takes it as "no match"
        return number

    def to_url(self, value) -> str:
        return str(int(value))


def register_id_converter() -> None:
    """Register `<id:…>` once, whichever URL module is imported first."""
    if "id" not in converters.get_converters():
        register_converter(ObjectIdConverter, "id")
