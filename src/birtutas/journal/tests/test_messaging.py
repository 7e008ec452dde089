"""Letters between school and family, announcements, and the family's notices of marks that replace each other."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone, translation

from birtutas.journal import message_queries, messaging, services
from birtutas.journal.models import Announcement, Conversation, Enrollment, Letter, SchoolClass
from birtutas.kernel import notify
from birtutas.kernel.errors import Conflict, NotFound, ServiceError
from birtutas.kernel.models import AuditEvent, Notification
from birtutas.registry import accounts, calendar
from birtutas.registry.models import AcademicYear, Guardianship, Membership, User
from birtutas.registry.permissions import Actor, visible
from birtutas.registry.queries import current_year
from birtutas.registry.roles import Role
from birtutas.testing import account, on_day, person, put_back_reference_data, race

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int, int]:
    return (
        Conversation.objects.count(),
        Letter.objects.count(),
        Announcement.objects.count(),
        AuditEvent.objects.filter(event__in=["message.send", "announcement.post"]).count(),
    )


# ------------------------------------------------------------------ rules


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("Сәлеметсіз бе!", "Сәлеметсіз бе!"),
        ("  бір\r\nекі\rүш  ", "бір\nекі\nүш"),  # a browser's line breaks count as one character each
        ("\n\n  \t", ""),
        (None, ""),
    ],
)
def test_typed_text_is_kept_with_its_line_breaks_and_without_blank_edges(typed, kept):
    assert messaging.clean_text(typed) == kept


@pytest.mark.parametrize(
    ("length", "limit", "accepted"),
    [(0, 2000, False), (1, 2000, True), (2000, 2000, True), (2001, 2000, False), (200, 200, True), (201, 200, False)],
)
def test_a_text_between_one_character_and_the_limit_is_accepted_and_else_the_limit_is_named(length, limit, accepted):
    text = "ә" * length
    if accepted:
        assert messaging.check_length(text, limit, messaging.LETTER_LIMIT) == text
        return
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        messaging.check_length(text, limit, messaging.LETTER_LIMIT)
    assert f"at most {limit} characters" in str(refused.value.message)
    assert f"this one has {length}" in str(refused.value.message)


# ------------------------------------------------------------------ who may write to whom


def test_a_guardian_and_the_childs_teacher_write_in_one_conversation_that_every_guardian_reads(world):
    a = world.a
    second = account(person("Ата-анаa", "Бауыржан", dt.date(1982, 3, 3), "M"), "parent_a_second")
    Guardianship.objects.create(guardian=second.person, student=a.student)
    letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлеметсіз бе!\nСұрақ бар.")
    answer = messaging.write_to_family(a.teacher, a.student.pk, "Иә, тыңдаймын.")
    again = messaging.reply(second, letter.conversation_id, "Рақмет.")
    assert letter.conversation_id == answer.conversation_id == again.conversation_id
    conversation = Conversation.objects.get()
    assert (conversation.student_id, conversation.teacher_id) == (a.student.pk, a.teacher.person_id)
    assert conversation.organization_id == a.organization.pk
    assert conversation.last_letter_at == again.sent_at
    assert list(conversation.letters.values_list("text", flat=True)) == [
        "Сәлеметсіз бе!\nСұрақ бар.",
        "Иә, тыңдаймын.",
        "Рақмет.",
    ]
    for reader in (a.guardian, second, a.teacher):
        assert visible(Conversation, Actor.for_user(reader)).filter(pk=conversation.pk).exists()


def test_the_class_teacher_who_teaches_no_subject_is_one_of_the_childs_teachers(world):
    a = world.a
    leader = account(person("Жетекші", "Бауыржан", dt.date(1986, 10, 11), "M"), "leader")
    Membership.objects.create(person=leader.person, role=Role.CLASS_TEACHER, organization=a.organization)
    SchoolClass.objects.filter(pk=a.class_a.pk).update(class_teacher=leader.person)
    letter = messaging.write_to_teacher(a.guardian, a.student.pk, leader.person_id, "Сәлем")
    assert letter.conversation.teacher_id == leader.person_id
    with translation.override("kk"):
        children = message_queries.children_and_teachers(Actor.for_user(a.guardian))
    teachers = {t.person.pk: t for t in children[0].teachers}
    assert teachers[leader.person_id].leads and teachers[leader.person_id].subjects == []
    assert teachers[a.teacher.person_id].subjects == ["Алгебра"] and not teachers[a.teacher.person_id].leads


def test_a_teacher_who_left_the_school_writes_to_none_of_its_families(world):
    """Still active at another school, so the account stays open: but this school's families are gone."""
    a, b = world.a, world.b
    letter = messaging.write_to_family(a.teacher, a.student.pk, "Сәлем")
    Membership.objects.create(person=a.teacher.person, role=Role.TEACHER, organization=b.organization)
    accounts.deactivate(a.director, a.organization.pk, a.teacher.person_id)
    teacher = User.objects.get(pk=a.teacher.pk)  # signed in again: the roles as they are now
    assert teacher.is_active
    before = Letter.objects.count(), Announcement.objects.count()
    for attempt in (
        lambda: messaging.write_to_family(teacher, a.student.pk, "Тағы"),
        lambda: messaging.write_to_teacher(a.guardian, a.student.pk, teacher.person_id, "Сәлем"),
        lambda: messaging.post_announcement(teacher, a.organization.pk, a.class_a.pk, "Жиналыс", "Ертең"),
        lambda: messaging.reply(teacher, letter.conversation_id, "Жауап"),
    ):
        with pytest.raises((NotFound, Conflict)):
            attempt()
    assert (Letter.objects.count(), Announcement.objects.count()) == before
    assert message_queries.taught_classes(Actor.for_user(teacher)) == []
    with translation.override("kk"):
        children = message_queries.children_and_teachers(Actor.for_user(a.guardian))
    assert a.teacher.person_id not in {t.person.pk for t in children[0].teachers}


def _refusals(world):
    a, b = world.a, world.b
    return {
        "to a teacher of another class": lambda: messaging.write_to_teacher(
            a.guardian, a.student.pk, a.other_teacher.person_id, "Сәлем"
        ),
        "to a teacher of another school": lambda: messaging.write_to_teacher(
            a.guardian, a.student.pk, b.teacher.person_id, "Сәлем"
        ),
        "about another family's child": lambda: messaging.write_to_teacher(
            a.guardian, a.classmate.pk, a.teacher.person_id, "Сәлем"
        ),
        "a pupil to their teacher": lambda: messaging.write_to_teacher(
            a.student_user, a.student.pk, a.teacher.person_id, "Сәлем"
        ),
        "to the family of another class": lambda: messaging.write_to_family(a.teacher, a.student_b.pk, "Сәлем"),
        "to a family of the class another teacher teaches": lambda: messaging.write_to_family(
            a.other_teacher, a.student.pk, "Сәлем"
        ),
        "to a family of another school": lambda: messaging.write_to_family(b.teacher, a.student.pk, "Сәлем"),
        "the director to a family": lambda: messaging.write_to_family(a.director, a.student.pk, "Сәлем"),
        "the analyst to a family": lambda: messaging.write_to_family(world.analyst, a.student.pk, "Сәлем"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "to a teacher of another class",
        "to a teacher of another school",
        "about another family's child",
        "a pupil to their teacher",
        "to the family of another class",
        "to a family of the class another teacher teaches",
        "to a family of another school",
        "the director to a family",
        "the analyst to a family",
    ],
)
def test_a_letter_to_someone_who_does_not_teach_the_child_is_not_found_and_writes_nothing(world, case):
    before = counts()
    with pytest.raises(NotFound):
        _refusals(world)[case]()
    assert counts() == before
    assert not Notification.objects.filter(kind="letter").exists()


@pytest.mark.parametrize("reader", ["classmate_guardian", "other_teacher", "director", "b.director", "b.guardian"])
def test_a_conversation_is_not_found_by_anyone_but_its_two_sides(world, reader):
    a = world.a
    letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлем")
    school, role = (world.b, reader[2:]) if reader.startswith("b.") else (a, reader)
    user = getattr(school, role)
    before = counts()
    with pytest.raises(NotFound):
        messaging.reply(user, letter.conversation_id, "Мен де жазамын")
    with pytest.raises(NotFound):
        message_queries.conversation_page(Actor.for_user(user), letter.conversation_id)
    assert counts() == before


@pytest.mark.parametrize(("text", "length"), [("", 0), ("   \n ", 0), ("ә" * 2001, 2001)])
def test_an_empty_or_oversized_letter_is_refused_with_the_limit_named_and_writes_nothing(world, text, length):
    a = world.a
    before = counts()
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, text)
    assert refused.value.status == 400
    assert "at most 2000 characters" in str(refused.value.message) and f"has {length})" in str(refused.value.message)
    assert counts() == before


def test_a_teacher_who_no_longer_teaches_the_child_keeps_the_letters_but_cannot_write(world):
    a = world.a
    letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлем")
    a.assignment_a.teacher = a.other_teacher.person
    a.assignment_a.save()
    SchoolClass.objects.filter(pk=a.class_a.pk).update(class_teacher=None)
    before = counts()
    for writer in (a.guardian, a.teacher):
        with pytest.raises(Conflict):
            messaging.reply(writer, letter.conversation_id, "Тағы бір сұрақ")
    assert counts() == before
    page = message_queries.conversation_page(Actor.for_user(a.teacher), letter.conversation_id)
    assert [m.text for m in page.letters] == ["Сәлем"] and not page.open


def test_a_family_without_a_guardian_on_record_cannot_be_written_to(world):
    a = world.a
    leader = a.teacher
    SchoolClass.objects.filter(pk=a.class_b.pk).update(class_teacher=leader.person)
    before = counts()
    with pytest.raises(Conflict):
        messaging.write_to_family(leader, a.student_b.pk, "Сәлем")  # student_b has no guardian in the test world
    assert counts() == before


# ------------------------------------------------------------------ the current school year


def test_last_years_classes_lead_to_no_letter_and_no_announcement_unless_it_is_still_summer(world):
    """Who teaches whom and who posts where follow the school's current year (`current_year`), the same
    for the messages page's buttons and for the announcement form they lead to."""
    a = world.a
    last = AcademicYear.objects.create(name="2025-2026", starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2026, 5, 25))
    old = SchoolClass.objects.create(
        organization=a.organization, year=last, grade=6, letter="А", language="kk", class_teacher=a.other_teacher.person
    )
    Enrollment.objects.create(school_class=old, student=a.student)  # never marked as left
    other, teacher = Actor.for_user(a.other_teacher), Actor.for_user(a.teacher)
    assert current_year(a.organization.pk, dt.date(2026, 11, 20)).name == "2026-2027"
    assert current_year(a.organization.pk, dt.date(2026, 7, 1)).name == "2025-2026"  # summer: the year just ended
    assert current_year(a.organization.pk, dt.date(2025, 6, 1)).name == "2025-2026"  # before any: the first
    assert message_queries.current_classes([a.student.pk]) == {a.student.pk: a.class_a}
    assert message_queries.announce_places(other) == []  # no button that leads to "not found"
    with pytest.raises(NotFound):
        message_queries.announce_targets(other, a.organization.pk)
    with pytest.raises(NotFound):
        messaging.write_to_family(a.other_teacher, a.student.pk, "Сәлем")
    assert [c.school_class for c in message_queries.taught_classes(other)] == [a.class_b]
    assert message_queries.announce_places(teacher) == [a.organization]
    assert message_queries.announce_targets(teacher, a.organization.pk).classes == [a.class_a]
    with on_day(dt.date(2026, 7, 1)):
        assert message_queries.announce_places(other) == [a.organization]
        assert message_queries.announce_targets(other, a.organization.pk).classes == [old]
        assert message_queries.announce_places(teacher) == []
        assert message_queries.current_classes([a.student.pk]) == {a.student.pk: old}


def test_a_school_that_adopts_its_own_calendar_keeps_its_classes_of_the_default_year(world):
    """Classes made before the school adopted the year point at the ministry's year, not the school's copy."""
    a = world.a
    own = calendar.adopt_default(a.director, a.organization.pk, world.year.pk)
    assert current_year(a.organization.pk, dt.date(2026, 11, 20)) == own != world.year
    assert message_queries.announce_targets(Actor.for_user(a.teacher), a.organization.pk).classes == [a.class_a]
    assert [c.school_class for c in message_queries.taught_classes(Actor.for_user(a.teacher))] == [a.class_a]
    assert messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлем").pk


# ------------------------------------------------------------------ a form sent twice


def test_the_same_form_sent_twice_makes_one_letter_and_a_fresh_page_may_repeat_it(world):
    a = world.a
    first = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Рақмет!", seen=0)
    twice = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Рақмет!\r\n", seen=0)
    assert twice.pk == first.pk
    other_tab = messaging.reply(a.guardian, first.conversation_id, "Ертең келемін.", seen=0)
    assert other_tab.pk != first.pk  # two tabs, two different letters: both kept
    again = messaging.reply(a.guardian, first.conversation_id, "Рақмет!", seen=other_tab.pk)
    assert again.pk not in (first.pk, other_tab.pk)  # said again, from a page that showed the first
    assert Letter.objects.count() == 3
    assert AuditEvent.objects.filter(event="message.send").count() == 3


def test_every_letter_is_audited_with_its_length_and_the_student_but_not_its_text(world):
    a = world.a
    letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Құпия сөз: алма")
    event = AuditEvent.objects.get(event="message.send")
    assert event.object_key == f"{letter.conversation_id}:{letter.pk}"
    assert (event.person_id, event.organization_id, event.actor_id) == (a.student.pk, a.organization.pk, a.guardian.pk)
    assert event.before is None and event.after == {"length": len("Құпия сөз: алма")}
    assert "алма" not in repr((event.before, event.after, event.reason))


def test_each_letter_tells_the_other_side_in_their_language_with_a_link(world, django_capture_on_commit_callbacks):
    a = world.a
    User.objects.filter(pk=a.teacher.pk).update(language="ru")
    second = account(person("Ата-анаa", "Бауыржан", dt.date(1982, 3, 3), "M"), "parent_a_second", language="en")
    Guardianship.objects.create(guardian=second.person, student=a.student)
    with django_capture_on_commit_callbacks(execute=True):
        letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлем")
        messaging.reply(a.guardian, letter.conversation_id, "Тағы бір сөз")
    note = Notification.objects.get(recipient=a.teacher)  # two letters, one notice: the newest
    assert note.link == f"/messages/{letter.conversation_id}/" and note.read_at is None
    assert a.guardian.person.short_name in note.text and a.student.short_name in note.text
    assert not Notification.objects.filter(recipient__in=[a.guardian, second]).exists()  # their own side
    assert len(mail.outbox) == 1  # both letters came before the e-mail went out: one e-mail
    with django_capture_on_commit_callbacks(execute=True):
        messaging.reply(a.guardian, letter.conversation_id, "Кешіріңіз, тағы бір сөз")
    assert len(mail.outbox) == 2  # after it went out: another
    Notification.objects.filter(pk=note.pk).update(read_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        messaging.write_to_family(a.teacher, a.student.pk, "Жауап")
    for guardian in (a.guardian, second):
        assert Notification.objects.get(recipient=guardian).link == f"/messages/{letter.conversation_id}/"
    assert Notification.objects.get(recipient=a.teacher).read_at is not None  # the writer is not told


# ------------------------------------------------------------------ announcements


def test_the_class_teacher_posts_to_their_class_and_its_pupils_and_families_are_told(
    world, django_capture_on_commit_callbacks
):
    a = world.a
    with django_capture_on_commit_callbacks(execute=True):
        notice = messaging.post_announcement(a.teacher, a.organization.pk, a.class_a.pk, "Ата-аналар жиналысы", "Жұма")
    told = set(Notification.objects.filter(kind="announcement").values_list("recipient_id", flat=True))
    assert told == {a.student_user.pk, a.guardian.pk, a.classmate_guardian.pk}
    link = Notification.objects.filter(kind="announcement").first().link
    assert link == f"/messages/#announcement-{notice.pk}"
    readers = {
        label: visible(Announcement, Actor.for_user(user)).filter(pk=notice.pk).exists()
        for label, user in {
            "guardian": a.guardian,
            "student": a.student_user,
            "teacher": a.teacher,
            "director": a.director,
            "other class's teacher": a.other_teacher,
            "another school's director": world.b.director,
            "another school's guardian": world.b.guardian,
        }.items()
    }
    assert readers == {
        "guardian": True,
        "student": True,
        "teacher": True,
        "director": True,
        "other class's teacher": False,
        "another school's director": False,
        "another school's guardian": False,
    }
    event = AuditEvent.objects.get(event="announcement.post")
    assert event.after == {"class": a.class_a.pk, "title": "Ата-аналар жиналысы", "length": 4}
    # A pupil who has left the class, and their family, no longer read its notices.
    Enrollment.objects.filter(school_class=a.class_a, student=a.student).update(left_on=dt.date(2026, 11, 1))
    for user in (a.guardian, a.student_user):
        assert not visible(Announcement, Actor.for_user(User.objects.get(pk=user.pk))).filter(pk=notice.pk).exists()
    assert visible(Announcement, Actor.for_user(a.classmate_guardian)).filter(pk=notice.pk).exists()


def test_the_director_posts_to_the_whole_school_and_every_member_is_told_in_their_language(
    world, django_capture_on_commit_callbacks
):
    a = world.a
    User.objects.filter(pk=a.guardian.pk).update(language="ru")
    with django_capture_on_commit_callbacks(execute=True):
        messaging.post_announcement(a.director, a.organization.pk, None, "Каникулы", "С 28 октября")
    told = set(Notification.objects.filter(kind="announcement").values_list("recipient_id", flat=True))
    members = {a.teacher, a.other_teacher, a.student_user, a.guardian, a.classmate_guardian}
    assert told == {u.pk for u in members}
    assert not Notification.objects.filter(recipient__in=[world.b.guardian, a.director]).exists()


@pytest.mark.parametrize(
    "case",
    [
        "a subject teacher who leads no class",
        "the class teacher to another class",
        "the class teacher to the whole school",
        "a director to another school",
        "a guardian",
        "a pupil",
    ],
)
def test_an_announcement_by_someone_who_may_not_post_there_is_not_found_and_writes_nothing(world, case):
    a, b = world.a, world.b
    attempts = {
        "a subject teacher who leads no class": (a.other_teacher, a.organization.pk, a.class_b.pk),
        "the class teacher to another class": (a.teacher, a.organization.pk, a.class_b.pk),
        "the class teacher to the whole school": (a.teacher, a.organization.pk, None),
        "a director to another school": (a.director, b.organization.pk, None),
        "a guardian": (a.guardian, a.organization.pk, a.class_a.pk),
        "a pupil": (a.student_user, a.organization.pk, a.class_a.pk),
    }
    user, organization_id, class_id = attempts[case]
    before = counts()
    with pytest.raises(NotFound):
        messaging.post_announcement(user, organization_id, class_id, "Жиналыс", "Жұма")
    assert counts() == before


@pytest.mark.parametrize(
    ("title", "text", "named"),
    [
        ("", "Жұма", "at most 200 characters"),
        ("ә" * 201, "Жұма", "at most 200 characters"),
        ("Жиналыс", " ", "at most 4000 characters"),
        ("Жиналыс", "ә" * 4001, "at most 4000 characters"),
    ],
)
def test_an_empty_or_oversized_announcement_is_refused_with_the_limit_named(world, title, text, named):
    a = world.a
    before = counts()
    with translation.override("en"), pytest.raises(ServiceError) as refused:
        messaging.post_announcement(a.director, a.organization.pk, a.class_a.pk, title, text)
    assert named in str(refused.value.message)
    assert counts() == before


def test_an_announcement_sent_twice_is_posted_once(world):
    a = world.a
    seen = message_queries.last_announcement_seen(Actor.for_user(a.director))
    first = messaging.post_announcement(a.director, a.organization.pk, None, "Жиналыс", "Жұма", seen=seen)
    twice = messaging.post_announcement(a.director, a.organization.pk, None, "Жиналыс", "Жұма", seen=seen)
    assert first.pk == twice.pk and Announcement.objects.count() == 1


# ------------------------------------------------------------------ notices of marks


def guardians_in(world, *languages):
    """The student's guardian, in the first language, and one more guardian per further language."""
    a = world.a
    User.objects.filter(pk=a.guardian.pk).update(language=languages[0])
    users = [a.guardian]
    for n, language in enumerate(languages[1:]):
        extra = account(person("Ата-анаa", f"Қосымша{n}", dt.date(1980, 1, 1 + n)), f"extra_{n}", language=language)
        Guardianship.objects.create(guardian=extra.person, student=a.student)
        users.append(extra)
    return users


def test_a_mark_then_lateness_then_a_correction_is_one_notice_in_each_guardians_language(
    world, django_capture_on_commit_callbacks
):
    a = world.a
    kk, ru = guardians_in(world, "kk", "ru")
    lesson = a.lessons_a[2]  # Friday 20 November
    with django_capture_on_commit_callbacks(execute=True):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=8)
    first = Notification.objects.get(recipient=kk)
    Notification.objects.filter(recipient=kk).update(read_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, attendance="late")
        services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=9)
    notes = {n.recipient_id: n for n in Notification.objects.filter(kind="marks")}
    assert set(notes) == {kk.pk, ru.pk}  # one notice per guardian, lesson and student
    assert notes[kk.pk].pk == first.pk and notes[kk.pk].read_at is None  # replaced, unread again
    assert notes[kk.pk].updated_at > first.updated_at
    assert notes[kk.pk].key == f"marks:{lesson.pk}:{a.student.pk}"
    assert notes[kk.pk].link == f"/diary/{a.student.pk}/?week=2026-11-20"
    with translation.override("kk"):
        late_kk = str(dict(services.Attendance.Status.choices)["late"])
    with translation.override("ru"):
        late_ru = str(dict(services.Attendance.Status.choices)["late"])
    assert late_kk != late_ru
    for note, late, month in ((notes[kk.pk], late_kk, "қараша"), (notes[ru.pk], late_ru, "ноября")):
        assert note.text.startswith("Әсел: 9, ") and late in note.text and month in note.text.lower()


def test_a_repeated_save_tells_nobody_anything(world):
    a = world.a
    lesson = a.lessons_a[2]
    services.set_cell(a.teacher, lesson.pk, a.student.pk, "8")
    Notification.objects.update(read_at=timezone.now())
    services.set_cell(a.teacher, lesson.pk, a.student.pk, "8")
    assert Notification.objects.get(recipient=a.guardian).read_at is not None


def test_a_removed_mark_withdraws_an_unseen_notice_and_corrects_a_seen_one(world):
    a = world.a
    first, second = a.lessons_a[1], a.lessons_a[2]
    for lesson in (first, second):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=7)
    Notification.objects.filter(key=f"marks:{first.pk}:{a.student.pk}").update(read_at=timezone.now())
    with translation.override("en"):
        for lesson in (first, second):
            services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=None)
    assert not Notification.objects.filter(key=f"marks:{second.pk}:{a.student.pk}").exists()  # nobody saw it
    seen = Notification.objects.get(key=f"marks:{first.pk}:{a.student.pk}")
    assert seen.read_at is None and "7" not in seen.text.split("—")[0]
    with translation.override("kk"):
        assert str(services._("entry removed")) in seen.text


def test_points_of_a_summative_work_have_a_notice_of_their_own(world):
    a = world.a
    services.set_points(a.teacher, a.work_a.pk, a.student.pk, 15)
    services.set_points(a.teacher, a.work_a.pk, a.student.pk, 17)
    note = Notification.objects.get(recipient=a.guardian)
    assert note.key == f"points:{a.work_a.pk}:{a.student.pk}"
    assert "17" in note.text and "20" in note.text and "БЖБ 1" in note.text and "15" not in note.text


def test_e_mail_waits_for_the_edits_and_sends_the_notice_once_then_a_later_correction(
    world, settings, django_capture_on_commit_callbacks
):
    a = world.a
    settings.NOTIFY_DELAY = 300
    lesson = a.lessons_a[2]
    with django_capture_on_commit_callbacks(execute=True):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=8)
    with django_capture_on_commit_callbacks(execute=True):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, attendance="late")
    assert mail.outbox == []  # still within the delay
    later = timezone.now() + dt.timedelta(seconds=301)
    assert notify.send_due(now=later) == 1
    assert notify.send_due(now=later) == 0  # sent once
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [a.guardian.email]
    assert mail.outbox[0].body == Notification.objects.get(recipient=a.guardian).text
    assert mail.outbox[0].body.startswith("Әсел: 8, ")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=9)  # a correction after it went out
    assert notify.send_due(now=later + dt.timedelta(seconds=301)) == 1
    assert len(mail.outbox) == 2 and mail.outbox[1].body.startswith("Әсел: 9, ")


def test_an_account_closed_meanwhile_gets_no_e_mail_and_a_same_save_reopens_nothing(
    world, settings, django_capture_on_commit_callbacks
):
    a = world.a
    settings.NOTIFY_DELAY = 300
    lesson = a.lessons_a[2]
    with django_capture_on_commit_callbacks(execute=True):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=8)
    notice = Notification.objects.get(recipient=a.guardian)
    Notification.objects.filter(pk=notice.pk).update(read_at=timezone.now())
    # The family switched to Russian; the same mark saved again changes nothing, tells nobody.
    User.objects.filter(pk=a.guardian.pk).update(language="ru")
    with django_capture_on_commit_callbacks(execute=True):
        services.update_cell(a.teacher, lesson.pk, a.student.pk, mark=8)
    assert Notification.objects.get(pk=notice.pk).read_at is not None
    User.objects.filter(pk=a.guardian.pk).update(is_active=False)
    assert notify.send_due(now=timezone.now() + dt.timedelta(seconds=301)) == 0
    assert mail.outbox == []
    assert Notification.objects.get(pk=notice.pk).send_after is None


def test_a_notice_inserted_by_a_concurrent_change_is_updated_not_refused(world):
    """The race of two first changes of one key, as the second writer meets it: its insert collides."""
    a = world.a
    Notification.objects.create(recipient=a.guardian, kind="marks", key="marks:1:2", text="бұрынғы")
    now = timezone.now()
    notify._create([Notification(recipient=a.guardian, kind="marks", key="marks:1:2", text="жаңа")], now)
    note = Notification.objects.get(recipient=a.guardian, key="marks:1:2")
    assert (note.text, note.read_at) == ("жаңа", None)


# ------------------------------------------------------------------ concurrency on a real server


@pytest.fixture
def _reference_data():
    put_back_reference_data()


needs_concurrent_writers = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers")


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_two_notices_of_one_key_at_once_make_one_notice_without_an_integrity_error(_reference_data):
    from django.db import transaction

    from birtutas.testing import build_world

    world = build_world()
    guardian = world.a.guardian

    def restate(text):
        def call():
            with transaction.atomic():
                notify.restate([notify.Message(guardian.pk, "marks", lambda: text, key="marks:9:9")])
            return text

        return call

    results = race(*(restate(f"Әсел: {n}") for n in range(4)))
    assert all(isinstance(r, str) for r in results), results
    assert Notification.objects.filter(recipient=guardian, key="marks:9:9").count() == 1


@needs_concurrent_writers
@pytest.mark.django_db(transaction=True)
def test_the_same_first_letter_sent_twice_at_once_makes_one_conversation_and_one_letter(_reference_data):
    from birtutas.testing import build_world

    world = build_world()
    a = world.a

    def send():
        return messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлем", seen=0)

    results = race(send, send, send)
    assert all(isinstance(r, Letter) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert (Conversation.objects.count(), Letter.objects.count()) == (1, 1)


def test_roles_of_the_test_world_are_as_this_file_assumes(world):
    a = world.a
    assert Membership.objects.filter(person=a.teacher.person, role=Role.CLASS_TEACHER).exists()
    assert a.class_a.class_teacher_id == a.teacher.person_id and a.class_b.class_teacher_id is None
