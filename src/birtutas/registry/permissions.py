"""Who may read and who may write each model, decided in one place.

Every model declares `permissions`, built from small objects that compose with `|` and `&` as in
Kolibri. Each answers two questions:

- read: `q(actor)` turns an actor into a queryset filter. "Which rows may this actor read"
  (`visible`) and "may this actor read this object" (`can_read`, the same filter narrowed to one
  primary key) come from that one filter, so a list and a detail page can never disagree;
- write: `allows(actor, obj)` says whether the actor may create, change or delete this object,
  judged on the object itself (unsaved, for a create), by following the same paths forward.

A model's `Permissions` names one rule for reading and one for each of create, change and delete;
services ask `require(actor, action, obj)` before they write, and nothing checks a role by hand.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Model, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from birtutas.kernel.errors import Forbidden

from .roles import AREA_ROLES, SCHOOL_ADMIN_ROLES, Role

NOTHING = Q(pk__in=[])


@dataclass
class Actor:
    """Who is asking: the account, its person and its roles, loaded once per request."""

    user_id: int | None
    person_id: int | None
    memberships: list[tuple[str, int | None, int | None, int | None]] = field(default_factory=list)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(user_id=None, person_id=None)

    @classmethod
    def for_user(cls, user) -> Actor:
        if user is None or not user.is_authenticated:
            return cls.anonymous()
        cached = getattr(user, "_birtutas_actor", None)
        if cached is not None:
            return cached
        from .models import Membership

        rows = []
        if user.person_id:
            rows = list(
                Membership.objects.filter(person_id=user.person_id, ended_on__isnull=True).values_list(
                    "role", "organization_id", "district_id", "region_id"
                )
            )
        actor = cls(user_id=user.pk, person_id=user.person_id, memberships=rows)
        user._birtutas_actor = actor
        return actor

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def roles(self) -> set[str]:
        return {m[0] for m in self.memberships}

    def has_role(self, *roles: str) -> bool:
        return any(m[0] in roles for m in self.memberships)

    def organization_ids(self, roles: Iterable[str]) -> list[int]:
        roles = set(roles)
        return sorted({m[1] for m in self.memberships if m[0] in roles and m[1] is not None})

    def area(self, roles: Iterable[str] = AREA_ROLES) -> Q | None:
        """The organizations of this actor's area (district, region or country) under `roles`, or None."""
        roles = set(roles)
        q = NOTHING
        found = False
        for role, _org, district_id, region_id in self.memberships:
            if role not in roles:
                continue
            if role == Role.MINISTRY_ANALYST:
                return Q()
            if role == Role.REGION_OFFICER and region_id:
                q |= Q(district__region_id=region_id)
                found = True
            if role == Role.DISTRICT_OFFICER and district_id:
                q |= Q(district_id=district_id)
                found = True
        return q if found else None

    def in_area(self, organization_id: int | None, roles: Iterable[str] = AREA_ROLES) -> bool:
        area = self.area(roles)
        if area is None or organization_id is None:
            return False
        from .models import Organization

        return Organization.objects.filter(area, pk=organization_id).exists()

    @cached_property
    def ward_ids(self) -> list[int]:
        if not self.person_id:
            return []
        from .models import Guardianship

        return list(Guardianship.objects.filter(guardian_id=self.person_id).values_list("student_id", flat=True))


def resolve(obj, path: str):
    """Follow a forward path such as "lesson__assignment__teacher_id" from an object (saved or not)."""
    value = obj
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


class Permission:
    """A rule: which rows an actor may read (`q`), and whether it may write one object (`allows`)."""

    def q(self, actor: Actor) -> Q:
        return NOTHING

    def allows(self, actor: Actor, obj) -> bool:
        return False

    def __or__(self, other: Permission) -> Permission:
        return AnyOf(self, other)

    def __and__(self, other: Permission) -> Permission:
        return AllOf(self, other)


class AnyOf(Permission):
    def __init__(self, *parts: Permission):
        self.parts = parts

    def q(self, actor: Actor) -> Q:
        result = NOTHING
        for part in self.parts:
            q = part.q(actor)
            if not q:  # Q() is "every row"; Django drops an empty Q from an OR, so say it outright
                return Q()
            result |= q
        return result

    def allows(self, actor: Actor, obj) -> bool:
        return any(part.allows(actor, obj) for part in self.parts)


class AllOf(Permission):
    def __init__(self, *parts: Permission):
        self.parts = parts

    def q(self, actor: Actor) -> Q:
        result = Q()
        for part in self.parts:
            result &= part.q(actor)
        return result

    def allows(self, actor: Actor, obj) -> bool:
        return all(part.allows(actor, obj) for part in self.parts)


class Nobody(Permission):
    """Not readable or writable through the application's pages and API (services and commands only)."""


class AnyoneSignedIn(Permission):
    """Reference data with nothing personal in it."""

    def q(self, actor: Actor) -> Q:
        return Q() if actor.is_authenticated else NOTHING

    def allows(self, actor: Actor, obj) -> bool:
        return actor.is_authenticated


class IsSelfPerson(Permission):
    """The row is (or belongs to) the actor's own person; `path` leads to a Person id."""

    def __init__(self, path: str = "id"):
        self.path = path

    def q(self, actor: Actor) -> Q:
        return Q(**{self.path: actor.person_id}) if actor.person_id else NOTHING

    def allows(self, actor: Actor, obj) -> bool:
        return actor.person_id is not None and resolve(obj, self.path) == actor.person_id


class IsOwnAccount(Permission):
    """The row is (or belongs to) the actor's own account; `path` leads to a User id."""

    def __init__(self, path: str = "id"):
        self.path = path

    def q(self, actor: Actor) -> Q:
        return Q(**{self.path: actor.user_id}) if actor.user_id else NOTHING

    def allows(self, actor: Actor, obj) -> bool:
        return actor.user_id is not None and resolve(obj, self.path) == actor.user_id


class GuardianOf(Permission):
    """The row belongs to one of the actor's children; `path` leads to the student's Person id."""

    def __init__(self, path: str):
        self.path = path

    def q(self, actor: Actor) -> Q:
        return Q(**{f"{self.path}__in": actor.ward_ids}) if actor.ward_ids else NOTHING

    def allows(self, actor: Actor, obj) -> bool:
        return resolve(obj, self.path) in actor.ward_ids


class StaffOfOrganization(Permission):
    """The row belongs to an organization where the actor holds one of `roles` (by default, runs it)."""

    def __init__(self, path: str, roles: Iterable[str] = SCHOOL_ADMIN_ROLES):
        self.path = path
        self.roles = tuple(roles)

    def q(self, actor: Actor) -> Q:
        org_ids = actor.organization_ids(self.roles)
        if not org_ids:
            return NOTHING
        return Q(**{f"{self.path}__in": org_ids})

    def allows(self, actor: Actor, obj) -> bool:
        return resolve(obj, self.path) in actor.organization_ids(self.roles)


class OfficerOfArea(Permission):
    """The row belongs to an organization in the area of an officer holding one of `roles`."""

    def __init__(self, path: str, roles: Iterable[str]):
        self.path = path
        self.roles = tuple(roles)

    def q(self, actor: Actor) -> Q:
        from .models import Organization

        area = actor.area(self.roles)
        if area is None:
            return NOTHING
        return Q(**{f"{self.path}__in": Organization.objects.filter(area).values("pk")})

    def allows(self, actor: Actor, obj) -> bool:
        return actor.in_area(resolve(obj, self.path), self.roles)


class Action(enum.StrEnum):
    CREATE = "create"
    CHANGE = "change"
    DELETE = "delete"


class Permissions(Permission):
    """A model's whole declaration: who reads, who creates, who changes, who deletes."""

    def __init__(
        self,
        read: Permission,
        *,
        create: Permission | None = None,
        change: Permission | None = None,
        delete: Permission | None = None,
    ):
        self.read = read
        self.write = {
            Action.CREATE: create or Nobody(),
            Action.CHANGE: change or Nobody(),
            Action.DELETE: delete or Nobody(),
        }

    def q(self, actor: Actor) -> Q:
        return self.read.q(actor)

    def may(self, actor: Actor, action: Action, obj) -> bool:
        return self.write[Action(action)].allows(actor, obj)


def may(actor: Actor, action: Action, obj) -> bool:
    rule = obj.permissions
    return rule.may(actor, action, obj) if isinstance(rule, Permissions) else False


def require(actor: Actor, action: Action, obj, message=None) -> None:
    """Refuse (403) unless the actor may do `action` to `obj`; services call this before writing."""
    if not may(actor, action, obj):
        raise Forbidden(message or _("You may not make this change."))


def visible(model_or_qs: type[Model] | QuerySet, actor: Actor) -> QuerySet:
    """Every row of a model the actor may read. Reverse joins may repeat rows, hence the semi-join."""
    qs = model_or_qs.all() if isinstance(model_or_qs, QuerySet) else model_or_qs._default_manager.all()
    q = qs.model.permissions.q(actor)
    return qs.filter(pk__in=qs.model._default_manager.filter(q).values("pk"))


def can_read(actor: Actor, obj: Model) -> bool:
    return visible(type(obj)._default_manager.filter(pk=obj.pk), actor).exists()


# The director reads the history of their school; a person reads what happened to them, and a
# guardian what happened to their child.
AUDIT_READERS = StaffOfOrganization("organization_id") | IsSelfPerson("person_id") | GuardianOf("person_id")
