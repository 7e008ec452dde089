from types import SimpleNamespace as P

import pytest

from birtutas.kernel.collation import namesakes, person_key, sort_key, sorted_people


@pytest.mark.parametrize(
    "language, names",
    [
        # Kazakh: each Kazakh letter right after its neighbour in the Kazakh alphabet, not after Я.
        ("kk", ["Абенов", "Әбенов", "Бекова", "Ғалымжан", "Дәулет"]),
        ("kk", ["Кенжебаев", "Қасымов", "Лебедев"]),
        ("kk", ["Нұрланов", "Ңа", "Омаров", "Өмірзақ", "Петров"]),
        ("kk", ["Уәлиев", "Ұлан", "Үсенов", "Фёдоров", "Хасенов", "Һәкім", "Цой"]),
        ("kk", ["Ыбыраев", "Ісмағұлов", "Эльвира"]),  # І comes after Ы in Kazakh
        ("kk", ["Ежов", "Ёлкин", "Жанат"]),  # Ё is a letter of its own
        # Russian: Ё with Е; Kazakh letters after the Russian letter they are built on.
        ("ru", ["Ежов", "Ёлкин", "Ершов"]),
        ("ru", ["Абенов", "Әбенов", "Бекова"]),
        ("ru", ["Иванов", "Ісмағұлов", "Йорданов", "Кенжебаев", "Қасымов", "Лебедев"]),
        ("ru", ["Ыбыраев", "Эльвира"]),
        # Case never comes first; short before long; Latin after Cyrillic; separators first.
        ("kk", ["абай", "Абай", "Абайұлы"]),
        ("kk", ["Ян", "Adams"]),
        ("kk", ["Абай Құнанбаев", "Абайлы"]),
        ("en", ["Кенжебаев", "Қасымов", "Фёдоров"]),  # other languages follow Kazakh
    ],
)
def test_alphabetical_order(language, names):
    for shuffled in (list(reversed(names)), names[1:] + names[:1]):
        assert sorted(shuffled, key=lambda n: sort_key(n, language)) == names


def test_code_point_order_is_what_we_fix():
    assert sorted(["Қасымов", "Фёдоров"]) == ["Фёдоров", "Қасымов"]


def test_people_sort_by_last_first_patronymic_then_birth_date():
    a = P(pk=1, last_name="Қасымов", first_name="Ерлан", patronymic="", birth_date="2012-01-01")
    b = P(pk=2, last_name="Кенжебаев", first_name="Арман", patronymic="", birth_date="2012-01-01")
    c = P(pk=3, last_name="Қасымов", first_name="Әлихан", patronymic="", birth_date="2012-01-01")
    d = P(pk=4, last_name="Қасымов", first_name="Әлихан", patronymic="", birth_date="2011-05-05")
    assert [p.pk for p in sorted_people([a, b, c, d], "kk")] == [2, 4, 3, 1]
    assert person_key(a, "ru") > person_key(b, "ru")


def test_namesakes_are_those_sharing_the_shown_name():
    people = [
        P(pk=1, last_name="Сейітов", first_name="Арман"),
        P(pk=2, last_name="сейітов", first_name="Арман "),
        P(pk=3, last_name="Сейітов", first_name="Айдос"),
        P(pk=4, last_name="Семёнова", first_name="Анна"),
        P(pk=5, last_name="Семенова", first_name="Анна"),
    ]
    assert namesakes(people) == {1, 2, 4, 5}
    assert namesakes(people[:1]) == set()
