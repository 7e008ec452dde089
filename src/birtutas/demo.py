"""Deterministic demo and benchmark data: a region of schools with a term of marks and attendance.

The region looks like Kazakhstan: most schools teach in Kazakh, some in Russian, some in both
(each class in its own language). Families are generated as families: siblings share a surname
and a patronymic, which comes from the father's first name (`registry.naming`), Kazakh style
(Асқарұлы / Асқарқызы) or Russian style (Аскарович / Аскаровна). Lessons take their topics from
the shipped curriculum's objectives of the subject and grade, in the class's language, and are
linked to them; homework is due at the subject's next lesson. Marks, points and absences carry
their audit history, with the subject teacher as the actor and a few later corrections, as if
the term had been imported from the school's previous journal.

The same seed gives the same people, IINs, timetables and marks. Work is done school by school,
each in its own transaction, and a school that already exists is skipped, so an interrupted run
resumes where it stopped. Rows are written in bulk: the benchmark builds 100,000 students with it.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import transaction
from django.utils import timezone

from birtutas.curriculum.models import LearningObjective
from birtutas.curriculum.services import load_curriculum, shipped_objectives
from birtutas.journal import entries, messaging
from birtutas.journal.models import (
    Attendance,
    BellPeriod,
    Enrollment,
    Lesson,
    Mark,
    MarkEntry,
    SchoolClass,
    Subject,
    SummativeWork,
    TeachingAssignment,
    TermClosure,
    TimetableSlot,
)
from birtutas.journal.services import compute_term_grades
from birtutas.kernel import clock, hlc
from birtutas.kernel.audit import AUDIT_FIELDS
from birtutas.kernel.context import Via
from birtutas.kernel.events import Event
from birtutas.kernel.ids import uuid7
from birtutas.kernel.models import AuditEvent
from birtutas.kernel.progress import Progress
from birtutas.registry import queries
from birtutas.registry.calendar import HolidayDates, define_year
from birtutas.registry.models import (
    District,
    Guardianship,
    Membership,
    Organization,
    Person,
    Region,
    Role,
    Term,
    User,
)
from birtutas.registry.naming import (
    FEMALE,
    KAZAKH_STYLE,
    MALE,
    RUSSIAN_STYLE,
    child_names,
    patronymic,
    russian_spelling,
    surname_for,
)
from birtutas.registry.rules import TermDates, make_iin
from birtutas.registry.services import bulk_insert, ensure_account, grant_role

DEMO_PASSWORD = "demo"  # noqa: S105 - demo mode only, listed on the login page
DEMO_ACCOUNTS = ("teacher", "student", "parent", "director", "analyst")

# ------------------------------------------------------------------ reference data

SUBJECTS = [
    # code, kk, ru, en, grades, hours per week
    ("literacy", "Сауат ашу", "Обучение грамоте", "Literacy", range(1, 2), 6),
    ("kazakh", "Қазақ тілі", "Казахский язык", "Kazakh language", range(2, 12), 3),
    ("kazakh_lit", "Қазақ әдебиеті", "Казахская литература", "Kazakh literature", range(5, 12), 2),
    ("russian", "Орыс тілі", "Русский язык", "Russian language", range(2, 12), 2),
    ("english", "Ағылшын тілі", "Английский язык", "English", range(1, 12), 2),
    ("math", "Математика", "Математика", "Mathematics", range(1, 7), 5),
    ("algebra", "Алгебра", "Алгебра", "Algebra", range(7, 12), 3),
    ("geometry", "Геометрия", "Геометрия", "Geometry", range(7, 12), 2),
    ("science", "Жаратылыстану", "Естествознание", "Natural science", range(1, 7), 2),
    ("physics", "Физика", "Физика", "Physics", range(7, 12), 2),
    ("chemistry", "Химия", "Химия", "Chemistry", range(8, 12), 2),
    ("biology", "Биология", "Биология", "Biology", range(7, 12), 2),
    ("geography", "География", "География", "Geography", range(7, 12), 2),
    ("history_kz", "Қазақстан тарихы", "История Казахстана", "History of Kazakhstan", range(5, 12), 2),
    ("informatics", "Информатика", "Информатика", "Computer science", range(5, 12), 1),
    ("pe", "Дене шынықтыру", "Физическая культура", "Physical education", range(1, 12), 3),
    ("music", "Музыка", "Музыка", "Music", range(1, 7), 1),
]

# Names. Surnames are given in their men's form; `registry.naming` makes the women's form.
KK_SURNAMES = [
    "Ахметов", "Жұмабаев", "Серікбаев", "Омаров", "Нұрланов", "Қасымов", "Тоқтаров", "Бекмұхамбетов",
    "Ермеков", "Мұсабаев", "Байжанов", "Оспанов", "Төлеуов", "Сәрсенбаев", "Әбенов", "Құдайбергенов",
    "Исмаилов", "Жақыпов", "Әлімжанов", "Рахимов", "Сейітов", "Қайратов", "Мамытов", "Ерғалиев",
    "Өмірбеков", "Ұзақов", "Үсенов", "Өтебаев", "Ыбыраев", "Іскаков", "Ғабдуллин", "Шәкенов",
    "Сейітқали", "Нұрғали", "Мұратұлы", "Жақыпбек",
]  # fmt: skip
# The Kazakh letters of these make the Kazakh order visible (Ә after А, Қ after К, Ө after О …).
KK_DEMO_SURNAMES = ["Әбенов", "Қасымов", "Өмірбеков", "Ұзақов", "Құдайбергенов", "Әлімжанов"]
KK_BOYS = [
    "Нұрсұлтан", "Ерасыл", "Әлихан", "Санжар", "Темірлан", "Айдос", "Дамир", "Мирас", "Ернұр", "Абылай",
    "Ілияс", "Нұрислам", "Алдияр", "Ерхан", "Ақжол", "Бекзат", "Әділет", "Өркен", "Ұлан", "Жәнібек",
]  # fmt: skip
KK_GIRLS = [
    "Айгерім", "Аружан", "Әсел", "Дана", "Жансая", "Мөлдір", "Ақбота", "Назерке", "Томирис", "Інжу",
    "Аяулым", "Сымбат", "Камила", "Дильназ", "Балнұр", "Жібек", "Ұлжан", "Ақерке", "Әмина", "Үміт",
]  # fmt: skip
KK_MEN = [
    "Асқар", "Серік", "Ерлан", "Қайрат", "Мұрат", "Бақыт", "Марат", "Нұрлан", "Ерболат", "Дәулет",
    "Талғат", "Ғалымжан", "Болат", "Ерғали", "Бауыржан", "Дәурен", "Арман", "Жандос", "Өмірзақ", "Мұса",
]  # fmt: skip
KK_WOMEN = [
    "Гүлнар", "Салтанат", "Айгүл", "Жанар", "Динара", "Гүлмира", "Сәуле", "Ләззат", "Мәдина", "Алма",
    "Ботагөз", "Раушан", "Назгүл", "Әйгерім", "Меруерт", "Гүлжан",
]  # fmt: skip
RU_SURNAMES = [
    "Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Васильев", "Соколов", "Новиков", "Морозов",
    "Волков", "Лебедев", "Козлов", "Павлов", "Степанов", "Николаев", "Орлов", "Фёдоров", "Белов",
    "Ковальский", "Зайцев", "Егоров", "Никитин",
]  # fmt: skip
# Families of other origins in Russian-language classes: surnames the same for men and women.
OTHER_SURNAMES = ["Ким", "Шевченко", "Бондаренко", "Шмидт", "Цой", "Ли", "Вагнер"]
RU_BOYS = ["Александр", "Дмитрий", "Максим", "Артём", "Иван", "Михаил", "Никита", "Егор", "Кирилл", "Илья"]
RU_GIRLS = ["Анастасия", "Мария", "Дарья", "Анна", "Виктория", "Елизавета", "Полина", "Екатерина", "Софья", "Алина"]
RU_MEN = ["Сергей", "Андрей", "Алексей", "Дмитрий", "Александр", "Евгений", "Владимир", "Игорь", "Николай", "Павел"]
RU_MEN += ["Юрий", "Виталий", "Олег", "Никита"]
RU_WOMEN = ["Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Юлия", "Оксана", "Анна", "Марина"]


@dataclass(frozen=True)
class NamePool:
    surnames: list[str]
    boys: list[str]
    girls: list[str]
    men: list[str]
    women: list[str]


POOLS = {
    "kazakh": NamePool(KK_SURNAMES, KK_BOYS, KK_GIRLS, KK_MEN, KK_WOMEN),
    "russian": NamePool(RU_SURNAMES, RU_BOYS, RU_GIRLS, RU_MEN, RU_WOMEN),
    "other": NamePool(OTHER_SURNAMES, RU_BOYS, RU_GIRLS, RU_MEN, RU_WOMEN),
}

# Districts of Akmola region and their settlements: (Kazakh genitive, Russian genitive, English).
AKMOLA_DISTRICTS = [
    (
        "Көкшетау қаласы",
        "город Кокшетау",
        "Kokshetau",
        "urban",
        [("Көкшетау қаласының", "города Кокшетау", "Kokshetau")],
    ),
    (
        "Целиноград ауданы",
        "Целиноградский район",
        "Tselinograd District",
        "rural",
        [
            ("Қоянды ауылының", "села Коянды", "Koyandy"),
            ("Ақмол ауылының", "села Акмол", "Akmol"),
            ("Нұресіл ауылының", "села Нуресиль", "Nuresil"),
        ],
    ),
    (
        "Бурабай ауданы",
        "Бурабайский район",
        "Burabay District",
        "rural",
        [
            ("Бурабай кентінің", "посёлка Бурабай", "Burabay"),
            ("Щучинск қаласының", "города Щучинска", "Shchuchinsk"),
            ("Златополье ауылының", "села Златополье", "Zlatopolye"),
        ],
    ),
    (
        "Шортанды ауданы",
        "Шортандинский район",
        "Shortandy District",
        "rural",
        [
            ("Шортанды кентінің", "посёлка Шортанды", "Shortandy"),
            ("Жолымбет кентінің", "посёлка Жолымбет", "Zholymbet"),
        ],
    ),
]
# Whom schools are named after: (Kazakh, Russian genitive, English).
NAMESAKES = [
    ("Абай", "Абая", "Abai"),
    ("Ы. Алтынсарин", "Ы. Алтынсарина", "Y. Altynsarin"),
    ("Ш. Уәлиханов", "Ш. Уалиханова", "Sh. Ualikhanov"),
    ("М. Жұмабаев", "М. Жумабаева", "M. Zhumabayev"),
    ("С. Сейфуллин", "С. Сейфуллина", "S. Seifullin"),
    ("Б. Момышұлы", "Б. Момышулы", "B. Momyshuly"),
    ("М. Әуезов", "М. Ауэзова", "M. Auezov"),
    ("Ж. Аймауытов", "Ж. Аймауытова", "Zh. Aimauytov"),
]

KK_LETTERS = ["А", "Ә", "Б", "В", "Г"]
RU_LETTERS = ["А", "Б", "В", "Г", "Д"]
WEEKDAYS = 5
ABSENCE_KINDS = [("illness", 0.4), ("excused", 0.2), ("unexcused", 0.25), ("late", 0.15)]

# Bell schedules: 45-minute lessons, the long break after the second; the second shift from 13:30.
BELLS = {
    1: ["08:00", "08:55", "09:55", "10:50", "11:45", "12:35", "13:25"],
    2: ["13:30", "14:25", "15:25", "16:20", "17:15", "18:05"],
}
LESSON_MINUTES = 45
# In a school big enough for two shifts these grades come in the afternoon (first-graders and the
# graduating classes always study in the morning).
SECOND_SHIFT_GRADES = {2, 3, 4, 6}
# Rooms that are not a numbered classroom, in the class's language.
SPECIAL_ROOMS = {"pe": ("Спорт залы", "Спортзал"), "informatics": ("Информатика кабинеті", "Кабинет информатики")}

# Topics of subjects for which the shipped curriculum has no objectives (its sample covers
# mathematics, algebra, Kazakh and Russian in grades 5-9): the programme's sections, (kk, ru).
SECTIONS = {
    "literacy": [
        ("Дыбыстар мен әріптер", "Звуки и буквы"),
        ("Буын. Екпін", "Слог. Ударение"),
        ("Сөз және сөйлем", "Слово и предложение"),
        ("Дауысты дыбыстар", "Гласные звуки"),
        ("Дауыссыз дыбыстар", "Согласные звуки"),
        ("Бас әріп", "Заглавная буква"),
        ("Мәтінді түсініп оқу", "Чтение с пониманием"),
        ("Жазу дағдылары", "Навыки письма"),
    ],
    "kazakh": [
        ("Сөз таптары", "Части речи"),
        ("Зат есім", "Имя существительное"),
        ("Сын есім", "Имя прилагательное"),
        ("Етістік", "Глагол"),
        ("Сөйлем мүшелері", "Члены предложения"),
        ("Құрмалас сөйлем", "Сложное предложение"),
        ("Мәтін түрлері", "Типы текста"),
        ("Іскери хат", "Деловое письмо"),
    ],
    "kazakh_lit": [
        ("Халық ауыз әдебиеті", "Устное народное творчество"),
        ("Батырлар жыры", "Героический эпос"),
        ("Ыбырай Алтынсарин әңгімелері", "Рассказы Ыбырая Алтынсарина"),
        ("Абай Құнанбайұлы. Қара сөздер", "Абай Кунанбаев. Слова назидания"),
        ("Шәкәрім Құдайбердіұлы", "Шакарим Кудайбердиулы"),
        ("Мағжан Жұмабаев лирикасы", "Лирика Магжана Жумабаева"),
        ("Мұхтар Әуезов. «Абай жолы»", "Мухтар Ауэзов. «Путь Абая»"),
        ("Қазіргі қазақ поэзиясы", "Современная казахская поэзия"),
    ],
    "russian": [
        ("Фонетика және орфоэпия", "Фонетика и орфоэпия"),
        ("Сөз құрамы", "Состав слова"),
        ("Зат есім", "Имя существительное"),
        ("Етістік", "Глагол"),
        ("Жай сөйлем синтаксисі", "Синтаксис простого предложения"),
        ("Құрмалас сөйлем", "Сложное предложение"),
        ("Сөйлеу стильдері", "Стили речи"),
        ("Орфография", "Орфография"),
    ],
    # English lessons are named in English, in Kazakh and Russian classes alike.
    "english": [
        ("My family", "My family"),
        ("School life", "School life"),
        ("Food and drink", "Food and drink"),
        ("Free time", "Free time"),
        ("Travel and holidays", "Travel and holidays"),
        ("Kazakhstan, my country", "Kazakhstan, my country"),
        ("The environment", "The environment"),
        ("Health and sport", "Health and sport"),
    ],
    "math": [
        ("Натурал сандар", "Натуральные числа"),
        ("Қосу және азайту", "Сложение и вычитание"),
        ("Көбейту кестесі", "Таблица умножения"),
        ("Бөлу", "Деление"),
        ("Шамалар: ұзындық, масса", "Величины: длина, масса"),
        ("Геометриялық фигуралар", "Геометрические фигуры"),
        ("Мәтінді есептер", "Текстовые задачи"),
        ("Үлестер мен бөлшектер", "Доли и дроби"),
    ],
    "algebra": [
        ("Функциялар", "Функции"),
        ("Тригонометриялық функциялар", "Тригонометрические функции"),
        ("Туынды", "Производная"),
        ("Алғашқы функция және интеграл", "Первообразная и интеграл"),
        ("Көрсеткіштік функция", "Показательная функция"),
        ("Логарифмдер", "Логарифмы"),
        ("Ықтималдық", "Вероятность"),
        ("Теңдеулер жүйелері", "Системы уравнений"),
    ],
    "geometry": [
        ("Геометрияның бастапқы ұғымдары", "Начальные понятия геометрии"),
        ("Үшбұрыштар", "Треугольники"),
        ("Параллель түзулер", "Параллельные прямые"),
        ("Төртбұрыштар", "Четырёхугольники"),
        ("Шеңбер", "Окружность"),
        ("Ұқсастық", "Подобие"),
        ("Векторлар", "Векторы"),
        ("Көпжақтар", "Многогранники"),
    ],
    "science": [
        ("Тірі табиғат", "Живая природа"),
        ("Заттар және олардың қасиеттері", "Вещества и их свойства"),
        ("Су", "Вода"),
        ("Ауа", "Воздух"),
        ("Жер және ғарыш", "Земля и космос"),
        ("Өсімдіктер", "Растения"),
        ("Жануарлар", "Животные"),
        ("Адам денсаулығы", "Здоровье человека"),
    ],
    "physics": [
        ("Физикалық шамалар және өлшеулер", "Физические величины и измерения"),
        ("Механикалық қозғалыс", "Механическое движение"),
        ("Күш. Ньютон заңдары", "Сила. Законы Ньютона"),
        ("Қысым", "Давление"),
        ("Жұмыс, қуат, энергия", "Работа, мощность, энергия"),
        ("Жылу құбылыстары", "Тепловые явления"),
        ("Электр тогы", "Электрический ток"),
        ("Жарық құбылыстары", "Световые явления"),
    ],
    "chemistry": [
        ("Атом құрылысы", "Строение атома"),
        ("Периодтық жүйе", "Периодическая система"),
        ("Химиялық байланыс", "Химическая связь"),
        ("Химиялық реакциялар", "Химические реакции"),
        ("Ерітінділер", "Растворы"),
        ("Қышқылдар мен негіздер", "Кислоты и основания"),
        ("Металдар", "Металлы"),
        ("Органикалық қосылыстар", "Органические соединения"),
    ],
    "biology": [
        ("Жасуша құрылысы", "Строение клетки"),
        ("Өсімдіктер әлемі", "Мир растений"),
        ("Жануарлар әлемі", "Мир животных"),
        ("Адам анатомиясы", "Анатомия человека"),
        ("Зат алмасу", "Обмен веществ"),
        ("Тұқым қуалаушылық", "Наследственность"),
        ("Экология", "Экология"),
        ("Эволюция", "Эволюция"),
    ],
    "geography": [
        ("Географиялық карта", "Географическая карта"),
        ("Литосфера", "Литосфера"),
        ("Атмосфера", "Атмосфера"),
        ("Гидросфера", "Гидросфера"),
        ("Қазақстанның табиғаты", "Природа Казахстана"),
        ("Халық географиясы", "География населения"),
        ("Шаруашылық географиясы", "География хозяйства"),
        ("Табиғатты пайдалану", "Природопользование"),
    ],
    "history_kz": [
        ("Ежелгі Қазақстан", "Древний Казахстан"),
        ("Сақтар мен ғұндар", "Саки и гунны"),
        ("Түрік қағанаты", "Тюркский каганат"),
        ("Алтын Орда", "Золотая Орда"),
        ("Қазақ хандығының құрылуы", "Образование Казахского ханства"),
        ("Жоңғар шапқыншылығы", "Джунгарское нашествие"),
        ("ХХ ғасырдағы Қазақстан", "Казахстан в XX веке"),
        ("Тәуелсіз Қазақстан", "Независимый Казахстан"),
    ],
    "informatics": [
        ("Компьютер құрылғылары", "Устройство компьютера"),
        ("Ақпарат және оны кодтау", "Информация и её кодирование"),
        ("Алгоритмдер", "Алгоритмы"),
        ("Python тілінде бағдарламалау", "Программирование на Python"),
        ("Электрондық кестелер", "Электронные таблицы"),
        ("Компьютерлік желілер", "Компьютерные сети"),
        ("Ақпараттық қауіпсіздік", "Информационная безопасность"),
        ("Мәліметтер қоры", "Базы данных"),
    ],
    "pe": [
        ("Жеңіл атлетика", "Лёгкая атлетика"),
        ("Қимылды ойындар", "Подвижные игры"),
        ("Гимнастика", "Гимнастика"),
        ("Баскетбол", "Баскетбол"),
        ("Волейбол", "Волейбол"),
        ("Ұлттық ойындар: асық ату", "Национальные игры: асык ату"),
        ("Футбол", "Футбол"),
        ("Жүгіру және секіру", "Бег и прыжки"),
    ],
    "music": [
        ("Қазақ халық әндері", "Казахские народные песни"),
        ("Музыкалық аспаптар", "Музыкальные инструменты"),
        ("Домбыра күйлері", "Кюи для домбры"),
        ("Құрманғазы шығармашылығы", "Творчество Курмангазы"),
        ("Ән және ырғақ", "Песня и ритм"),
        ("Әлем классикалық музыкасы", "Классическая музыка мира"),
    ],
}
UNIT_SUMMATIVE_TOPIC = ("Бөлім бойынша жиынтық бағалау", "Суммативное оценивание за раздел")
TERM_SUMMATIVE_TOPIC = ("Тоқсан бойынша жиынтық бағалау", "Суммативное оценивание за четверть")
UNIT_SUMMATIVE_TITLE = ("БЖБ №{n}", "СОР №{n}")
TERM_SUMMATIVE_TITLE = ("ТЖБ", "СОЧ")

# Homework, (kk, ru): the first line names the textbook's work, more lines now and then.
# {p} paragraph, {a} {b} exercises or problems, {s} {t} pages.
HOMEWORK = {
    "math": (
        [("§{p}, №{a}, №{b}", "§{p}, №{a}, №{b}"), ("№{a}–{b} есептер", "Задачи №{a}–{b}")],
        [
            ("Ережені жаттау", "Выучить правило"),
            ("Формулаларды қайталау", "Повторить формулы"),
            ("Өзін-өзі тексеру, {s}-бет", "Самопроверка, стр. {s}"),
        ],
    ),
    "language": (
        [("{a}-жаттығу, {s}-бет", "Упр. {a}, стр. {s}")],
        [
            ("Сөздік сөздерді жаттау", "Выучить словарные слова"),
            ("Ережені қайталау", "Повторить правило"),
            ("Шағын мәтін құрау (5–6 сөйлем)", "Составить небольшой текст (5–6 предложений)"),
        ],
    ),
    "english": (
        [("Ex. {a}, p. {s}", "Ex. {a}, p. {s}")],
        [("Learn the new words", "Learn the new words"), ("Write 5 sentences", "Write 5 sentences")],
    ),
    "literature": (
        [("{s}–{t}-беттерді оқу", "Прочитать стр. {s}–{t}")],
        [
            ("Өлеңді жатқа айту", "Выучить стихотворение наизусть"),
            ("Кейіпкерге мінездеме жазу", "Написать характеристику героя"),
            ("Сұрақтарға жауап беру", "Ответить на вопросы"),
        ],
    ),
    "science": (
        [("§{p} оқу, сұрақтарға жауап беру", "§{p}, ответить на вопросы")],
        [
            ("Кестені толтыру", "Заполнить таблицу"),
            ("Тест тапсырмалары, {s}-бет", "Тестовые задания, стр. {s}"),
            ("Есеп №{a}", "Задача №{a}"),
        ],
    ),
    "social": (
        [("§{p} оқу", "Прочитать §{p}")],
        [
            ("Кескін картамен жұмыс", "Работа с контурной картой"),
            ("Хронологиялық кесте құру", "Составить хронологическую таблицу"),
            ("Хабарлама дайындау", "Подготовить сообщение"),
        ],
    ),
    "informatics": (
        [("§{p}, {a}-тапсырма", "§{p}, задание {a}")],
        [("Бағдарламаны компьютерде тексеру", "Проверить программу на компьютере")],
    ),
}
HOMEWORK_KIND = {
    "math": "math",
    "algebra": "math",
    "geometry": "math",
    "literacy": "language",
    "kazakh": "language",
    "russian": "language",
    "english": "english",
    "kazakh_lit": "literature",
    "science": "science",
    "physics": "science",
    "chemistry": "science",
    "biology": "science",
    "history_kz": "social",
    "geography": "social",
    "informatics": "informatics",
}  # physical education and music set none

# Reasons teachers give for a later correction, (kk, ru).
MARK_CORRECTIONS = [
    ("Жұмысты қайта тапсырды", "Работа пересдана"),
    ("Қате қойылған баға түзетілді", "Исправлена ошибочно выставленная отметка"),
]
ABSENCE_CORRECTION = ("Дәрігердің анықтамасы әкелінді", "Принесена справка от врача")
RELATIONS = {MALE: ("әкесі", "отец"), FEMALE: ("анасы", "мать")}
KK_MONTHS_LOCATIVE = dict(enumerate(
    ["қаңтарда", "ақпанда", "наурызда", "сәуірде", "мамырда", "маусымда", "шілдеде", "тамызда", "қыркүйекте",
     "қазанда", "қарашада", "желтоқсанда"], start=1))  # fmt: skip
RU_MONTHS_GENITIVE = dict(enumerate(
    ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября",
     "декабря"], start=1))  # fmt: skip

# Audit vocabulary, as plain strings for the bulk writer. The term's marks arrive as an import of
# the school's earlier journal; the accounts are made by this command.
MARK_SET, POINTS_SET = Event.MARK_SET.value, Event.POINTS_SET.value
ATTENDANCE_SET, ACCOUNT_CREATE = Event.ATTENDANCE_SET.value, Event.ACCOUNT_CREATE.value
IMPORTED, COMMAND = Via.IMPORT.value, Via.COMMAND.value
ENTRY_FIELD = {MARK_SET: "mark", ATTENDANCE_SET: "attendance", POINTS_SET: "points"}
ENTRY_FIELDS = (
    "uid", "organization_id", "student_id", "lesson_id", "work_id", "field", "value", "stamp", "actor_id", "via",
    "reason", "at",
)  # fmt: skip


def default_holidays(start_year: int) -> list[HolidayDates]:
    """The school holidays between the terms and the public holidays that fall inside them."""
    y, n = start_year, start_year + 1
    return [
        HolidayDates(dt.date(y, 10, 25), dt.date(y, 11, 2), "Күзгі демалыс", "Осенние каникулы", "Autumn holidays"),
        HolidayDates(
            dt.date(y, 12, 16), dt.date(y, 12, 17), "Тәуелсіздік күні", "День Независимости", "Independence Day"
        ),
        HolidayDates(dt.date(y, 12, 27), dt.date(n, 1, 7), "Қысқы демалыс", "Зимние каникулы", "Winter holidays"),
        HolidayDates(
            dt.date(n, 3, 8), dt.date(n, 3, 8), "Халықаралық әйелдер күні", "Международный женский день", "Women's Day"
        ),
        HolidayDates(
            dt.date(n, 3, 19),
            dt.date(n, 3, 29),
            "Көктемгі демалыс, Наурыз",
            "Весенние каникулы, Наурыз",
            "Spring holidays",
        ),
        HolidayDates(
            dt.date(n, 5, 1),
            dt.date(n, 5, 1),
            "Қазақстан халқының бірлігі мерекесі",
            "Праздник единства народа Казахстана",
            "Unity Day",
        ),
        HolidayDates(
            dt.date(n, 5, 7), dt.date(n, 5, 7), "Отан қорғаушы күні", "День защитника Отечества", "Defender's Day"
        ),
        HolidayDates(dt.date(n, 5, 9), dt.date(n, 5, 9), "Жеңіс күні", "День Победы", "Victory Day"),
    ]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def academic_calendar(start_year: int) -> list[tuple[int, dt.date, dt.date]]:
    """The four terms of a school year (dates of the usual ministry calendar)."""
    y = start_year
    return [
        (1, dt.date(y, 9, 1), dt.date(y, 10, 24)),
        (2, dt.date(y, 11, 3), dt.date(y, 12, 26)),
        (3, dt.date(y + 1, 1, 8), dt.date(y + 1, 3, 18)),
        (4, dt.date(y + 1, 3, 30), dt.date(y + 1, 5, 25)),
    ]


@functools.cache
def bell_times(shift: int, period: int) -> tuple[dt.time, dt.time]:
    """When a period of a shift starts and ends."""
    starts = dt.datetime.strptime(BELLS[shift][period - 1], "%H:%M")
    return starts.time(), (starts + dt.timedelta(minutes=LESSON_MINUTES)).time()


def school_names(index: int, locality: str, place: tuple[str, str, str], kind: str, namesake) -> tuple[str, str, str]:
    """A school's name in Kazakh, Russian and English, as such a school is called."""
    number = index + 1
    place_kk, place_ru, place_en = place
    if kind == "gymnasium":
        who_kk, who_ru, who_en = namesake
        return (
            f"{place_kk} {who_kk} атындағы №{number} мектеп-гимназиясы",
            f"Школа-гимназия №{number} имени {who_ru} {place_ru}",
            f"{who_en} School-Gymnasium No. {number}, {place_en}",
        )
    if kind == "lyceum":
        return (
            f"{place_kk} №{number} мектеп-лицейі",
            f"Школа-лицей №{number} {place_ru}",
            f"School-Lyceum No. {number}, {place_en}",
        )
    if kind == "named":
        who_kk, who_ru, who_en = namesake
        return (
            f"{place_kk} {who_kk} атындағы №{number} жалпы орта білім беретін мектебі",
            f"Средняя общеобразовательная школа №{number} имени {who_ru} {place_ru}",
            f"{who_en} Secondary School No. {number}, {place_en}",
        )
    if locality == "urban":
        return (
            f"{place_kk} №{number} жалпы білім беретін мектебі",
            f"Общеобразовательная школа №{number} {place_ru}",
            f"School No. {number}, {place_en}",
        )
    return (
        f"{place_kk} №{number} жалпы орта білім беретін мектебі",
        f"Средняя общеобразовательная школа №{number} {place_ru}",
        f"Secondary School No. {number}, {place_en}",
    )


def _term_share(programme: list, term_number: int) -> list:
    """The part of a year's programme taught in one of its four terms (all of it if too short)."""
    if len(programme) < 4 or not 1 <= term_number <= 4:
        return programme
    return programme[(term_number - 1) * len(programme) // 4 : term_number * len(programme) // 4]


# ------------------------------------------------------------------ families


@dataclass
class Family:
    """What a family's members share: where their names come from, how they write them, the surname
    (men's form), the father's first name and the style of the children's patronymics."""

    pool: NamePool
    russian_letters: bool  # written without the Kazakh letters, as Russian documents do
    surname: str
    father: str
    style: str  # of the children's patronymics
    parents_style: str  # of the parents' own patronymics
    language: str  # of the children's classes
    children: list[Person] = field(default_factory=list)

    def spell(self, text: str) -> str:
        return russian_spelling(text) if self.russian_letters else text


@dataclass
class DemoSize:
    schools: int = 4
    students: int = 1200
    seed: int = 2026
    today: dt.date | None = None
    demo_accounts: bool = True
    progress: bool = True


@dataclass
class ClassSpec:
    grade: int
    letter: str
    language: str
    shift: int
    size: int = 0
    home_room: str = ""
    kids: list[Person] = field(default_factory=list)
    school_class: SchoolClass | None = None


class Generator:
    def __init__(self, size: DemoSize, log: Callable[[str], None] = print):
        self.size = size
        self.rng = random.Random(size.seed)
        self.today = size.today or clock.today()
        self.log = log
        self.used_iins: set[str] = set()
        self.zone = timezone.get_default_timezone()

    # -- shared reference data, idempotent
    def reference(self) -> None:
        self.region = Region.objects.get(code="KZ-11")
        self.districts = []
        for kk, ru, en, _locality, _places in AKMOLA_DISTRICTS:
            district, _ = District.objects.get_or_create(
                region=self.region, name_kk=kk, defaults={"name_ru": ru, "name_en": en}
            )
            self.districts.append(district)
        # The curriculum's objectives (and its subjects) come from the file shipped with the platform.
        load_curriculum(None, shipped_objectives(), name="objectives.csv")
        self.subjects = {}
        for code, kk, ru, en, _grades, _hours in SUBJECTS:
            subject, _ = Subject.objects.get_or_create(
                code=code, defaults={"name_kk": kk, "name_ru": ru, "name_en": en}
            )
            self.subjects[code] = subject
        self.objectives = defaultdict(list)  # (subject id, grade) -> objectives in the programme's order
        for objective in LearningObjective.objects.all():
            self.objectives[(objective.subject_id, objective.grade)].append(objective)
        for found in self.objectives.values():
            found.sort(key=lambda o: tuple(int(part) for part in o.code.split(".")))
        start_year = self.today.year if self.today.month >= 8 else self.today.year - 1
        # The ministry's default calendar of the year, with its holidays, set as the ministry would.
        self.year = define_year(
            None,
            None,
            f"{start_year}-{start_year + 1}",
            dt.date(start_year, 9, 1),
            dt.date(start_year + 1, 5, 25),
            [TermDates(starts, ends, number=number) for number, starts, ends in academic_calendar(start_year)],
            default_holidays(start_year),
        )
        self.terms = list(Term.objects.filter(year=self.year).order_by("number"))
        self.holiday_days = {day for h in queries.holidays_of(None, self.year) for day in _days(h.starts_on, h.ends_on)}
        self.used_iins.update(Person.objects.values_list("iin", flat=True))

    # -- people
    def new_person(self, last: str, first: str, middle: str, sex: str, birth_date: dt.date) -> Person:
        while True:
            iin = make_iin(birth_date, sex, self.rng.randrange(1, 10000))
            if iin and iin not in self.used_iins:
                break
        self.used_iins.add(iin)
        return Person(iin=iin, last_name=last, first_name=first, patronymic=middle, birth_date=birth_date, sex=sex)

    def family(self, language: str, pool_name: str | None = None) -> Family:
        """A family whose children learn in `language`, its origin and habits drawn as a region's are."""
        rng = self.rng
        if pool_name is None:
            if language == "kk":
                pool_name = "kazakh"
            else:
                r = rng.random()
                pool_name = "kazakh" if r < 0.45 else "russian" if r < 0.9 else "other"
        pool = POOLS[pool_name]
        kazakh = pool_name == "kazakh"
        if kazakh and language == "kk":
            style = KAZAKH_STYLE if rng.random() < 0.88 else RUSSIAN_STYLE
            parents_style = KAZAKH_STYLE if rng.random() < 0.45 else RUSSIAN_STYLE
        elif kazakh:  # a Kazakh family whose children learn in Russian mostly writes the Russian way
            style = RUSSIAN_STYLE if rng.random() < 0.8 else KAZAKH_STYLE
            parents_style = RUSSIAN_STYLE if rng.random() < 0.9 else KAZAKH_STYLE
        else:
            style = parents_style = RUSSIAN_STYLE
        return Family(
            pool=pool,
            russian_letters=kazakh and language != "kk",
            surname=rng.choice(pool.surnames),
            father=rng.choice(pool.men),
            style=style,
            parents_style=parents_style,
            language=language,
        )

    def child(self, family: Family, sex: str, birth_date: dt.date) -> Person:
        taken = {kid.first_name for kid in family.children}
        names = family.pool.boys if sex == MALE else family.pool.girls
        first = family.spell(self.rng.choice(names))
        for _ in range(3):  # siblings have different first names
            if first not in taken:
                break
            first = family.spell(self.rng.choice(names))
        last, middle = child_names(family.surname, family.father, sex, family.style)
        kid = self.new_person(family.spell(last), first, family.spell(middle), sex, birth_date)
        family.children.append(kid)
        return kid

    def parent(self, family: Family, sex: str, birth_date: dt.date) -> Person:
        rng, pool = self.rng, family.pool
        if sex == MALE:
            first, last = family.father, surname_for(family.surname, MALE)
        else:
            first = rng.choice(pool.women)
            # Most mothers bear the family's surname; some keep their own.
            own = family.surname if rng.random() < 0.8 else rng.choice(pool.surnames)
            last = surname_for(own, FEMALE)
        middle = patronymic(rng.choice(pool.men), sex, family.parents_style)
        return self.new_person(family.spell(last), family.spell(first), family.spell(middle), sex, birth_date)

    def adult(self, language: str, sex: str, birth_date: dt.date) -> Person:
        """A teacher or a director: someone of the region who works in that language."""
        family = self.family(language)
        first = self.rng.choice(family.pool.men if sex == MALE else family.pool.women)
        last = surname_for(family.surname, sex)
        middle = patronymic(self.rng.choice(family.pool.men), sex, family.parents_style)
        return self.new_person(family.spell(last), family.spell(first), family.spell(middle), sex, birth_date)

    def birth_date(self, age: int) -> dt.date:
        year = self.year.starts_on.year - age
        return dt.date(year, 1, 1) + dt.timedelta(days=self.rng.randrange(365))

    # -- whole run
    def run(self) -> list[Organization]:
        self.reference()
        size = self.size
        per_school = [size.students // size.schools] * size.schools
        for i in range(size.students % size.schools):
            per_school[i] += 1
        progress = Progress(size.schools, "schools", enabled=size.progress)
        organizations = []
        for index, students in enumerate(per_school):
            # Each school draws from its own stream, so skipping a finished school keeps the rest identical.
            self.rng = random.Random(f"{size.seed}:{index}")
            organization = self.school(index, students)
            organizations.append(organization)
            progress.step(note=organization.name_ru)
        if size.demo_accounts:
            self.rng = random.Random(f"{size.seed}:accounts")
            self.demo_accounts(organizations[0])
        return organizations

    def school(self, index: int, students: int) -> Organization:
        rng = self.rng
        district = self.districts[index % len(AKMOLA_DISTRICTS)]
        _kk, _ru, _en, locality, places = AKMOLA_DISTRICTS[index % len(AKMOLA_DISTRICTS)]
        place = places[(index // len(AKMOLA_DISTRICTS)) % len(places)]
        # The first school (the demo's) teaches in both languages; most others in Kazakh.
        if index == 0:
            language = "mixed"
        elif locality == "urban":
            language = rng.choices(["kk", "ru", "mixed"], [0.5, 0.25, 0.25])[0]
        else:
            language = rng.choices(["kk", "ru", "mixed"], [0.7, 0.25, 0.05])[0]
        kinds = ["general", "gymnasium", "lyceum"] if locality == "urban" else ["general", "named"]
        kind = "general" if index == 0 else rng.choice(kinds)
        names = school_names(index, locality, place, kind, rng.choice(NAMESAKES))
        existing = Organization.objects.filter(district=district, name_kk=names[0]).first()
        if existing is not None:
            return existing  # finished by an earlier run
        connection = (
            rng.choice(["fiber", "fiber", "adsl"])
            if locality == "urban"
            else rng.choice(["none", "satellite", "mobile", "adsl"])
        )
        mbps = {
            "none": 0,
            "satellite": rng.choice([2, 4, 8]),
            "mobile": rng.choice([4, 10, 16]),
            "adsl": rng.choice([8, 16]),
            "fiber": rng.choice([50, 100, 200]),
        }[connection]
        small = locality == "rural" and students < 120
        with transaction.atomic():
            organization = Organization.objects.create(
                district=district,
                name_kk=names[0],
                name_ru=names[1],
                name_en=names[2],
                kind="school",
                locality=locality,
                is_small_ungraded=small,
                language=language,
                connection=connection,
                connection_mbps=mbps,
                student_computers=max(2, students // rng.choice([8, 12, 20])),
            )
            self.populate(organization, students, demo=index == 0 and self.size.demo_accounts)
        return organization

    def class_specs(self, organization: Organization, students: int) -> list[ClassSpec]:
        """The school's classes: grades 1-11, as many parallels as the students fill, in their languages."""
        mixed = organization.language == "mixed"
        parallels = max(1, min(4, round(students / 11 / 25)))
        if mixed and students >= 11 * 2 * 10:
            parallels = max(parallels, 2)  # a class in each language
        two_shifts = organization.locality == "urban" and parallels >= 2
        specs = []
        home_rooms = defaultdict(int)  # shift -> classrooms of the primary grades taken
        for grade in range(1, 12):
            used: set[str] = set()
            for p in range(parallels):
                lang = organization.language if not mixed else ("kk" if p % 2 == 0 or parallels == 1 else "ru")
                letters = KK_LETTERS if lang == "kk" else RU_LETTERS
                # A mixed school alternates alphabets, whose third letters coincide («Б»): take the next free one.
                letter = next(x for x in letters[p:] + letters if x not in used)
                used.add(letter)
                shift = 2 if two_shifts and grade in SECOND_SHIFT_GRADES else 1
                spec = ClassSpec(grade, letter, lang, shift)
                if grade <= 4:  # the primary grades stay in their own classroom; the shifts share them
                    home_rooms[shift] += 1
                    spec.home_room = str(100 + home_rooms[shift])
                specs.append(spec)
        base, extra = divmod(students, len(specs))
        for i, spec in enumerate(specs):
            spec.size = base + (1 if i < extra else 0)
        return specs

    def seat_families(self, specs: list[ClassSpec], demo: bool) -> list[tuple[Family, list[Person]]]:
        """Fill every class's seats with children of families; a family's children learn in one
        language, in different grades, and share surname and patronymic."""
        rng = self.rng
        free = [spec.size for spec in specs]
        by_language_grade = defaultdict(list)
        for i, spec in enumerate(specs):
            by_language_grade[(spec.language, spec.grade)].append(i)
        families = []

        def seat(family: Family, i: int) -> None:
            free[i] -= 1
            spec = specs[i]
            spec.kids.append(self.child(family, rng.choice("MF"), self.birth_date(6 + spec.grade)))

        def open_class(language: str, grade: int) -> int | None:
            found = [i for i in by_language_grade.get((language, grade), ()) if free[i] > 0]
            return rng.choice(found) if found else None

        if demo:
            # The demo parent's family: a child in the first Kazakh-language 7th grade, another in the 3rd.
            seventh, third = open_class("kk", 7), open_class("kk", 3)
            if seventh is not None and third is not None:
                family = self.family("kk", "kazakh")
                family.surname, family.style = rng.choice(KK_DEMO_SURNAMES), KAZAKH_STYLE
                seventh = by_language_grade[("kk", 7)][0]
                seat(family, seventh)
                seat(family, third)
                families.append(family)
        for i, spec in enumerate(specs):
            while free[i] > 0:
                family = self.family(spec.language)
                seat(family, i)
                siblings = rng.choices([0, 1, 2], [0.55, 0.33, 0.12])[0]
                grades = [g for g in range(max(1, spec.grade - 6), min(11, spec.grade + 6) + 1) if g != spec.grade]
                rng.shuffle(grades)
                for grade in grades:
                    if not siblings:
                        break
                    other = open_class(spec.language, grade)
                    if other is not None:
                        seat(family, other)
                        siblings -= 1
                families.append(family)
        return families

    def populate(self, organization: Organization, students: int, demo: bool = False) -> None:
        rng = self.rng
        specs = self.class_specs(organization, students)
        families = self.seat_families(specs, demo)
        people: list[Person] = [kid for spec in specs for kid in spec.kids]
        # Guardians: both parents, or the mother, or the father; the children's patronymic is the father's name.
        guardians: list[tuple[Person, Person, str]] = []
        for number, family in enumerate(families):
            oldest = max(family.children, key=lambda kid: self.year.starts_on - kid.birth_date)
            mother_age = (self.year.starts_on - oldest.birth_date).days // 365 + rng.randrange(20, 34)
            r = 0.0 if demo and number == 0 else rng.random()
            sexes = [MALE, FEMALE] if r < 0.5 else [FEMALE] if r < 0.85 else [MALE]
            for sex in sexes:
                age = mother_age + (rng.randrange(0, 7) if sex == MALE else 0)
                parent = self.parent(family, sex, self.birth_date(age))
                parent.phone = f"+7 70{rng.randrange(10)} {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
                people.append(parent)
                relation = RELATIONS[sex][0 if family.language == "kk" else 1]
                guardians.extend((parent, kid, relation) for kid in family.children)
        director_language = organization.language if organization.language != "mixed" else "kk"
        director = self.adult(director_language, rng.choice("MF"), self.birth_date(rng.randrange(38, 60)))
        people.append(director)
        Person.objects.bulk_create(people, batch_size=2000)
        SchoolClass.objects.bulk_create(
            [
                SchoolClass(
                    organization=organization,
                    year=self.year,
                    grade=s.grade,
                    letter=s.letter,
                    language=s.language,
                    shift=s.shift,
                )
                for s in specs
            ]
        )
        classes = {
            (c.grade, c.letter): c for c in SchoolClass.objects.filter(organization=organization, year=self.year)
        }
        for spec in specs:
            spec.school_class = classes[(spec.grade, spec.letter)]
        Enrollment.objects.bulk_create(
            [Enrollment(school_class=spec.school_class, student=kid) for spec in specs for kid in spec.kids],
            batch_size=5000,
        )
        Guardianship.objects.bulk_create(
            [Guardianship(guardian=g, student=s, relation=relation) for g, s, relation in guardians], batch_size=5000
        )
        Membership.objects.bulk_create(
            [Membership(person=kid, role=Role.STUDENT, organization=organization) for s in specs for kid in s.kids]
            + [
                Membership(person=g, role=Role.GUARDIAN, organization=organization)
                for g in {g.pk: g for g, _, _ in guardians}.values()
            ]
            + [Membership(person=director, role=Role.DIRECTOR, organization=organization)],
            batch_size=5000,
        )
        shifts = sorted({s.shift for s in specs})
        # A school with one shift rings a seventh period; with two, the afternoon shift starts then.
        periods = {shift: 6 if shift == 1 and len(shifts) > 1 else len(BELLS[shift]) for shift in shifts}
        BellPeriod.objects.bulk_create(
            [
                BellPeriod(organization=organization, shift=shift, period=period, starts=starts, ends=ends)
                for shift in shifts
                for period in range(1, periods[shift] + 1)
                for starts, ends in [bell_times(shift, period)]
            ]
        )
        self.timetable(organization, specs, demo)
        for term in self.terms:
            if term.starts_on <= self.today:
                self.term_records(organization, specs, term)
        # Past terms are closed with their grades, as a director would have done.
        for term in self.terms:
            if term.ends_on < self.today:
                compute_term_grades(term, TeachingAssignment.objects.filter(school_class__organization=organization))
                # Stamped after the term's entries, generated with their own (past) times: they all count.
                stamp = hlc.stamp(after=entries.term_stamp(organization.pk, term.pk))
                TermClosure.objects.create(organization=organization, term=term, closed_by=None, stamp=stamp)

    def timetable(self, organization: Organization, specs: list[ClassSpec], demo: bool) -> None:
        rng = self.rng
        # subject -> [(teacher, language, busy (shift, weekday, period))]
        teachers: dict[str, list[tuple[Person, str, set]]] = defaultdict(list)
        new_teachers: list[Person] = []
        rooms: dict[int, str] = {}  # id(teacher) -> their classroom
        assignments: list[TeachingAssignment] = []
        slot_rows: list[tuple[ClassSpec, int, int, int, str]] = []  # class, weekday, period, assignment, room
        for spec in specs:
            school_class = spec.school_class
            plan = [(code, hours) for code, _kk, _ru, _en, grades, hours in SUBJECTS if spec.grade in grades]
            week = [code for code, hours in plan for _ in range(hours)]
            rng.shuffle(week)
            periods_per_day = -(-len(week) // WEEKDAYS)
            positions = [(d, p) for p in range(1, periods_per_day + 1) for d in range(1, WEEKDAYS + 1)][: len(week)]
            by_subject = defaultdict(list)
            for code, pos in zip(week, positions, strict=True):
                by_subject[code].append(pos)
            for code, hours in plan:
                wanted = {(spec.shift, d, p) for d, p in by_subject[code]}
                free = [(t, lang) for t, lang, busy in teachers[code] if not busy & wanted and len(busy) + hours <= 24]
                # Someone who teaches the subject in the class's language, and a new teacher if none is free.
                teacher = next((t for t, lang in free if lang == spec.language), None)
                if teacher is None:
                    teacher = self.adult(spec.language, rng.choice("FFM"), self.birth_date(rng.randrange(24, 62)))
                    new_teachers.append(teacher)
                    teachers[code].append((teacher, spec.language, set()))
                    rooms[id(teacher)] = str(200 + len(rooms) + 1 + 70 * (len(rooms) // 30))
                busy = next(b for t, _lang, b in teachers[code] if t is teacher)
                busy |= wanted
                assignments.append(
                    TeachingAssignment(
                        school_class=school_class, subject=self.subjects[code], teacher=teacher, hours_per_week=hours
                    )
                )
                special = SPECIAL_ROOMS.get(code)
                if special:
                    room = special[0 if spec.language == "kk" else 1]
                elif spec.home_room and code != "english":
                    room = spec.home_room
                else:
                    room = rooms[id(teacher)]
                for _shift, weekday, period in sorted(wanted):
                    slot_rows.append((spec, weekday, period, len(assignments) - 1, room))
        Person.objects.bulk_create(new_teachers, batch_size=2000)
        for a in assignments:
            a.teacher_id = a.teacher.pk
        TeachingAssignment.objects.bulk_create(assignments, batch_size=5000)
        TimetableSlot.objects.bulk_create(
            [
                TimetableSlot(school_class=s.school_class, weekday=d, period=p, assignment=assignments[i], room=room)
                for s, d, p, i, room in slot_rows
            ],
            batch_size=5000,
        )
        Membership.objects.bulk_create(
            [Membership(person=t, role=Role.TEACHER, organization=organization) for t in new_teachers], batch_size=5000
        )
        # Each class is led by one of its teachers, and a teacher leads one class where enough teach.
        teachers_of = defaultdict(list)
        for a in assignments:
            teachers_of[a.school_class.pk].append(a.teacher)
        leading: set[int] = set()
        classes = [spec.school_class for spec in specs]
        demo_class = self.demo_class(specs) if demo else None
        if demo_class is not None:
            # The demo teacher teaches algebra in the demo class and leads it.
            algebra = next(a for a in assignments if a.school_class is demo_class and a.subject.code == "algebra")
            demo_class.class_teacher = algebra.teacher
            leading.add(algebra.teacher.pk)
        for c in classes:
            if c is demo_class:
                continue
            free = [t for t in teachers_of[c.pk] if t.pk not in leading]
            c.class_teacher = (free or teachers_of[c.pk])[0]
            leading.add(c.class_teacher.pk)
        SchoolClass.objects.bulk_update(classes, ["class_teacher"])
        Membership.objects.bulk_create(
            [Membership(person=c.class_teacher, role=Role.CLASS_TEACHER, organization=organization) for c in classes],
            ignore_conflicts=True,
        )
        # The teachers have accounts: the audit names who set each mark.
        if demo_class is not None:
            ensure_account(demo_class.class_teacher, username="teacher", password=DEMO_PASSWORD, is_demo=True)
        languages = {t.pk: lang for entries in teachers.values() for t, lang, _busy in entries}
        self.teacher_accounts(organization, new_teachers, languages)
        self.assignment_user = {a.pk: self.user_of[a.teacher_id] for a in assignments}
        self.assignment_code = {a.pk: a.subject.code for a in assignments}

    @staticmethod
    def demo_class(specs: list[ClassSpec]) -> SchoolClass | None:
        """The class whose algebra teacher, one student and that student's father are the demo accounts."""
        return next((s.school_class for s in specs if s.grade == 7 and s.language == "kk"), None) or next(
            (s.school_class for s in specs if s.grade == 7), None
        )

    def teacher_accounts(self, organization: Organization, teachers: list[Person], languages: dict) -> None:
        """Accounts without a password (the teacher sets one with an activation code), in the language the
        teacher teaches in, written in bulk."""
        have = dict(User.objects.filter(person__in=teachers).values_list("person_id", "pk"))
        wanted = [t for t in teachers if t.pk not in have]
        bulk_insert(
            User,
            ("person_id", "username", "password", "language", "is_active"),
            [(t.pk, f"teacher.{t.pk}", UNUSABLE_PASSWORD_PREFIX, languages[t.pk], True) for t in wanted],
        )
        self.user_of = dict(User.objects.filter(person__in=teachers).values_list("person_id", "pk"))
        now = timezone.now()
        self.audit(
            [
                (
                    None,
                    COMMAND,
                    organization.pk,
                    t.pk,
                    ACCOUNT_CREATE,
                    f"user:{self.user_of[t.pk]}",
                    None,
                    {"username": f"teacher.{t.pk}", "demo": False},
                    "",
                    now,
                )
                for t in wanted
            ]
        )

    @staticmethod
    def audit(rows: list[tuple]) -> None:
        """Append audit rows given as AUDIT_FIELDS and the time they happened."""
        bulk_insert(AuditEvent, ("uid", *AUDIT_FIELDS, "at"), [(uuid7(), *row) for row in rows])

    def term_records(self, organization: Organization, specs: list[ClassSpec], term: Term) -> None:
        """Lessons of the term up to today, with topics, homework, marks, absences and summatives."""
        rng = self.rng
        last_day = min(term.ends_on, self.today)
        spec_of = {s.school_class.pk: s for s in specs}
        classes = list(spec_of)
        slots = list(TimetableSlot.objects.filter(school_class__in=classes).values_list(
            "school_class_id", "weekday", "period", "assignment_id"
        ))  # fmt: skip
        by_class_day = defaultdict(list)
        class_of = {}
        for class_id, weekday, period, assignment_id in slots:
            by_class_day[(class_id, weekday)].append((period, assignment_id))
            class_of[assignment_id] = class_id
        lessons: list[Lesson] = []
        day = term.starts_on
        while day <= term.ends_on:
            if day.isoweekday() <= WEEKDAYS and day not in self.holiday_days:
                for c in classes:
                    for period, assignment_id in sorted(by_class_day.get((c, day.isoweekday()), ())):
                        lessons.append(Lesson(assignment_id=assignment_id, term=term, date=day, period=period))
            day += dt.timedelta(days=1)
        of_assignment = defaultdict(list)  # in date order
        for lesson in lessons:
            of_assignment[lesson.assignment_id].append(lesson)
        # Summatives: two unit works and the term's, each at a lesson of its class-subject.
        works = []
        summative_lessons = {}
        for assignment_id, own in of_assignment.items():
            kk = spec_of[class_of[assignment_id]].language == "kk"
            for number, (kind, at, maximum) in enumerate([("unit", 0.35, 10), ("unit", 0.7, 15), ("term", 0.93, 25)]):
                lesson = own[min(len(own) - 1, int(len(own) * at))]
                if lesson.date > last_day:
                    continue
                title = (UNIT_SUMMATIVE_TITLE if kind == "unit" else TERM_SUMMATIVE_TITLE)[0 if kk else 1]
                works.append(
                    SummativeWork(
                        assignment_id=assignment_id,
                        term=term,
                        kind=kind,
                        max_points=maximum,
                        date=lesson.date,
                        title=title.format(n=number + 1),
                    )
                )
                summative_lessons[id(lesson)] = kind
        taught = self.plan_lessons(term, of_assignment, spec_of, class_of, summative_lessons, last_day)
        Lesson.objects.bulk_create(lessons, batch_size=5000)
        Lesson.objectives.through.objects.bulk_create(
            [Lesson.objectives.through(lesson_id=lesson.pk, learningobjective_id=o) for lesson, o in taught],
            batch_size=5000,
        )
        SummativeWork.objects.bulk_create(works, batch_size=5000)
        roster = {c: [kid.pk for kid in spec.kids] for c, spec in spec_of.items()}
        ability = {sid: rng.gauss(0, 1) for ids in roster.values() for sid in ids}
        marks, absences, events = [], [], []
        org = organization.pk
        kinds, weights = [k for k, _ in ABSENCE_KINDS], [w for _, w in ABSENCE_KINDS]
        marks_at = [dt.timedelta(minutes=20, seconds=40 * k) for k in range(200)]
        for lesson in lessons:
            if lesson.date > last_day:
                continue
            spec = spec_of[class_of[lesson.assignment_id]]
            teacher = self.assignment_user[lesson.assignment_id]
            lang = 0 if spec.language == "kk" else 1
            starts = dt.datetime.combine(lesson.date, bell_times(spec.shift, lesson.period)[0], tzinfo=self.zone)
            lesson_id = lesson.pk
            for k, sid in enumerate(roster[spec.school_class.pk]):
                if rng.random() < 0.04:
                    at, key = starts + marks_at[k % 200], f"{sid}:{lesson_id}"
                    kind = rng.choices(kinds, weights)[0]
                    absences.append((sid, lesson_id, kind, at))
                    if kind == "illness" and rng.random() < 0.3:
                        # First marked absent without a reason; the parents brought a doctor's note.
                        later = self.later(at, rng.randrange(1, 4))
                        events.append((teacher, IMPORTED, org, sid, ATTENDANCE_SET, key, None, "unexcused", "", at))
                        reason = ABSENCE_CORRECTION[lang]
                        events.append(
                            (teacher, IMPORTED, org, sid, ATTENDANCE_SET, key, "unexcused", kind, reason, later)
                        )
                    else:
                        events.append((teacher, IMPORTED, org, sid, ATTENDANCE_SET, key, None, kind, "", at))
                    if kind != "late":
                        continue
                if rng.random() < 0.3:
                    at, key = starts + marks_at[k % 200], f"{sid}:{lesson_id}"
                    value = max(1, min(10, round(6.5 + 1.6 * ability[sid] + rng.gauss(0, 1.2))))
                    if rng.random() < 0.015:
                        # A mark changed later: the history keeps the first value and the reason.
                        step = rng.choice([-3, -2, -1, 1, 2])
                        first = value + step if 1 <= value + step <= 10 else value - step
                        later = self.later(at, rng.randrange(1, 5))
                        reason = rng.choice(MARK_CORRECTIONS)[lang]
                        events.append((teacher, IMPORTED, org, sid, MARK_SET, key, None, first, "", at))
                        events.append((teacher, IMPORTED, org, sid, MARK_SET, key, first, value, reason, later))
                        at = later
                    else:
                        events.append((teacher, IMPORTED, org, sid, MARK_SET, key, None, value, "", at))
                    marks.append((sid, lesson_id, None, value, at))
        work_marks = []
        for work in works:
            spec = spec_of[class_of[work.assignment_id]]
            teacher = self.assignment_user[work.assignment_id]
            lang = 0 if spec.language == "kk" else 1
            # Points are entered after the work is checked, a day or two later.
            at = dt.datetime.combine(work.date, dt.time(16, 30), tzinfo=self.zone)
            at = self.later(at, rng.randrange(0, 3))
            for k, sid in enumerate(roster[spec.school_class.pk]):
                share = max(0.0, min(1.0, 0.7 + 0.15 * ability[sid] + rng.gauss(0, 0.1)))
                points = round(work.max_points * share)
                key = f"{sid}:w{work.pk}"
                when = at + marks_at[k % 200]
                if rng.random() < 0.01:
                    step = rng.randrange(1, 4)
                    first = points - step if points >= step else points + step
                    later = self.later(when, rng.randrange(1, 4))
                    reason = MARK_CORRECTIONS[0][lang]
                    events.append((teacher, IMPORTED, org, sid, POINTS_SET, key, None, first, "", when))
                    events.append((teacher, IMPORTED, org, sid, POINTS_SET, key, first, points, reason, later))
                    when = later
                else:
                    events.append((teacher, IMPORTED, org, sid, POINTS_SET, key, None, points, "", when))
                work_marks.append((sid, None, work.pk, points, when))
        bulk_insert(Mark, ("student_id", "lesson_id", "work_id", "value", "updated_at"), marks + work_marks)
        bulk_insert(Attendance, ("student_id", "lesson_id", "status", "updated_at"), absences)
        bulk_insert(MarkEntry, ENTRY_FIELDS, self.entry_rows(events))
        self.audit(events)

    @staticmethod
    def entry_rows(events: list[tuple]) -> list[tuple]:
        """The journal entries the audited writes made, corrections included (the last one wins)."""
        rows = []
        for actor, via, org, sid, event, key, _before, after, reason, at in events:
            field_name = ENTRY_FIELD.get(event)
            if field_name is None:
                continue
            place = key.split(":", 1)[1]
            lesson, work = (None, int(place[1:])) if place.startswith("w") else (int(place), None)
            value = entries.as_text(after)
            rows.append(
                (uuid7(), org, sid, lesson, work, field_name, value, entries.stamp_at(at), actor, via, reason, at)
            )
        return rows

    def later(self, at: dt.datetime, days: int) -> dt.datetime:
        """A moment `days` school days after `at` (at most the school's today), later in the day."""
        moved = at + dt.timedelta(days=days, hours=2)
        if moved.date() > self.today:
            moved = at + dt.timedelta(hours=2)
        return moved

    def plan_lessons(self, term, of_assignment, spec_of, class_of, summative_lessons, last_day) -> list:
        """Topics (the curriculum's objectives of the subject and grade, else its sections), homework
        due at the next lesson of the subject; returns (lesson, objective id) pairs to link."""
        rng = self.rng
        taught = []
        horizon = last_day + dt.timedelta(days=7)  # teachers plan the coming week too
        for assignment_id, own in of_assignment.items():
            spec = spec_of[class_of[assignment_id]]
            lang = 0 if spec.language == "kk" else 1
            code = self.assignment_code[assignment_id]
            programme = self.objectives.get((self.subjects[code].pk, spec.grade))
            share = _term_share(programme, term.number) if programme else None
            sections = _term_share(SECTIONS.get(code, []), term.number)
            homework = HOMEWORK.get(HOMEWORK_KIND.get(code, ""))
            for n, lesson in enumerate(own):
                if lesson.date > horizon:
                    break
                if share:
                    objective = share[n * len(share) // len(own)]
                    text = objective.text_kk if lang == 0 else objective.text_ru
                    lesson.topic = (text[:1].upper() + text[1:])[:300]
                    taught.append((lesson, objective.pk))
                elif sections:
                    lesson.topic = sections[n * len(sections) // len(own)][lang]
                summative = summative_lessons.get(id(lesson))
                if summative:
                    lesson.topic = (UNIT_SUMMATIVE_TOPIC if summative == "unit" else TERM_SUMMATIVE_TOPIC)[lang]
                    continue
                if homework is None or rng.random() >= 0.65:
                    continue
                first_lines, more_lines = homework
                numbers = {
                    "p": (term.number - 1) * 8 + n // 2 + 1,
                    "a": rng.randrange(1, 300),
                    "s": rng.randrange(5, 200),
                }
                numbers["b"] = numbers["a"] + rng.randrange(1, 6)
                numbers["t"] = numbers["s"] + rng.randrange(3, 12)
                lines = [rng.choice(first_lines)[lang]]
                if rng.random() < 0.35:
                    lines.append(rng.choice(more_lines)[lang])
                lesson.homework = "\n".join(line.format(**numbers) for line in lines)
                due = next((later.date for later in own[n + 1 :] if later.date > lesson.date), None)
                lesson.homework_due = due or lesson.date + dt.timedelta(days=7)
        return taught

    def demo_accounts(self, organization: Organization) -> None:
        """teacher, student, parent, director, analyst — password "demo", in demo mode only — and the
        letters and announcements they find when they sign in."""
        if User.objects.filter(username__in=DEMO_ACCOUNTS, is_demo=True).count() == len(DEMO_ACCOUNTS):
            return
        teacher = User.objects.filter(username="teacher", is_demo=True).select_related("person").first()
        if teacher is None:
            raise RuntimeError(
                "The first school was generated without the demo accounts: generate into an empty database."
            )
        school_class = (
            SchoolClass.objects.filter(organization=organization, grade=7, class_teacher=teacher.person)
            .order_by("-language", "letter")  # "kk" before "ru"
            .first()
        )
        # The demo family: the student of the teacher's class whose brother or sister is in the 3rd grade.
        student = next(
            kid
            for kid in Person.objects.filter(enrollments__school_class=school_class).order_by("pk")
            if Guardianship.objects.filter(
                guardian__wards__student=kid,
                student__enrollments__school_class__organization=organization,
                student__enrollments__school_class__grade=3,
            ).exists()
        )
        parent = (
            Person.objects.filter(wards__student=student, sex=MALE).first()
            or Guardianship.objects.filter(student=student).select_related("guardian").first().guardian
        )
        director = Membership.objects.get(organization=organization, role=Role.DIRECTOR).person
        with transaction.atomic():
            analyst = Person.objects.filter(user__username="analyst").first()
            if analyst is None:
                analyst = self.adult("kk", FEMALE, self.birth_date(35))
                analyst.save()
                grant_role(analyst, Role.MINISTRY_ANALYST)
            accounts = {"teacher": teacher}
            for username, person in (
                ("student", student),
                ("parent", parent),
                ("director", director),
                ("analyst", analyst),
            ):
                accounts[username] = ensure_account(person, username=username, password=DEMO_PASSWORD, is_demo=True)
            self.demo_letters(organization, school_class, student, accounts)

    def demo_letters(self, organization: Organization, school_class: SchoolClass, student: Person, accounts) -> None:
        """Announcements of the school and of the demo class, and the demo parent's conversation with
        the demo teacher, written through the messaging services as their authors would write them."""
        if self.today != clock.today():
            self.log("demo letters skipped: they are written today, and the demo's date is another day")
            return
        teacher, parent, director = accounts["teacher"].person, accounts["parent"].person, accounts["director"]
        room = (
            TimetableSlot.objects.filter(assignment__school_class=school_class, assignment__teacher=teacher)
            .values_list("room", flat=True)
            .first()
        )
        meeting = self.today + dt.timedelta(days=7 + (3 - self.today.weekday()) % 7)  # Thursday of next week
        messaging.post_announcement(
            director,
            organization.pk,
            None,
            "Жалпы мектептік ата-аналар жиналысы",
            f"Құрметті ата-аналар! {meeting.day} {KK_MONTHS_LOCATIVE[meeting.month]} сағат 18:00-де мектептің акт "
            "залында жалпы мектептік ата-аналар жиналысы өтеді. Күн тәртібінде: тоқсан қорытындысы, демалыс, "
            "балалардың қауіпсіздігі.\n\n"
            f"Уважаемые родители! {meeting.day} {RU_MONTHS_GENITIVE[meeting.month]} в 18:00 в актовом зале школы "
            "состоится общешкольное родительское собрание. На повестке: итоги четверти, каникулы, безопасность детей.",
        )
        messaging.post_announcement(
            accounts["teacher"],
            organization.pk,
            school_class.pk,
            "Алгебрадан қосымша сабақ",
            f"Құрметті ата-аналар! Жұма сайын сағат 14:30-да {room}-кабинетте {school_class.name} сыныбының "
            "оқушыларына алгебрадан қосымша сабақ өтеді.\nКелетіндер алдын ала маған жазсын.",
        )
        address = f"{teacher.first_name} {'апай' if teacher.sex == FEMALE else 'ағай'}"
        letter = messaging.write_to_teacher(
            accounts["parent"],
            student.pk,
            teacher.pk,
            f"Сәлеметсіз бе, {address}! {student.first_name} соңғы кездері алгебрадан қиналып жүр. "
            "Үйде қалай көмектесе аламыз?",
        )
        messaging.reply(
            accounts["teacher"],
            letter.conversation_id,
            f"Сәлеметсіз бе, {parent.first_name} мырза! Жазғаныңызға рақмет. {student.first_name} сабақта "
            f"белсенді, бірақ дәрежелер тақырыбын қайталау керек. Жұма сайын 14:30-да {room}-кабинетте "
            "қосымша сабақ өтеді, келсін.\nҮй тапсырмасы күнделікте жазылған.",
        )
        messaging.reply(accounts["parent"], letter.conversation_id, f"Рақмет, {address}! Жұмада міндетті түрде барады.")
