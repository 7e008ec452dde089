"""The school's date. The whole country is on UTC+5 since March 2024, so "today" is the date there,
whatever the server's own time zone or clock says about where it stands."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

KAZAKHSTAN = dt.timezone(dt.timedelta(hours=5), "UTC+5")


def today() -> dt.date:
    """The school's date now; `BIRTUTAS_TODAY` (ISO date) pins it for tests and demonstrations."""
    pinned = getattr(settings, "BIRTUTAS_TODAY", None)
    if pinned:
        return dt.date.fromisoformat(pinned) if isinstance(pinned, str) else pinned
    return dt.datetime.now(KAZAKHSTAN).date()
