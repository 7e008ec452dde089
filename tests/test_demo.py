"""The demo region (`birtutas.demo`): what a Kazakh school would recognise in it.

One mixed-language school (classes in Kazakh and in Russian, two shifts) with the demo accounts is
generated once for the module, inside a transaction rolled back at its end.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict

import pytest
from django.db import transaction
from django.test.utils import override_settings

from birtutas.demo import DEMO_ACCOUNTS, DemoSize, Generator
from birtutas.journal.models import (
    Announcement,
    Attendance,
    BellPeriod,
    Enrollment,
    Lesson,
    Letter,
    Mark,
    SchoolClass,
    SummativeWork,
    TimetableSlot,
)
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import Guardianship, Person, User
from birtutas.registry.naming import (
    KAZAKH_STYLE,
    MALE,
    RUSSIAN_STYLE,
    patronymic,
    russian_spelling,
    surname_for,
)
from birtutas.registry.rules import check_iin_matches
from birtutas.testing import TODAY

KAZAKH_LETTERS = re.compile("[әғқңөұүһі]", re.IGNORECASE)
SIZE = DemoSize(schools=1, students=240, seed=11, today=TODAY, demo_accounts=True, progress=False)


@pytest.fixture(scope="module")
def school(django_db_setup, django_db_blocker):
    settings = {
        "BIRTUTAS_TODAY": TODAY.isoformat(),
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    }
    with django_db_blocker.unblock(), override_settings(**settings), transaction.atomic():
        (organization,) = Generator(SIZE, log=lambda _m: None).run()
        yield organization
        transaction.set_rollback(True)


def students_of(school_class):
    return list(Person.objects.filter(enrollments__school_class=school_class))


def test_a_mixed_school_has_kazakh_and_russian_classes_in_two_shifts(school, db):
    assert school.language == "mixed"
    assert "мектеб" in school.name_kk and "школа" in school.name_ru.lower()
    classes = list(SchoolClass.objects.filter(organization=school))
    assert {c.language for c in classes} == {"kk", "ru"}
    assert {c.shift for c in classes} == {1, 2}
    assert {c.shift for c in classes if c.grade in (1, 9, 11)} == {1}  # first-graders and graduates: mornings
    kazakh = [p for c in classes if c.language == "kk" for p in students_of(c)]
    russian = [p for c in classes if c.language == "ru" for p in students_of(c)]
    # Kazakh-language classes: Kazakh names in Kazakh spelling, many with the letters of the Kazakh alphabet.
    assert sum(bool(KAZAKH_LETTERS.search(p.full_name)) for p in kazakh) > len(kazakh) // 2
    # Russian-language classes: names written the Russian way, Kazakh ones among them.
    assert not any(KAZAKH_LETTERS.search(p.full_name) for p in russian)
    assert any(p.patronymic.endswith(("ович", "евич", "овна", "евна")) for p in russian)
    # Every teacher has an account (the audit names who set each mark), in the language they teach in.
    for language in ("kk", "ru"):
        teachers = Person.objects.filter(teaching__school_class__language=language).distinct()
        assert set(User.objects.filter(person__in=teachers).values_list("language", flat=True)) == {language}
        assert not teachers.filter(user__isnull=True).exists()


def test_every_iin_agrees_with_birth_date_and_sex(school, db):
    for person in Person.objects.all():
        check_iin_matches(person.iin, person.birth_date, person.sex)


def styles(father: str, sex: str) -> set[str]:
    forms = {patronymic(father, sex, style) for style in (KAZAKH_STYLE, RUSSIAN_STYLE)}
    return forms | {russian_spelling(form) for form in forms}


def test_families_agree_patronymic_from_the_father_surname_by_sex(school, db):
    children = defaultdict(list)  # guardian -> children
    fathers = {}
    for link in Guardianship.objects.select_related("guardian", "student"):
        children[link.guardian_id].append(link.student)
        if link.guardian.sex == MALE:
            fathers[link.student.pk] = link.guardian
    assert len(fathers) > 100
    for student_id, father in fathers.items():
        child = next(c for kids in children.values() for c in kids if c.pk == student_id)
        assert child.patronymic in styles(father.first_name, child.sex), (child.full_name, father.full_name)
        assert child.last_name == surname_for(father.last_name, child.sex)
    siblings = [kids for kids in children.values() if len(kids) > 1]
    assert len(siblings) > 20
    assert any(a.sex != b.sex for kids in siblings for a in kids for b in kids)
    for kids in siblings:
        assert len({surname_for(k.last_name, MALE) for k in kids}) == 1, [k.full_name for k in kids]
        assert len({patronymic_root(k.patronymic) for k in kids}) == 1, [k.full_name for k in kids]
        assert len({k.first_name for k in kids}) == len(kids) or len(kids) > 2


def patronymic_root(text: str) -> str:
    return re.sub("(ұлы|қызы|улы|кызы|ович|овна|евич|евна|ич|ична|инична)$", "", text)


def test_the_demo_parent_has_two_children_in_kazakh_language_classes(school, db):
    parent = User.objects.get(username="parent").person
    links = list(Guardianship.objects.filter(guardian=parent).select_related("student"))
    assert len(links) == 2
    classes = [
        Enrollment.objects.select_related("school_class").get(student=link.student).school_class for link in links
    ]
    assert {c.language for c in classes} == {"kk"}
    assert len({c.grade for c in classes}) == 2
    assert parent.sex == MALE
    for link in links:
        child = link.student
        assert child.patronymic == patronymic(parent.first_name, child.sex, KAZAKH_STYLE)
        assert child.last_name == surname_for(parent.last_name, child.sex)
        assert link.relation == "әкесі"
    # The demo student is one of them, in the demo teacher's 7th grade, which the teacher leads.
    student = User.objects.get(username="student").person
    teacher = User.objects.get(username="teacher").person
    assert student in [link.student for link in links]
    seventh = SchoolClass.objects.get(enrollments__student=student)
    assert (seventh.grade, seventh.language, seventh.class_teacher_id) == (7, "kk", teacher.pk)
    taught = SchoolClass.objects.filter(assignments__teacher=teacher).distinct()
    assert {c.language for c in taught} == {"kk"}
    assert set(User.objects.filter(is_demo=True).values_list("username", flat=True)) == set(DEMO_ACCOUNTS)


def test_the_demo_accounts_sign_in(school, db, client, settings):
    settings.DEMO_MODE = True
    for username in DEMO_ACCOUNTS:
        assert client.login(username=username, password="demo"), username  # noqa: S106 - the demo's password
        client.logout()
    client.force_login(User.objects.get(username="parent"))
    student = User.objects.get(username="student").person
    page = client.get(f"/diary/{student.pk}/?week={TODAY.isoformat()}", HTTP_ACCEPT_LANGUAGE="kk")
    assert page.status_code == 200
    assert student.first_name in page.content.decode()


def test_topics_come_from_the_curriculum_in_the_class_language(school, db):
    held = Lesson.objects.filter(assignment__school_class__organization=school, date__lte=TODAY)
    assert held.exists()
    assert not held.filter(topic="").exists()
    for words in ("новая тема", "жаңа тақырып", "Урок", "сабақ:"):
        assert not Lesson.objects.filter(topic__icontains=words).exists(), words
    # Algebra in the 7th grade: each lesson works on an objective of the grade, named in the class's language.
    for language in ("kk", "ru"):
        lessons = list(
            held.filter(
                assignment__subject__code="algebra",
                assignment__school_class__grade=7,
                assignment__school_class__language=language,
            ).prefetch_related("objectives")
        )
        assert lessons
        for lesson in lessons:
            (objective,) = lesson.objectives.all()
            assert objective.grade == 7 and objective.subject.code == "algebra"
            text = objective.text_kk if language == "kk" else objective.text_ru
            if lesson.topic not in ("Бөлім бойынша жиынтық бағалау", "Тоқсан бойынша жиынтық бағалау") and (
                "Суммативное" not in lesson.topic
            ):
                assert lesson.topic.lower() == text.lower()[:300]
        assert len({o.pk for lesson in lessons for o in lesson.objectives.all()}) > 3


def test_homework_is_due_at_the_next_lesson_of_the_subject(school, db):
    lessons = list(
        Lesson.objects.filter(assignment__school_class__organization=school).order_by("assignment", "date", "period")
    )
    with_homework = [lesson for lesson in lessons if lesson.homework]
    assert len(with_homework) > 100
    assert any("\n" in lesson.homework for lesson in with_homework)  # several lines now and then
    days = defaultdict(list)  # class-subject -> days of its lessons
    for lesson in lessons:
        days[lesson.assignment_id].append(lesson.date)
    next_of = {
        lesson.pk: next((day for day in days[lesson.assignment_id] if day > lesson.date), None) for lesson in lessons
    }
    at_next = 0
    for lesson in with_homework:
        assert lesson.homework_due and lesson.homework_due > lesson.date
        at_next += lesson.homework_due == next_of.get(lesson.pk)
    assert at_next > 0.9 * len(with_homework)
    # No homework in physical education; the PE lessons are in the gym, named in the class's language.
    assert not any(lesson.homework for lesson in Lesson.objects.filter(assignment__subject__code="pe"))
    rooms = dict(
        TimetableSlot.objects.filter(assignment__subject__code="pe", school_class__organization=school).values_list(
            "school_class__language", "room"
        )
    )
    assert rooms == {"kk": "Спорт залы", "ru": "Спортзал"}
    assert not TimetableSlot.objects.filter(school_class__organization=school, room="").exists()


def test_bell_schedule_for_each_shift(school, db):
    bells = {(b.shift, b.period): (b.starts, b.ends) for b in BellPeriod.objects.filter(organization=school)}
    assert bells[(1, 1)] == (dt.time(8, 0), dt.time(8, 45))
    assert bells[(2, 1)] == (dt.time(13, 30), dt.time(14, 15))
    used = set(
        TimetableSlot.objects.filter(school_class__organization=school).values_list("school_class__shift", "period")
    )
    assert used <= set(bells)
    assert max(b[1] for b in bells.values() if b) <= dt.time(19, 0)
    assert all(bells[(1, p)][1] <= bells[(2, 1)][0] for s, p in bells if s == 1)  # the shifts do not overlap


def test_every_mark_has_its_history_with_the_teacher_as_actor(school, db):
    marks = {
        (m.student_id, m.lesson_id, m.work_id): (m.value, m.lesson or m.work)
        for m in Mark.objects.select_related("lesson__assignment", "work__assignment")
    }
    assert len(marks) > 1000
    last = {}
    corrections = []
    for event in AuditEvent.objects.filter(event__in=["mark.set", "points.set"]).order_by("at", "id"):
        last[(event.event, event.object_key)] = event
        if event.before is not None:
            corrections.append(event)
    teacher_user = dict(User.objects.filter(person__teaching__isnull=False).values_list("person_id", "pk"))
    for (student_id, lesson_id, work_id), (value, occasion) in marks.items():
        key = ("mark.set", f"{student_id}:{lesson_id}") if lesson_id else ("points.set", f"{student_id}:w{work_id}")
        event = last[key]
        assert event.after == value
        assert event.actor_id == teacher_user[occasion.assignment.teacher_id]
        assert (event.via, event.person_id, event.organization_id) == ("import", student_id, school.pk)
        assert event.at.date() >= occasion.date
    # Some marks were corrected later, with the earlier value, a reason in the class's language and a later time.
    assert len(corrections) > 10
    for event in corrections:
        first = AuditEvent.objects.get(event=event.event, object_key=event.object_key, before__isnull=True)
        assert first.after == event.before != event.after and first.at < event.at and event.reason
    # Absences too, and a doctor's note turns an unexcused absence into illness.
    assert AuditEvent.objects.filter(event="attendance.set").count() >= Attendance.objects.count()
    assert AuditEvent.objects.filter(event="attendance.set", before="unexcused", after="illness").exists()


def test_the_history_pages_show_who_set_a_mark(school, db, client, settings):
    settings.DEMO_MODE = True
    event = AuditEvent.objects.filter(event="mark.set", before__isnull=False).select_related("actor__person").first()
    student_id, lesson_id = map(int, event.object_key.split(":"))
    director = User.objects.get(username="director")
    client.force_login(director)
    page = client.get(f"/school/history/{student_id}/{lesson_id}/", HTTP_ACCEPT_LANGUAGE="kk")
    assert page.status_code == 200, page
    page = page.content.decode()
    assert event.actor.person.short_name in page
    assert event.reason in page
    # The family sees who set the marks of the demo student too.
    student = User.objects.get(username="student")
    client.force_login(User.objects.get(username="parent"))
    page = client.get(f"/diary/{student.person_id}/history/", HTTP_ACCEPT_LANGUAGE="kk").content.decode()
    teacher = User.objects.get(username="teacher").person
    assert teacher.short_name in page


def test_summatives_are_named_in_the_class_language(school, db):
    titles = dict(SummativeWork.objects.filter(kind="term").values_list("assignment__school_class__language", "title"))
    assert titles == {"kk": "ТЖБ", "ru": "СОЧ"}
    assert set(SummativeWork.objects.filter(kind="unit").values_list("title", flat=True)) == {
        "БЖБ №1",
        "БЖБ №2",
        "СОР №1",
        "СОР №2",
    }


def test_the_demo_parent_and_teacher_have_written_to_each_other(school, db):
    parent, teacher = User.objects.get(username="parent"), User.objects.get(username="teacher")
    letters = list(Letter.objects.order_by("sent_at", "id").select_related("conversation"))
    assert [m.author for m in letters] == [parent, teacher, parent]
    conversation = letters[0].conversation
    assert conversation.teacher_id == teacher.person_id
    assert conversation.student_id == User.objects.get(username="student").person_id
    assert AuditEvent.objects.filter(event="message.send").count() == 3
    announcements = list(Announcement.objects.all())
    assert {(a.author.username, a.school_class_id is None) for a in announcements} == {
        ("director", True),
        ("teacher", False),
    }


def test_a_second_run_adds_nothing(school, db):
    counts = [model.objects.count() for model in (Person, Lesson, Mark, AuditEvent, Letter, User)]
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        (again,) = Generator(SIZE, log=lambda _m: None).run()
    assert again == school
    assert [model.objects.count() for model in (Person, Lesson, Mark, AuditEvent, Letter, User)] == counts
