"""Alphabetical order of names and titles as a Kazakh or a Russian reader expects it.

Python's default order is by code point, which puts Ә, Ғ, Қ, Ң, Ө, Ұ, Ү, Һ and І (U+04xx) after
every Russian letter: "Қасымов" after "Фёдоров". Here each language has its own alphabet:

- Kazakh (the default): А Ә Б В Г Ғ Д Е Ё Ж З И Й К Қ Л М Н Ң О Ө П Р С Т У Ұ Ү Ф Х Һ Ц Ч Ш Щ Ъ
  Ы І Ь Э Ю Я, each letter its own place;
- Russian: the Russian alphabet, Ё sorting with Е (as Russian dictionaries do) and the Kazakh
  letters right after the Russian letter they are built on (Ә after А, Қ after К, І after И …).

Then Latin letters, then anything else by code point; case and Ё/Е only break ties. Lists of
people on a page (a class, a school) are sorted here, in Python: SQLite has no such collation and
PostgreSQL's ICU collations are not guaranteed to be built in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

KAZAKH = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
RUSSIAN = "аәбвгғдеёжзиійкқлмнңоөпрстуұүфхһцчшщъыьэюя"
LATIN = "abcdefghijklmnopqrstuvwxyz"

# Letters that sort as another at the first level, told apart only when everything else is equal.
_SAME_AS = {"ru": {"ё": "е"}}


def _ranks(alphabet: str) -> dict[str, int]:
    ranks = {letter: 10 + i for i, letter in enumerate(alphabet)}
    ranks.update({letter: 10 + len(alphabet) + i for i, letter in enumerate(LATIN)})
    return ranks


_RANKS = {"kk": _ranks(KAZAKH), "ru": _ranks(RUSSIAN)}
_OTHER = 1000  # digits, punctuation and other scripts: after the letters, by code point


def _language(language: str | None) -> str:
    return "ru" if (language or "").lower().startswith("ru") else "kk"


def sort_key(text: str | None, language: str | None) -> tuple:
    """A key that orders `text` alphabetically for readers of `language` ("kk", "ru"; others as kk)."""
    language = _language(language)
    ranks = _RANKS[language]
    same_as = _SAME_AS.get(language, {})
    lower = (text or "").strip().lower()
    primary = []
    for char in lower:
        if char in " -'’.":  # "Абай-Құнанбаев", "Д'Артаньян": separators sort before any letter
            primary.append(0)
        elif char.isdigit():
            primary.append(1 + int(char) / 10)
        else:
            primary.append(ranks.get(same_as.get(char, char), _OTHER + ord(char)))
    secondary = tuple(ranks.get(char, _OTHER + ord(char)) for char in lower)
    lower_first = tuple(char.isupper() for char in (text or "").strip())
    return (tuple(primary), secondary, lower_first, text or "")


def person_key(person: Any, language: str | None) -> tuple:
    """Last name, first name, patronymic; then birth date and id, so namesakes keep a stable order."""
    return (
        sort_key(getattr(person, "last_name", ""), language),
        sort_key(getattr(person, "first_name", ""), language),
        sort_key(getattr(person, "patronymic", ""), language),
        getattr(person, "birth_date", None) or "",
        getattr(person, "pk", None) or 0,
    )


def class_key(grade: int, letter: str | None, language: str | None) -> tuple:
    """Classes in order: by grade (9 before 10), then by letter in the language's alphabet ("Ә" after "А")."""
    return (grade, sort_key(letter, language))


def sorted_people(people: Iterable, language: str | None) -> list:
    return sorted(people, key=lambda person: person_key(person, language))


def namesakes(people: Iterable) -> set[int]:
    """The ids of people whose shown name (last and first name) another person in the list shares."""
    seen: dict[str, list[int]] = {}
    for person in people:
        name = f"{person.last_name} {person.first_name}".casefold().replace("ё", "е")
        seen.setdefault(" ".join(name.split()), []).append(person.pk)
    return {pk for ids in seen.values() if len(ids) > 1 for pk in ids}


def sorted_by_name(items: Iterable, language: str | None, name=lambda item: item.name) -> list:
    """Subjects, schools, districts: by their name (in the language being shown) in that language's order."""
    return sorted(items, key=lambda item: sort_key(name(item), language))
