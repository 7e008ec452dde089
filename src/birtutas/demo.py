"""Deterministic demo and benchmark data: a region of schools with a term of marks and attendance.

The same seed gives the same people, IINs, timetables and marks. Work is done school by school,
each in its own transaction, and a school that already exists is skipped, so an interrupted run
resumes where it stopped. Rows are written in bulk: the benchmark builds 100,000 students with it.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction

from birtutas.curriculum.models import LearningObjective
from birtutas.curriculum.services import load_curriculum, shipped_objectives
from birtutas.journal.models import (
    Attendance,
    Enrollment,
    Lesson,
    Mark,
    SchoolClass,
    Subject,
    SummativeWork,
    TeachingAssignment,
    TermClosure,
    TimetableSlot,
)
from birtutas.journal.services import compute_term_grades
from birtutas.kernel import clock
from birtutas.kernel.bulk import insert_rows
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
)
from birtutas.registry.rules import TermDates, make_iin
from birtutas.registry.services import ensure_account, grant_role

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

KK_SURNAMES = [
    "Ахметов",
    "Жұмабаев",
    "Серікбаев",
    "Омаров",
    "Нұрланов",
    "Қасымов",
    "Тоқтаров",
    "Бекмұхамбетов",
    "Ермеков",
    "Мұсабаев",
    "Байжанов",
    "Оспанов",
    "Төлеуов",
    "Сәрсенбаев",
    "Әбенов",
    "Құдайбергенов",
    "Исмаилов",
    "Жақыпов",
    "Әлімжанов",
    "Рахимов",
    "Сейітов",
    "Қайратов",
    "Мамытов",
    "Ерғалиев",
]
KK_MALE = [
    "Нұрсұлтан",
    "Ерлан",
    "Асқар",
    "Дәурен",
    "Арман",
    "Бауыржан",
    "Ерасыл",
    "Әлихан",
    "Нұрлан",
    "Ерболат",
    "Санжар",
    "Темірлан",
    "Айдос",
    "Дамир",
    "Мирас",
    "Ернұр",
    "Абылай",
    "Ілияс",
    "Жандос",
    "Серік",
]
KK_FEMALE = [
    "Айгерім",
    "Аружан",
    "Әсел",
    "Дана",
    "Жансая",
    "Мөлдір",
    "Гүлнар",
    "Ақбота",
    "Назерке",
    "Әйгерім",
    "Томирис",
    "Інжу",
    "Аяулым",
    "Сымбат",
    "Камила",
    "Дильназ",
    "Балнұр",
    "Жібек",
    "Меруерт",
    "Салтанат",
]
RU_SURNAMES = [
    "Иванов",
    "Петров",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Соколов",
    "Новиков",
    "Морозов",
    "Волков",
    "Лебедев",
    "Козлов",
    "Павлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Фёдоров",
    "Белов",
]
RU_MALE = ["Александр", "Дмитрий", "Максим", "Артём", "Иван", "Михаил", "Никита", "Егор", "Андрей", "Сергей"]
RU_FEMALE = ["Анастасия", "Мария", "Дарья", "Анна", "Виктория", "Елизавета", "Полина", "Екатерина", "Софья", "Алина"]

AKMOLA_DISTRICTS = [
    ("Көкшетау қаласы", "город Кокшетау", "Kokshetau", "urban", ["Көкшетау"], ["Кокшетау"]),
    (
        "Целиноград ауданы",
        "Целиноградский район",
        "Tselinograd District",
        "rural",
        ["Қосшы", "Ақмол", "Нұресіл"],
        ["Косшы", "Акмол", "Нуресиль"],
    ),
    (
        "Бурабай ауданы",
        "Бурабайский район",
        "Burabay District",
        "rural",
        ["Бурабай", "Щучинск", "Златополье"],
        ["Бурабай", "Щучинск", "Златополье"],
    ),
    (
        "Шортанды ауданы",
        "Шортандинский район",
        "Shortandy District",
        "rural",
        ["Шортанды", "Жолымбет"],
        ["Шортанды", "Жолымбет"],
    ),
]

KK_LETTERS = ["А", "Ә", "Б", "В", "Г"]
RU_LETTERS = ["А", "Б", "В", "Г", "Д"]
WEEKDAYS = 5
ABSENCE_KINDS = [("illness", 0.4), ("excused", 0.2), ("unexcused", 0.25), ("late", 0.15)]


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


# ------------------------------------------------------------------ generator


@dataclass
class DemoSize:
    schools: int = 4
    students: int = 1200
    seed: int = 2026
    today: dt.date | None = None
    demo_accounts: bool = True
    progress: bool = True


class Generator:
    def __init__(self, size: DemoSize, log: Callable[[str], None] = print):
        self.size = size
        self.rng = random.Random(size.seed)
        self.today = size.today or clock.today()
        self.log = log
        self.used_iins: set[str] = set()

    # -- shared reference data, idempotent
    def reference(self) -> None:
        self.region = Region.objects.get(code="KZ-11")
        self.districts = []
        for kk, ru, en, _locality, _v_kk, _v_ru in AKMOLA_DISTRICTS:
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

    def person(self, language: str, sex: str, birth_date: dt.date, surname: str | None = None) -> Person:
        rng = self.rng
        if language == "kk":
            first = rng.choice(KK_MALE if sex == "M" else KK_FEMALE)
            last = surname or rng.choice(KK_SURNAMES)
            last = last if sex == "M" or not last.endswith(("ов", "ев", "ин")) else last + "а"
            father = rng.choice(KK_MALE)
            patronymic = f"{father}{'ұлы' if sex == 'M' else 'қызы'}"
        else:
            first = rng.choice(RU_MALE if sex == "M" else RU_FEMALE)
            last = surname or rng.choice(RU_SURNAMES)
            last = last if sex == "M" else last + "а"
            father = rng.choice(RU_MALE)
            stem = father[:-1] + "е" if father.endswith("й") else father
            patronymic = (
                f"{stem}{'вич' if sex == 'M' else 'вна'}"
                if father.endswith("й")
                else (f"{father}{'ович' if sex == 'M' else 'овна'}")
            )
        while True:
            iin = make_iin(birth_date, sex, rng.randrange(1, 10000))
            if iin and iin not in self.used_iins:
                break
        self.used_iins.add(iin)
        return Person(iin=iin, last_name=last, first_name=first, patronymic=patronymic, birth_date=birth_date, sex=sex)

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
            self.demo_accounts(organizations[0])
        return organizations

    def school(self, index: int, students: int) -> Organization:
        district = self.districts[index % len(self.districts)]
        kk, ru, en, locality, villages_kk, villages_ru = AKMOLA_DISTRICTS[index % len(AKMOLA_DISTRICTS)]
        number = index + 1
        if locality == "urban":
            names = (
                f"№{number} жалпы білім беретін мектеп",
                f"Общеобразовательная школа №{number}",
                f"School No. {number}",
            )
        else:
            v = (index // len(AKMOLA_DISTRICTS)) % len(villages_kk)
            names = (
                f"{villages_kk[v]} ауылының №{number} жалпы орта мектебі",
                f"Средняя школа №{number} села {villages_ru[v]}",
                f"Secondary School No. {number}, {villages_ru[v]}",
            )
        existing = Organization.objects.filter(district=district, name_kk=names[0]).first()
        if existing is not None:
            return existing  # finished by an earlier run
        rng = self.rng
        language = rng.choice(["kk", "kk", "ru", "mixed"]) if locality == "urban" else rng.choice(["kk", "kk", "ru"])
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
            self.populate(organization, students)
        return organization

    def populate(self, organization: Organization, students: int) -> None:
        rng = self.rng
        parallels = max(1, min(4, round(students / 11 / 25)))
        class_specs = []
        for grade in range(1, 12):
            used: set[str] = set()
            for p in range(parallels):
                lang = organization.language if organization.language != "mixed" else ("kk" if p % 2 == 0 else "ru")
                letters = KK_LETTERS if lang == "kk" else RU_LETTERS
                # A mixed school alternates alphabets, whose third letters coincide («Б»): take the next free one.
                letter = next(x for x in letters[p:] + letters if x not in used)
                used.add(letter)
                class_specs.append((grade, letter, lang))
        base, extra = divmod(students, len(class_specs))
        people: list[Person] = []
        class_rows = []
        roster: dict[int, list[Person]] = {}
        for i, (grade, letter, lang) in enumerate(class_specs):
            n = base + (1 if i < extra else 0)
            kids = [self.person(lang, rng.choice("MF"), self.birth_date(6 + grade)) for _ in range(n)]
            roster[i] = kids
            people.extend(kids)
            class_rows.append(
                SchoolClass(organization=organization, year=self.year, grade=grade, letter=letter, language=lang)
            )
        # Guardians: one per student, a sibling now and then shares the same parent.
        guardians: list[tuple[Person, Person]] = []
        last_parent: Person | None = None
        for kid in list(people):
            if (
                last_parent is not None
                and rng.random() < 0.12
                and kid.last_name.rstrip("а") == last_parent.last_name.rstrip("а")
            ):
                guardians.append((last_parent, kid))
                continue
            lang = "ru" if kid.last_name.rstrip("а") in RU_SURNAMES else "kk"
            sex = rng.choice("MF")
            surname = (
                kid.last_name.rstrip("а")
                if kid.last_name.endswith("ова") or kid.last_name.endswith("ева")
                else kid.last_name
            )
            parent = self.person(lang, sex, self.birth_date(rng.randrange(28, 50)), surname=surname)
            parent.phone = f"+7 70{rng.randrange(10)} {rng.randrange(100, 999)} {rng.randrange(1000, 9999)}"
            people.append(parent)
            guardians.append((parent, kid))
            last_parent = parent
        # Teachers: created as the timetable needs them, so nobody has two lessons at once.
        director = self.person(
            organization.language if organization.language != "mixed" else "kk",
            rng.choice("MF"),
            self.birth_date(rng.randrange(38, 60)),
        )
        people.append(director)
        Person.objects.bulk_create(people, batch_size=2000)
        SchoolClass.objects.bulk_create(class_rows)
        classes = list(
            SchoolClass.objects.filter(organization=organization, year=self.year).order_by("grade", "letter")
        )
        by_key = {(c.grade, c.letter): c for c in classes}
        Enrollment.objects.bulk_create(
            [
                Enrollment(school_class=by_key[(class_specs[i][0], class_specs[i][1])], student=kid)
                for i, kids in roster.items()
                for kid in kids
            ],
            batch_size=5000,
        )
        Guardianship.objects.bulk_create([Guardianship(guardian=g, student=s) for g, s in guardians], batch_size=5000)
        Membership.objects.bulk_create(
            [
                Membership(person=kid, role=Role.STUDENT, organization=organization)
                for kids in roster.values()
                for kid in kids
            ]
            + [
                Membership(person=g, role=Role.GUARDIAN, organization=organization)
                for g in {g.pk: g for g, _ in guardians}.values()
            ]
            + [Membership(person=director, role=Role.DIRECTOR, organization=organization)],
            batch_size=5000,
        )
        self.timetable(organization, classes)
        for term in self.terms:
            if term.starts_on <= self.today:
                self.term_records(organization, classes, term)
        # Past terms are closed with their grades, as a director would have done.
        for term in self.terms:
            if term.ends_on < self.today:
                compute_term_grades(term, TeachingAssignment.objects.filter(school_class__organization=organization))
                TermClosure.objects.create(organization=organization, term=term, closed_by=None)

    def timetable(self, organization: Organization, classes: list[SchoolClass]) -> None:
        rng = self.rng
        teachers: dict[str, list[tuple[Person, set]]] = defaultdict(list)  # subject -> [(teacher, busy slots)]
        new_teachers: list[Person] = []
        assignments: list[TeachingAssignment] = []
        slot_rows: list[tuple[SchoolClass, int, int, int]] = []  # class, weekday, period, assignment index
        for school_class in classes:
            plan = [(code, hours) for code, _kk, _ru, _en, grades, hours in SUBJECTS if school_class.grade in grades]
            week = [code for code, hours in plan for _ in range(hours)]
            rng.shuffle(week)
            periods_per_day = -(-len(week) // WEEKDAYS)
            positions = [(d, p) for p in range(1, periods_per_day + 1) for d in range(1, WEEKDAYS + 1)][: len(week)]
            by_subject = defaultdict(list)
            for code, pos in zip(week, positions, strict=True):
                by_subject[code].append(pos)
            for code, hours in plan:
                wanted = set(by_subject[code])
                teacher = next((t for t, busy in teachers[code] if not busy & wanted and len(busy) + hours <= 24), None)
                if teacher is None:
                    lang = school_class.language
                    teacher = self.person(lang, rng.choice("FFM"), self.birth_date(rng.randrange(24, 62)))
                    new_teachers.append(teacher)
                    teachers[code].append((teacher, set()))
                busy = next(b for t, b in teachers[code] if t is teacher)
                busy |= wanted
                assignments.append(
                    TeachingAssignment(
                        school_class=school_class, subject=self.subjects[code], teacher=teacher, hours_per_week=hours
                    )
                )
                for weekday, period in sorted(wanted):
                    slot_rows.append((school_class, weekday, period, len(assignments) - 1))
        Person.objects.bulk_create(new_teachers, batch_size=2000)
        for a in assignments:
            a.teacher_id = a.teacher.pk
        TeachingAssignment.objects.bulk_create(assignments, batch_size=5000)
        TimetableSlot.objects.bulk_create(
            [
                TimetableSlot(
                    school_class=c, weekday=d, period=p, assignment=assignments[i], room=str(100 + c.grade * 10 + i % 7)
                )
                for c, d, p, i in slot_rows
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
        first_teacher = {}
        for c in classes:
            free = [t for t in teachers_of[c.pk] if t.pk not in leading]
            first_teacher[c.pk] = (free or teachers_of[c.pk])[0]
            leading.add(first_teacher[c.pk].pk)
            c.class_teacher = first_teacher[c.pk]
        SchoolClass.objects.bulk_update(classes, ["class_teacher"])
        Membership.objects.bulk_create(
            [
                Membership(person=first_teacher[c.pk], role=Role.CLASS_TEACHER, organization=organization)
                for c in classes
            ],
            ignore_conflicts=True,
        )

    def term_records(self, organization: Organization, classes: list[SchoolClass], term: Term) -> None:
        """Lessons of the term up to today, with topics, homework, marks, absences and summatives."""
        rng = self.rng
        last_day = min(term.ends_on, self.today)
        slots = list(TimetableSlot.objects.filter(school_class__in=classes).select_related("assignment"))
        by_class_day = defaultdict(list)
        for s in slots:
            by_class_day[(s.school_class_id, s.weekday)].append(s)
        lessons = []
        day = term.starts_on
        while day <= term.ends_on:
            if day.isoweekday() <= WEEKDAYS and day not in self.holiday_days:
                for c in classes:
                    for s in by_class_day.get((c.pk, day.isoweekday()), ()):
                        lessons.append(Lesson(assignment_id=s.assignment_id, term=term, date=day, period=s.period))
            day += dt.timedelta(days=1)
        counters = defaultdict(int)
        class_of = {}
        for s in slots:
            class_of[s.assignment_id] = s.school_class_id
        lang_of = {c.pk: c.language for c in classes}
        grade_of = {c.pk: c.grade for c in classes}
        subject_of = {s.assignment_id: s.assignment.subject_id for s in slots}
        in_term = defaultdict(int)
        for lesson in lessons:
            in_term[lesson.assignment_id] += 1
        taught = []  # (lesson, objective id): each lesson works on one objective of the term's share
        for lesson in lessons:
            counters[lesson.assignment_id] += 1
            n = counters[lesson.assignment_id]
            if lesson.date <= last_day + dt.timedelta(days=7):
                kk = lang_of[class_of[lesson.assignment_id]] == "kk"
                lesson.topic = f"{n}-сабақ: жаңа тақырып" if kk else f"Урок {n}: новая тема"
                programme = self.objectives.get(
                    (subject_of[lesson.assignment_id], grade_of[class_of[lesson.assignment_id]])
                )
                if programme:
                    share = _term_share(programme, term.number)
                    objective = share[(n - 1) * len(share) // in_term[lesson.assignment_id]]
                    text = objective.text_kk if kk else objective.text_ru
                    lesson.topic = (text[:1].upper() + text[1:])[:300]
                    taught.append((lesson, objective.pk))
                if rng.random() < 0.6:
                    lesson.homework = (
                        f"§{n}, {rng.randrange(1, 40)}-жаттығу" if kk else f"§{n}, упр. {rng.randrange(1, 40)}"
                    )
                    lesson.homework_due = lesson.date + dt.timedelta(days=rng.choice([1, 2, 7]))
        Lesson.objects.bulk_create(lessons, batch_size=5000)
        Lesson.objectives.through.objects.bulk_create(
            [Lesson.objectives.through(lesson_id=lesson.pk, learningobjective_id=o) for lesson, o in taught],
            batch_size=5000,
        )
        roster = defaultdict(list)
        for class_id, student_id in Enrollment.objects.filter(school_class__in=classes).values_list(
            "school_class_id", "student_id"
        ):
            roster[class_id].append(student_id)
        ability = {sid: rng.gauss(0, 1) for ids in roster.values() for sid in ids}
        marks, absences = [], []
        for lesson in lessons:
            if lesson.date > last_day:
                continue
            for sid in roster[class_of[lesson.assignment_id]]:
                r = rng.random()
                if r < 0.04:
                    kind = rng.choices([k for k, _ in ABSENCE_KINDS], [w for _, w in ABSENCE_KINDS])[0]
                    absences.append((sid, lesson.pk, kind))
                    if kind != "late":
                        continue
                if rng.random() < 0.3:
                    value = max(1, min(10, round(6.5 + 1.6 * ability[sid] + rng.gauss(0, 1.2))))
                    marks.append((sid, lesson.pk, None, value))
        works, work_marks = [], []
        assignment_ids = {s.assignment_id: s.assignment for s in slots}
        length = (term.ends_on - term.starts_on).days
        for assignment_id in assignment_ids:
            plan = [("unit", 0.35, 10), ("unit", 0.7, 15), ("term", 0.93, 25)]
            for kind, at, maximum in plan:
                date = term.starts_on + dt.timedelta(days=int(length * at))
                while date.isoweekday() > WEEKDAYS or date in self.holiday_days:
                    date -= dt.timedelta(days=1)
                if date > last_day:
                    continue
                works.append(
                    SummativeWork(
                        assignment_id=assignment_id,
                        term=term,
                        kind=kind,
                        max_points=maximum,
                        date=date,
                        title=("БЖБ" if kind == "unit" else "ТЖБ"),
                    )
                )
        SummativeWork.objects.bulk_create(works, batch_size=5000)
        for work in works:
            for sid in roster[class_of[work.assignment_id]]:
                share = max(0.0, min(1.0, 0.7 + 0.15 * ability[sid] + rng.gauss(0, 0.1)))
                work_marks.append((sid, None, work.pk, round(work.max_points * share)))
        insert_rows(Mark, ("student_id", "lesson_id", "work_id", "value"), marks + work_marks)
        insert_rows(Attendance, ("student_id", "lesson_id", "status"), absences)

    def demo_accounts(self, organization: Organization) -> None:
        """teacher, student, parent, director, analyst — password "demo", in demo mode only."""
        from birtutas.registry.models import User

        if User.objects.filter(username="teacher", is_demo=True).exists():
            return
        school_class = (
            SchoolClass.objects.filter(organization=organization, grade=7).order_by("letter").first()
            or SchoolClass.objects.filter(organization=organization).order_by("-grade").first()
        )
        assignment = (
            TeachingAssignment.objects.filter(school_class=school_class, subject__code="algebra").first()
            or TeachingAssignment.objects.filter(school_class=school_class).first()
        )
        teacher = assignment.teacher
        if school_class.class_teacher_id != teacher.pk:
            school_class.class_teacher = teacher
            school_class.save(update_fields=["class_teacher"])
            grant_role(teacher, Role.CLASS_TEACHER, organization=organization)
        student = (
            Person.objects.filter(enrollments__school_class=school_class).order_by("last_name", "first_name").first()
        )
        parent = Guardianship.objects.filter(student=student).select_related("guardian").first().guardian
        # The demo parent has a second child in a younger class, to show switching between children.
        sibling = (
            Person.objects.filter(
                enrollments__school_class__organization=organization, enrollments__school_class__grade=3
            )
            .exclude(guardians__guardian=parent)
            .order_by("last_name")
            .first()
        )
        if sibling is not None:
            Guardianship.objects.get_or_create(guardian=parent, student=sibling)
        director = Membership.objects.get(organization=organization, role=Role.DIRECTOR).person
        analyst = Person.objects.create(**_analyst_fields(self))
        grant_role(analyst, Role.MINISTRY_ANALYST)
        for username, person in (
            ("teacher", teacher),
            ("student", student),
            ("parent", parent),
            ("director", director),
            ("analyst", analyst),
        ):
            ensure_account(person, username=username, password=DEMO_PASSWORD, is_demo=True)


def _term_share(programme: list, term_number: int) -> list:
    """The objectives of a year's programme taught in one of its four terms (all of them if too few)."""
    if len(programme) < 4 or not 1 <= term_number <= 4:
        return programme
    return programme[(term_number - 1) * len(programme) // 4 : term_number * len(programme) // 4]


def _analyst_fields(gen: Generator) -> dict:
    person = gen.person("kk", "F", gen.birth_date(35))
    return {f: getattr(person, f) for f in ("iin", "last_name", "first_name", "patronymic", "birth_date", "sex")}
