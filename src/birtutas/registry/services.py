"""Writes to the registry: people (validated by IIN), accounts, roles, guardianship, API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birtutas.kernel.errors import ServiceError

from .models import ApiToken, Guardianship, Membership, Person, User
from .rules import IINError, check_iin_matches


def upsert_person(
    *,
    iin: str,
    last_name: str,
    first_name: str,
    patronymic: str = "",
    birth_date: dt.date | None = None,
    sex: str | None = None,
    email: str = "",
    phone: str = "",
) -> Person:
    """Create a person, or return the one with this IIN, filling only contacts it lacks.

    The birth date and sex, when not given, are taken from the IIN; when given, they must agree.
    An existing person's names and contacts are never overwritten here: a school importing a file
    must not be able to rename, or redirect the messages of, someone registered elsewhere.
    """
    try:
        facts = check_iin_matches(iin, birth_date, sex)
    except IINError as error:
        raise ServiceError(error.message) from error
    if not last_name.strip() or not first_name.strip():
        raise ServiceError(_("Last name and first name are required."))
    person, created = Person.objects.get_or_create(
        iin=iin,
        defaults={
            "last_name": last_name.strip(),
            "first_name": first_name.strip(),
            "patronymic": patronymic.strip(),
            "birth_date": facts.birth_date,
            "sex": facts.sex,
            "email": email.strip(),
            "phone": phone.strip(),
        },
    )
    if not created and ((email.strip() and not person.email) or (phone.strip() and not person.phone)):
        person.email = person.email or email.strip()
        person.phone = person.phone or phone.strip()
        person.save(update_fields=["email", "phone"])
    return person


def grant_role(person: Person, role: str, *, organization=None, district=None, region=None) -> Membership:
    membership, _created = Membership.objects.get_or_create(
        person=person, role=role, organization=organization, district=district, region=region
    )
    return membership


def link_guardian(guardian: Person, student: Person, relation: str = "") -> Guardianship:
    if guardian.pk == student.pk:
        raise ServiceError(_("A person cannot be their own guardian."))
    link, _created = Guardianship.objects.get_or_create(
        guardian=guardian, student=student, defaults={"relation": relation}
    )
    return link


def ensure_account(person: Person, *, username: str, password: str | None, language: str = "kk", is_demo=False) -> User:
    user = User.objects.filter(person=person).first()
    if user is None:
        user = User(person=person, username=username, language=language, is_demo=is_demo, email=person.email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    return user


@transaction.atomic
def issue_api_token(user: User, label: str = "") -> str:
    """Create a bearer token; the plain value is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=token_digest(token), label=label[:100])
    return token


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_for_token(token: str) -> User | None:
    found = (
        ApiToken.objects.select_related("user")
        .filter(digest=token_digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if found is None or (found.user.is_demo and not settings.DEMO_MODE):
        return None
    now = timezone.now()
    if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 300:
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user


def revoke_api_token(user: User, token: str) -> bool:
    return bool(
        ApiToken.objects.filter(user=user, digest=token_digest(token), revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )
