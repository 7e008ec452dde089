"""Accounts for everyone: codes that expire and work once, activation, reset, the profile, the director's
reach, and the ministry's registration of organizations and directors. Time is passed in (`now=`)."""

from __future__ import annotations

import datetime as dt
import logging
import re
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone, translation

from birtutas.kernel.context import writing
from birtutas.kernel.errors import Forbidden, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.kernel.notify import OutboxSmsGateway
from birtutas.registry import accounts
from birtutas.registry.models import (
    AccountCode,
    ApiToken,
    District,
    Guardianship,
    Membership,
    Organization,
    Person,
    Region,
    User,
)
from birtutas.registry.permissions import Actor
from birtutas.registry.roles import Role
from birtutas.registry.rules import iin_check_digit, make_iin
from birtutas.registry.services import issue_api_token

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
CODE = re.compile(r"\b[A-Z0-9]{5}-[A-Z0-9]{5}\b")
SAMPLE = Path(__file__).resolve().parents[4] / "docs" / "samples" / "schools.csv"


@pytest.fixture(autouse=True)
def _english():
    """Messages are matched in English, whatever the catalogues say in Kazakh."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _sms(settings):
    settings.SMS_GATEWAY = "birtutas.kernel.notify.OutboxSmsGateway"
    OutboxSmsGateway.outbox.clear()
    yield
    OutboxSmsGateway.outbox.clear()


def snapshot() -> dict:
    """What a refused action must leave exactly as it was."""
    return {
        "users": list(
            User.objects.order_by("pk").values_list("pk", "username", "password", "is_active", "session_token")
        ),
        "codes": list(AccountCode.objects.order_by("pk").values_list("pk", "used_at", "revoked_at")),
        "memberships": list(Membership.objects.order_by("pk").values_list("pk", "ended_on")),
        "people": list(Person.objects.order_by("pk").values_list("pk", "email", "phone")),
        "audit": AuditEvent.objects.count(),
    }


def new_person(last="Жаңа", first="Оқушы", born=dt.date(2014, 3, 3), email="", phone="") -> Person:
    serial = 9000 + Person.objects.count()
    while not (iin := make_iin(born, "F", serial)) or Person.objects.filter(iin=iin).exists():
        serial += 1
    with writing():
        return Person.objects.create(
            iin=iin, last_name=last, first_name=first, birth_date=born, sex="F", email=email, phone=phone
        )


def pupil(world, **contacts) -> Person:
    """A new student of school A without an account."""
    person = new_person(**contacts)
    with writing():
        Membership.objects.create(person=person, role=Role.STUDENT, organization=world.a.organization)
    return person


def valid_bin(prefix: str = "980440", serial: int = 3517) -> str:
    while True:
        first = f"{prefix}{serial:05d}"
        check = iin_check_digit(first)
        if check is not None:
            return first + str(check)
        serial += 1


# ------------------------------------------------------------------ codes


def test_a_code_is_long_unambiguous_and_forgiving_to_type():
    code = accounts.new_code()
    assert len(code) >= 8 and set(code) <= set(accounts.CODE_ALPHABET)
    assert not set("01OIL25SZB8") & set(accounts.CODE_ALPHABET)
    printed = accounts.format_code(code)
    assert accounts.code_digest(printed.lower()) == accounts.code_digest(code)
    # A Cyrillic keyboard's lookalike letters are read as the Latin ones.
    assert accounts.normalize_code("АС-ЕН КМ") == "ACEHKM"


def test_only_a_keyed_hash_of_a_code_is_stored_and_nothing_logs_it(world, caplog, django_capture_on_commit_callbacks):
    person = pupil(world)
    caplog.set_level(logging.DEBUG)
    issued = accounts.issue_code(world.a.director, person.pk, organization_id=world.a.organization.pk, now=T0)
    stored = AccountCode.objects.get(person=person)
    assert stored.digest == accounts.code_digest(issued.code) != issued.code
    assert issued.code not in stored.digest
    for event in AuditEvent.objects.all():
        assert issued.code not in f"{event.before}{event.after}{event.object_key}{event.reason}"
    assert issued.code not in caplog.text
    event = AuditEvent.objects.get(event=Event.ACCOUNT_CODE, person_id=person.pk)
    assert event.actor_id == world.a.director.pk and event.organization_id == world.a.organization.pk
    assert event.after["delivery"] == ["paper"]


def test_an_activation_code_expires_after_fourteen_days_and_changes_nothing_then(world):
    person = pupil(world)
    issued = accounts.issue_code(world.a.director, person.pk, organization_id=world.a.organization.pk, now=T0)
    assert issued.expires_at == T0 + dt.timedelta(days=14)
    before = snapshot()
    with pytest.raises(accounts.CodeError, match="expired") as refused:
        accounts.activate(
            issued.code,
            username="asel",
            password="a-long passphrase 7",
            password_again="a-long passphrase 7",
            now=T0 + dt.timedelta(days=14, seconds=1),
        )
    assert "class teacher" in str(refused.value.message)  # and how to get a new one
    assert snapshot() == before
    user = accounts.activate(
        issued.code,
        username="asel",
        password="a-long passphrase 7",
        password_again="a-long passphrase 7",
        now=T0 + dt.timedelta(days=13, hours=23),
    )
    assert user.person_id == person.pk and user.check_password("a-long passphrase 7")


def test_a_code_works_once_and_a_used_code_says_so_and_changes_nothing(world):
    person = pupil(world)
    issued = accounts.issue_code(world.a.director, person.pk, organization_id=world.a.organization.pk, now=T0)
    accounts.activate(
        issued.code, username="asel", password="first passphrase 1", password_again="first passphrase 1", now=T0
    )
    before = snapshot()
    with pytest.raises(accounts.CodeError, match="already used"):
        accounts.activate(
            issued.code, username="other", password="second passphrase 2", password_again="second passphrase 2", now=T0
        )
    assert snapshot() == before
    assert User.objects.get(person=person).check_password("first passphrase 1")
    event = AuditEvent.objects.get(event=Event.ACCOUNT_ACTIVATE, person_id=person.pk)
    assert event.after == {"username": "asel"} and event.organization_id == world.a.organization.pk


def test_a_new_code_revokes_the_old_one(world):
    person = pupil(world)
    old = accounts.issue_code(world.a.director, person.pk, organization_id=world.a.organization.pk, now=T0)
    new = accounts.issue_code(world.a.director, person.pk, organization_id=world.a.organization.pk, now=T0)
    with pytest.raises(accounts.CodeError, match="replaced"):
        accounts.usable_code(old.code, now=T0)
    assert accounts.usable_code(new.code, now=T0).person_id == person.pk


def test_activation_refuses_a_taken_username_and_weak_or_differing_passwords_without_writing(world):
    person = pupil(world)
    issued = accounts.issue_code(world.a.director, person.pk, organization_id=world.a.organization.pk, now=T0)
    before = snapshot()
    for username, password, again in (
        ("TEACHER_A", "good passphrase 9", "good passphrase 9"),  # taken, whatever the case
        ("asel", "short", "short"),
        ("asel", "good passphrase 9", "other passphrase 9"),
        ("has space", "good passphrase 9", "good passphrase 9"),
    ):
        with pytest.raises(ServiceError):
            accounts.activate(issued.code, username=username, password=password, password_again=again, now=T0)
    assert snapshot() == before
    assert accounts.usable_code(issued.code, now=T0)  # still usable


def test_the_suggested_username_is_free_and_latin(world):
    person = pupil(world)
    assert accounts.suggest_username(person) == "oqushy.zhana"
    with writing():
        User.objects.create(username="oqushy.zhana")
    assert accounts.suggest_username(person) == "oqushy.zhana2"


# ------------------------------------------------------------------ reset


def test_reset_goes_to_the_accounts_contacts_expires_in_an_hour_and_works_once(
    world, django_capture_on_commit_callbacks
):
    user = world.a.teacher
    with django_capture_on_commit_callbacks(execute=True):
        accounts.reset_request("TEACHER_A", now=T0)
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["teacher_a@example.kz"]
    code = AccountCode.objects.get(person=user.person)
    assert code.purpose == AccountCode.Purpose.RESET and code.expires_at == T0 + dt.timedelta(hours=1)
    sent = CODE.search(mail.outbox[0].body).group()
    with pytest.raises(accounts.CodeError, match="expired"):
        accounts.reset_with_code(
            sent, password="new passphrase 5", password_again="new passphrase 5", now=T0 + dt.timedelta(minutes=61)
        )
    accounts.reset_with_code(
        sent, password="new passphrase 5", password_again="new passphrase 5", now=T0 + dt.timedelta(minutes=59)
    )
    user.refresh_from_db()
    assert user.check_password("new passphrase 5")
    with pytest.raises(accounts.CodeError, match="already used"):
        accounts.reset_with_code(sent, password="third passphrase 6", password_again="third passphrase 6", now=T0)


def test_a_reset_request_for_nobody_writes_and_sends_nothing(world, django_capture_on_commit_callbacks):
    before = snapshot()
    with django_capture_on_commit_callbacks(execute=True):
        for identifier in ("nobody", "nobody@example.kz", "+7 700 000 00 00", ""):
            assert accounts.reset_request(identifier, now=T0) is None
    assert snapshot() == before and mail.outbox == [] and OutboxSmsGateway.outbox == []


def test_a_reset_can_be_asked_for_by_phone_written_any_way(world, django_capture_on_commit_callbacks):
    with writing():
        Person.objects.filter(pk=world.a.guardian.person_id).update(phone="+7 (701) 123-45-67")
    with django_capture_on_commit_callbacks(execute=True):
        accounts.reset_request("87011234567", now=T0)
    assert [p for p, _text in OutboxSmsGateway.outbox] == ["+7 (701) 123-45-67"]
    assert "parent_a" in OutboxSmsGateway.outbox[0][1]


# ------------------------------------------------------------------ notifications in the person's language


def test_codes_go_out_in_the_recipients_language(world, django_capture_on_commit_callbacks):
    a = world.a
    ru, kk = pupil(world, email="ru@example.kz"), pupil(world, email="kk@example.kz")
    with writing():
        for person, language in ((ru, "ru"), (kk, "kk")):
            user = User(username=f"{language}_user", person=person, language=language, email=person.email)
            user.set_unusable_password()
            user.save()
    with django_capture_on_commit_callbacks(execute=True):
        accounts.issue_code(a.director, ru.pk, organization_id=a.organization.pk, now=T0)
        accounts.issue_code(a.director, kk.pk, organization_id=a.organization.pk, now=T0)
    by_address = {m.to[0]: m.body for m in mail.outbox}
    assert a.organization.name_ru in by_address["ru@example.kz"]
    assert a.organization.name_kk in by_address["kk@example.kz"]
    assert a.organization.name_kk not in by_address["ru@example.kz"]


def test_the_inbox_renders_each_message_in_its_recipients_language(world, django_capture_on_commit_callbacks):
    from django.utils.translation import get_language

    from birtutas.kernel import notify

    with writing():
        User.objects.filter(pk=world.a.guardian.pk).update(language="ru")
    with django_capture_on_commit_callbacks(execute=True), writing():
        notify.send(
            [
                notify.Message(world.a.guardian.pk, "test", get_language),
                notify.Message(world.a.classmate_guardian.pk, "test", get_language),
            ]
        )
    texts = {
        world.a.guardian.notifications.get().text,
        world.a.classmate_guardian.notifications.get().text,
    }
    assert texts == {"ru", "kk"}


# ------------------------------------------------------------------ the director's reach


def test_a_director_cannot_issue_a_code_for_or_deactivate_a_person_of_another_school(world):
    a, b = world.a, world.b
    before = snapshot()
    for organization in (a.organization, b.organization):
        with pytest.raises((NotFound, Forbidden)):
            accounts.issue_code(a.director, b.classmate.pk, organization_id=organization.pk, now=T0)
        with pytest.raises((NotFound, Forbidden)):
            accounts.deactivate(a.director, organization.pk, b.teacher.person_id)
        with pytest.raises((NotFound, Forbidden)):
            accounts.reactivate(a.director, organization.pk, b.teacher.person_id)
    # A teacher is not the school's administration.
    with pytest.raises(Forbidden):
        accounts.issue_code(a.teacher, a.classmate.pk, organization_id=a.organization.pk, now=T0)
    assert snapshot() == before


def test_the_directors_reach_ends_at_the_school_door(world):
    """A parent with a child at school B as well: school A ends only its own role, and cannot reset the account."""
    a, b = world.a, world.b
    parent = a.guardian
    with writing():
        Guardianship.objects.create(guardian=parent.person, student=b.student_b)
    before = snapshot()
    with pytest.raises(Forbidden, match="another school"):
        accounts.issue_code(a.director, parent.person_id, organization_id=a.organization.pk, now=T0)
    assert snapshot() == before
    closed = accounts.deactivate(a.director, a.organization.pk, parent.person_id)
    parent.refresh_from_db()
    assert closed is False and parent.is_active
    assert not Membership.objects.filter(person=parent.person, organization=a.organization, ended_on__isnull=True)


def test_deactivation_ends_the_role_keeps_history_and_reactivation_restores_it(world):
    a = world.a
    teacher = a.other_teacher
    assert accounts.deactivate(a.director, a.organization.pk, teacher.person_id, on=dt.date(2026, 11, 20)) is True
    teacher.refresh_from_db()
    membership = Membership.objects.get(person=teacher.person, organization=a.organization)
    assert not teacher.is_active and membership.ended_on == dt.date(2026, 11, 20)
    assert Actor.for_user(User.objects.get(pk=teacher.pk)).roles() == set()
    assert accounts.account_states([teacher.person_id])[teacher.person_id] == accounts.AccountState.DEACTIVATED
    with pytest.raises(NotFound):  # no longer one of the school's people: only "reactivate" reaches them
        accounts.issue_code(a.director, teacher.person_id, organization_id=a.organization.pk, now=T0)
    assert accounts.reactivate(a.director, a.organization.pk, teacher.person_id) == [Role.TEACHER]
    teacher.refresh_from_db()
    assert teacher.is_active and Membership.objects.get(pk=membership.pk).ended_on is None
    events = list(AuditEvent.objects.filter(person_id=teacher.person_id).values_list("event", flat=True))
    assert events[-2:] == [Event.ACCOUNT_DEACTIVATE, Event.ACCOUNT_REACTIVATE]


# ------------------------------------------------------------------ the profile


def test_the_profile_changes_language_and_contacts_with_one_audited_event(world):
    user = world.a.teacher
    assert accounts.update_profile(user, language="ru", email="new@example.kz", phone="+7 701 555 00 11") is True
    user.refresh_from_db()
    assert (user.language, user.email, user.person.email, user.person.phone) == (
        "ru",
        "new@example.kz",
        "new@example.kz",
        "+7 701 555 00 11",
    )
    event = AuditEvent.objects.get(event=Event.ACCOUNT_PROFILE)
    assert event.before == {"language": "kk", "email": "teacher_a@example.kz", "phone": ""}
    assert accounts.update_profile(user, language="ru", email="new@example.kz", phone="+7 701 555 00 11") is False
    before = snapshot()
    for bad in ({"language": "fr"}, {"email": "not-an-address"}, {"phone": "call me"}):
        with pytest.raises(ServiceError):
            accounts.update_profile(user, **{"language": "ru", "email": "", "phone": "", **bad})
    assert snapshot() == before


def test_a_password_change_needs_the_current_password(world):
    user = world.a.teacher
    before = snapshot()
    with pytest.raises(ServiceError, match="current password"):
        accounts.change_password(user, current="wrong", password="brand new pass 3", password_again="brand new pass 3")
    assert snapshot() == before
    accounts.change_password(
        user, current="correct horse battery", password="brand new pass 3", password_again="brand new pass 3"
    )
    user.refresh_from_db()
    assert user.check_password("brand new pass 3")


def test_signing_out_everywhere_changes_the_session_check_and_revokes_api_tokens(world):
    user = world.a.teacher
    issue_api_token(user)
    session_hash = user.get_session_auth_hash()
    assert accounts.sign_out_everywhere(user) == 1
    user.refresh_from_db()
    assert user.get_session_auth_hash() != session_hash
    assert not ApiToken.objects.filter(user=user, revoked_at__isnull=True).exists()


# ------------------------------------------------------------------ registrars: organizations and directors


def test_a_bin_is_checked_by_its_check_digit(world):
    good = valid_bin()
    assert accounts.check_bin(good) == good
    for bad in (good[:-1] + str((int(good[-1]) + 1) % 10), "12345", "98044003517x"):
        with pytest.raises(ServiceError):
            accounts.check_bin(bad)


def test_registering_an_organization_checks_the_bin_and_the_registrars_area(world):
    district = District.objects.get(name_kk="Бурабай ауданы")
    other = District.objects.get(name_kk="Шортанды ауданы")
    fields = {
        "name_kk": "Жаңа мектеп",
        "name_ru": "Новая школа",
        "locality": "rural",
        "language": "kk",
        "connection": "none",
    }
    count = Organization.objects.count()
    with pytest.raises(ServiceError, match="check digit"):
        accounts.register_organization(None, bin="980440035179", district_id=district.pk, **fields)
    # A district officer registers in their own district only.
    with pytest.raises(Forbidden):
        accounts.register_organization(world.district_officer, bin=valid_bin(), district_id=other.pk, **fields)
    assert Organization.objects.count() == count
    organization = accounts.register_organization(
        world.district_officer, bin=valid_bin(), district_id=district.pk, **fields
    )
    assert organization.bin == valid_bin() and organization.district == district
    with pytest.raises(ServiceError, match="already registered"):
        accounts.register_organization(None, bin=valid_bin(), district_id=district.pk, **fields)
    event = AuditEvent.objects.get(event=Event.ORGANIZATION_REGISTER)
    assert event.actor_id == world.district_officer.pk and event.organization_id == organization.pk


def test_the_national_list_imports_all_or_nothing_and_again_changes_nothing(world):
    content = SAMPLE.read_bytes()
    lines = content.decode().splitlines()
    broken = "\n".join(
        [
            *lines[:2],
            lines[2].replace("010140022868", "010140022869"),  # a typo in the BIN: check digit
            lines[3].replace(",KZ-11,", ",KZ-99,"),  # no such region
            lines[1],  # the same BIN again
        ]
    )
    before = (Organization.objects.count(), District.objects.count(), AuditEvent.objects.count())
    report = accounts.import_schools(None, broken)
    assert [e.line for e in report.errors] == [3, 4, 5]
    assert "bin" in report.errors[0].message and "region" in report.errors[1].message
    assert "line 2" in report.errors[2].message
    assert (Organization.objects.count(), District.objects.count(), AuditEvent.objects.count()) == before

    seen = []
    report = accounts.import_schools(None, content, progress=lambda done, total: seen.append((done, total)))
    assert report.ok and (report.created, report.updated, report.districts) == (4, 0, 2)
    assert seen[-1] == (4, 4)
    astana = Organization.objects.get(bin="120540044727")
    assert astana.district.region.code == "KZ-71" and astana.connection_mbps == 200
    audit = AuditEvent.objects.count()
    again = accounts.import_schools(None, content)
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert AuditEvent.objects.count() == audit
    changed = accounts.import_schools(None, content.decode().replace(",fiber,200,120,", ",fiber,500,120,"))
    assert (changed.updated, changed.unchanged) == (1, 3)


def test_an_officer_imports_only_schools_of_their_area(world):
    report = accounts.import_schools(world.district_officer, SAMPLE.read_bytes())
    assert not report.ok and {e.line for e in report.errors} == {3, 4, 5}
    assert all("outside your area" in e.message for e in report.errors)


def test_appointing_a_director_registers_them_and_their_code_activates_the_account(world):
    organization = world.b.organization
    iin = make_iin(dt.date(1979, 8, 14), "M", 4321)
    appointment = accounts.appoint_director(
        None, organization.pk, iin=iin, last_name="Жақсылықов", first_name="Ерболат", replace=True, now=T0
    )
    person = Person.objects.get(iin=iin)
    assert appointment.code is not None and appointment.code.channels == ()
    assert [m.person_id for m in appointment.ended] == [world.b.director.person_id]
    user = accounts.activate(
        appointment.code.code,
        username="erbolat",
        password="director pass 77",
        password_again="director pass 77",
        now=T0,
    )
    assert user.person == person
    assert Actor.for_user(user).organization_ids([Role.DIRECTOR]) == [organization.pk]
    assert not Actor.for_user(User.objects.get(pk=world.b.director.pk)).has_role(Role.DIRECTOR)
    # The same IIN under another name is refused; a person already using their account gets no new code.
    with pytest.raises(ServiceError, match="another name"):
        accounts.appoint_director(None, organization.pk, iin=iin, last_name="Басқа", first_name="Адам")
    assert accounts.appoint_director(None, organization.pk, iin=iin).code is None


def test_the_management_commands(world, tmp_path, capsys):
    count = Organization.objects.count()
    call_command("import_schools", str(SAMPLE), "--no-progress")
    assert Organization.objects.count() == count + 4
    bad = tmp_path / "bad.csv"
    bad.write_text("bin,name_kk\n1,x\n", encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_schools", str(bad))
    assert "region" in capsys.readouterr().err  # the header names what is missing

    iin = make_iin(dt.date(1980, 1, 2), "F", 1234)
    call_command(
        "appoint_director",
        "--organization",
        "980440035178",
        "--iin",
        iin,
        "--last-name",
        "Әлиева",
        "--first-name",
        "Сара",
    )
    code = CODE.search(capsys.readouterr().out).group()
    assert accounts.usable_code(code).person.iin == iin

    call_command(
        "register_organization",
        "--bin",
        valid_bin("150340", 100),
        "--name-kk",
        "Жаңа колледж",
        "--name-ru",
        "Новый колледж",
        "--region",
        "KZ-11",
        "--district",
        "Жаңа аудан",
        "--district-ru",
        "Новый район",
        "--kind",
        "college",
        "--locality",
        "urban",
        "--language",
        "ru",
        "--connection",
        "fiber",
    )
    assert Organization.objects.get(bin=valid_bin("150340", 100)).district.region == Region.objects.get(code="KZ-11")
    assert timezone.now()  # the commands ran with the real clock
