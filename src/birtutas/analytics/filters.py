"""The area overview's filters as the address carries them: ?region=&district=&year=&term=.

Only the form of each value is checked here (a bad one is refused with a 400 that says which list
to choose from); whether a region, district or year is in the actor's area is the query's to say,
and a district outside it is "not found".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from birtutas.kernel.errors import ServiceError
from birtutas.kernel.parsing import to_int

YEAR = re.compile(r"([0-9]{4})-([0-9]{4})")
TERMS = (1, 2, 3, 4)  # the four terms (тоқсан) of a school year


@dataclass(frozen=True)
class AreaFilters:
    region: int | None = None
    district: int | None = None  # a district narrows to its schools; the region is then its own
    year: str | None = None  # "2026-2027"; None: the current school year
    term: int | None = None  # None: the whole year, or the current term when no year was asked for

    @property
    def current(self) -> bool:
        """Nothing asked about time: the current term of the current year."""
        return self.year is None and self.term is None


def _id(query, name: str, message) -> int | None:
    text = (query.get(name) or "").strip()
    if not text:
        return None
    value = to_int(text)
    if value is None or value < 1:
        raise ServiceError(message)
    return value


def parse(query) -> AreaFilters:
    """The filters of a query string (a QueryDict or a dict); an empty value is no filter."""
    region = _id(query, "region", _("Choose a region from the list."))
    district = _id(query, "district", _("Choose a district from the list."))
    year = (query.get("year") or "").strip() or None
    if year is not None:
        match = YEAR.fullmatch(year)
        if match is None or int(match.group(2)) != int(match.group(1)) + 1:
            raise ServiceError(_("Choose a school year from the list."))
    term_text = (query.get("term") or "").strip()
    term = None
    if term_text:
        term = to_int(term_text)
        if term not in TERMS:
            raise ServiceError(_("Choose a term from the list."))
    return AreaFilters(region=region, district=district, year=year, term=term)
