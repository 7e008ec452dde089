"""The messages pages as a family, a teacher and a director use them: letters, announcements, refusals, costs."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from birtutas.journal import messaging
from birtutas.journal.models import Announcement, Conversation, Enrollment, Letter, SchoolClass
from birtutas.kernel.models import AuditEvent, Notification
from birtutas.registry.models import AcademicYear, Guardianship, Membership, User
from birtutas.registry.roles import Role
from birtutas.testing import account, person, signed_in

pytestmark = pytest.mark.django_db


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def written() -> tuple[int, int, int]:
    return Conversation.objects.count(), Letter.objects.count(), Announcement.objects.count()


# ------------------------------------------------------------------ a family and a teacher


def test_a_guardian_writes_to_a_teacher_listed_with_their_subject_and_the_letter_keeps_its_lines(world):
    a = world.a
    client = signed_in(a.guardian)
    index = page_text(client.get("/messages/"))
    assert f'name="student" value="{a.student.pk}"' in index
    assert f'<option value="{a.teacher.person_id}"' in index and "Algebra" in index and "class teacher" in index
    assert f'<option value="{a.other_teacher.person_id}"' not in index  # teaches the other class
    response = client.post(
        "/messages/write/",
        {"student": a.student.pk, "teacher": a.teacher.person_id, "text": "Бірінші жол\r\nЕкінші жол", "seen": 0},
    )
    conversation = Conversation.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/messages/{conversation.pk}/"
    shown = page_text(client.get(response["Location"]))
    assert "Бірінші жол<br>Екінші жол" in shown and "Your message is sent." in shown
    teacher = signed_in(a.teacher)
    listed = page_text(teacher.get("/messages/"))
    assert f"/messages/{conversation.pk}/" in listed and a.guardian.person.short_name in listed
    teacher.post(f"/messages/{conversation.pk}/", {"text": "Жауап <b>қалың</b>", "seen": Letter.objects.get().pk})
    shown = client.get(f"/messages/{conversation.pk}/").content.decode()
    assert "Жауап &lt;b&gt;қалың&lt;/b&gt;" in shown  # what a person typed is shown, never run as markup


def test_a_teacher_writes_to_a_family_from_the_class_list(world):
    a = world.a
    teacher = signed_in(a.teacher)
    index = page_text(teacher.get("/messages/"))
    assert f'href="/messages/student/{a.student.pk}/"' in index and a.class_a.name in index
    form = page_text(teacher.get(f"/messages/student/{a.student.pk}/"))
    assert a.guardian.person.short_name in form
    response = teacher.post(f"/messages/student/{a.student.pk}/", {"text": "Ертең жиналыс бар.", "seen": 0})
    conversation = Conversation.objects.get()
    assert response["Location"] == f"/messages/{conversation.pk}/"
    # The family page of a conversation that exists opens the conversation itself.
    assert teacher.get(f"/messages/student/{a.student.pk}/")["Location"] == f"/messages/{conversation.pk}/"
    assert Notification.objects.get(recipient=a.guardian).link == f"/messages/{conversation.pk}/"


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("a.teacher", "/messages/student/{a.student_b}/"),  # a pupil of another class
        ("a.other_teacher", "/messages/student/{a.student}/"),
        ("b.teacher", "/messages/student/{a.student}/"),  # another school
        ("a.director", "/messages/student/{a.student}/"),
        ("a.guardian", "/messages/student/{a.student}/"),
    ],
)
def test_the_family_of_a_student_one_does_not_teach_is_not_found(world, who, path):
    school, role = who.split(".")
    user = getattr(getattr(world, school), role)
    url = path.format(a=type("ids", (), {k: getattr(world.a, k).pk for k in ("student", "student_b")}))
    client = signed_in(user)
    before = written()
    assert client.get(url).status_code == 404
    assert client.post(url, {"text": "Сәлем", "seen": 0}).status_code == 404
    assert written() == before


@pytest.mark.parametrize(
    ("teacher", "student"),
    [("a.other_teacher", "a.student"), ("b.teacher", "a.student"), ("a.teacher", "b.student")],
)
def test_a_letter_to_a_teacher_who_does_not_teach_the_child_is_not_found(world, teacher, student):
    a = world.a
    teacher_person = getattr(getattr(world, teacher.split(".")[0]), teacher.split(".")[1]).person_id
    student_id = a.student.pk if student == "a.student" else world.b.student.pk
    before = written()
    response = signed_in(a.guardian).post(
        "/messages/write/", {"student": student_id, "teacher": teacher_person, "text": "Сәлем", "seen": 0}
    )
    assert response.status_code == 404
    assert written() == before


@pytest.mark.parametrize("reader", ["a.classmate_guardian", "a.other_teacher", "a.director", "b.director", "b.teacher"])
def test_a_conversation_is_not_found_by_another_family_another_class_or_a_director(world, reader):
    a = world.a
    letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Құпия хат")
    school, role = reader.split(".")
    client = signed_in(getattr(getattr(world, school), role))
    before = written()
    response = client.get(f"/messages/{letter.conversation_id}/")
    assert response.status_code == 404 and "Құпия хат" not in response.content.decode()
    assert client.post(f"/messages/{letter.conversation_id}/", {"text": "Мен де", "seen": 0}).status_code == 404
    assert written() == before
    assert "Құпия хат" not in client.get("/messages/").content.decode()


@pytest.mark.parametrize(("typed", "length"), [("", 0), ("ә" * 2001, 2001)])
def test_an_empty_or_oversized_letter_is_shown_again_with_the_limit_and_what_was_typed(world, typed, length):
    a = world.a
    client = signed_in(a.guardian)
    before = written()
    response = client.post(
        "/messages/write/", {"student": a.student.pk, "teacher": a.teacher.person_id, "text": typed, "seen": 0}
    )
    shown = page_text(response)
    assert response.status_code == 400
    assert f"at most 2000 characters (this one has {length})" in shown
    assert f">{typed}</textarea>" in shown
    assert written() == before
    letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлем")
    response = client.post(f"/messages/{letter.conversation_id}/", {"text": typed, "seen": letter.pk})
    assert response.status_code == 400 and f">{typed}</textarea>" in page_text(response)
    assert "at most 2000 characters" in page_text(response)


def test_a_letter_submitted_twice_is_written_once(world):
    a = world.a
    client = signed_in(a.guardian)
    form = {"student": a.student.pk, "teacher": a.teacher.person_id, "text": "Рақмет!", "seen": 0}
    first, second = client.post("/messages/write/", form), client.post("/messages/write/", form)
    assert first["Location"] == second["Location"]
    assert Letter.objects.count() == 1 and AuditEvent.objects.filter(event="message.send").count() == 1


def test_refusals_are_in_the_users_language(world):
    a = world.a
    response = signed_in(a.guardian, "ru").post(
        "/messages/write/", {"student": a.student.pk, "teacher": a.teacher.person_id, "text": "", "seen": 0}
    )
    assert response.status_code == 400 and '<html lang="ru">' in response.content.decode()


# ------------------------------------------------------------------ announcements


def test_the_class_teacher_posts_to_the_class_and_the_family_reads_it_on_the_messages_page(world):
    a = world.a
    teacher = signed_in(a.teacher)
    assert f'href="/messages/announce/{a.organization.pk}/"' in teacher.get("/messages/").content.decode()
    form = page_text(teacher.get(f"/messages/announce/{a.organization.pk}/"))
    assert f'<option value="{a.class_a.pk}"' in form and 'value="all"' not in form  # their class only
    assert f'<option value="{a.class_b.pk}"' not in form
    response = teacher.post(
        f"/messages/announce/{a.organization.pk}/",
        {"school_class": a.class_a.pk, "title": "Жиналыс", "text": "Жұма, 18:00\nАкт залы", "seen": 0},
    )
    assert response.status_code == 302
    notice = Announcement.objects.get()
    shown = page_text(signed_in(a.guardian).get("/messages/"))
    assert f'id="announcement-{notice.pk}"' in shown and "Жұма, 18:00<br>Акт залы" in shown
    assert "Жиналыс" not in page_text(signed_in(a.other_teacher).get("/messages/"))
    assert "Жиналыс" not in page_text(signed_in(world.b.guardian).get("/messages/"))


@pytest.mark.parametrize(
    ("who", "school", "choice", "status"),
    [
        ("a.other_teacher", "a", "class_b", 404),  # leads no class
        ("a.teacher", "a", "class_b", 404),  # leads another class
        ("a.teacher", "a", "all", 404),  # the whole school is the administration's
        ("a.guardian", "a", "class_a", 404),
        ("a.director", "b", "all", 404),  # another school
        ("a.director", "a", "", 400),  # no choice made
    ],
)
def test_an_announcement_where_one_may_not_post_is_refused_and_writes_nothing(world, who, school, choice, status):
    a = world.a
    user = getattr(getattr(world, who.split(".")[0]), who.split(".")[1])
    organization = getattr(world, school).organization
    value = {"class_a": a.class_a.pk, "class_b": a.class_b.pk}.get(choice, choice)
    before = written()
    response = signed_in(user).post(
        f"/messages/announce/{organization.pk}/", {"school_class": value, "title": "Жиналыс", "text": "Жұма"}
    )
    assert response.status_code == status
    assert written() == before


def test_an_oversized_announcement_keeps_what_was_typed(world):
    a = world.a
    response = signed_in(a.director).post(
        f"/messages/announce/{a.organization.pk}/", {"school_class": "all", "title": "ә" * 201, "text": "Жұма"}
    )
    shown = page_text(response)
    assert response.status_code == 400 and "at most 200 characters" in shown
    assert 'value="' + "ә" * 201 + '"' in shown and ">Жұма</textarea>" in shown
    assert '<option value="all" selected>' in shown


def test_a_teacher_who_led_a_class_last_year_gets_no_button_to_post(world):
    a = world.a
    last = AcademicYear.objects.create(name="2025-2026", starts_on=dt.date(2025, 9, 1), ends_on=dt.date(2026, 5, 25))
    SchoolClass.objects.create(
        organization=a.organization, year=last, grade=6, letter="А", language="kk", class_teacher=a.other_teacher.person
    )
    client = signed_in(a.other_teacher)
    assert "/messages/announce/" not in client.get("/messages/").content.decode()
    assert client.get(f"/messages/announce/{a.organization.pk}/").status_code == 404


# ------------------------------------------------------------------ the language of notices


def test_a_parent_who_switches_the_site_to_russian_gets_notices_in_russian(world):
    """The cause of notices in Kazakh: the language switch set only a cookie, and notices follow the account."""
    from birtutas.journal import services

    a = world.a
    client = signed_in(a.guardian, "kk")
    client.post("/i18n/setlang/", {"language": "ru", "next": "/messages/"})
    assert User.objects.get(pk=a.guardian.pk).language == "ru"
    assert AuditEvent.objects.filter(event="account.profile", person_id=a.guardian.person_id).exists()
    services.update_cell(a.teacher, a.lessons_a[2].pk, a.student.pk, mark=8)
    assert "ноября" in Notification.objects.get(recipient=a.guardian).text.lower()
    client.post("/i18n/setlang/", {"language": "kk", "next": "/messages/"})
    assert User.objects.get(pk=a.guardian.pk).language == "kk"
    anonymous = Client()
    assert anonymous.post("/i18n/setlang/", {"language": "ru", "next": "/"}).status_code == 302


# ------------------------------------------------------------------ navigation and costs


@pytest.mark.parametrize(
    ("who", "shown"),
    [("a.guardian", True), ("a.teacher", True), ("a.director", True), ("a.student_user", True), ("analyst", False)],
)
def test_the_messages_link_is_in_the_navigation_of_those_who_write_or_read_there(world, who, shown):
    user = getattr(world, who) if "." not in who else getattr(getattr(world, who.split(".")[0]), who.split(".")[1])
    assert ('href="/messages/"' in signed_in(user).get("/inbox/").content.decode()) is shown


def _grow(world, pupils: int, letters: int, notices: int):
    """More pupils with families in class A, letters in their conversations, and announcements."""
    a = world.a
    for i in range(pupils):
        pupil = person(f"Көп{i}", "Оқушы", dt.date(2013, 1, 1 + i % 28))
        Enrollment.objects.create(school_class=a.class_a, student=pupil)
        family = account(person(f"Көп{i}", "Ата", dt.date(1980, 1, 1 + i % 28)), f"many_{i}")
        Guardianship.objects.create(guardian=family.person, student=pupil)
        Membership.objects.create(person=family.person, role=Role.GUARDIAN, organization=a.organization)
        if i < 3:  # some conversations of the teacher
            messaging.write_to_family(a.teacher, pupil.pk, "Сәлем")
    for i in range(letters):
        messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, f"Хат {i}")
        messaging.write_to_family(a.teacher, a.student.pk, f"Жауап {i}")
    for i in range(notices):
        messaging.post_announcement(a.director, a.organization.pk, None, f"Хабарландыру {i}", "Мәтін")


def test_the_messages_pages_cost_the_same_queries_whatever_the_letters_pupils_and_announcements(
    world, django_assert_max_num_queries
):
    a = world.a
    messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Бірінші")
    conversation = Conversation.objects.get()
    pages = [
        (a.guardian, "/messages/"),
        (a.teacher, "/messages/"),
        (a.guardian, f"/messages/{conversation.pk}/"),
        (a.teacher, f"/messages/{conversation.pk}/"),
        (a.director, f"/messages/announce/{a.organization.pk}/"),
        (a.guardian, "/inbox/"),
    ]
    clients = {user.pk: signed_in(user) for user, _path in pages}

    def measure() -> list[int]:
        found = []
        for user, path in pages:
            with CaptureQueriesContext(connection) as queries:
                assert clients[user.pk].get(path).status_code == 200, path
            found.append(len(queries))
        return found

    measure()  # warm: sessions, content types
    small = measure()
    _grow(world, pupils=12, letters=15, notices=8)
    large = measure()
    assert large == small, list(zip([p for _u, p in pages], small, large, strict=True))
    assert Letter.objects.filter(conversation=conversation).count() == 31
    for user, path in pages:
        with django_assert_max_num_queries(20):
            clients[user.pk].get(path)


def test_posting_to_a_class_costs_the_same_queries_whatever_its_size(world, django_capture_on_commit_callbacks):
    a = world.a
    client = signed_in(a.director)

    def post(n: int) -> int:
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                f"/messages/announce/{a.organization.pk}/",
                {"school_class": a.class_a.pk, "title": f"Жиналыс {n}", "text": "Жұма", "seen": 0},
            )
        assert response.status_code == 302
        return len(queries)

    small = post(1)
    _grow(world, pupils=20, letters=0, notices=0)
    large = post(2)
    assert large == small
    assert Notification.objects.filter(kind="announcement").count() == 3 + (3 + 20)
