"""Object-level access, decided in one place.

Every model declares `permissions`: a small object that turns an `Actor` into a queryset filter
(`q`). Both questions are answered from that one filter: "which rows may this actor read"
(`visible`) and "may this actor read this object" (`can_read`, the same filter narrowed to one
primary key), so a list and a detail page can never disagree. Permissions compose with `|` and `&`
as in Kolibri. Domains above the registry add their own permission classes on the same base.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from django.db.models import Model, Q, QuerySet

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
                Membership.objects.filter(person_id=user.person_id).values_list(
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

    def area(self) -> Q | None:
        """The organizations of this actor's area (district, region or country), or None."""
        q = NOTHING
        found = False
        for role, _org, district_id, region_id in self.memberships:
            if role == "ministry_analyst":
                return Q()
            if role == "region_officer" and region_id:
                q |= Q(district__region_id=region_id)
                found = True
            if role == "district_officer" and district_id:
                q |= Q(district_id=district_id)
                found = True
        return q if found else None

    @cached_property
    def ward_ids(self) -> list[int]:
        if not self.person_id:
            return []
        from .models import Guardianship

        return list(Guardianship.objects.filter(guardian_id=self.person_id).values_list("student_id", flat=True))


class Permission:
    """A rule that maps an actor to the rows it may read."""

    def q(self, actor: Actor) -> Q:
        raise NotImplementedError

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
            result |= part.q(actor)
        return result


class AllOf(Permission):
    def __init__(self, *parts: Permission):
        self.parts = parts

    def q(self, actor: Actor) -> Q:
        result = Q()
        for part in self.parts:
            result &= part.q(actor)
        return result


class Nobody(Permission):
    """Not readable through the application's pages and API (kept for services and commands)."""

    def q(self, actor: Actor) -> Q:
        return NOTHING


class AnyoneSignedIn(Permission):
    """Reference data with nothing personal in it."""

    def q(self, actor: Actor) -> Q:
        return Q() if actor.is_authenticated else NOTHING


def _path(path: str, suffix: str = "") -> str:
    return f"{path}{suffix}" if path else suffix.lstrip("_") or "pk"


class IsSelfPerson(Permission):
    """The row is (or belongs to) the actor's own person; `path` leads to a Person id."""

    def __init__(self, path: str = "id"):
        self.path = path

    def q(self, actor: Actor) -> Q:
        return Q(**{self.path: actor.person_id}) if actor.person_id else NOTHING


class GuardianOf(Permission):
    """The row belongs to one of the actor's children; `path` leads to the student's Person id."""

    def __init__(self, path: str):
        self.path = path

    def q(self, actor: Actor) -> Q:
        return Q(**{f"{self.path}__in": actor.ward_ids}) if actor.ward_ids else NOTHING


class StaffOfOrganization(Permission):
    """The row belongs to an organization the actor directs; `path` leads to an Organization id."""

    def __init__(self, path: str, roles: Iterable[str] = ("director", "deputy")):
        self.path = path
        self.roles = tuple(roles)

    def q(self, actor: Actor) -> Q:
        org_ids = actor.organization_ids(self.roles)
        if not org_ids:
            return NOTHING
        return Q(**{f"{self.path}__in": org_ids})


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
