"""How the names in a Kazakh or Russian family agree: surnames by sex, patronymics from the father's name.

Pure rules, no Django. A family has one surname, written here in its men's form, and children
take the father's first name as their patronymic, in one of two styles:

- Kazakh: the father's name and «ұлы» (son of) or «қызы» (daughter of), written as one word:
  Асқар → Асқарұлы, Асқарқызы;
- Russian: Асқар → Асқарович, Асқаровна; Сергей → Сергеевич, Сергеевна; Никита → Никитич, Никитична.

Surnames that end like Russian possessives change with sex (Иванов/Иванова, Әбенов/Әбенова,
Ғабдуллин/Ғабдуллина, Сейфуллин/Сейфуллина; Ковальский/Ковальская); the Kazakh «-ұлы» surname becomes «-қызы»
for a daughter (Мұратұлы/Мұратқызы); any other surname (Сейітқали, Ким, Шевченко) is the same for
both. Documents in Russian write Kazakh names without the Kazakh letters (Асқар → Аскар):
`russian_spelling`.
"""

from __future__ import annotations

MALE, FEMALE = "M", "F"
KAZAKH_STYLE, RUSSIAN_STYLE = "kk", "ru"

_KAZAKH_TO_RUSSIAN = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")

VOWELS = set("аәеёиіоөуұүыэюя")
HUSHING = set("жшчщц")  # after these a Russian patronymic takes «-евич», not «-ович»

# Russian patronymics that follow no rule: (son's, daughter's).
_RUSSIAN_IRREGULAR = {
    "Никита": ("Никитич", "Никитична"),
    "Илья": ("Ильич", "Ильинична"),
    "Кузьма": ("Кузьмич", "Кузьминична"),
    "Фома": ("Фомич", "Фоминична"),
    "Лука": ("Лукич", "Лукинична"),
    "Павел": ("Павлович", "Павловна"),
    "Лев": ("Львович", "Львовна"),
    "Пётр": ("Петрович", "Петровна"),
    "Яков": ("Яковлевич", "Яковлевна"),
    "Дмитрий": ("Дмитриевич", "Дмитриевна"),
    "Георгий": ("Георгиевич", "Георгиевна"),
}

# Men's ending -> women's ending, longest first (the first that matches wins).
_SURNAME_ENDINGS = (
    ("ұлы", "қызы"),
    ("улы", "кызы"),
    ("ский", "ская"),
    ("цкий", "цкая"),
    ("ов", "ова"),
    ("ёв", "ёва"),
    ("ев", "ева"),
    ("ин", "ина"),
    ("ын", "ына"),
)


def russian_spelling(text: str) -> str:
    """The text as Russian documents write it: Kazakh letters replaced by the nearest Russian ones."""
    return text.translate(_KAZAKH_TO_RUSSIAN)


def _check_sex(sex: str) -> None:
    if sex not in (MALE, FEMALE):
        raise ValueError(f"sex must be {MALE!r} or {FEMALE!r}, not {sex!r}")


def mens_surname(surname: str) -> str:
    """The men's form of a surname given in either form (Иванова → Иванов, Мұратқызы → Мұратұлы)."""
    for mens, womens in _SURNAME_ENDINGS:
        if surname.endswith(womens) and len(surname) > len(womens) + 1:
            return surname[: -len(womens)] + mens
    return surname


def surname_for(surname: str, sex: str) -> str:
    """The form of a family's surname (given in either form) that a man or a woman of the family bears."""
    _check_sex(sex)
    base = mens_surname(surname)
    if sex == MALE:
        return base
    for mens, womens in _SURNAME_ENDINGS:
        if base.endswith(mens) and len(base) > len(mens) + 1:
            return base[: -len(mens)] + womens
    return base


def patronymic(father: str, sex: str, style: str = KAZAKH_STYLE) -> str:
    """A son's or a daughter's patronymic from the father's first name, in the Kazakh or the Russian style."""
    _check_sex(sex)
    father = father.strip()
    if not father:
        return ""
    if style == KAZAKH_STYLE:
        # In Russian spelling the whole word loses its Kazakh letters: russian_spelling("Асқарұлы").
        return father + ("ұлы" if sex == MALE else "қызы")
    if style != RUSSIAN_STYLE:
        raise ValueError(f"unknown patronymic style {style!r}")
    son = sex == MALE
    if father in _RUSSIAN_IRREGULAR:
        return _RUSSIAN_IRREGULAR[father][0 if son else 1]
    last = father[-1].lower()
    if father.endswith(("ий", "ИЙ")):
        stem = father[:-2] + "ь"  # Василий -> Васильевич, Юрий -> Юрьевич
    elif last in ("й", "ь"):
        stem = father[:-1]  # Сергей -> Сергеевич, Абылай -> Абылаевич, Игорь -> Игоревич
    elif last in VOWELS or last in HUSHING:
        stem = father  # Ерғали -> Ерғалиевич, Мұса -> Мұсаевич
    else:
        return father + ("ович" if son else "овна")
    return stem + ("евич" if son else "евна")


def child_names(surname: str, father: str, sex: str, style: str = KAZAKH_STYLE) -> tuple[str, str]:
    """The (last name, patronymic) of a child of the family: siblings agree, told apart only by sex."""
    return surname_for(surname, sex), patronymic(father, sex, style)
