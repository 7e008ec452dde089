"""Accounts as people use them, without JavaScript: activation, reset, the profile, the role switch, and
the director's People page with its printed letters. Refusals change nothing in the database."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from birtutas.journal.models import Enrollment, SchoolClass
from birtutas.kernel.context import writing
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.registry import accounts
from birtutas.registry.models import AcademicYear, AccountCode, ApiToken, Guardianship, Membership, Term, User
from birtutas.registry.roles import Role
from birtutas.testing import person, signed_in

pytestmark = pytest.mark.django_db

CODE = re.compile(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def snapshot() -> dict:
    return {
        "users": list(
            User.objects.order_by("pk").values_list("pk", "username", "password", "is_active", "session_token")
        ),
        "codes": list(AccountCode.objects.order_by("pk").values_list("pk", "used_at", "revoked_at")),
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "ended_on")),
        "enrollments": list(Enrollment.objects.order_by("pk").values_list("pk", "left_on")),
        "audit": AuditEvent.objects.count(),
    }


def paper_code(world, person=None, now=None) -> str:
    """A printed code for the classmate of school A, who has no account, e-mail or phone."""
    person = person or world.a.classmate
    return accounts.issue_code(
        world.a.director, person.pk, organization_id=world.a.organization.pk, deliver=False, now=now
    ).code


def text(response) -> str:
    return response.content.decode()


# ------------------------------------------------------------------ activation


def test_activation_takes_the_code_then_a_username_and_password_and_signs_in(world):
    code = paper_code(world)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    assert client.get("/accounts/activate/").status_code == 200
    page = client.post("/accounts/activate/", {"code": accounts.format_code(code).lower()})
    assert page.status_code == 200
    assert world.a.classmate.full_name in text(page)
    assert 'value="nurlan.synypa"' in text(page)  # the suggested username, in Latin letters
    assert "<script" not in text(page)
    response = client.post(
        "/accounts/activate/",
        {"code": code, "username": "nurlan", "password": "river stone 42", "password_again": "river stone 42"},
    )
    assert response.status_code == 302
    assert client.get("/inbox/").status_code == 200  # signed in
    user = User.objects.get(person=world.a.classmate)
    assert user.username == "nurlan" and user.check_password("river stone 42") and user.language == "en"


def test_a_used_or_expired_code_says_so_and_how_to_get_a_new_one_and_changes_nothing(world):
    code = paper_code(world)
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    form = {"code": code, "username": "nurlan", "password": "river stone 42", "password_again": "river stone 42"}
    assert client.post("/accounts/activate/", form).status_code == 302
    before = snapshot()
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = other.post("/accounts/activate/", {**form, "username": "thief", "password_again": "river stone 42"})
    assert response.status_code == 400
    assert "This code was already used." in text(response)
    assert "class teacher" in text(response) and "Forgot your password?" in text(response)
    assert snapshot() == before

    old = paper_code(world, world.a.student_b, now=timezone.now() - dt.timedelta(days=15))
    before = snapshot()
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/activate/", {"code": old})
    assert response.status_code == 400 and "This code has expired." in text(response)
    assert snapshot() == before


def test_the_error_is_in_the_users_language(world):
    code = paper_code(world)
    Client().post(
        "/accounts/activate/",
        {"code": code, "username": "nurlan", "password": "river stone 42", "password_again": "river stone 42"},
    )
    for language in ("kk", "ru"):
        page = text(Client(HTTP_ACCEPT_LANGUAGE=language).post("/accounts/activate/", {"code": code}))
        assert f'<html lang="{language}">' in page


def test_wrong_codes_are_throttled_per_address(world):
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    for _ in range(10):
        assert client.post("/accounts/activate/", {"code": "AAAAA-AAAAA"}).status_code == 400
    code = paper_code(world)
    assert client.post("/accounts/activate/", {"code": code}).status_code == 429


# ------------------------------------------------------------------ reset


def _reset_page(identifier: str) -> tuple[int, str]:
    response = Client(HTTP_ACCEPT_LANGUAGE="en").post("/accounts/reset/", {"identifier": identifier})
    return response.status_code, CSRF.sub("", text(response))


def test_the_reset_answer_never_reveals_whether_an_account_exists(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        known = _reset_page("teacher_a")
        unknown = _reset_page("no_such_user")
        unknown_mail = _reset_page("no_such_user@example.kz")
    assert known == unknown == unknown_mail
    assert known[0] == 200
    assert [m.to for m in mail.outbox] == [["teacher_a@example.kz"]]
    code = CODE.search(mail.outbox[0].body).group()
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    response = client.post(
        "/accounts/reset/code/", {"code": code, "password": "fresh meadow 8", "password_again": "fresh meadow 8"}
    )
    assert response.status_code == 302 and client.get("/inbox/").status_code == 200
    assert User.objects.get(username="teacher_a").check_password("fresh meadow 8")


def test_reset_requests_are_throttled(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [_reset_page("teacher_a")[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert len(mail.outbox) == 3


# ------------------------------------------------------------------ profile, sessions, roles


def test_the_profile_saves_language_and_contacts_and_pages_follow_the_language(world):
    client = signed_in(world.a.teacher)
    page = client.get("/accounts/profile/")
    assert page.status_code == 200 and "<script" not in text(page)
    response = client.post(
        "/accounts/profile/", {"language": "ru", "email": "asqar@example.kz", "phone": "+77015550011"}
    )
    assert response.status_code == 302
    assert '<html lang="ru">' in text(client.get("/accounts/profile/"))
    event = AuditEvent.objects.get(event=Event.ACCOUNT_PROFILE)
    assert event.after == {"language": "ru", "email": "asqar@example.kz", "phone": "+77015550011"}
    before = snapshot()
    response = client.post("/accounts/profile/", {"language": "ru", "email": "not an address", "phone": ""})
    assert response.status_code == 400 and snapshot() == before


def test_changing_the_password_keeps_this_session_and_ends_the_others(world):
    here, elsewhere = signed_in(world.a.teacher), signed_in(world.a.teacher)
    response = here.post(
        "/accounts/profile/password/",
        {"current": "correct horse battery", "password": "new river 123", "password_again": "new river 123"},
    )
    assert response.status_code == 302
    assert here.get("/inbox/").status_code == 200
    assert elsewhere.get("/inbox/").status_code == 302


def test_signing_out_everywhere_ends_another_session_and_the_api_tokens(world):
    from birtutas.registry.services import issue_api_token

    token = issue_api_token(world.a.teacher)
    here, elsewhere = signed_in(world.a.teacher), signed_in(world.a.teacher)
    assert elsewhere.get("/inbox/").status_code == 200
    assert here.post("/accounts/profile/sign-out-everywhere/").status_code == 302
    assert elsewhere.get("/inbox/").status_code == 302
    assert here.get("/inbox/").status_code == 302
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert not ApiToken.objects.filter(revoked_at__isnull=True).exists()
    # Signing in again works: only the old sessions ended.
    again = Client()
    assert (
        again.post("/accounts/login/", {"username": "teacher_a", "password": "correct horse battery"}).status_code
        == 302
    )


def test_the_role_switch_changes_the_navigation_but_not_what_the_person_may_read(world):
    a, b = world.a, world.b
    with writing():
        Guardianship.objects.create(guardian=a.teacher.person, student=a.classmate)
    client = signed_in(a.teacher)
    page = text(client.get("/inbox/"))
    assert 'href="/journal/"' in page and 'href="/diary/"' not in page
    assert "teacher" in page and 'name="role"' in page
    assert client.get("/").url == "/journal/today/"

    assert client.post("/accounts/role/", {"role": "parent"}).status_code == 302
    page = text(client.get("/inbox/"))
    assert f'href="/diary/{a.classmate.pk}/"' in page and 'href="/journal/"' not in page  # straight to the week
    assert client.get("/").url == "/diary/"
    # The choice grants and removes nothing: the journal still opens, another family's diary still does not.
    assert client.get("/journal/").status_code == 200
    assert client.get(f"/diary/{a.classmate.pk}/").status_code == 200
    assert client.get(f"/diary/{b.student.pk}/").status_code == 404
    # A role one does not hold cannot be chosen.
    client.post("/accounts/role/", {"role": "director"})
    assert 'href="/school/"' not in text(client.get("/inbox/"))


def test_the_header_says_who_is_signed_in(world):
    page = text(signed_in(world.a.director).get("/inbox/"))
    assert world.a.director.person.short_name in page and "school administration" in page
    anonymous = text(Client(HTTP_ACCEPT_LANGUAGE="en").get("/accounts/login/"))
    assert 'href="/accounts/activate/"' in anonymous and 'href="/accounts/reset/"' in anonymous


# ------------------------------------------------------------------ the director's People page


def test_the_people_page_lists_the_schools_people_with_their_account_state(world):
    a, b = world.a, world.b
    client = signed_in(a.director)
    url = f"/school/{a.organization.pk}/people/"
    page = client.get(url)
    assert page.status_code == 200 and "<script" not in text(page)
    staff = text(page)
    assert a.teacher.person.full_name in staff and a.other_teacher.person.full_name in staff
    assert f"?class={a.class_a.pk}" in staff and f"?class={a.class_b.pk}" in staff
    class_a = text(client.get(f"{url}?class={a.class_a.pk}"))
    for someone in (a.student, a.classmate, a.guardian.person, a.classmate_guardian.person):
        assert someone.full_name in class_a
    assert a.student_b.full_name not in class_a and a.teacher.person.full_name not in class_a
    assert "no account" in class_a and "active" in class_a
    assert a.student_b.full_name in text(client.get(f"{url}?class={a.class_b.pk}"))
    for body in (staff, class_a):
        assert b.student.full_name not in body and b.teacher.person.full_name not in body
    # Another school's class, or a class that does not exist, is "not found" here.
    assert client.get(f"{url}?class={b.class_a.pk}").status_code == 404
    assert client.get(f"{url}?class=x").status_code == 404
    assert client.get(f"/school/{b.organization.pk}/people/").status_code == 404
    assert signed_in(a.teacher).get(f"/school/{a.organization.pk}/people/").status_code == 404


def test_the_people_page_groups_by_the_schools_own_calendar(world):
    """A school on its own calendar: its classes belong to its own year, not the ministry's default."""
    a = world.a
    own = AcademicYear.objects.create(
        organization=a.organization, name="2026-2027", starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2027, 5, 31)
    )
    Term.objects.create(year=own, number=1, starts_on=dt.date(2026, 9, 1), ends_on=dt.date(2026, 12, 28))
    SchoolClass.objects.filter(pk=a.class_a.pk).update(year=own)
    page = text(signed_in(a.director).get(f"/school/{a.organization.pk}/people/?class={a.class_a.pk}"))
    assert a.student.full_name in page and a.classmate.full_name in page


def test_a_director_cannot_reach_a_person_of_another_school(world):
    a, b = world.a, world.b
    client = signed_in(a.director)
    before = snapshot()
    targets = [(a.organization, b.classmate), (b.organization, b.classmate), (a.organization, b.teacher.person)]
    for organization, target in targets:
        for action in ("code", "leave", "return", "transfer"):
            url = f"/school/{organization.pk}/people/{target.pk}/{action}/"
            assert client.post(url, {"confirm": "yes"}).status_code in (403, 404), url
    for url in (f"/school/class/{b.class_a.pk}/letters/",):
        assert client.get(url).status_code == 404
        assert client.post(url, {"include_active": "1"}).status_code == 404
    assert snapshot() == before


def test_the_class_sheet_has_one_letter_for_each_student_and_guardian_without_email_or_phone(
    world, settings, django_capture_on_commit_callbacks
):
    a = world.a
    settings.SMS_GATEWAY = "birtutas.kernel.notify.OutboxSmsGateway"
    with writing():
        # A rural family: no e-mail, no phone. The other family is reached by e-mail.
        User.objects.filter(pk=a.classmate_guardian.pk).update(email="")
        extra = person("Қосымша", "Айдана", dt.date(2013, 5, 6), "F")
        Enrollment.objects.create(school_class=a.class_a, student=extra)
        Membership.objects.create(person=extra, role=Role.STUDENT, organization=a.organization)
        gone = person("Кеткен", "Бекзат", dt.date(2013, 5, 6), "M")
        Enrollment.objects.create(school_class=a.class_a, student=gone, left_on=dt.date(2026, 10, 1))
    client = signed_in(a.director)
    confirm = client.get(f"/school/class/{a.class_a.pk}/letters/")
    assert confirm.status_code == 200 and "<script" not in text(confirm)
    with django_capture_on_commit_callbacks(execute=True):
        sheet = client.post(f"/school/class/{a.class_a.pk}/letters/", {"include_active": "1"})
    assert sheet.status_code == 200 and "no-store" in sheet["Cache-Control"]
    body = text(sheet)
    letters = re.findall(r'<article class="letter" aria-label="([^"]+)"', body)
    expected = {a.classmate.full_name, extra.full_name, a.classmate_guardian.person.full_name}
    assert set(letters) == expected and len(letters) == 3
    assert gone.full_name not in body
    assert len(CODE.findall(body)) == 3
    assert body.count('lang="kk"') >= 3 and body.count('lang="ru"') >= 3
    assert a.organization.name_kk in body and a.organization.name_ru in body
    assert "/accounts/activate/" in body
    # The student and the parent with e-mail got theirs by e-mail, in their language.
    assert sorted(m.to[0] for m in mail.outbox) == ["parent_a@example.kz", "student_a@example.kz"]
    # Without "include_active", people already using their account are left alone.
    mail.outbox.clear()
    sheet = text(client.post(f"/school/class/{a.class_a.pk}/letters/"))
    assert set(re.findall(r'<article class="letter" aria-label="([^"]+)"', sheet)) == {
        a.classmate.full_name,
        extra.full_name,
    }
    assert mail.outbox == []


def test_the_letters_print_one_to_an_a4_page():
    from pathlib import Path

    css = (Path(__file__).resolve().parents[1] / "src/birtutas/web/static/birtutas/birtutas.css").read_text()
    print_rules = css[css.index("@media print") :]
    assert "size:A4" in print_rules and "break-after:page" in print_rules and ".top" in print_rules


def test_one_persons_code_is_sent_or_printed(world, django_capture_on_commit_callbacks):
    a = world.a
    client = signed_in(a.director)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/school/{a.organization.pk}/people/{a.guardian.person_id}/code/")
    assert response.status_code == 302 and [m.to for m in mail.outbox] == [["parent_a@example.kz"]]
    printed = client.post(f"/school/{a.organization.pk}/people/{a.guardian.person_id}/code/", {"print": "1"})
    assert printed.status_code == 200 and len(CODE.findall(text(printed))) == 1
    assert len(mail.outbox) == 1  # printed instead: nothing sent


def test_deactivating_and_reactivating_from_the_people_page(world):
    a = world.a
    client = signed_in(a.director)
    teacher = signed_in(a.other_teacher)
    assert teacher.get("/journal/").status_code == 200
    leave = f"/school/{a.organization.pk}/people/{a.other_teacher.person_id}/leave/"
    before = snapshot()
    assert client.post(leave).status_code == 302  # not confirmed: nothing happens
    assert snapshot() == before
    assert client.post(leave, {"confirm": "yes"}).status_code == 302
    assert teacher.get("/journal/").status_code == 302  # the session ended with the account
    assert a.other_teacher.person.full_name in text(client.get(f"/school/{a.organization.pk}/people/?former=1"))
    assert client.post(f"/school/{a.organization.pk}/people/{a.other_teacher.person_id}/return/").status_code == 302
    assert User.objects.get(pk=a.other_teacher.pk).is_active


def test_a_transferred_student_leaves_the_school_but_keeps_their_marks(world):
    from birtutas.journal.models import Mark

    a = world.a
    with writing():
        Mark.objects.create(student=a.student, lesson=a.lessons_a[0], value=8)
    client = signed_in(a.director)
    response = client.post(f"/school/{a.organization.pk}/people/{a.student.pk}/transfer/", {"confirm": "yes"})
    assert response.status_code == 302
    enrollment = Enrollment.objects.get(student=a.student, school_class=a.class_a)
    assert enrollment.left_on == dt.date(2026, 11, 20)
    assert Membership.objects.get(person=a.student, organization=a.organization).ended_on == dt.date(2026, 11, 20)
    # The parent had no other child here: they leave the school's people too, and keep their account.
    assert Membership.objects.get(person=a.guardian.person, organization=a.organization).ended_on is not None
    assert User.objects.get(pk=a.guardian.pk).is_active and User.objects.get(pk=a.student_user.pk).is_active
    assert Mark.objects.filter(student=a.student).count() == 1
    url = f"/school/{a.organization.pk}/people/"
    current = text(client.get(f"{url}?class={a.class_a.pk}"))
    assert a.student.full_name not in current[current.find("<h1>") :]
    assert a.student.full_name in text(client.get(f"{url}?former=1"))
    events = set(AuditEvent.objects.filter(person_id=a.student.pk).values_list("event", flat=True))
    assert {Event.ENROLLMENT_END, Event.ROLE_REVOKE} <= events
    # Not a student (a teacher): not found, nothing changes.
    before = snapshot()
    url = f"/school/{a.organization.pk}/people/{a.teacher.person_id}/transfer/"
    assert client.post(url, {"confirm": "yes"}).status_code == 404
    assert snapshot() == before


# ------------------------------------------------------------------ the registry's administration


def test_the_administration_is_only_for_system_administrators(world):
    assert Client().get("/admin/").url.startswith("/accounts/login/")
    for user in (world.a.director, world.analyst):
        assert signed_in(user).get("/admin/").status_code == 404
        assert signed_in(user).get("/admin/registry/organization/add/").status_code == 404
    with writing():
        admin = User.objects.create(username="root", is_staff=True, is_superuser=True)
    client = signed_in(admin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/registry/organization/import/").status_code == 200
    page = client.get("/admin/registry/accountcode/")
    assert page.status_code == 200 and "digest" not in text(page)


def test_the_administration_appoints_a_director_and_shows_their_code_once(world):
    from birtutas.registry.rules import make_iin

    with writing():
        root = User.objects.create(username="root", is_staff=True, is_superuser=True)
    client = signed_in(root)
    iin = make_iin(dt.date(1978, 4, 9), "F", 2468)
    response = client.post(
        "/admin/registry/membership/add/",
        {"organization": world.b.organization.pk, "iin": iin, "last_name": "Оспанова", "first_name": "Жанар"},
    )
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    code = CODE.search(text(response)).group()
    assert accounts.usable_code(code).person.iin == iin
    assert Membership.objects.filter(person__iin=iin, role=Role.DIRECTOR, organization=world.b.organization).exists()
    event = AuditEvent.objects.get(event=Event.ACCOUNT_CODE, person__iin=iin)
    assert event.actor_id == root.pk and code not in str(event.after)
