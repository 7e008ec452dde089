"""Accounts for everyone: one-time codes, activation, password reset, the profile, the director's
account actions, and the ministry's registration of organizations and directors.

Nobody is given a password. A person imported by a school, or appointed by the ministry, gets a
one-time code (on a printed letter, or by e-mail or SMS where they have one) and activates the
account themselves: they choose a username and a password. Only a keyed hash of a code is
stored, and no code is ever written to a log or to the audit.

Who may do what:
- the person holding a valid code (activation, reset): the code is the proof;
- the account's holder: their own profile, password and sessions (`User.permissions`);
- the school's administration: codes, deactivation and reactivation of the people of their school,
  judged on the school's `Membership` (`StaffOfOrganization`). Their reach ends at the school's
  door: the account of a person who also belongs to another organization, or whose child is a
  student of another school, is not theirs to change (only this school's roles are);
- a registrar (`Registrar`: a system administrator, or an officer in their own district or region)
  registers organizations and appoints directors; a management command run on the server acts as
  the system itself (`by=None`).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import formats, timezone, translation
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.debug import sensitive_variables

from birtutas.kernel import clock, csvtext
from birtutas.kernel.audit import record
from birtutas.kernel.context import Acting, service
from birtutas.kernel.errors import Conflict, Forbidden, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.kernel.notify import sms_gateway

from .models import AccountCode, ApiToken, District, Membership, Organization, Person, Region, User
from .permissions import Action, Actor, Permission, require, resolve
from .roles import Role
from .rules import IINError, check_iin_matches, iin_check_digit
from .services import _grant, reach, revoke_role, upsert_person

log = logging.getLogger(__name__)

# ------------------------------------------------------------------ codes

# Read aloud, typed on a phone or copied from paper: no 0/O, 1/I/L, 2/Z, 5/S, 8/B.
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 10  # 25**10 ≈ 9.5e13: guessing one of millions of live codes stays hopeless under throttling
ACTIVATION_LIFETIME = dt.timedelta(days=14)
RESET_LIFETIME = dt.timedelta(hours=1)
# A Kazakh or Russian keyboard types these Cyrillic letters for the Latin ones they look like.
_LOOKALIKES = str.maketrans("АСЕНКМРТХУҮасенкмртхуүЗз", "ACEHKMPTXYYACEHKMPTXYY33")
_DIGEST_SALT = "birtutas.registry.AccountCode"


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """The code as typed, in its canonical form: no spaces or dashes, Latin capitals."""
    return re.sub(r"[\s\-–—_.]", "", (text or "").translate(_LOOKALIKES)).upper()[:64]


def code_digest(code: str) -> str:
    # Keyed with the secret key: a copy of the database alone does not let anyone try codes offline.
    return salted_hmac(_DIGEST_SALT, normalize_code(code), algorithm="sha256").hexdigest()


def format_code(code: str) -> str:
    """How a code is printed: two groups of five, easy to read out and to copy."""
    half = len(code) // 2
    return f"{code[:half]}-{code[half:]}"


def lifetime(purpose: str) -> dt.timedelta:
    return RESET_LIFETIME if purpose == AccountCode.Purpose.RESET else ACTIVATION_LIFETIME


@dataclass(frozen=True)
class IssuedCode:
    """A code just issued. `code` is in clear: shown or sent once, here, and never stored."""

    person: Person
    code: str
    purpose: str
    expires_at: dt.datetime
    channels: tuple[str, ...]  # "email", "sms": where it was sent; empty when it is handed over on paper
    organization: Organization | None = None

    @property
    def printed(self) -> str:
        return format_code(self.code)


def account_of(person: Person) -> User | None:
    return User.objects.filter(person=person).first()


def has_password(user: User) -> bool:
    """Whether the account has been given a password (activated); an empty one is none."""
    return bool(user.password) and user.has_usable_password()


def contacts(person: Person, user: User | None = None) -> tuple[str, str]:
    """The e-mail address and phone number a code or a message can reach this person at."""
    email = ((user.email if user else "") or person.email or "").strip()
    return email, (person.phone or "").strip()


def reachable(person: Person, user: User | None = None) -> tuple[str, ...]:
    """Where a code can be sent: e-mail if they have an address, SMS if they have a phone and we a gateway."""
    email, phone = contacts(person, user)
    channels = []
    if email:
        channels.append("email")
    if phone and settings.SMS_GATEWAY:
        channels.append("sms")
    return tuple(channels)


def language_of(person: Person, user: User | None, organization: Organization | None = None) -> str:
    """The language to write to a person in: their account's, else their school's, else the default."""
    if user is not None and user.language:
        return user.language
    if organization is not None and organization.language in ("kk", "ru", "en"):
        return organization.language
    return settings.LANGUAGE_CODE


def site_address(site: str = "") -> str:
    """The address people open to sign in, for letters and messages sent outside a request."""
    base = site or getattr(settings, "SITE_URL", "") or "http://127.0.0.1:8000/"
    return base if base.endswith("/") else base + "/"


def activation_address(site: str = "") -> str:
    return site_address(site) + "accounts/activate/"


def reset_address(site: str = "") -> str:
    return site_address(site) + "accounts/reset/code/"


@sensitive_variables("issued", "values", "body", "sms")
def _code_message(issued: IssuedCode, user: User | None, site: str) -> tuple[str, str, str]:
    """Subject, e-mail body and SMS text, in the active language."""
    expires = formats.date_format(timezone.localtime(issued.expires_at), "SHORT_DATETIME_FORMAT")
    values = {"code": issued.printed, "expires": expires, "username": user.username if user else ""}
    if issued.purpose == AccountCode.Purpose.RESET:
        values["address"] = reset_address(site)
        subject = _("Birtutas: password reset code")
        body = (
            _(
                "Someone, perhaps you, asked to reset the password of the Birtutas account %(username)s.\n\n"
                "Your code: %(code)s\n\nOpen %(address)s, enter the code and choose a new password. The code works "
                "once, until %(expires)s. If it was not you, ignore this message: your password has not changed."
            )
            % values
        )
        sms = _("Birtutas: password reset code for %(username)s: %(code)s, until %(expires)s. %(address)s") % values
        return subject, body, sms
    values["address"] = activation_address(site)
    values["school"] = issued.organization.name if issued.organization else "Birtutas"
    subject = _("Birtutas: your activation code")
    body = (
        _(
            "%(school)s invites you to Birtutas, the school's e-journal and diary.\n\n"
            "Your activation code: %(code)s\n\nOpen %(address)s, enter the code, then choose a username and "
            "a password. The code works once, until %(expires)s."
        )
        % values
    )
    sms = _("Birtutas activation code: %(code)s, until %(expires)s. Open %(address)s") % values
    return subject, body, sms


@sensitive_variables("issued", "subject", "body", "sms")
def _deliver(issued: IssuedCode, user_id: int | None, site: str) -> None:
    """Send a code after its transaction commits; a failing mail server or gateway is logged, never the code."""
    person = issued.person
    user = User.objects.filter(pk=user_id).first() if user_id else None
    email, phone = contacts(person, user)
    with translation.override(language_of(person, user, issued.organization)):
        subject, body, sms = _code_message(issued, user, site)
    if "email" in issued.channels and email:
        try:
            send_mail(subject, body, None, [email])
        except OSError:
            log.warning("a code could not be e-mailed to person %s", person.pk)
    gateway = sms_gateway() if "sms" in issued.channels and phone else None
    if gateway is not None:
        try:
            gateway.send(phone, sms)
        except Exception:  # noqa: BLE001 - a provider's failure must not undo the code; the person can ask again
            log.warning("a code could not be sent by SMS to person %s", person.pk)


@sensitive_variables("code", "issued")
def _issue(
    acting: Acting,
    person: Person,
    *,
    purpose: str,
    organization: Organization | None,
    issued_by: User | None,
    now: dt.datetime,
    site: str,
    deliver: bool,
    user: User | None = None,
) -> IssuedCode:
    """Replace the person's outstanding codes with a new one, record it, and send it on commit."""
    outstanding = AccountCode.objects.filter(
        person=person, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )
    if purpose == AccountCode.Purpose.RESET:
        # Asking for a reset must not void a letter the school printed: only older reset codes go.
        outstanding = outstanding.filter(purpose=AccountCode.Purpose.RESET)
    outstanding.update(revoked_at=now)
    code = new_code()
    expires_at = now + lifetime(purpose)
    AccountCode.objects.create(
        person=person,
        purpose=purpose,
        digest=code_digest(code),
        organization=organization,
        issued_by=issued_by,
        created_at=now,
        expires_at=expires_at,
    )
    user = user if user is not None else account_of(person)
    channels = reachable(person, user) if deliver else ()
    issued = IssuedCode(person, code, purpose, expires_at, channels, organization)
    record(
        acting,
        Event.ACCOUNT_CODE,
        f"person:{person.pk}",
        after={"purpose": purpose, "expires_at": expires_at.isoformat(), "delivery": list(channels) or ["paper"]},
        organization_id=organization.pk if organization else None,
        person_id=person.pk,
    )
    if channels:
        user_id = user.pk if user else None
        transaction.on_commit(lambda: _deliver(issued, user_id, site))
    return issued


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _person(person_id) -> Person:
    person = Person.objects.select_for_update().filter(pk=person_id).first()
    if person is None:
        raise NotFound(_("Not found."))
    return person


# ------------------------------------------------------------------ the director's reach


def belongs_elsewhere(person: Person, organization_id: int) -> bool:
    """Whether the person has a role outside this organization now, or a child who has one."""
    return reach(organization_id, [person.pk])[person.pk].held_elsewhere


def _school_member(actor: Actor, person: Person, organization_id: int | None) -> list[Membership]:
    """The person's current roles in the actor's school, checked: the actor runs the school (403) and the
    person belongs to it (404)."""
    if organization_id is None:
        raise NotFound(_("Not found."))
    if organization_id not in actor.organization_ids((Role.DIRECTOR, Role.DEPUTY)):
        raise Forbidden(_("You may not make this change."))
    memberships = list(
        Membership.objects.select_for_update().filter(
            person=person, organization_id=organization_id, ended_on__isnull=True
        )
    )
    if not memberships:
        raise NotFound(_("Not found."))
    for membership in memberships:
        require(actor, Action.CHANGE, membership)
    return memberships


def _refuse_outside_reach(person: Person, organization_id: int) -> None:
    if belongs_elsewhere(person, organization_id):
        raise Forbidden(
            _(
                "%(name)s also belongs to another school or office, so their account is not this school's to "
                "change. They can reset their password by e-mail or SMS, or ask the education department."
            )
            % {"name": person.short_name}
        )


@service
@sensitive_variables()
def issue_code(
    by: User | None,
    person_id: int,
    *,
    organization_id: int | None = None,
    deliver: bool = True,
    now: dt.datetime | None = None,
    site: str = "",
) -> IssuedCode:
    """A new activation code for one person of the school, replacing any they had.

    It is sent by e-mail or SMS where the person has them (unless `deliver` is false, to print it);
    otherwise it is to be printed on a letter. A system administrator (or `by=None`, the system: a
    command on the server) may issue one for anyone; a director, for the people of their school only.
    The code also lets someone who forgot their password choose a new one.
    """
    now = _now(now)
    person = _person(person_id)
    organization = None
    if is_system_administrator(by):
        if organization_id is not None:
            organization = Organization.objects.filter(pk=organization_id).first()
    else:
        actor = Actor.for_user(by)
        _school_member(actor, person, organization_id)
        require(actor, Action.CREATE, AccountCode(person=person, organization_id=organization_id))
        _refuse_outside_reach(person, organization_id)
        organization = Organization.objects.get(pk=organization_id)
    user = account_of(person)
    if user is not None and not user.is_active:
        raise Conflict(_("This account is deactivated. Reactivate it first."))
    return _issue(
        Acting.of(by),
        person,
        purpose=AccountCode.Purpose.ACTIVATION,
        organization=organization,
        issued_by=by,
        now=now,
        site=site,
        deliver=deliver,
        user=user,
    )


# ------------------------------------------------------------------ using a code


class CodeError(ServiceError):
    """A code that cannot be used; the message says why and how to get a new one."""


def _how_to_get_a_new_code() -> str:
    return _(
        "Ask your class teacher or the school's director for a new code. If your account has an e-mail address "
        "or a phone number, you can also have a code sent to it: use “Forgot your password?”."
    )


@sensitive_variables("code", "normal")
def usable_code(code: str, *, now: dt.datetime | None = None, lock: bool = False) -> AccountCode:
    """The code's record if it can be used now, or CodeError saying why not."""
    now = _now(now)
    normal = normalize_code(code)
    if not normal:
        raise CodeError(_("Enter the code from your letter or message."))
    entries = AccountCode.objects.select_related("person", "organization").filter(digest=code_digest(normal))
    entry = (entries.select_for_update(of=("self",)) if lock else entries).first()
    if entry is None:
        raise CodeError(
            _("This code is not valid. Check that you typed it exactly as printed.") + " " + _how_to_get_a_new_code()
        )
    if entry.used_at is not None:
        raise CodeError(_("This code was already used.") + " " + _how_to_get_a_new_code())
    if entry.revoked_at is not None:
        raise CodeError(_("This code was replaced by a newer one.") + " " + _how_to_get_a_new_code())
    if entry.expires_at <= now:
        raise CodeError(_("This code has expired.") + " " + _how_to_get_a_new_code())
    return entry


# Cyrillic, Kazakh and Latin letters to Latin, for suggesting a username from a person's name.
_TRANSLIT = {
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "і": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "n",
    "о": "o", "ө": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f",
    "х": "kh", "һ": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e",
    "ю": "yu", "я": "ya",
}  # fmt: skip


def _latin(text: str) -> str:
    out = "".join(_TRANSLIT.get(ch, ch) for ch in text.lower())
    return re.sub(r"[^a-z0-9]", "", out)


def suggest_username(person: Person) -> str:
    """A free username made from the person's name: "asel.akhmetova", else with a number."""
    user = account_of(person)
    if user is not None and has_password(user):
        return user.username
    base = ".".join(p for p in (_latin(person.first_name), _latin(person.last_name)) if p) or "user"
    base = base[:140]
    taken = set(
        User.objects.filter(username__istartswith=base).exclude(person=person).values_list("username", flat=True)
    )
    taken = {t.lower() for t in taken}
    if base not in taken:
        return base
    number = 2
    while f"{base}{number}" in taken:
        number += 1
    return f"{base}{number}"


def _check_username(username: str, user: User | None) -> str:
    username = (username or "").strip()
    if not username:
        raise ServiceError(_("Choose a username."))
    if len(username) > 150:
        raise ServiceError(_("The username is too long: at most 150 characters."))
    try:
        User.username_validator(username)
    except ValidationError:
        raise ServiceError(
            _("A username may contain only letters, digits and the characters @ . + - _ (no spaces).")
        ) from None
    others = User.objects.filter(username__iexact=username)
    if user is not None:
        others = others.exclude(pk=user.pk)
    if others.exists():
        raise ServiceError(_("This username is taken. Choose another one."))
    return username


def _check_password(password: str, again: str, user: User) -> None:
    if not password:
        raise ServiceError(_("Choose a password."))
    if password != again:
        raise ServiceError(_("The two passwords differ. Type the same password twice."))
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ServiceError(" ".join(error.messages)) from None


@service
@sensitive_variables("code", "password", "password_again", "entry")
def activate(
    code: str,
    *,
    username: str,
    password: str,
    password_again: str,
    language: str = "",
    now: dt.datetime | None = None,
) -> User:
    """The person holding a code chooses their username and password; the account exists from now on.

    Everything is checked before anything is written, so a refused activation changes nothing.
    """
    now = _now(now)
    entry = usable_code(code, now=now, lock=True)
    person = _person(entry.person_id)
    user = account_of(person)
    if user is not None and not user.is_active:
        raise CodeError(_("This account is deactivated. Ask the school's director."))
    username = _check_username(username, user)
    before = {"username": user.username} if user is not None else None
    if user is None:
        user = User(
            person=person,
            username=username,
            email=person.email,
            language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
        )
    user.username = username
    _check_password(password, password_again, user)
    user.set_password(password)
    _save_account(user)
    entry.used_at = now
    entry.save(update_fields=["used_at"])
    record(
        Acting.of(user),
        Event.ACCOUNT_ACTIVATE,
        f"person:{person.pk}",
        before=before,
        after={"username": username},
        organization_id=entry.organization_id,
        person_id=person.pk,
    )
    return user


def _save_account(user: User) -> None:
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ServiceError(_("This username is taken. Choose another one.")) from None


@service
@sensitive_variables("code", "password", "password_again", "entry")
def reset_with_code(code: str, *, password: str, password_again: str, now: dt.datetime | None = None) -> User:
    """A new password for the account of the person holding a code."""
    now = _now(now)
    entry = usable_code(code, now=now, lock=True)
    person = _person(entry.person_id)
    user = account_of(person)
    if user is None or not has_password(user):
        raise CodeError(_("This code is for activating a new account: open the activation page and enter it there."))
    if not user.is_active:
        raise CodeError(_("This account is deactivated. Ask the school's director."))
    _check_password(password, password_again, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    entry.used_at = now
    entry.save(update_fields=["used_at"])
    record(
        Acting.of(user),
        Event.ACCOUNT_PASSWORD,
        f"person:{person.pk}",
        after={"by": "code", "purpose": entry.purpose},
        person_id=person.pk,
    )
    return user


PHONE_DIGITS = 10  # the national number without the country code: +7 701 123 45 67 → 7011234567


def _matching_accounts(identifier: str) -> list[User]:
    identifier = (identifier or "").strip()[:254]
    if not identifier:
        return []
    accounts = User.objects.select_related("person").filter(is_active=True, person__isnull=False, is_demo=False)
    if "@" in identifier:
        found = accounts.filter(Q(email__iexact=identifier) | Q(person__email__iexact=identifier))
    else:
        digits = re.sub(r"\D", "", identifier)
        by_name = list(accounts.filter(username__iexact=identifier)[:1])
        if by_name or len(digits) < PHONE_DIGITS:
            return by_name
        # Phones are stored as people typed them ("+7 (701) 123-45-67"): match the last ten digits in order.
        pattern = r"\D*".join(digits[-PHONE_DIGITS:]) + r"\D*$"
        found = accounts.filter(person__phone__regex=pattern)
    # A family sharing one phone or address may have several accounts; a few at most, each told apart by name.
    return [u for u in found.order_by("pk")[:5] if has_password(u)]


@service
def reset_request(identifier: str, *, now: dt.datetime | None = None, site: str = "") -> None:
    """Send a reset code to the contacts of the account(s) a username, e-mail or phone names.

    Returns nothing and behaves the same whether or not such an account exists, so the answer
    never tells anyone who has an account.
    """
    now = _now(now)
    for user in _matching_accounts(identifier):
        if not reachable(user.person, user):
            continue
        _issue(
            Acting.of(None),
            user.person,
            purpose=AccountCode.Purpose.RESET,
            organization=None,
            issued_by=None,
            now=now,
            site=site,
            deliver=True,
            user=user,
        )


# ------------------------------------------------------------------ the profile


LANGUAGE_CODES = ("kk", "ru", "en")
PHONE_PATTERN = re.compile(r"^\+?[\d\s()\-]{6,20}$")


@service
@sensitive_variables("current", "password", "password_again")
def change_password(user: User, *, current: str, password: str, password_again: str) -> None:
    """The holder changes their password; the view keeps the session it was changed in."""
    user = User.objects.select_for_update().get(pk=user.pk)
    require(Actor.for_user(user), Action.CHANGE, user)
    if not user.check_password(current or ""):
        raise ServiceError(_("The current password is wrong."))
    _check_password(password, password_again, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    record(
        Acting.of(user),
        Event.ACCOUNT_PASSWORD,
        f"person:{user.person_id}",
        after={"by": "self"},
        person_id=user.person_id,
    )


@service
def update_profile(user: User, *, language: str, email: str, phone: str) -> bool:
    """The holder's language and contacts; whether anything changed. A change of contacts is audited."""
    user = User.objects.select_for_update(of=("self",)).select_related("person").get(pk=user.pk)
    require(Actor.for_user(user), Action.CHANGE, user)
    language = (language or "").strip()
    email = (email or "").strip()
    phone = (phone or "").strip()
    if language not in LANGUAGE_CODES:
        raise ServiceError(_("Choose Kazakh, Russian or English."))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise ServiceError(_("The e-mail address is not valid.")) from None
        if len(email) > 254:
            raise ServiceError(_("The e-mail address is too long."))
    if phone and not PHONE_PATTERN.match(phone):
        raise ServiceError(_("The phone number may contain only digits, spaces, brackets, dashes and a leading +."))
    person = user.person
    current_email, current_phone = contacts(person, user) if person else (user.email, "")
    before, after = {}, {}
    for name, old, new in (("language", user.language, language), ("email", current_email, email)):
        if old != new:
            before[name], after[name] = old, new
    if person is not None and current_phone != phone:
        before["phone"], after["phone"] = current_phone, phone
    if not after:
        return False
    user.language = language
    user.email = email
    user.save(update_fields=["language", "email"])
    if person is not None:
        person.email = email
        person.phone = phone
        person.save(update_fields=["email", "phone"])
    record(
        Acting.of(user),
        Event.ACCOUNT_PROFILE,
        f"person:{user.person_id}",
        before=before,
        after=after,
        person_id=user.person_id,
    )
    return True


@service
def set_language(user: User, language: str) -> bool:
    """The holder's language, chosen with the site's language switch: pages, notices and e-mails follow it."""
    user = User.objects.select_for_update().get(pk=user.pk)
    require(Actor.for_user(user), Action.CHANGE, user)
    if language not in LANGUAGE_CODES:
        raise ServiceError(_("Choose Kazakh, Russian or English."))
    if user.language == language:
        return False
    before = user.language
    user.language = language
    user.save(update_fields=["language"])
    record(
        Acting.of(user),
        Event.ACCOUNT_PROFILE,
        f"person:{user.person_id}",
        before={"language": before},
        after={"language": language},
        person_id=user.person_id,
    )
    return True


@service
def sign_out_everywhere(user: User, *, now: dt.datetime | None = None) -> int:
    """End every session of the account (this one too) and revoke its API tokens; how many tokens."""
    now = _now(now)
    user = User.objects.select_for_update().get(pk=user.pk)
    require(Actor.for_user(user), Action.CHANGE, user)
    user.session_token = secrets.token_hex(16)
    user.save(update_fields=["session_token"])
    revoked = ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(revoked_at=now)
    record(
        Acting.of(user),
        Event.ACCOUNT_SIGN_OUT_ALL,
        f"person:{user.person_id}",
        after={"tokens_revoked": revoked},
        person_id=user.person_id,
    )
    return revoked


# ------------------------------------------------------------------ the director: leaving and returning


def _role_names(memberships: Iterable[Membership]) -> list[str]:
    return sorted(str(m.role) for m in memberships)


@service
def deactivate(by: User, organization_id: int, person_id: int, *, on: dt.date | None = None) -> bool:
    """A person leaves the school: their roles in it end (the rows and history stay).

    The account is disabled too, unless the person still belongs to another organization or has a
    child at another school: that account is not this school's to close. Whether it was disabled.
    """
    on = on or clock.today()
    actor = Actor.for_user(by)
    person = _person(person_id)
    memberships = _school_member(actor, person, organization_id)
    for membership in memberships:
        membership.ended_on = on
        membership.save(update_fields=["ended_on"])
    user = account_of(person)
    was_active = bool(user and user.is_active)
    disable = not belongs_elsewhere(person, organization_id)
    if disable:
        AccountCode.objects.filter(person=person, used_at__isnull=True, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        if was_active:
            user.is_active = False
            user.save(update_fields=["is_active"])
    record(
        Acting.of(by),
        Event.ACCOUNT_DEACTIVATE,
        f"person:{person.pk}",
        before={"roles": _role_names(memberships), "account_active": was_active},
        after={"roles": [], "ended_on": on.isoformat(), "account_active": bool(user and user.is_active)},
        organization_id=organization_id,
        person_id=person.pk,
    )
    return was_active and disable


@service
def reactivate(by: User, organization_id: int, person_id: int) -> list[str]:
    """A person who left comes back: the roles they last held in the school resume, the account opens again.

    Returns the roles resumed (none when the person is a current member with an open account already).
    """
    actor = Actor.for_user(by)
    if organization_id not in actor.organization_ids((Role.DIRECTOR, Role.DEPUTY)):
        raise Forbidden(_("You may not make this change."))
    person = _person(person_id)
    ended = list(
        Membership.objects.select_for_update().filter(
            person=person, organization_id=organization_id, ended_on__isnull=False
        )
    )
    current = Membership.objects.filter(person=person, organization_id=organization_id, ended_on__isnull=True)
    if not ended and not current.exists():
        raise NotFound(_("Not found."))
    latest = max((m.ended_on for m in ended), default=None)
    resumed = [m for m in ended if m.ended_on == latest]
    for membership in resumed:
        require(actor, Action.CHANGE, membership)
    user = account_of(person)
    was_active = bool(user and user.is_active)
    if not resumed and (user is None or was_active):
        return []
    if not resumed:
        # The account was closed while the person is still a member here: this school may open it
        # only if no other organization is involved.
        _refuse_outside_reach(person, organization_id)
    for membership in resumed:
        membership.ended_on = None
        membership.save(update_fields=["ended_on"])
    if user is not None and not was_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
    record(
        Acting.of(by),
        Event.ACCOUNT_REACTIVATE,
        f"person:{person.pk}",
        before={"roles": [], "account_active": was_active},
        after={"roles": _role_names(resumed), "account_active": bool(user and user.is_active)},
        organization_id=organization_id,
        person_id=person.pk,
    )
    return _role_names(resumed)


@service
def end_roles(by: User, organization_id: int, person_id: int, roles: Iterable[str], *, on: dt.date | None = None):
    """End some of a person's roles in the school (a transfer ends the student's); the account stays open."""
    on = on or clock.today()
    actor = Actor.for_user(by)
    roles = [str(r) for r in roles]
    ended = []
    for membership in Membership.objects.select_for_update().filter(
        person_id=person_id, organization_id=organization_id, role__in=roles, ended_on__isnull=True
    ):
        require(actor, Action.CHANGE, membership)
        revoke_role(membership.person, membership.role, organization=organization_id, on=on, acting=Acting.of(by))
        ended.append(membership)
    return ended


class AccountState:
    ACTIVE = "active"
    WAITING = "waiting"
    NONE = "none"
    DEACTIVATED = "deactivated"

    LABELS = {
        ACTIVE: gettext_lazy("active"),
        WAITING: gettext_lazy("waiting for activation"),
        NONE: gettext_lazy("no account"),
        DEACTIVATED: gettext_lazy("deactivated"),
    }


def account_states(person_ids: Iterable[int], *, now: dt.datetime | None = None) -> dict[int, str]:
    """The state of each person's account, in two queries whatever the number of people."""
    now = _now(now)
    person_ids = list(person_ids)
    states = dict.fromkeys(person_ids, AccountState.NONE)
    waiting = set(
        AccountCode.objects.filter(
            person_id__in=person_ids,
            purpose=AccountCode.Purpose.ACTIVATION,
            used_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).values_list("person_id", flat=True)
    )
    for person_id in waiting:
        states[person_id] = AccountState.WAITING
    for person_id, active, password in User.objects.filter(person_id__in=person_ids).values_list(
        "person_id", "is_active", "password"
    ):
        if not active:
            states[person_id] = AccountState.DEACTIVATED
        elif has_password(User(password=password)):
            states[person_id] = AccountState.ACTIVE
        else:
            states[person_id] = AccountState.WAITING if person_id in waiting else AccountState.NONE
    return states


# ------------------------------------------------------------------ registrars: organizations and directors


class Registrar(Permission):
    """Who registers organizations and appoints their directors: a system administrator anywhere, an
    officer (district or region) within their own area. `path` leads to a District (saved or not)."""

    def __init__(self, path: str):
        self.path = path

    def allows(self, actor: Actor, obj) -> bool:
        district = resolve(obj, self.path)
        if district is None:
            return False
        for role, _org, district_id, region_id in actor.memberships:
            if role == Role.SYSADMIN:
                return True
            if role == Role.REGION_OFFICER and region_id is not None and region_id == district.region_id:
                return True
            if role == Role.DISTRICT_OFFICER and district.pk is not None and district_id == district.pk:
                return True
        return False


REGISTRAR = Registrar("district")


def may_register(by: User | None, district: District) -> bool:
    """`by=None` is the system (a command on the server); a superuser administers everything."""
    if by is None or by.is_superuser:
        return True
    return REGISTRAR.allows(Actor.for_user(by), Organization(district=district))


def is_system_administrator(user: User | None) -> bool:
    """The system itself (`None`: a command on the server), a superuser, or a system administrator."""
    return user is None or user.is_superuser or Actor.for_user(user).has_role(Role.SYSADMIN)


def check_bin(value: str) -> str:
    """A BIN (БСН / БИН): 12 digits with the IIN's check digit. Raises ServiceError saying what is wrong."""
    value = (value or "").strip()
    if not value.isascii() or not value.isdigit():
        raise ServiceError(_("The BIN must consist of digits only."))
    if len(value) != 12:
        raise ServiceError(_("The BIN must have 12 digits, not %(count)d.") % {"count": len(value)})
    expected = iin_check_digit(value[:11])
    if expected is None or expected != int(value[11]):
        raise ServiceError(_("The check digit of the BIN is wrong: the number has a typo."))
    return value


YES = {"1", "yes", "true", "y", "иә", "да", "ия"}
NO = {"", "0", "no", "false", "n", "жоқ", "нет"}
NAME_LENGTH = 200
MAX_MBPS = Decimal("100000")
MAX_COMPUTERS = 100000


def organization_fields(values: dict[str, str]) -> tuple[dict, list[tuple[str, str]]]:
    """Check the descriptive columns of an organization; the model's values and (column, problem) pairs."""
    errors: list[tuple[str, str]] = []
    fields: dict = {}

    def choice(column: str, choices, default=None):
        raw = (values.get(column) or "").strip().lower()
        if not raw and default is not None:
            return default
        if raw not in choices.values:
            errors.append((column, _("must be one of %(values)s.") % {"values": ", ".join(choices.values)}))
        return raw

    for column, required in (("name_kk", True), ("name_ru", True), ("name_en", False)):
        text = (values.get(column) or "").strip()
        if required and not text:
            errors.append((column, _("a value is required.")))
        elif len(text) > NAME_LENGTH:
            errors.append((column, _("at most %(count)d characters.") % {"count": NAME_LENGTH}))
        fields[column] = text
    fields["kind"] = choice("kind", Organization.Kind, default=Organization.Kind.SCHOOL)
    fields["locality"] = choice("locality", Organization.Locality)
    fields["language"] = choice("language", Organization.Language)
    fields["connection"] = choice("connection", Organization.Connection)
    raw = (values.get("connection_mbps") or "0").strip().replace(",", ".")
    try:
        mbps = Decimal(raw)
        if not mbps.is_finite() or not 0 <= mbps < MAX_MBPS:
            raise InvalidOperation
        fields["connection_mbps"] = mbps.quantize(Decimal("0.01"))
    except InvalidOperation:
        errors.append(("connection_mbps", _("must be a number of Mbit/s from 0 to 99999.")))
    raw = (values.get("student_computers") or "0").strip()
    if raw.isascii() and raw.isdigit() and int(raw) <= MAX_COMPUTERS:
        fields["student_computers"] = int(raw)
    else:
        errors.append(("student_computers", _("must be a whole number from 0 to %(max)d.") % {"max": MAX_COMPUTERS}))
    raw = (values.get("small_ungraded") or "").strip().lower()
    if raw in YES or raw in NO:
        fields["is_small_ungraded"] = raw in YES
    else:
        errors.append(("small_ungraded", _('must be "yes" or "no".')))
    return fields, errors


def _organization_state(organization: Organization) -> dict:
    return {
        "bin": organization.bin,
        "name_kk": organization.name_kk,
        "name_ru": organization.name_ru,
        "name_en": organization.name_en,
        "district": organization.district_id,
        "kind": organization.kind,
        "locality": organization.locality,
        "is_small_ungraded": organization.is_small_ungraded,
        "language": organization.language,
        "connection": organization.connection,
        "connection_mbps": str(organization.connection_mbps),
        "student_computers": organization.student_computers,
    }


def _errors_message(errors: list[tuple[str, str]]) -> str:
    return " ".join(_('Column "%(column)s": %(problem)s') % {"column": c, "problem": p} for c, p in errors)


@service
def register_organization(by: User | None, *, bin: str, district_id: int, **values: str) -> Organization:  # noqa: A002
    """Register one organization (a school, a college, a university) under its BIN."""
    bin = check_bin(bin)  # noqa: A001
    district = District.objects.select_related("region").filter(pk=district_id).first()
    if district is None:
        raise NotFound(_("Not found."))
    if not may_register(by, district):
        raise Forbidden(_("You may register organizations only in your own district or region."))
    fields, errors = organization_fields({k: str(v) for k, v in values.items()})
    if errors:
        raise ServiceError(_errors_message(errors))
    existing = Organization.objects.filter(bin=bin).first()
    if existing is not None:
        raise Conflict(_("An organization with this BIN is already registered: %(name)s.") % {"name": existing.name})
    organization = Organization.objects.create(bin=bin, district=district, **fields)
    record(
        Acting.of(by),
        Event.ORGANIZATION_REGISTER,
        f"organization:{organization.pk}",
        after=_organization_state(organization),
        organization_id=organization.pk,
    )
    return organization


def _register_district(acting: Acting, region: Region, name_kk: str, name_ru: str) -> District:
    district = District.objects.create(region=region, name_kk=name_kk.strip(), name_ru=name_ru.strip())
    record(
        acting,
        Event.DISTRICT_REGISTER,
        f"district:{district.pk}",
        after={"region": region.code, "name_kk": district.name_kk, "name_ru": district.name_ru},
    )
    return district


@service
def register_district(by: User | None, region: Region, name_kk: str, name_ru: str) -> District:
    """Register a district of a region (or return the one of that Kazakh name)."""
    name_kk, name_ru = (name_kk or "").strip(), (name_ru or "").strip()
    if not name_kk or not name_ru or len(name_kk) > NAME_LENGTH or len(name_ru) > NAME_LENGTH:
        raise ServiceError(_("A district needs its Kazakh and Russian names, at most 200 characters each."))
    existing = District.objects.filter(region=region, name_kk__iexact=name_kk).first()
    if existing is not None:
        return existing
    if not may_register(by, District(region=region, name_kk=name_kk, name_ru=name_ru)):
        raise Forbidden(_("You may register organizations only in your own district or region."))
    return _register_district(Acting.of(by), region, name_kk, name_ru)


# -- the national list of schools from CSV

SCHOOL_COLUMNS = [
    "bin",
    "name_kk",
    "name_ru",
    "name_en",
    "region",
    "district_kk",
    "district_ru",
    "kind",
    "locality",
    "language",
    "connection",
    "connection_mbps",
    "student_computers",
    "small_ungraded",
]
SCHOOL_REQUIRED = ["bin", "name_kk", "name_ru", "region", "district_kk", "locality", "language", "connection"]
QUERY_CHUNK = 500


@dataclass
class RowError:
    line: int  # 1-based, the header is line 1
    message: str


@dataclass
class SchoolImport:
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    districts: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class _SchoolRow:
    line: int
    bin: str
    region: Region
    district_kk: str
    district_ru: str
    fields: dict


def _read_csv(content: bytes | str) -> list[tuple[int, dict[str, str]]] | RowError:
    text, bad_line = csvtext.decode(content)
    if text is None:
        return RowError(bad_line, _('The file is not in UTF-8 encoding: save it as "CSV UTF-8" and try again.'))
    rows: list[tuple[int, dict[str, str]]] = []
    columns: list[str] | None = None
    try:
        for line, cells in csvtext.records(text):
            if not any(c.strip() for c in cells):
                continue
            if columns is None:
                columns = [csvtext.column_name(c) for c in cells]
                missing = [c for c in SCHOOL_REQUIRED if c not in columns]
                if missing:
                    return RowError(
                        line,
                        _("The header lacks the required columns: %(columns)s. Expected header: %(header)s.")
                        % {"columns": ", ".join(missing), "header": ",".join(SCHOOL_COLUMNS)},
                    )
                continue
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                rows.append((line, {"__width__": str(len(cells))}))
                continue
            rows.append((line, {c: (cells[i].strip() if i < len(cells) else "") for i, c in enumerate(columns)}))
    except csvtext.UnreadableCSV as error:
        return RowError(error.line, _("The file cannot be read as CSV from this line on."))
    if columns is None:
        return RowError(1, _("The file is empty."))
    return rows


@service
def import_schools(
    by: User | None, content: bytes | str, *, progress: Callable[[int, int], None] | None = None
) -> SchoolImport:
    """Import the national list of schools: every row checked first, then all written, or nothing.

    Rows are keyed by BIN, so a second run of the same file changes nothing, and a corrected file
    updates what changed. Districts are found by region and Kazakh name, and registered when new.
    `progress(done, total)` is called as rows are written.
    """
    report = SchoolImport()
    parsed = _read_csv(content)
    if isinstance(parsed, RowError):
        report.errors.append(parsed)
        return report
    regions = {r.code.upper(): r for r in Region.objects.all()}
    districts = {(d.region_id, d.name_kk.casefold()): d for d in District.objects.all()}
    rows: list[_SchoolRow] = []
    seen: dict[str, int] = {}
    for line, values in parsed:
        problems: list[tuple[str, str]] = []
        if "__width__" in values:
            report.errors.append(
                RowError(line, _("The row has more values than the header has columns: check the delimiter."))
            )
            continue
        number = values.get("bin", "")
        try:
            number = check_bin(number)
        except ServiceError as error:
            problems.append(("bin", str(error.message)))
        else:
            if number in seen:
                problems.append(("bin", _("the same BIN is already on line %(line)d.") % {"line": seen[number]}))
            seen.setdefault(number, line)
        region = regions.get((values.get("region") or "").strip().upper())
        if region is None:
            problems.append(("region", _("must be a region code such as KZ-11 (Akmola Region).")))
        district_kk = (values.get("district_kk") or "").strip()
        district_ru = (values.get("district_ru") or "").strip()
        if not district_kk:
            problems.append(("district_kk", _("a value is required.")))
        elif len(district_kk) > NAME_LENGTH or len(district_ru) > NAME_LENGTH:
            problems.append(("district_kk", _("at most %(count)d characters.") % {"count": NAME_LENGTH}))
        district = districts.get((region.pk, district_kk.casefold())) if region and district_kk else None
        if region is not None and district_kk and district is None and not district_ru:
            problems.append(("district_ru", _("a value is required for a district that is not yet registered.")))
        fields, field_problems = organization_fields(values)
        problems += field_problems
        if region is not None and district_kk and not problems:
            target = district or District(region=region, name_kk=district_kk, name_ru=district_ru)
            if not may_register(by, target):
                problems.append(("district_kk", _("this district is outside your area.")))
        if problems:
            report.errors.append(RowError(line, _errors_message(problems)))
            continue
        rows.append(_SchoolRow(line, number, region, district_kk, district_ru, fields))
    if report.errors:
        return report
    acting = Acting.of(by)
    existing: dict[str, Organization] = {}
    numbers = [r.bin for r in rows]
    for start in range(0, len(numbers), QUERY_CHUNK):
        chunk = numbers[start : start + QUERY_CHUNK]
        for organization in Organization.objects.select_for_update().filter(bin__in=chunk):
            existing[organization.bin] = organization
    for done, row in enumerate(rows, start=1):
        key = (row.region.pk, row.district_kk.casefold())
        district = districts.get(key)
        if district is None:
            district = _register_district(acting, row.region, row.district_kk, row.district_ru)
            districts[key] = district
            report.districts += 1
        organization = existing.get(row.bin)
        if organization is None:
            organization = Organization.objects.create(bin=row.bin, district=district, **row.fields)
            report.created += 1
            record(
                acting,
                Event.ORGANIZATION_REGISTER,
                f"organization:{organization.pk}",
                after=_organization_state(organization),
                organization_id=organization.pk,
            )
        else:
            before = _organization_state(organization)
            organization.district = district
            for name, value in row.fields.items():
                setattr(organization, name, value)
            after = _organization_state(organization)
            if after == before:
                report.unchanged += 1
            else:
                organization.save()
                report.updated += 1
                changed = [k for k in after if after[k] != before[k]]
                record(
                    acting,
                    Event.ORGANIZATION_UPDATE,
                    f"organization:{organization.pk}",
                    before={k: before[k] for k in changed},
                    after={k: after[k] for k in changed},
                    organization_id=organization.pk,
                )
        if progress is not None:
            progress(done, len(rows))
    return report


# -- directors


@dataclass
class Appointment:
    membership: Membership
    code: IssuedCode | None  # None when the person already uses their account
    ended: list[Membership] = field(default_factory=list)  # the directors replaced


@service
@sensitive_variables()
def appoint_director(
    by: User | None,
    organization_id: int,
    *,
    iin: str,
    last_name: str = "",
    first_name: str = "",
    patronymic: str = "",
    email: str = "",
    phone: str = "",
    replace: bool = False,
    new_code: bool = False,
    now: dt.datetime | None = None,
    site: str = "",
) -> Appointment:
    """Make a person the director of an organization and give them an activation code to hand over.

    The person is registered if new (the IIN is checked, and must agree with the name of anyone it
    already belongs to). `replace` ends the role of the current directors. The code is returned
    for printing, not sent: the ministry hands it over. Someone who already uses their account gets
    no code unless `new_code`.
    """
    now = _now(now)
    organization = (
        Organization.objects.select_for_update(of=("self",))
        .select_related("district")
        .filter(pk=organization_id)
        .first()
    )
    if organization is None:
        raise NotFound(_("Not found."))
    if not may_register(by, organization.district):
        raise Forbidden(_("You may appoint directors only in your own district or region."))
    acting = Acting.of(by)
    iin = (iin or "").strip()
    person = Person.objects.select_for_update().filter(iin=iin).first()
    if person is None:
        try:
            check_iin_matches(iin, None, None)
        except IINError as error:
            raise ServiceError(error.message) from None
        if not (last_name or "").strip() or not (first_name or "").strip():
            raise ServiceError(_("This person is not registered yet: give their last name and first name."))
        if (email or "").strip():
            try:
                validate_email(email.strip())
            except ValidationError:
                raise ServiceError(_("The e-mail address is not valid.")) from None
        person = upsert_person(
            iin=iin,
            last_name=last_name,
            first_name=first_name,
            patronymic=patronymic or "",
            email=email or "",
            phone=phone or "",
            organization=organization,
            acting=acting,
        )
    elif (last_name or first_name) and (
        (last_name.strip().casefold(), first_name.strip().casefold())
        != (person.last_name.casefold(), person.first_name.casefold())
    ):
        raise ServiceError(
            _(
                "This IIN belongs to a person already registered under another name; check the IIN, "
                "or ask for the registry record to be corrected."
            )
        )
    ended: list[Membership] = []
    if replace:
        for other in (
            Membership.objects.select_for_update()
            .filter(organization=organization, role=Role.DIRECTOR, ended_on__isnull=True)
            .select_related("person")
            .exclude(person=person)
        ):
            revoke_role(other.person, Role.DIRECTOR, organization=organization, acting=acting)
            ended.append(other)
    # The registrar's appointment is not a school's: it needs no reach over the person.
    membership = _grant(person.pk, Role.DIRECTOR, organization.pk, None, None, acting)
    user = account_of(person)
    if user is not None and not user.is_active:
        user.is_active = True
        user.save(update_fields=["is_active"])
        record(
            acting,
            Event.ACCOUNT_REACTIVATE,
            f"person:{person.pk}",
            before={"account_active": False},
            after={"roles": [Role.DIRECTOR.value], "account_active": True},
            organization_id=organization.pk,
            person_id=person.pk,
        )
    code = None
    if new_code or user is None or not has_password(user):
        code = _issue(
            acting,
            person,
            purpose=AccountCode.Purpose.ACTIVATION,
            organization=organization,
            issued_by=by,
            now=now,
            site=site,
            deliver=False,
            user=user,
        )
    return Appointment(membership=membership, code=code, ended=ended)
