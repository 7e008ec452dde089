"""What the layout needs on every page: who is signed in, in which role, and the navigation for it.

A person with several roles (a teacher who is also a parent) works in one at a time: the chosen
role is kept in the session and decides the navigation and the start page. It grants nothing:
what a person may read and change still comes from their memberships alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from birtutas.journal import queries as journal_queries
from birtutas.journal.permissions import SCHOOL_MEMBER_ROLES
from birtutas.registry.permissions import Actor
from birtutas.registry.roles import AREA_ROLES, OFFICER_ROLES, SCHOOL_ADMIN_ROLES, TEACHING_ROLES, Role

HAT_SESSION_KEY = "birtutas_role"


@dataclass(frozen=True)
class Hat:
    """A role as the layout knows it: its label, its start page and its section of the navigation."""

    key: str
    label: Promise
    start: str  # URL name of the start page
    section: str  # key of `nav`


HATS = (
    Hat("teacher", _("teacher"), "journal:today", "journal"),
    Hat("director", _("school administration"), "school:index", "school"),
    Hat("student", _("student"), "diary:index", "diary"),
    Hat("parent", _("parent or guardian"), "diary:index", "diary"),
    Hat("officer", _("education officer or analyst"), "analytics:area", "area"),
)
HAT_BY_KEY = {h.key: h for h in HATS}


def hats_of(actor: Actor) -> list[Hat]:
    """The roles the actor can work in, in the order the start page prefers them."""
    roles = actor.roles()
    held = {
        "teacher": bool(roles & set(TEACHING_ROLES)),
        "director": bool(roles & set(SCHOOL_ADMIN_ROLES)),
        "student": Role.STUDENT in roles,
        "parent": actor.is_authenticated and bool(actor.ward_ids),
        "officer": bool(roles & set(AREA_ROLES)),
    }
    return [h for h in HATS if held[h.key]]


def current_hat(request, actor: Actor | None = None, hats: list[Hat] | None = None) -> Hat | None:
    """The role chosen in this session, if the actor holds it; else the first they hold."""
    actor = actor or Actor.for_user(getattr(request, "user", None))
    hats = hats_of(actor) if hats is None else hats
    if not hats:
        return None
    session = getattr(request, "session", None)
    chosen = session.get(HAT_SESSION_KEY) if session is not None else None
    return next((h for h in hats if h.key == chosen), hats[0])


def navigation(request):
    user = getattr(request, "user", None)
    actor = Actor.for_user(user)
    context = {"demo_mode": settings.DEMO_MODE, "nav": {}, "unread_count": 0, "hats": [], "hat": None}
    if not actor.is_authenticated:
        return context
    hats = hats_of(actor)
    hat = current_hat(request, actor, hats)
    roles_held = actor.roles()
    nav = {h.section: False for h in HATS}
    if hat is not None:
        nav[hat.section] = True
        if hat.section == "diary":  # the Diary link opens the student's week itself, without a redirect
            nav["diary_student"] = journal_queries.diary_start(actor)
        if hat.key == "director":
            nav["people"] = actor.organization_ids(SCHOOL_ADMIN_ROLES)[:1]
        # An officer of a district or region reopens closed terms; an analyst does not.
        nav["closures"] = hat.key == "officer" and actor.area(OFFICER_ROLES) is not None
        # Sync: a school server's director sees what waits; officers see which of their schools are silent.
        nav["sync"] = (hat.key == "director" and bool(settings.NODE_FILE)) or bool(nav["closures"])
    # Letters: a family, a teacher or the school's administration writes; every member of a school
    # reads its announcements.
    nav["messages"] = bool(actor.ward_ids) or bool(roles_held & set(SCHOOL_MEMBER_ROLES))
    context.update(
        nav=nav,
        hats=hats,
        hat=hat,
        unread_count=user.notifications.filter(read_at__isnull=True).count(),
    )
    return context
