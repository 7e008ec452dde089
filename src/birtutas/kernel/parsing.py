"""Lenient parsing of form and query values: a bad value becomes None, and the caller decides."""

import datetime as dt


def to_int(text) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return None


def to_date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None
