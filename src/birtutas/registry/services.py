"""Writes to the registry: people (validated by IIN), accounts, roles, guardianship, link requests, API tokens.

The registry is national and a school's reach is its own people. A school (through an import or
a form) may create a person, and fill the contacts, grant the roles and make the guardian links of
someone only it holds; a person registered elsewhere (a current role in another organization, the
guardian of a student who has one) or who uses their own account is changed only by themselves or
their own school. Linking such a person to another school goes through a `LinkRequest` that they,
or their current school's director, accept. Every function here is a service and records its
audit event; the bulk variants (`register_people`, `grant_roles`, `link_guardians`) keep the same
rules and record one event per change, for imports of thousands of rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db import IntegrityError, connections, models, router, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from birtutas.kernel import clock, notify
from birtutas.kernel.audit import AUDIT_FIELDS, record
from birtutas.kernel.bulk import insert_rows
from birtutas.kernel.context import Acting, service, writing
from birtutas.kernel.errors import Conflict, Forbidden, NotFound, ServiceError
from birtutas.kernel.events import Event
from birtutas.kernel.ids import uuid7
from birtutas.kernel.models import AuditEvent

from .models import ApiToken, Guardianship, LinkRequest, Membership, Organization, Person, User
from .permissions import Action, Actor, require, visible
from .roles import SCHOOL_ADMIN_ROLES, Role
from .rules import IINError, check_iin_matches

CHUNK = 500  # ids per IN (...) lookup: well under SQLite's limit on query parameters
REGISTERED_ELSEWHERE = _(
    "This person is registered elsewhere: they join this school when they, or their school, confirm."
)


def _acting(acting: Acting | None, user=None) -> Acting:
    return acting if acting is not None else Acting.of(user)


def _chunks(items: Iterable) -> Iterator[list]:
    items = list(items)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _org_id(organization) -> int | None:
    return organization.pk if isinstance(organization, Organization) else organization


# ------------------------------------------------------------------ bulk writes that hold a lock briefly

_PREPARED = (models.DateTimeField, models.DateField, models.DecimalField, models.UUIDField, models.BooleanField)


def bulk_insert(model: type[models.Model], fields: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert plain rows (tuples in the order of `fields`; other columns get their defaults) as fast as possible.

    PostgreSQL streams them with COPY (`kernel.bulk`); elsewhere one prepared statement runs for all
    rows. Django's `bulk_create` compiles every value of every row into SQL, which on SQLite costs
    several times the insert itself, and an import of thousands of rows must hold SQLite's one write
    lock as briefly as it can: sign-ins wait for it. No primary keys are returned.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(model)]
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    stamped = [
        f
        for f in meta.concrete_fields
        if (getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)) and f not in given
    ]
    # Columns the rows leave out take their field's default, as a model instance would.
    defaulted = [f for f in meta.concrete_fields if f not in given and f not in stamped and not f.primary_key]
    if connection.vendor == "postgresql":
        defaults = tuple(f.get_default() for f in defaulted)
        insert_rows(model, (*fields, *(f.attname for f in defaulted)), [row + defaults for row in rows])
        return
    now = timezone.now()
    extra = tuple(f.get_db_prep_save(now, connection) for f in stamped)
    extra += tuple(f.get_db_prep_save(f.get_default(), connection) for f in defaulted)

    def converter(f):
        if isinstance(f, models.JSONField):
            return lambda v: None if v is None else json.dumps(v)
        if isinstance(f, _PREPARED):
            return lambda v: f.get_db_prep_save(v, connection)
        return None

    converters = [converter(f) for f in given]
    if any(converters):
        rows = [tuple(v if c is None else c(v) for c, v in zip(converters, row, strict=True)) for row in rows]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in given + stamped + defaulted)
    places = ", ".join(["%s"] * (len(given) + len(stamped) + len(defaulted)))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({places})"  # noqa: S608 - names from the model
    with connection.cursor() as cursor:
        cursor.executemany(sql, [row + extra for row in rows])


def record_rows(rows: list[tuple]) -> None:
    """Append many audit events at once; each row holds the values of `kernel.audit.AUDIT_FIELDS`."""
    known = set(Event.values)
    if any(row[4] not in known for row in rows):
        raise ValueError("unknown audit event")
    bulk_insert(AuditEvent, ("uid", *AUDIT_FIELDS), [(uuid7(), *row) for row in rows])


def select_in(
    model: type[models.Model], columns: tuple[str, ...], field: str, values: Iterable, where: str = "", params=()
) -> list[tuple]:
    """`columns` of the rows whose `field` is one of `values` (and that meet `where`), by plain SQL, in chunks.

    Django prepares every value of a long IN list on its own, which for the thousands of ids of an
    import takes longer than the database takes to answer. Names come from the model and values go
    as parameters (hence no injection); `where` is SQL over the table's own columns with %s for
    `params`, written in this module only.
    """
    connection = connections[router.db_for_read(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    selected = ", ".join(quote(meta.get_field(c).column) for c in columns)
    column = quote(meta.get_field(field).column)
    found: list[tuple] = []
    with connection.cursor() as cursor:
        for chunk in _chunks(values):
            places = ", ".join(["%s"] * len(chunk))
            sql = f"SELECT {selected} FROM {quote(meta.db_table)} WHERE {column} IN ({places})"  # noqa: S608
            if where:
                sql += f" AND ({where})"
            cursor.execute(sql, [*chunk, *params])
            found.extend(cursor.fetchall())
    return found


# ------------------------------------------------------------------ reach: who may change whom


@dataclass(frozen=True)
class Reach:
    """How far one organization reaches an existing person."""

    member_here: bool  # holds a current role in this organization
    held_elsewhere: bool  # a current role elsewhere, or the guardian of a student who has one
    activated: bool  # uses their own account, so manages their own contacts

    @property
    def may_change_contacts(self) -> bool:
        return not self.held_elsewhere and not self.activated

    @property
    def may_link(self) -> bool:
        """May this organization grant them roles and make their guardian links without asking them?"""
        return self.member_here or self.may_change_contacts


CURRENT = "ended_on IS NULL"  # a role that has not ended


def reach(organization, person_ids: Iterable[int]) -> dict[int, Reach]:
    """The reach of an organization (or of none, for the system) over each of these people, in a few queries."""
    org_id = _org_id(organization)
    ids = sorted(set(person_ids))
    here: set[int] = set()
    elsewhere: set[int] = set()
    activated: set[int] = set()
    for person_id, member_org in select_in(Membership, ("person_id", "organization_id"), "person_id", ids, CURRENT):
        (here if org_id is not None and member_org == org_id else elsewhere).add(person_id)
    wards = defaultdict(set)
    for guardian_id, student_id in select_in(Guardianship, ("guardian_id", "student_id"), "guardian_id", ids):
        wards[student_id].add(guardian_id)
    for student_id, member_org in select_in(
        Membership, ("person_id", "organization_id"), "person_id", sorted(wards), CURRENT
    ):
        if org_id is None or member_org != org_id:
            elsewhere.update(wards[student_id])
    activated.update(
        person_id
        for (person_id,) in select_in(
            User,
            ("person_id",),
            "person_id",
            ids,
            "is_active = %s AND password <> %s AND password NOT LIKE %s",
            (True, "", UNUSABLE_PASSWORD_PREFIX + "%"),
        )
    )
    return {pid: Reach(pid in here, pid in elsewhere, pid in activated) for pid in ids}


def _require_reach(organization, person_ids: Iterable[int]) -> None:
    if any(not r.may_link for r in reach(organization, person_ids).values()):
        raise Forbidden(REGISTERED_ELSEWHERE)


# ------------------------------------------------------------------ people


PERSON_COLUMNS = ("iin", "last_name", "first_name", "patronymic", "birth_date", "sex", "email", "phone")


@dataclass
class PersonFacts:
    """What a school says about a person: their IIN, names and contacts."""

    iin: str
    last_name: str
    first_name: str
    patronymic: str = ""
    email: str = ""
    phone: str = ""
    birth_date: dt.date | None = None
    sex: str | None = None


def _new_person(facts: PersonFacts) -> dict:
    """The fields of a new person, checked: the IIN (with the birth date and sex it encodes) and the names."""
    try:
        known = check_iin_matches(facts.iin, facts.birth_date, facts.sex)
    except IINError as error:
        raise ServiceError(error.message) from error
    if not facts.last_name.strip() or not facts.first_name.strip():
        raise ServiceError(_("Last name and first name are required."))
    return {
        "iin": facts.iin,
        "last_name": facts.last_name.strip(),
        "first_name": facts.first_name.strip(),
        "patronymic": facts.patronymic.strip(),
        "birth_date": known.birth_date,
        "sex": known.sex,
        "email": facts.email.strip(),
        "phone": facts.phone.strip(),
    }


def _person_state(person: Person | dict) -> dict:
    get = person.get if isinstance(person, dict) else lambda name: getattr(person, name)
    state = {name: get(name) for name in PERSON_COLUMNS if name != "iin"}
    state["birth_date"] = state["birth_date"].isoformat()
    return state


def _person_key(person_id: int) -> str:
    return f"person:{person_id}"


@service
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
    organization=None,
    acting: Acting | None = None,
) -> Person:
    """Create a person, or return the one with this IIN, filling only contacts it lacks and may be given.

    The birth date and sex, when not given, are taken from the IIN; when given, they must agree.
    An existing person's names are never overwritten here, and their contacts are filled (never
    replaced) only for an `organization` that holds them alone: nobody else holds them and they do
    not use their own account. A school must not be able to rename, or redirect the messages of,
    someone registered elsewhere.
    """
    facts = PersonFacts(iin, last_name, first_name, patronymic, email, phone, birth_date, sex)
    candidate = Person(**_new_person(facts))
    acting = _acting(acting)
    org_id = _org_id(organization)
    person = Person.objects.filter(iin=iin).first()
    if person is None:
        try:
            with transaction.atomic():
                candidate.save()
        except IntegrityError:
            person = Person.objects.get(iin=iin)  # created meanwhile by a concurrent import
        else:
            record(
                acting,
                Event.PERSON_CREATE,
                _person_key(candidate.pk),
                after=_person_state(candidate),
                organization_id=org_id,
                person_id=candidate.pk,
            )
            return candidate
    fill_contacts(person, email=email, phone=phone, organization=organization, acting=acting)
    return person


@service
def fill_contacts(person: Person, *, email: str = "", phone: str = "", organization=None, acting=None) -> bool:
    """Fill the e-mail and phone a person lacks, if this organization alone holds them; True if anything changed."""
    org_id = _org_id(organization)
    if org_id is None or not reach(org_id, [person.pk])[person.pk].may_change_contacts:
        return False
    person = Person.objects.select_for_update().get(pk=person.pk)
    before = {"email": person.email, "phone": person.phone}
    person.email = person.email or email.strip()
    person.phone = person.phone or phone.strip()
    after = {"email": person.email, "phone": person.phone}
    if after == before:
        return False
    person.save(update_fields=["email", "phone"])
    record(
        _acting(acting),
        Event.PERSON_UPDATE,
        _person_key(person.pk),
        before=before,
        after=after,
        organization_id=org_id,
        person_id=person.pk,
    )
    return True


@service
def register_people(people: Iterable[PersonFacts], *, organization, acting: Acting | None = None) -> dict[str, int]:
    """Create, in bulk, the people whose IINs the registry does not hold; one PERSON_CREATE each.

    Returns the id of every given IIN's person, the existing ones unchanged.
    """
    acting = _acting(acting)
    org_id = _org_id(organization)
    wanted = {facts.iin: facts for facts in people}
    found: dict[str, int] = dict(select_in(Person, ("iin", "id"), "iin", list(wanted)))
    new = [_new_person(facts) for iin, facts in wanted.items() if iin not in found]
    bulk_insert(Person, PERSON_COLUMNS, [tuple(p[name] for name in PERSON_COLUMNS) for p in new])
    found.update(select_in(Person, ("iin", "id"), "iin", [p["iin"] for p in new]))
    record_rows(
        [
            (
                acting.user_id,
                acting.via,
                org_id,
                found[p["iin"]],
                Event.PERSON_CREATE,
                _person_key(found[p["iin"]]),
                None,
                _person_state(p),
                acting.reason,
            )
            for p in new
        ]
    )
    return found


# ------------------------------------------------------------------ roles


def _role_key(person_id: int, role: str, organization_id, district_id=None, region_id=None) -> str:
    scope = organization_id or (f"d{district_id}" if district_id else f"r{region_id}" if region_id else "kz")
    return f"{person_id}:{role}:{scope}"


@service
def grant_role(
    person: Person, role: str, *, organization=None, district=None, region=None, acting: Acting | None = None
) -> Membership:
    """Give a person a role (re-opening it if it had ended); a school only to people within its reach."""
    if role not in Role.values:
        raise ServiceError(_("Unknown role."))
    org_id = _org_id(organization)
    if org_id is not None:
        _require_reach(org_id, [person.pk])
    return _grant(person.pk, role, org_id, district, region, _acting(acting))


def _grant(person_id: int, role: str, org_id, district, region, acting: Acting) -> Membership:
    district_id = district.pk if district is not None else None
    region_id = region.pk if region is not None else None
    membership = (
        Membership.objects.select_for_update()
        .filter(person_id=person_id, role=role, organization_id=org_id, district_id=district_id, region_id=region_id)
        .order_by("ended_on", "pk")  # a current row before an ended one
        .first()
    )
    key = _role_key(person_id, role, org_id, district_id, region_id)
    if membership is not None and membership.ended_on is None:
        return membership
    before = None
    if membership is None:
        membership = Membership.objects.create(
            person_id=person_id, role=role, organization_id=org_id, district_id=district_id, region_id=region_id
        )
    else:
        before = {"ended_on": membership.ended_on.isoformat()}
        membership.ended_on = None
        membership.save(update_fields=["ended_on"])
    record(
        acting, Event.ROLE_GRANT, key, before=before, after={"role": role}, organization_id=org_id, person_id=person_id
    )
    return membership


@service
def grant_roles(grants: Iterable[tuple[int, str]], *, organization, acting: Acting | None = None) -> int:
    """Give many people roles in one organization at once; the same rules as `grant_role`. Returns the count."""
    org_id = _org_id(organization)
    wanted = {(pid, str(role)) for pid, role in grants}
    if not wanted:
        return 0
    if {role for _pid, role in wanted} - set(Role.values):
        raise ServiceError(_("Unknown role."))
    _require_reach(org_id, {pid for pid, _role in wanted})
    return _grant_many(wanted, org_id, _acting(acting))


def _grant_many(wanted: set[tuple[int, str]], org_id: int, acting: Acting) -> int:
    existing = {
        (person_id, role): (pk, ended_on)
        for pk, person_id, role, ended_on in select_in(
            Membership,
            ("id", "person_id", "role", "ended_on"),
            "person_id",
            sorted({pid for pid, _role in wanted}),
            "organization_id = %s",
            (org_id,),
        )
    }
    reopen = [(k, *existing[k]) for k in sorted(wanted) if k in existing and existing[k][1] is not None]
    create = [(pid, role, org_id) for pid, role in sorted(wanted) if (pid, role) not in existing]
    for chunk in _chunks([pk for _k, pk, _ended in reopen]):
        Membership.objects.filter(pk__in=chunk).update(ended_on=None)
    bulk_insert(Membership, ("person_id", "role", "organization_id"), create)
    rows = [
        (
            acting.user_id,
            acting.via,
            org_id,
            person_id,
            Event.ROLE_GRANT,
            _role_key(person_id, role, org_id),
            {"ended_on": str(ended_on)},  # a date, or its ISO text as some databases return it
            {"role": role},
            acting.reason,
        )
        for (person_id, role), _pk, ended_on in reopen
    ]
    rows += [
        (
            acting.user_id,
            acting.via,
            org_id,
            person_id,
            Event.ROLE_GRANT,
            _role_key(person_id, role, org_id),
            None,
            {"role": role},
            acting.reason,
        )
        for person_id, role, _org in create
    ]
    record_rows(rows)
    return len(rows)


@service
def revoke_role(
    person: Person, role: str, *, organization=None, district=None, region=None, on: dt.date | None = None, acting=None
) -> bool:
    """End a current role (the row and its history stay); True if there was one to end."""
    org_id = _org_id(organization)
    district_id = district.pk if district is not None else None
    region_id = region.pk if region is not None else None
    membership = (
        Membership.objects.select_for_update()
        .filter(
            person_id=person.pk,
            role=role,
            organization_id=org_id,
            district_id=district_id,
            region_id=region_id,
            ended_on__isnull=True,
        )
        .first()
    )
    if membership is None:
        return False
    membership.ended_on = on or clock.today()
    membership.save(update_fields=["ended_on"])
    record(
        _acting(acting),
        Event.ROLE_REVOKE,
        _role_key(person.pk, role, org_id, district_id, region_id),
        before={"role": role},
        after={"ended_on": membership.ended_on.isoformat()},
        organization_id=org_id,
        person_id=person.pk,
    )
    return True


# ------------------------------------------------------------------ guardianship


def _link_key(guardian_id: int, student_id: int) -> str:
    return f"{guardian_id}:{student_id}"


@service
def link_guardian(
    guardian: Person, student: Person, relation: str = "", *, organization, acting: Acting | None = None
) -> Guardianship:
    """Make `guardian` a guardian of `student` for a school that reaches both."""
    if guardian.pk == student.pk:
        raise ServiceError(_("A person cannot be their own guardian."))
    link_guardians([(guardian.pk, student.pk, relation)], organization=organization, acting=acting)
    return Guardianship.objects.get(guardian=guardian, student=student)


@service
def link_guardians(links: Iterable[tuple[int, int, str]], *, organization, acting: Acting | None = None) -> int:
    """Make many guardian links at once; the same rules as `link_guardian`. Returns the count made."""
    org_id = _org_id(organization)
    wanted = {(g, s): relation for g, s, relation in links}
    if any(g == s for g, s in wanted):
        raise ServiceError(_("A person cannot be their own guardian."))
    if not wanted:
        return 0
    _require_reach(org_id, {pid for pair in wanted for pid in pair})
    return _link_many(wanted, org_id, _acting(acting))


def _link_many(wanted: dict[tuple[int, int], str], org_id, acting: Acting) -> int:
    existing = set(
        select_in(Guardianship, ("guardian_id", "student_id"), "guardian_id", sorted({g for g, _s in wanted}))
    )
    new = [(g, s, relation[:30]) for (g, s), relation in sorted(wanted.items()) if (g, s) not in existing]
    bulk_insert(Guardianship, ("guardian_id", "student_id", "relation"), new)
    record_rows(
        [
            (
                acting.user_id,
                acting.via,
                org_id,
                student,
                Event.GUARDIAN_LINK,
                _link_key(guardian, student),
                None,
                {"guardian": guardian, "relation": relation},
                acting.reason,
            )
            for guardian, student, relation in new
        ]
    )
    return len(new)


@service
def unlink_guardian(guardian: Person, student: Person, *, organization, acting: Acting | None = None) -> bool:
    """Remove a guardian link, for a school that reaches both people; True if there was one."""
    org_id = _org_id(organization)
    _require_reach(org_id, [guardian.pk, student.pk])
    link = Guardianship.objects.filter(guardian=guardian, student=student).first()
    if link is None:
        return False
    before = {"guardian": guardian.pk, "relation": link.relation}
    link.delete()
    record(
        _acting(acting),
        Event.GUARDIAN_UNLINK,
        _link_key(guardian.pk, student.pk),
        before=before,
        organization_id=org_id,
        person_id=student.pk,
    )
    return True


# ------------------------------------------------------------------ linking a person registered elsewhere


@dataclass
class LinkDraft:
    """What a school wants of a person it may not link by itself; becomes (or joins) a pending request."""

    person_id: int
    name_given: str
    roles: set[str] = field(default_factory=set)
    wards: dict[int, str] = field(default_factory=dict)  # student id -> relation: they become the guardian
    guardians: dict[int, str] = field(default_factory=dict)  # guardian id -> relation: they get a guardian
    attachments: dict[str, list] = field(default_factory=dict)  # applied by the requesting domain on acceptance


def _request_state(link: LinkRequest) -> dict:
    return {
        "organization": link.organization_id,
        "roles": link.roles,
        "wards": link.wards,
        "guardians": link.guardians,
        "attachments": link.attachments,
    }


def _merge_pairs(current: list, new: dict[int, str]) -> list:
    merged = {pid: relation for pid, relation in current}
    for pid, relation in new.items():
        merged.setdefault(pid, relation)
    return [[pid, merged[pid]] for pid in sorted(merged)]


def _merge_attachments(current: dict, new: dict) -> dict:
    merged = {key: list(value) for key, value in current.items()}
    for key, items in new.items():
        bucket = merged.setdefault(key, [])
        for item in items:
            if item not in bucket:
                bucket.append(item)
    return merged


@service
def request_links(
    drafts: Iterable[LinkDraft], *, organization, requested_by=None, decide_url: str = "", acting=None
) -> list[LinkRequest]:
    """Record what a school asks of people registered elsewhere, one pending request per person.

    A request that is already pending from this school gains the new items (so importing the same
    file twice asks once). The person (by their account) and the directors of their current schools
    are told in their inbox, with `decide_url`, the page where they decide. Returns the requests
    created or changed.
    """
    acting = _acting(acting, requested_by)
    org_id = _org_id(organization)
    drafts = [d for d in drafts if d.roles or d.wards or d.guardians or d.attachments]
    changed = []
    for draft in drafts:
        link = (
            LinkRequest.objects.select_for_update()
            .filter(person_id=draft.person_id, organization_id=org_id, state=LinkRequest.State.PENDING)
            .first()
        )
        before = None
        if link is None:
            link = LinkRequest(person_id=draft.person_id, organization_id=org_id, requested_by=requested_by)
        else:
            before = _request_state(link)
        link.name_given = draft.name_given[:300] or link.name_given
        link.roles = sorted(set(link.roles or []) | {str(r) for r in draft.roles})
        link.wards = _merge_pairs(link.wards or [], draft.wards)
        link.guardians = _merge_pairs(link.guardians or [], draft.guardians)
        link.attachments = _merge_attachments(link.attachments or {}, draft.attachments)
        after = _request_state(link)
        if after == before:
            continue
        link.save()
        # The event is the person's, not the asking school's: its history must not tell the school
        # that this person was registered elsewhere.
        record(acting, Event.LINK_REQUEST, f"link:{link.pk}", before=before, after=after, person_id=link.person_id)
        changed.append(link)
    _tell_deciders(changed, decide_url)
    return changed


def _tell_deciders(links: list[LinkRequest], decide_url: str) -> None:
    if not links:
        return
    person_ids = {link.person_id for link in links}
    accounts = dict(User.objects.filter(person_id__in=person_ids, is_active=True).values_list("person_id", "pk"))
    holders = defaultdict(set)  # person -> organizations holding them
    for person_id, org_id in Membership.objects.filter(
        person_id__in=person_ids, ended_on__isnull=True, organization_id__isnull=False
    ).values_list("person_id", "organization_id"):
        holders[person_id].add(org_id)
    for guardian_id, org_id in Guardianship.objects.filter(
        guardian_id__in=person_ids, student__memberships__ended_on__isnull=True
    ).values_list("guardian_id", "student__memberships__organization_id"):
        if org_id is not None:
            holders[guardian_id].add(org_id)
    directors = defaultdict(set)
    for org_id, user_id in Membership.objects.filter(
        organization_id__in={o for orgs in holders.values() for o in orgs},
        role__in=SCHOOL_ADMIN_ROLES,
        ended_on__isnull=True,
        person__user__is_active=True,
    ).values_list("organization_id", "person__user__id"):
        directors[org_id].add(user_id)
    recipients = set()
    for link in links:
        if link.person_id in accounts:
            recipients.add(accounts[link.person_id])
        for org_id in holders[link.person_id] - {link.organization_id}:
            recipients.update(directors[org_id])
    notify.send(
        [
            notify.Message(
                user_id=uid,
                kind="link_request",
                render=lambda: _("A school asks to link a person to it: confirm or decline."),
                link=decide_url,
            )
            for uid in sorted(recipients)
        ]
    )


def pending_links(user) -> list[LinkRequest]:
    """The pending requests this account may decide: about themselves, or about people of the school they run."""
    actor = Actor.for_user(user)
    return list(
        visible(LinkRequest, actor)
        .filter(state=LinkRequest.State.PENDING)
        .select_related("person", "organization")
        .order_by("requested_at", "pk")
    )


@service
def decide_link(user, request_id: int, *, accept: bool, acting: Acting | None = None) -> LinkRequest:
    """The person, or a director of their current school, accepts or declines a pending request.

    Accepting grants the requested roles in the asking school and makes the guardian links whose
    other side that school now reaches (a link to someone also waiting for their own confirmation
    is made when they accept theirs). The asking school never decides its own request. The part of
    the request that belongs to another domain (`attachments`) is applied by that domain's caller,
    in the same transaction.
    """
    actor = Actor.for_user(user)
    acting = _acting(acting, user)
    link = visible(LinkRequest, actor).select_related("person", "organization").filter(pk=request_id).first()
    if link is None:
        raise NotFound(_("Not found."))
    require(actor, Action.CHANGE, link, _("Only the person or their own school may decide this request."))
    state = LinkRequest.State.ACCEPTED if accept else LinkRequest.State.DECLINED
    now = timezone.now()
    if not LinkRequest.objects.filter(pk=link.pk, state=LinkRequest.State.PENDING).update(
        state=state, decided_by=user, decided_at=now
    ):
        raise Conflict(_("This request has already been decided."))
    link.state, link.decided_by, link.decided_at = state, user, now
    record(
        acting,
        Event.LINK_DECIDE,
        f"link:{link.pk}",
        before={"state": LinkRequest.State.PENDING},
        after={"state": state, "organization": link.organization_id},
        person_id=link.person_id,
    )
    if not accept:
        return link
    org_id = link.organization_id
    _grant_many({(link.person_id, role) for role in link.roles}, org_id, acting)
    others = {pid for pid, _relation in link.wards} | {pid for pid, _relation in link.guardians}
    reachable = {pid for pid, r in reach(org_id, others).items() if r.may_link}
    pairs = {(link.person_id, s): relation for s, relation in link.wards if s in reachable}
    pairs.update({(g, link.person_id): relation for g, relation in link.guardians if g in reachable})
    _link_many(pairs, org_id, acting)
    return link


# ------------------------------------------------------------------ accounts and API tokens


@service
def ensure_account(
    person: Person, *, username: str, password: str | None, language: str = "kk", is_demo=False, acting=None
) -> User:
    user = User.objects.filter(person=person).first()
    if user is None:
        user = User(person=person, username=username, language=language, is_demo=is_demo, email=person.email)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        record(
            _acting(acting),
            Event.ACCOUNT_CREATE,
            f"user:{user.pk}",
            after={"username": username, "demo": is_demo},
            person_id=person.pk,
        )
    return user


@service
def issue_api_token(user: User, label: str = "", *, acting: Acting | None = None) -> str:
    """Create a bearer token; the plain value is returned once and never stored."""
    token = secrets.token_urlsafe(32)
    api_token = ApiToken.objects.create(user=user, digest=token_digest(token), label=label[:100])
    record(
        _acting(acting, user),
        Event.TOKEN_ISSUE,
        f"token:{api_token.pk}",
        after={"label": api_token.label},
        person_id=user.person_id,
    )
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
        # Bookkeeping of use, not a change of anyone's data: written, but not audited.
        with writing():
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
    return found.user


@service
def revoke_api_token(user: User, token: str, *, acting: Acting | None = None) -> bool:
    api_token = ApiToken.objects.filter(user=user, digest=token_digest(token), revoked_at__isnull=True).first()
    if api_token is None:
        return False
    api_token.revoked_at = timezone.now()
    api_token.save(update_fields=["revoked_at"])
    record(
        _acting(acting, user),
        Event.TOKEN_REVOKE,
        f"token:{api_token.pk}",
        before={"label": api_token.label},
        after={"revoked_at": api_token.revoked_at.isoformat()},
        person_id=user.person_id,
    )
    return True
