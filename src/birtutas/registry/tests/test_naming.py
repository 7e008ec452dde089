"""Table-driven tests of the naming rules of a family (no database)."""

from __future__ import annotations

import pytest

from birtutas.registry.naming import (
    FEMALE,
    KAZAKH_STYLE,
    MALE,
    RUSSIAN_STYLE,
    child_names,
    mens_surname,
    patronymic,
    russian_spelling,
    surname_for,
)

# father's first name, son's and daughter's patronymic in the Kazakh style, then in the Russian style
PATRONYMICS = [
    ("Асқар", "Асқарұлы", "Асқарқызы", "Асқарович", "Асқаровна"),
    ("Серік", "Серікұлы", "Серікқызы", "Серікович", "Серіковна"),
    ("Ерғали", "Ерғалиұлы", "Ерғалиқызы", "Ерғалиевич", "Ерғалиевна"),  # a vowel: -евич
    ("Мұса", "Мұсаұлы", "Мұсақызы", "Мұсаевич", "Мұсаевна"),
    ("Абылай", "Абылайұлы", "Абылайқызы", "Абылаевич", "Абылаевна"),  # -й: -евич
    ("Иван", "Иванұлы", "Иванқызы", "Иванович", "Ивановна"),
    ("Сергей", "Сергейұлы", "Сергейқызы", "Сергеевич", "Сергеевна"),
    ("Николай", "Николайұлы", "Николайқызы", "Николаевич", "Николаевна"),
    ("Игорь", "Игорьұлы", "Игорьқызы", "Игоревич", "Игоревна"),  # -ь: -евич
    ("Юрий", "Юрийұлы", "Юрийқызы", "Юрьевич", "Юрьевна"),  # -ий: -ьевич
    ("Виталий", "Виталийұлы", "Виталийқызы", "Витальевич", "Витальевна"),
    ("Дмитрий", "Дмитрийұлы", "Дмитрийқызы", "Дмитриевич", "Дмитриевна"),  # irregular
    ("Никита", "Никитаұлы", "Никитақызы", "Никитич", "Никитична"),  # irregular
    ("Илья", "Ильяұлы", "Ильяқызы", "Ильич", "Ильинична"),  # irregular
    ("Павел", "Павелұлы", "Павелқызы", "Павлович", "Павловна"),  # the vowel drops
    ("Лев", "Левұлы", "Левқызы", "Львович", "Львовна"),
]


@pytest.mark.parametrize(("father", "son_kk", "daughter_kk", "son_ru", "daughter_ru"), PATRONYMICS)
def test_patronymic_comes_from_the_fathers_name(father, son_kk, daughter_kk, son_ru, daughter_ru):
    assert patronymic(father, MALE, KAZAKH_STYLE) == son_kk
    assert patronymic(father, FEMALE, KAZAKH_STYLE) == daughter_kk
    assert patronymic(father, MALE, RUSSIAN_STYLE) == son_ru
    assert patronymic(father, FEMALE, RUSSIAN_STYLE) == daughter_ru


# the family's surname as given, a man's form, a woman's form
SURNAMES = [
    ("Иванов", "Иванов", "Иванова"),
    ("Иванова", "Иванов", "Иванова"),  # either form names the family
    ("Әбенов", "Әбенов", "Әбенова"),
    ("Қасымова", "Қасымов", "Қасымова"),
    ("Ерғалиев", "Ерғалиев", "Ерғалиева"),
    ("Фёдоров", "Фёдоров", "Фёдорова"),
    ("Ғабдуллин", "Ғабдуллин", "Ғабдуллина"),
    ("Никитин", "Никитин", "Никитина"),
    ("Ковальский", "Ковальский", "Ковальская"),
    ("Ковальская", "Ковальский", "Ковальская"),
    ("Мұратұлы", "Мұратұлы", "Мұратқызы"),  # the Kazakh "son of" surname: "daughter of" for a woman
    ("Мұратқызы", "Мұратұлы", "Мұратқызы"),
    ("Муратулы", "Муратулы", "Мураткызы"),  # the same, in Russian spelling
    ("Сейітқали", "Сейітқали", "Сейітқали"),  # no possessive ending: the same for both
    ("Нұрғали", "Нұрғали", "Нұрғали"),
    ("Жақыпбек", "Жақыпбек", "Жақыпбек"),
    ("Ким", "Ким", "Ким"),
    ("Шевченко", "Шевченко", "Шевченко"),
    ("Цой", "Цой", "Цой"),
    ("Ов", "Ов", "Ов"),  # too short to be a possessive
]


@pytest.mark.parametrize(("given", "mens", "womens"), SURNAMES)
def test_a_surname_agrees_with_sex(given, mens, womens):
    assert mens_surname(given) == mens
    assert surname_for(given, MALE) == mens
    assert surname_for(given, FEMALE) == womens
    assert surname_for(surname_for(given, FEMALE), MALE) == mens


SIBLINGS = [
    # surname, father, style -> brother's and sister's (last name, patronymic)
    ("Әбенов", "Асқар", KAZAKH_STYLE, ("Әбенов", "Асқарұлы"), ("Әбенова", "Асқарқызы")),
    ("Сейітқали", "Ерлан", KAZAKH_STYLE, ("Сейітқали", "Ерланұлы"), ("Сейітқали", "Ерланқызы")),
    ("Қасымов", "Асқар", RUSSIAN_STYLE, ("Қасымов", "Асқарович"), ("Қасымова", "Асқаровна")),
    ("Иванов", "Сергей", RUSSIAN_STYLE, ("Иванов", "Сергеевич"), ("Иванова", "Сергеевна")),
    ("Ким", "Виталий", RUSSIAN_STYLE, ("Ким", "Витальевич"), ("Ким", "Витальевна")),
]


@pytest.mark.parametrize(("surname", "father", "style", "brother", "sister"), SIBLINGS)
def test_siblings_share_surname_and_patronymic_by_sex(surname, father, style, brother, sister):
    assert child_names(surname, father, MALE, style) == brother
    assert child_names(surname, father, FEMALE, style) == sister


SPELLINGS = [
    ("Асқар", "Аскар"),
    ("Нұрсұлтан Әбішұлы", "Нурсултан Абишулы"),
    ("Өмірбекова Ұлжан Ғалымжанқызы", "Омирбекова Улжан Галымжанкызы"),
    ("Үміт Ілиясқызы Шәкенова", "Умит Илияскызы Шакенова"),
    ("Иванов", "Иванов"),
]


@pytest.mark.parametrize(("kazakh", "russian"), SPELLINGS)
def test_russian_documents_write_kazakh_names_without_the_kazakh_letters(kazakh, russian):
    assert russian_spelling(kazakh) == russian


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="sex"):
        patronymic("Асқар", "X")
    with pytest.raises(ValueError, match="sex"):
        surname_for("Иванов", "")
    with pytest.raises(ValueError, match="style"):
        patronymic("Асқар", MALE, "en")
    assert patronymic("  ", MALE) == ""
