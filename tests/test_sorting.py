"""Names as a reader of Kazakh or Russian expects them: in that alphabet's order, namesakes told apart."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from birtutas.journal.models import Enrollment
from birtutas.testing import person

pytestmark = pytest.mark.django_db

NAMES = [
    ("Қасымов", "Ерлан"),
    ("Әбенов", "Дәулет"),
    ("Кенжебаев", "Арман"),
    ("Абенов", "Бауыржан"),
    ("Фёдоров", "Иван"),
]


def _page(user, language: str, url: str) -> str:
    user.language = language
    user.save(update_fields=["language"])
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def _order(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=lambda name: html.index(name))


@pytest.fixture
def kazakh_class(world):
    school = world.a
    for last, first in NAMES:
        Enrollment.objects.create(school_class=school.class_a, student=person(last, first, dt.date(2013, 1, 2), "M"))
    return school


@pytest.mark.parametrize(
    "language, expected",
    [
        ("kk", ["Абенов", "Әбенов", "Кенжебаев", "Қасымов", "Фёдоров"]),
        # Russian order puts the Kazakh letters after the Russian letter they are built on, too.
        ("ru", ["Абенов", "Әбенов", "Кенжебаев", "Қасымов", "Фёдоров"]),
    ],
)
def test_class_report_lists_students_in_the_readers_alphabet(world, kazakh_class, language, expected):
    html = _page(
        kazakh_class.director, language, f"/school/class/{kazakh_class.class_a.pk}/report/?term={world.term.pk}"
    )
    assert _order(html, [last for last, _first in NAMES]) == expected


def test_namesakes_are_shown_with_their_birth_date(world, kazakh_class):
    twin = person("Қасымов", "Ерлан", dt.date(2012, 12, 31), "M")
    Enrollment.objects.create(school_class=kazakh_class.class_a, student=twin)
    html = _page(kazakh_class.director, "ru", f"/school/class/{kazakh_class.class_a.pk}/report/?term={world.term.pk}")
    names = re.findall(r"Қасымов Ерлан(?: \(([\d.]+)\))?", html)
    assert sorted(names) == ["02.01.2013", "31.12.2012"]
    assert "Кенжебаев Арман (" not in html
