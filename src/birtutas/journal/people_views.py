"""The director's "People" pages: who is in the school with the state of their account, activation codes
and printed letters, leaving, returning and transfers. Thin: every write is a service."""

from __future__ import annotations

import re

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.registry import accounts
from birtutas.registry.permissions import Actor

from . import people as service
from . import queries


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _site(request) -> str:
    return request.build_absolute_uri("/")


BACK = re.compile(r"^(class=(\d{1,19}|none)|former=1)$")


def _to_people(request, organization_id: int):
    """Back to the part of the People page the action was taken on."""
    url = reverse("school:people", kwargs={"organization_id": organization_id})
    back = request.POST.get("back", "")
    return redirect(f"{url}?{back}" if BACK.match(back) else url)


@login_required
@require_GET
def people(request, organization_id: int):
    actor = _actor(request)
    organization = queries.directed_organization(actor, organization_id)
    class_key = request.GET.get("class") or None
    people = service.school_people(
        actor, organization, class_key=class_key[:20] if class_key else None, former=request.GET.get("former") == "1"
    )
    return render(
        request,
        "journal/school/people.html",
        {"organization": organization, "people": people, "states": accounts.AccountState},
    )


@sensitive_variables()
def _letters_page(request, organization, letters, *, school_class=None, sent=(), active=(), skipped=()):
    response = render(
        request,
        "journal/school/people_letters.html",
        {
            "organization": organization,
            "school_class": school_class,
            "letters": letters,
            "sent": sent,
            "active": active,
            "skipped": skipped,
            "address": request.build_absolute_uri(reverse("activate")),
        },
    )
    # The page carries codes in clear: no cache, no proxy, no back-button copy may keep it.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@never_cache
@sensitive_variables()
def issue_code(request, organization_id: int, person_id: int):
    """A new code for one person: sent by e-mail or SMS where they have one, else (or if asked) printed."""
    actor = _actor(request)
    organization = queries.directed_organization(actor, organization_id)
    queries.school_person(actor, organization, person_id)
    printed = request.POST.get("print") == "1"
    try:
        issued = accounts.issue_code(
            request.user, person_id, organization_id=organization.pk, deliver=not printed, site=_site(request)
        )
    except ServiceError as error:
        raise_refusal(error)
        messages.error(request, error.message)
        return _to_people(request, organization.pk)
    if issued.channels:
        messages.success(
            request,
            _("A new activation code was sent to %(name)s by %(channels)s.")
            % {"name": issued.person.short_name, "channels": ", ".join(_channel_names(issued.channels))},
        )
        return _to_people(request, organization.pk)
    return _letters_page(request, organization, [service.letter_for(issued, organization)])


def _channel_names(channels) -> list[str]:
    names = {"email": _("e-mail"), "sms": _("SMS")}
    return [names[c] for c in channels]


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
@sensitive_variables()
def class_letters(request, class_id: int):
    """GET: what issuing codes for the class will do. POST: issue them and show the letters to print."""
    actor = _actor(request)
    school_class = queries.directed_class(actor, class_id)
    organization = school_class.organization
    if request.method == "GET":
        recipients = service.class_recipients(school_class)
        return render(
            request,
            "journal/school/people_class.html",
            {"organization": organization, "school_class": school_class, "recipients": recipients},
        )
    result = service.issue_class_letters(
        request.user, school_class.pk, include_active=request.POST.get("include_active") == "1", site=_site(request)
    )
    return _letters_page(
        request,
        organization,
        result.letters,
        school_class=school_class,
        sent=result.sent,
        active=result.active,
        skipped=result.skipped,
    )


def _person_action(request, organization_id: int, person_id: int, action, success, *, confirm: bool = True):
    actor = _actor(request)
    organization = queries.directed_organization(actor, organization_id)
    person = queries.school_person(actor, organization, person_id)
    if confirm and request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm, then press the button again."))
        return _to_people(request, organization.pk)
    try:
        outcome = action(request.user, organization.pk, person.pk)
    except ServiceError as error:
        raise_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, success(person, outcome))
    return _to_people(request, organization.pk)


@login_required
@require_POST
def deactivate(request, organization_id: int, person_id: int):
    def success(person, closed):
        if closed:
            return _("%(name)s has left the school and their account is deactivated.") % {"name": person.short_name}
        return _(
            "%(name)s has left the school. Their account stays open: they also belong to another school or office."
        ) % {"name": person.short_name}

    return _person_action(request, organization_id, person_id, service.deactivate_person, success)


@login_required
@require_POST
def reactivate(request, organization_id: int, person_id: int):
    def success(person, roles):
        return _("%(name)s is back in the school and can sign in again.") % {"name": person.short_name}

    return _person_action(request, organization_id, person_id, service.reactivate_person, success, confirm=False)


@login_required
@require_POST
def transfer(request, organization_id: int, person_id: int):
    def success(person, count):
        return _("%(name)s is marked as transferred: they left the class, and their marks stay with them.") % {
            "name": person.short_name
        }

    return _person_action(request, organization_id, person_id, service.transfer_student, success)
