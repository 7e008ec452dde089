"""Access control, tried on every URL the project has, generated from the URL configuration.

The routes are walked from the URL configuration and the API's OpenAPI description, so a new
page or endpoint is covered without anyone remembering it. Every role of `Role` acts through an
account of the test world (a role without one fails the test until it is mapped), and each
actor has its own scope: the objects it may reach, and the objects of another school, another
class and another family that it must not.

- Every pattern with object parameters is requested by every actor with objects outside its
  scope, with every method the endpoint answers: each must be refused with 403 or 404. A
  positive control proves each pattern does work for someone entitled, so a refusal is never
  just a broken URL.
- Every page and endpoint an actor can open (those without parameters, and those with the
  actor's own objects) is read, redirects followed, and no marker of a foreign record may
  appear in it: a last name, an IIN (full or masked), an e-mail, a class name or a homework text.
- Every parameter an endpoint reads (path, query string, form field, JSON property: found in the
  URL pattern, in the forms and links of the pages an actor is shown, and in the OpenAPI
  description) is replaced by a foreign id, one at a time, the others left as the actor's own.
- Every write is tried in the actor's own scope by every actor whose role does not give that
  capability (a director writing a mark, a class teacher another teacher's subject, a family
  anything, an officer a school's records, a teacher closing a term or setting the timetable).

After every refused, foreign or read-only request the database must be as it was (every table
of the kernel, registry, curriculum, governance and journal apps); the table that changed is
named. No request may answer 5xx. A new kind of path parameter, form field holding an id, or
writing endpoint fails the test until it is added to the maps below.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import logging
import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve

from birtutas.registry.roles import Role
from birtutas.registry.rules import mask_iin
from birtutas.registry.services import issue_api_token

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "delete")
REFUSED = {403, 404}

# ------------------------------------------------------------------ the URL configuration


@dataclass(frozen=True)
class Route:
    pattern: str  # as the resolver spells it: "journal/<id:assignment_id>/term/<id:term_id>/"
    name: str  # "journal:grid"; the pattern itself for an unnamed one

    @property
    def params(self) -> list[str]:
        return re.findall(r"<(?:\w+:)?(\w+)>", self.pattern)

    @property
    def api(self) -> bool:
        return self.pattern.startswith("api/")


def walk(patterns, prefix="", namespace=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            inner = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
            yield from walk(p.url_patterns, prefix + str(p.pattern), inner)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or route)
            yield Route(route, name)


def all_routes() -> list[Route]:
    return sorted(set(walk(get_resolver().url_patterns)), key=lambda r: (r.pattern, r.name))


def route_of(path: str) -> tuple[Route, dict] | None:
    """The route a path resolves to, and its path parameters."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return Route(match.route, match.view_name), dict(match.kwargs)


# Path parameters: the kind of record each one names. A new name fails the test until it is added.
PATH_KINDS = {
    "assignment_id": "assignment",
    "term_id": "term",
    "lesson_id": "lesson",
    "student_id": "student",
    "work_id": "work",
    "class_id": "class",
    "organization_id": "organization",
    "request_id": "request",
    "person_id": "person",
    "job_id": "job",
    "year_id": "year",
    "holiday_id": "holiday",
    "link_id": "link",
    "content_type_id": "content_type",
    "conversation_id": "conversation",
    # A transfer session of the sync API: no person's session can name one (see NO_POSITIVE_CONTROL).
    "session_id": "sync_session",
}
# Parts of a pattern that name no record: the admin's application label and its catch-all.
CONSTANT_PARAMS = {"app_label": "registry", "url": "registry/no-such-page/"}


def path_kind(pattern: str, param: str) -> str | None:
    if param in CONSTANT_PARAMS:
        return None
    if param == "object_id":
        model = re.match(r"admin/registry/(\w+)/", pattern)
        if model:
            return f"admin_{model.group(1)}"
        if pattern.startswith("admin/r/"):
            return "admin_person"  # the admin's "view on site" of a person
    if param in PATH_KINDS:
        return PATH_KINDS[param]
    raise AssertionError(
        f"path parameter <{param}> in {pattern} has no entry in the access test's maps: add it to PATH_KINDS "
        f"with the kind of record it names (and that kind's values to `scopes()`)"
    )


def fill(pattern: str, values: dict) -> str:
    """The URL of `pattern` with each path parameter taken from `values` (by parameter name)."""

    def value_of(param: str) -> str:
        if param in CONSTANT_PARAMS:
            return CONSTANT_PARAMS[param]
        if param not in values:
            raise AssertionError(f"path parameter <{param}> in {pattern} has no entry in the access test's maps")
        return str(values[param])

    url = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value_of(m.group(1)), pattern)
    url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value_of(m.group(1)), url)
    return "/" + url.replace("^", "").replace("$", "")


def fill_kinds(route: Route, kinds: dict) -> str | None:
    """The route filled from values by kind (None when a kind has no value here)."""
    values = {}
    for param in route.params:
        kind = path_kind(route.pattern, param)
        if kind is None:
            continue
        if kinds.get(kind) is None:
            return None
        values[param] = kinds[kind]
    return fill(route.pattern, values)


# ------------------------------------------------------------------ who acts: every role of `Role`

# Each role, the actor of the test world who holds it. A new role fails the test until it is mapped
# here and its account added to `birtutas.testing.build_access_world`.
ACTOR_OF_ROLE = {
    Role.STUDENT: "student",
    Role.GUARDIAN: "guardian",
    Role.TEACHER: "teacher",
    Role.CLASS_TEACHER: "class_teacher",
    Role.DIRECTOR: "director",
    Role.DEPUTY: "deputy",
    Role.DISTRICT_OFFICER: "district_officer",
    Role.REGION_OFFICER: "region_officer",
    Role.MINISTRY_ANALYST: "analyst",
    Role.SYSADMIN: "sysadmin",
}

SUBJECT_TEACHERS = frozenset({"teacher", "teacher2"})
SCHOOL_ADMINS = frozenset({"director", "deputy"})
OFFICERS = frozenset({"district_officer", "region_officer"})
EVERYONE = None  # the route changes only the actor's own account, session or inbox


@dataclass
class Actor:
    label: str
    role: Role
    user: object
    own: dict  # kind -> the actor's own record of that kind (None: it has none)
    foreign: list[tuple[str, dict]]  # (what, kind -> a record it must not reach), strict
    loose: dict  # kind -> [(what, value)]: out of scope, yet reachable without harm (must change nothing)
    markers: dict[str, str] = field(default_factory=dict)  # text -> whose it is
    pattern: re.Pattern | None = None  # the markers, compiled
    also: dict = field(default_factory=dict)  # kind -> more own records whose pages are read too

    def foreign_values(self, kind: str) -> list[tuple[str, object, bool]]:
        found, seen = [], set()
        for what, values in self.foreign:
            value = values.get(kind)
            if value is not None and value != self.own.get(kind) and value not in seen:
                seen.add(value)
                found.append((what, value, True))
        for what, value in self.loose.get(kind, []):
            if value not in seen:
                seen.add(value)
                found.append((what, value, False))
        return found


def class_objects(school, klass: str) -> dict:
    """The records of one class ('a' or 'b') of one school, by kind."""
    first = klass == "a"
    student = school.student if first else school.student_b
    return {
        "organization": school.organization.pk,
        "class": (school.class_a if first else school.class_b).pk,
        "assignment": (school.assignment_a if first else school.assignment_b).pk,
        "lesson": (school.lessons_a if first else school.lessons_b)[0].pk,
        "student": student.pk,
        "person": student.pk,
        "work": (school.work_a if first else school.work_b).pk,
        "teacher": (school.teacher if first else school.other_teacher).person_id,
        "request": school.change_request.pk if first else None,
    }


def admin_objects(school) -> dict:
    from birtutas.registry.models import Membership

    return {
        "admin_organization": school.organization.pk,
        "admin_person": school.student.pk,
        "admin_user": school.teacher.pk,
        "admin_membership": Membership.objects.filter(organization=school.organization).order_by("pk")[0].pk,
        "admin_accountcode": 987654,  # none is issued in the test world: the admin answers "no such code"
    }


def scopes(aw) -> list[Actor]:
    from django.contrib.contenttypes.models import ContentType

    from birtutas.registry.models import Membership, Person, Region

    w = aw.world
    a, b = w.a, w.b
    common = {
        "term": w.term.pk,
        "week": "2026-11-16",
        "subject": w.subject.pk,
        "objective": None,
        "district": a.organization.district_id,
        "area_district": a.organization.district_id,
        "area_region": a.organization.district.region_id,
        "year": w.year.pk,
        "holiday": None,
        "content_type": ContentType.objects.get_for_model(Person).pk,
    }
    own_a = {**common, **admin_objects(a), "job": aw.job_a.pk, "link": aw.link_a.pk}
    school_b = {
        **class_objects(b, "a"),
        **admin_objects(b),
        "term": aw.b_term.pk,
        "year": aw.b_year.pk,
        "area_district": b.organization.district_id,
        "holiday": aw.b_holiday.pk,
        "job": aw.job_b.pk,
        "link": aw.link_b.pk,
        "request": b.change_request.pk,
    }
    class_a, class_b = class_objects(a, "a"), class_objects(a, "b")
    # Letters: each school's guardian and classmate's guardian wrote to the teacher of class a.
    school_b["conversation"] = aw.letters[("b", "student")].conversation_id
    letters_a = {"conversation": aw.letters[("a", "student")].conversation_id}
    other_family_letters = {"conversation": aw.letters[("a", "classmate")].conversation_id}
    loose = {"term": [("a term of another school year", aw.old_term.pk)], "week": [("a week a year ago", "2025-11-17")]}
    elsewhere = Region.objects.exclude(pk=a.organization.district.region_id).order_by("code").first()
    loose["area_region"] = [("a region without a school of the area", elsewhere.pk)]
    # Area roles and the system administrator see no one's records: everything personal is out of reach.
    personal = ("class", "assignment", "lesson", "student", "person", "work", "teacher", "request", "job", "link")
    own_area = {k: v for k, v in class_a.items() if k in personal} | {"job": aw.job_a.pk, "link": aw.link_a.pk}
    own_area |= letters_a
    registry_a = {**admin_objects(a), "content_type": common["content_type"]}  # the administration's

    def actor(label, role, user, own, foreign):
        return Actor(label, role, user, own, foreign, loose)

    other_class_of_a = {**class_b, "request": a.change_request.pk}
    found = [
        actor(
            "teacher",
            Role.TEACHER,
            a.teacher,
            {**own_a, **class_a, **letters_a},
            [("another school", school_b), ("another class", class_b)],
        ),
        actor(
            "teacher2",
            Role.TEACHER,
            a.other_teacher,
            {**own_a, **class_b, "link": None},
            [("another school", school_b), ("another class", {**class_a, **letters_a})],
        ),
        actor(
            "class_teacher",
            Role.CLASS_TEACHER,
            aw.class_teacher,
            {**own_a, **class_b, "teacher": a.other_teacher.person_id, "link": None},
            [("another school", school_b), ("another class", {**class_a, **letters_a, "link": aw.link_a.pk})],
        ),
        # A family's letters are the family's and the teacher's: the school's administration reads none.
        actor(
            "director",
            Role.DIRECTOR,
            a.director,
            {**own_a, **class_a, **letters_a},
            [("another school", school_b), ("a family's letters", other_family_letters)],
        ),
        actor(
            "deputy",
            Role.DEPUTY,
            aw.deputy,
            {**own_a, **class_a, **letters_a},
            [("another school", school_b), ("a family's letters", other_family_letters)],
        ),
        actor(
            "student",
            Role.STUDENT,
            a.student_user,
            {**own_a, **class_a, "link": None, "job": None, "request": None},
            [
                ("another school", school_b),
                ("another class", other_class_of_a),
                ("another family", {"student": a.classmate.pk, "person": a.classmate.pk, **other_family_letters}),
                ("their family's letters", letters_a),
                ("school staff's records", {"job": aw.job_a.pk, "link": aw.link_a.pk}),
            ],
        ),
        actor(
            "guardian",
            Role.GUARDIAN,
            a.guardian,
            {**own_a, **class_a, **letters_a, "link": None, "job": None, "request": None},
            [
                ("another school", school_b),
                ("another class", other_class_of_a),
                ("another family", {"student": a.classmate.pk, "person": a.classmate.pk, **other_family_letters}),
                ("school staff's records", {"job": aw.job_a.pk, "link": aw.link_a.pk}),
            ],
        ),
    ]
    for label, role, user, area_b in (
        ("district_officer", Role.DISTRICT_OFFICER, w.district_officer, True),
        ("region_officer", Role.REGION_OFFICER, aw.region_officer, False),
        ("analyst", Role.MINISTRY_ANALYST, w.analyst, False),
        ("sysadmin", Role.SYSADMIN, aw.sysadmin, False),
    ):
        officer = role in (Role.DISTRICT_OFFICER, Role.REGION_OFFICER)
        outside = dict(school_b)
        if not area_b:
            outside.pop("organization")  # school B is in their area too
            outside.pop("area_district")
        inside = dict(own_area)
        if not officer:
            inside["organization"] = a.organization.pk  # a school's own pages are not an analyst's
        if role == Role.SYSADMIN:
            for kind in [*registry_a, "organization"]:  # the registry's administration is theirs
                outside.pop(kind, None)
                inside.pop(kind, None)
        else:
            inside |= registry_a
        if role in (Role.REGION_OFFICER, Role.MINISTRY_ANALYST):
            for kind in ("term", "year", "holiday"):  # school B's own calendar is in their area: they read it
                outside.pop(kind, None)
        found.append(
            actor(
                label,
                role,
                user,
                {**own_a, **class_a, "link": None, "job": None, "term": w.terms[0].pk},
                [("another school", outside), ("own area's personal records", inside)],
            )
        )
    mapped = {x.label for x in found}
    missing = [f"Role.{r.name}" for r in Role if ACTOR_OF_ROLE.get(r) not in mapped]
    assert not missing, (
        f"{', '.join(missing)} has no actor in the access test: add an account holding it to "
        f"birtutas.testing.build_access_world, its scope to `scopes()` and the role to ACTOR_OF_ROLE"
    )
    for x in found:
        assert Membership.objects.filter(person_id=x.user.person_id, role=x.role, ended_on__isnull=True).exists(), (
            f"the access test's {x.label} does not hold {x.role!r}"
        )
    for x in found:
        x.markers = markers_for(aw, x.label)
        if x.label in SUBJECT_TEACHERS | SCHOOL_ADMINS | {"class_teacher"}:
            x.also = {"term": [w.terms[0].pk]}  # the closed term: its grid offers a change request
    return found


# ------------------------------------------------------------------ foreign markers


def people_of(school, aw=None) -> list:
    people = [
        school.director.person,
        school.teacher.person,
        school.other_teacher.person,
        school.student,
        school.classmate,
        school.student_b,
        school.guardian.person,
        school.classmate_guardian.person,
    ]
    if aw is not None:
        people += [aw.deputy.person, aw.class_teacher.person]
    return people


def markers_for(aw, label: str) -> dict[str, str]:
    """Texts that must never appear in what `label` is shown: the data of records outside its scope."""
    from birtutas.registry.models import Person, User

    w = aw.world
    a, b = w.a, w.b
    emails = {}
    for user in User.objects.exclude(email=""):
        emails.setdefault(user.person_id, []).append(user.email)
    area = [w.analyst.person, w.district_officer.person, aw.region_officer.person, aw.sysadmin.person]
    staff_a = [a.director.person, aw.deputy.person, a.teacher.person, a.other_teacher.person, aw.class_teacher.person]
    whole = [] + people_of(a, aw) + people_of(b) + area
    named, unnamed, homework, classes, texts = list(people_of(b)), [], [], [], []
    homework += [aw.homework[("b", "a")], aw.homework[("b", "b")]]
    texts += [aw.b_holiday.name_kk, aw.b_holiday.name_ru, aw.b_year.name]  # school B's own calendar
    if label == "teacher":
        named += [a.student_b]
        homework.append(aw.homework[("a", "b")])
        classes.append(a.class_b.name)
    elif label in ("teacher2", "class_teacher"):
        named += [a.student, a.classmate, a.guardian.person, a.classmate_guardian.person]
        homework.append(aw.homework[("a", "a")])
        classes.append(a.class_a.name)
    elif label in ("student", "guardian"):
        named += [a.student_b, a.classmate, a.classmate_guardian.person]
        unnamed += staff_a
        homework.append(aw.homework[("a", "b")])
        classes.append(a.class_b.name)
    elif label in ("district_officer", "region_officer", "analyst", "sysadmin"):
        me = {"district_officer": w.district_officer, "region_officer": aw.region_officer}.get(label)
        me = me or {"analyst": w.analyst, "sysadmin": aw.sysadmin}[label]
        everyone = [p for p in whole if p.pk != me.person_id]
        named, unnamed = ([], everyone) if label == "sysadmin" else (everyone, [])  # the admin lists names
        homework = list(aw.homework.values())
        if label == "district_officer":
            texts += [b.organization.name_kk, b.organization.name_ru]
        elif label != "sysadmin":
            texts = []  # school B's calendar is in their area
    found: dict[str, str] = {}
    foreign_ids = {p.pk for p in named + unnamed}
    own_masks = {mask_iin(p.iin) for p in Person.objects.exclude(pk__in=foreign_ids)}
    for p in named + unnamed:
        who = f"{p.last_name} (person {p.pk})"
        if p in named:
            found[p.last_name] = f"last name of {who}"
            if mask_iin(p.iin) not in own_masks:
                found[mask_iin(p.iin)] = f"masked IIN of {who}"
        found[p.iin] = f"IIN of {who}"
        for email in emails.get(p.pk, []):
            found[email] = f"e-mail of {who}"
    for text in homework:
        found[text] = "homework of a class out of scope"
    for name in classes:
        found[name] = "name of a class out of scope"
    for text in texts:
        found[text] = "a record of another school"
    for text in messages_out_of_scope(aw, label):
        found[text] = "a letter or an announcement out of scope"
    return found


def messages_out_of_scope(aw, label: str) -> list[str]:
    """The letters and announcements of the access world that `label` must never be shown: a letter is
    its family's and its teacher's; an announcement its class's (or school's) and the administration's."""
    letters = {key: letter.text for key, letter in aw.letters.items()}
    announcements = {key: announcement.title for key, announcement in aw.announcements.items()}
    hidden = [letters[("b", family)] for family in ("student", "classmate")]
    hidden += [announcements[("b", to)] for to in ("a", "b", "school")]
    own_letters = {"teacher": ("student", "classmate"), "guardian": ("student",)}.get(label, ())
    hidden += [letters[("a", family)] for family in ("student", "classmate") if family not in own_letters]
    own_announcements = {
        "teacher": ("a", "school"),
        "teacher2": ("b", "school"),
        "class_teacher": ("b", "school"),
        "director": ("a", "b", "school"),
        "deputy": ("a", "b", "school"),
        "student": ("a", "school"),
        "guardian": ("a", "school"),
    }.get(label, ())
    hidden += [announcements[("a", to)] for to in ("a", "b", "school") if to not in own_announcements]
    return hidden


def text_of(response) -> str:
    raw = b"".join(response.streaming_content) if response.streaming else response.content
    text = raw.decode("utf-8", "replace")
    if "json" in response.get("Content-Type", ""):
        try:
            return json.dumps(json.loads(text), ensure_ascii=False)
        except ValueError:
            return text
    return html.unescape(text)


def leaks(actor: Actor, text: str) -> list[str]:
    """The markers found as whole words ("officer@…" is not in "region_officer@…")."""
    if actor.pattern is None:
        alternatives = "|".join(re.escape(m) for m in sorted(actor.markers, key=len, reverse=True))
        actor.pattern = re.compile(rf"(?<![\w@.+-])(?:{alternatives})(?![\w-])")
    return [f"{actor.markers[m]} ({m!r})" for m in sorted(set(actor.pattern.findall(text)))]


# ------------------------------------------------------------------ the database, before and after

SNAPSHOT_APPS = ("kernel", "registry", "curriculum", "governance", "journal")
# Columns a read legitimately touches: the last sign-in of an account and the last use of a token.
VOLATILE = {("registry_user", "last_login"), ("registry_apitoken", "last_used_at")}


def tables() -> list[tuple[str, str, str]]:
    """Per table of the apps whose records the access test guards: a SELECT of its rows, and one of
    their content (without the primary key and the timestamps, which differ between two equal writes)."""
    from django.db import models

    qn = connection.ops.quote_name
    found = []
    for label in SNAPSHOT_APPS:
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        for model in config.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed:
                continue
            columns = [f for f in meta.concrete_fields if (meta.db_table, f.column) not in VOLATILE]
            # Ids and clock stamps are new for every write, like timestamps: equal writes differ only there.
            content = [
                f
                for f in columns
                if not f.primary_key and not isinstance(f, models.DateTimeField) and f.name not in ("uid", "stamp")
            ]
            table, key = qn(meta.db_table), qn(meta.pk.column)
            every = ", ".join(qn(f.column) for f in columns)
            some = ", ".join(qn(f.column) for f in content) or "1"
            # Names of our own models' tables and columns, quoted: nothing from outside goes in.
            rows = f"SELECT {every} FROM {table} ORDER BY {key}"  # noqa: S608
            found.append((meta.db_table, rows, f"SELECT {some} FROM {table}"))  # noqa: S608
    assert found, "no table to watch"
    return found


def snapshot(watched) -> dict[str, tuple[int, int]]:
    """Per table: the number of rows and a hash of every row (the test world is small)."""
    state = {}
    with connection.cursor() as cursor:
        for table, rows, _content in watched:
            cursor.execute(rows)
            found = cursor.fetchall()
            state[table] = (len(found), hash(repr(found)))
    return state


def contents(watched) -> dict[str, list[str]]:
    """Per table: its rows without keys and timestamps, sorted; two equal writes leave equal contents."""
    state = {}
    with connection.cursor() as cursor:
        for table, _rows, content in watched:
            cursor.execute(content)
            state[table] = sorted(map(repr, cursor.fetchall()))
    return state


# ------------------------------------------------------------------ requests


@dataclass
class Call:
    method: str
    path: str
    route: Route
    query: dict = field(default_factory=dict)
    data: dict | None = None  # form fields, or the JSON body of an API call
    files: tuple = ()
    options: dict = field(default_factory=dict)  # the choices a form offered for each field
    what: str = ""  # which parameter carries what, for the failure message
    generic: bool = False  # the body is `well_formed_body`, not worth repeating in a failure message

    @property
    def url(self) -> str:
        return self.path + (f"?{urlencode(self.query)}" if self.query else "")

    def __str__(self) -> str:
        shown = {k: v for k, v in (self.data or {}).items() if k != "csrfmiddlewaretoken"}
        body = f" {json.dumps(shown, ensure_ascii=False)[:200]}" if shown and not self.generic else ""
        return f"{self.method.upper()} {self.url}{body}" + (f" [{self.what}]" if self.what else "")


def send(client: Client, token: str | None, call: Call):
    api = call.path.startswith("/api/")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if api and token else {}
    method = getattr(client, call.method)
    if api and call.method != "get":
        return method(call.url, data=json.dumps(call.data or {}), content_type="application/json", **headers)
    if call.method == "get":
        return client.get(call.path, call.query, **headers)
    if call.method == "post":
        data = dict(call.data or {})
        for name in call.files:
            data[name] = SimpleUploadedFile(f"{name}.csv", b"", "text/csv")
        return client.post(call.url, data, **headers)
    return method(
        call.url, data=urlencode(call.data or {}), content_type="application/x-www-form-urlencoded", **headers
    )


def is_refusal_page(text: str) -> bool:
    """A page or JSON that tells the person their request was refused."""
    return 'class="error"' in text or '"ok": false' in text or '"detail"' in text


# What a request must do, besides never answering 5xx, showing nothing foreign and changing nothing:
READ = "read"  # the actor's own page: nothing more
REFUSE = "refuse"  # a path names a record out of scope: 403 or 404
HARMLESS = "harmless"  # a query or body names one: anything but a change
INCAPABLE = "incapable"  # a write the actor's role does not give: a 4xx


class Checker:
    """Sends requests in groups, each group between two snapshots of the database.

    A group that changed something is rolled back and replayed a request at a time, from the same
    state, to name the request and the table. Every response is checked for 5xx and for foreign
    markers (redirects followed).
    """

    def __init__(self):
        self.watched = tables()
        self.state = snapshot(self.watched)
        self.failures: list[str] = []
        self.requests = 0
        self.groups = 0
        self.signed_out = False  # a request sent the client to sign in: sign in again before the next group
        self.ignored = 0  # variations that changed only what the actor's own request changes
        self.outcomes = {"403/404": 0, "other 4xx": 0}

    def sign_in(self, actor: Actor) -> tuple[Client, str]:
        """A client signed in as the actor, and an API token (issuing one is a change: the state moves on)."""
        client, token = sign_in(actor)
        self.state = snapshot(self.watched)
        return client, token

    def fail(self, actor: Actor, call: Call, problem: str) -> None:
        self.failures.append(f"{actor.label}: {call} -> {problem}")

    def send(self, actor, client, token, call):
        sid = transaction.savepoint()
        response = send(client, token, call)
        self.requests += 1
        if response.status_code >= 500:
            transaction.savepoint_rollback(sid)  # so the next request starts from a sound database
        else:
            transaction.savepoint_commit(sid)
        return response

    def judge(self, actor, client, token, call, expect: str, response) -> None:
        status = answered = response.status_code
        if status >= 500:
            self.fail(actor, call, f"{status} (a server error)")
            return
        if status == 405:
            return
        text = text_of(response)
        hops = 0
        while status in (301, 302, 303, 307) and hops < 3:
            location = urlsplit(response["Location"])
            if location.path.startswith(("/accounts/login/", "/admin/login/")):
                self.signed_out = True
            if location.netloc or location.path.startswith(("/accounts/login/", "/admin/login/")):
                break
            hops += 1
            follow = Call("get", location.path, call.route, dict(parse_qsl(location.query)))
            response = self.send(actor, client, token, follow)
            if response.status_code >= 500:
                self.fail(actor, call, f"redirected to {follow.url}, which answers {response.status_code}")
                return
            text += "\n" + text_of(response)
            status = response.status_code
        found = leaks(actor, text)
        if found:
            self.fail(
                actor,
                call,
                f"{answered} (then {status}) shows {'; '.join(found)}"
                if hops
                else f"{status} shows {'; '.join(found)}",
            )
        if expect == REFUSE and answered not in REFUSED:
            self.fail(actor, call, f"{answered}, not refused with 403 or 404")
        elif expect == INCAPABLE:
            if answered in REFUSED:
                self.outcomes["403/404"] += 1
            elif 400 <= answered < 500:
                self.outcomes["other 4xx"] += 1
            elif is_refusal_page(text):
                self.fail(actor, call, f"{answered} with an error message, not a 4xx refusal (nothing changed)")
            else:
                self.fail(actor, call, f"{answered} without a refusal: no 4xx and no error shown")

    def effect_of(self, actor: Actor, client: Client, token: str | None, call: Call) -> dict:
        """What the actor's own request (every parameter its own) leaves in the database, undone after."""
        sid = transaction.savepoint()
        client.force_login(actor.user)
        send(client, token, call)
        written = contents(self.watched)
        transaction.savepoint_rollback(sid)
        return written

    def run(self, actor: Actor, client: Client, token, checks: list[tuple[Call, str]], baseline=None) -> list:
        """Send the checks; `baseline` is the actor's own request they vary (a change it makes too is no leak)."""
        if not checks:
            return []
        self.groups += 1
        if self.signed_out:
            client.force_login(actor.user)
            self.signed_out = False
        sid = transaction.savepoint()
        responses = []
        for call, expect in checks:
            response = self.send(actor, client, token, call)
            responses.append(response)
            self.judge(actor, client, token, call, expect, response)
        after = snapshot(self.watched)
        if after == self.state:
            transaction.savepoint_commit(sid)
            return responses
        transaction.savepoint_rollback(sid)
        blamed = False
        for call, _expect in checks:
            sid = transaction.savepoint()
            client.force_login(actor.user)
            send(client, token, call)
            now = snapshot(self.watched)
            written = contents(self.watched) if baseline is not None else None
            transaction.savepoint_rollback(sid)
            changed = [t for t in now if now[t] != self.state[t]]
            if changed and written is not None and written == self.effect_of(actor, client, token, baseline):
                blamed = True  # the foreign value was ignored: the actor's own request does just this
                self.ignored += 1
                continue
            if changed:
                blamed = True
                counts = ", ".join(f"{t} ({self.state[t][0]} -> {now[t][0]} rows)" for t in changed)
                self.fail(actor, call, f"changed the database: {counts}")
        if not blamed:
            changed = [t for t in after if after[t] != self.state[t]]
            self.failures.append(f"{actor.label}: a group of {len(checks)} requests changed {changed}")
        return responses

    def report(self) -> str:
        return "\n".join(sorted(set(self.failures)))

    def summary(self, **extra) -> str:
        figures = {"requests": self.requests, "groups": self.groups, **extra}
        if any(self.outcomes.values()):
            figures["refusals"] = self.outcomes
        if self.ignored:
            figures["changes the actor's own request makes too"] = self.ignored
        return f"access test: {figures}"


def sign_in(actor: Actor) -> tuple[Client, str]:
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="kk")
    client.force_login(actor.user)
    return client, issue_api_token(actor.user)


@pytest.fixture(autouse=True)
def _quiet_refusals():
    """Thousands of 403 and 404 are expected here: log only errors (a 5xx fails the test anyway)."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture
def access(world):
    from birtutas.testing import build_access_world

    return build_access_world(world)


# ------------------------------------------------------------------ methods each route answers


def methods_of(client: Client, token: str, routes: list[Route], values: dict, openapi: dict) -> dict[Route, set]:
    """The methods each route answers, asked once (a 405 lists the allowed ones in its Allow header)."""
    found = {}
    api_methods = {}
    for path, operations in openapi["paths"].items():
        api_methods.setdefault(api_pattern(path), set()).update(operations)
    for route in routes:
        if route.api:
            pattern = route.pattern
            found[route] = api_methods.get(pattern, {"get"}) & {"get", "post", "put", "delete"}
            continue
        if route.pattern.startswith("admin/"):
            found[route] = {"get", "post"}
            continue
        url = fill_kinds(route, values)
        if url is None:
            continue
        response = client.put(url)
        if response.status_code == 405:
            allowed = {m.strip().lower() for m in response.get("Allow", "").split(",") if m.strip()}
            found[route] = allowed & {"get", "post", "put", "delete"}
        else:
            found[route] = {"get", "post"}  # no method restriction: a POST is what would write
    return found


def api_pattern(openapi_path: str) -> str:
    """/api/v1/diary/{student_id} -> api/v1/diary/<student_id>, as the resolver spells it."""
    return re.sub(r"\{(\w+)\}", r"<\1>", openapi_path.lstrip("/"))


# ------------------------------------------------------------------ test 1: object URLs out of scope


def test_every_role_has_an_actor(access):
    actors = scopes(access)
    assert {x.role for x in actors} == set(Role)


def test_every_object_url_refuses_every_role_outside_its_scope(access):
    routes = [r for r in all_routes() if r.params]
    assert len({r.pattern for r in routes}) >= 15, routes  # the test must be walking the real URL configuration
    checker = Checker()
    actors = scopes(access)
    director = next(x for x in actors if x.label == "director")
    probe, probe_token = sign_in(director)
    openapi = probe.get("/api/v1/openapi.json").json()
    methods = methods_of(probe, probe_token, routes, director.own, openapi)
    tried = 0
    for actor in actors:
        client, token = checker.sign_in(actor)
        for what, foreign in actor.foreign:
            values = {**actor.own, **{k: v for k, v in foreign.items() if v is not None}}
            checks = []
            for route in routes:
                kinds = [path_kind(route.pattern, p) for p in route.params]
                if not any(k in foreign and foreign[k] is not None and foreign[k] != actor.own.get(k) for k in kinds):
                    continue  # nothing of this set in the path
                url = fill_kinds(route, values)
                if url is None:
                    continue
                for method in sorted(methods.get(route, {"get", "post"})):
                    body = well_formed_body(route, values) if method != "get" else None
                    call = Call(method, url, route, data=body, what=what, generic=True)
                    checks.append((call, REFUSE))
            tried += len(checks)
            checker.run(actor, client, token, checks)
    print(checker.summary(actors=len(actors), patterns=len({r.pattern for r in routes})))
    assert not checker.failures, checker.report()
    assert tried > len(routes) * 10


# ------------------------------------------------------------------ test 2: positive control

# Routes that answer "not found" or "forbidden" to everyone by design, and why (regex on the route's name).
NO_POSITIVE_CONTROL = {
    r"admin:view_on_site": "no model of the registry has a page of its own outside the administration",
    r"admin/\(\?P<url>": "the administration's catch-all answers 404 to an address it does not have",
    r"admin:registry_\w+_delete": "the registry's administration is read-only: nothing is deleted through it",
    r"sync_(push|pull)": "school servers sign what they send; a transfer session is never a person's "
    "(sync/tests/test_link.py tries these with the wrong server, a revoked one and a forged frame)",
}
# Routes where only reading must work for the entitled: the administration's change views show a
# record and refuse every change (writes go through its own forms and the account services).
READ_ONLY = (r"admin:registry_\w+_change", r"admin:registry_\w+_history")


def entitled(access, actors: dict[str, Actor], route: Route) -> tuple[Actor, dict]:
    """Who may use each pattern, with which records, to prove every pattern works for someone."""
    w = access.world
    if route.name == "school:reopen_term":
        return actors["district_officer"], {**actors["district_officer"].own, "term": w.terms[0].pk}
    if route.pattern.startswith("admin/"):
        return actors["sysadmin"], actors["sysadmin"].own
    if route.pattern.startswith("sync/"):
        return actors["director"], actors["director"].own
    if route.pattern.startswith(("school/", "api/v1/school")) or "history" in route.pattern:
        if route.pattern.startswith("diary/"):
            return actors["guardian"], actors["guardian"].own
        return actors["director"], actors["director"].own
    if route.pattern.startswith(("diary/", "api/v1/diary")):
        return actors["guardian"], actors["guardian"].own
    return actors["teacher"], actors["teacher"].own


def test_every_object_url_works_for_someone_entitled(access):
    actors = {x.label: x for x in scopes(access)}
    failures = []
    for route in [r for r in all_routes() if r.params]:
        if any(re.match(rule, route.name) for rule in NO_POSITIVE_CONTROL):
            continue
        actor, values = entitled(access, actors, route)
        client, token = sign_in(actor)
        url = fill_kinds(route, values)
        assert url is not None, f"{actor.label} has no records to fill {route.pattern}"
        statuses = {}
        for method in ("get", *WRITE_METHODS):
            with transaction.atomic():
                response = send(client, token, Call(method, url, route, data=well_formed_body(route, values)))
                transaction.set_rollback(True)
            statuses[method] = response.status_code
        answered = {m: s for m, s in statuses.items() if s != 405}
        if any(re.match(rule, route.name) for rule in READ_ONLY):
            answered = {"get": statuses["get"]}
        if not answered or any(s in REFUSED or s >= 500 for s in answered.values()):
            failures.append(f"{actor.label} {url} -> {statuses}")
    assert not failures, "\n".join(failures)


def test_signed_out_visitors_are_sent_to_sign_in_or_refused(access):
    client = Client()
    director = next(x for x in scopes(access) if x.label == "director")
    for route in [r for r in all_routes() if r.params]:
        url = fill_kinds(route, director.own)
        if url is None:  # a sync transfer session: no person holds one
            continue
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code in (401, 405), url
            continue
        hops = 0
        while response.status_code == 302 and response["Location"].startswith("/admin/login/") and hops < 2:
            response, hops = client.get(response["Location"]), hops + 1
        nobody = any(re.match(rule, route.name) for rule in NO_POSITIVE_CONTROL)
        assert response.status_code in ((302, 404, 405) if nobody else (302, 405)), url
        if response.status_code == 302:
            assert response["Location"].startswith("/accounts/login/"), url


# ------------------------------------------------------------------ bodies that a writer would send


def well_formed_body(route: Route, values: dict) -> dict:
    """A well-formed body for any endpoint, so a refusal is about the records, never about the input."""
    lesson, student, work = values.get("lesson"), values.get("student"), values.get("work")
    body = {
        "value": 7,
        "status": "late",
        "points": 5,
        "reason": "test",
        "cell": f"c-{lesson}",
        "student": student,
        "decision": "approve",
        "confirm": "yes",
        "kind": "unit",
        "title": "БЖБ 2",
        "max_points": 10,
        "date": "2026-11-19",
        "topic": "Жаңа тақырып",
        "homework": "№5",
        "weekday": 3,
        "period": 5,
        "assignment": values.get("assignment"),
        "subject": values.get("subject"),
        "teacher": values.get("teacher"),
        "hours": 4,
        "include_active": "1",
        "action": "adopt",
        "year": values.get("year"),
        "request": values.get("link"),
        f"c-{lesson}-{student}": "7",
        f"w-{work}-{student}": "12",
    }
    if route.name == "school:links":
        body["decision"] = "accept"
    if route.name == "school:import":
        body["job"] = values.get("job")
    return {k: v for k, v in body.items() if v is not None}


# ------------------------------------------------------------------ what each actor is shown, and every parameter


def api_query(openapi: dict, route: Route, values: dict) -> dict:
    """The query parameters of an API operation, with the actor's own values where it has them."""
    query = {}
    for path, operations in openapi["paths"].items():
        if api_pattern(path) != route.pattern:
            continue
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                if parameter["in"] != "query":
                    continue
                kind = field_kind(route, parameter["name"], "")
                if kind and values.get(kind) is not None:
                    query[parameter["name"]] = values[kind]
    return query


# ------------------------------------------------------------------ parameters of forms, links and bodies

# Query and form fields that name a record, by field name: the kind of record.
FIELD_KINDS = {
    "student": "student",
    "student_id": "student",
    "lesson": "lesson",
    "lesson_id": "lesson",
    "work": "work",
    "work_id": "work",
    "assignment": "assignment",
    "assignment_id": "assignment",
    "term": "term",
    "term_id": "term",
    "teacher": "teacher",
    "subject": "subject",
    "week": "week",
    "request": "request",
    "job": "job",
    "year": "year",
    "holiday": "holiday",
    "class": "class",
    "class_id": "class",
    "school_class": "class",
    "organization": "organization",
    "person": "person",
    "person_id": "person",
    "objectives": "objective",
    "district": "district",
}
# The same name meaning another kind of record on one route.
FIELD_KINDS_OF_ROUTE = {("school:links", "request"): "link"}
# The area overview's filters (page and files): a district or region of the area; a year's name, a term's number.
FIELD_KINDS_OF_ROUTE |= {
    (route, name): kind
    for route in ("analytics:area", "analytics:csv", "analytics:xlsx")
    for name, kind in (("district", "area_district"), ("region", "area_region"), ("year", None), ("term", None))
}
# The admin's changelist checkboxes name the rows of its model.
ADMIN_SELECTION = re.compile(r"admin:registry_(\w+)_changelist")
# Fields holding a value, not a reference to a record (a numeric one is otherwise taken for an id).
# fmt: off
VALUE_FIELDS = {
    "csrfmiddlewaretoken", "next", "value", "status", "points", "reason", "cell", "decision", "confirm", "digest",
    "kind", "title", "max_points", "date", "topic", "homework", "homework_due", "weekday", "period", "room", "hours",
    "include_active", "print", "action", "starts_on", "ends_on", "name_kk", "name_ru", "name_en", "username",
    "format", "from", "to",
    "password", "password_again", "current", "code", "identifier", "language", "email", "phone", "role", "label",
    "index", "select_across", "connection_mbps", "student_computers", "bin", "iin", "last_name", "first_name",
    "patronymic", "replace", "new_code", "small_ungraded", "locality", "connection", "q", "o", "p",
    "shift",
    "_changelist_filters", "former", "back", "seen", "text", "day", "days",
}
# fmt: on
# Reference data of the whole country, the same for every school: never out of anyone's scope.
SHARED_KINDS = {"subject", "objective", "district", "content_type"}
# Field names that carry two references: the journal grid's cells, c-<lesson>-<student> and w-<work>-<student>.
CELL_NAMES = (
    (re.compile(r"^c-(\d+)-(\d+)$"), "c", ("lesson", "student"), "7"),
    (re.compile(r"^w-(\d+)-(\d+)$"), "w", ("work", "student"), "12"),
)
CELL_VALUE = re.compile(r"^([cw])-(\d+)$")  # the change-request form's "cell": c-<lesson> or w-<work>
# Query parameters a page reads that no page links to (the import's job comes from a redirect): name -> kind.
QUERY_SEEDS = {"school:import": {"job": "job"}}
# Endpoints the journal's script posts to; no form names them.
SCRIPT_POSTS = {"journal:cell": {"value": "7"}, "journal:points": {"value": "12"}}


def field_kind(route: Route, name: str, value, options=()) -> str | None:
    """The kind of record a field names, None for a value; AssertionError for an id nobody mapped."""
    if (route.name, name) in FIELD_KINDS_OF_ROUTE:
        return FIELD_KINDS_OF_ROUTE[(route.name, name)]
    selection = ADMIN_SELECTION.match(route.name)
    if selection and name == "_selected_action":
        return f"admin_{selection.group(1)}"
    if name in FIELD_KINDS:
        return FIELD_KINDS[name]
    if route.pattern.startswith("admin/") and "__" in name:
        return None  # the administration's list filters, over the registry its administrators see whole
    if name in VALUE_FIELDS or any(rule.match(name) for rule, *_rest in CELL_NAMES):
        return None
    numeric = [v for v in (value, *options) if v]
    if name.endswith("_id") or (numeric and all(str(v).isdigit() for v in numeric)):
        raise AssertionError(
            f"field {name!r} of {route.name} ({route.pattern}) looks like a reference to a record: add it to "
            f"FIELD_KINDS (or FIELD_KINDS_OF_ROUTE) with its kind, or to VALUE_FIELDS if it holds a value"
        )
    return None


class Page(HTMLParser):
    """The forms of a page (each kept apart: one page may post several forms to one address) and its links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "fields": {},
                "options": {},
                "files": [],
            }
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        if tag == "option" and self._select is not None:
            value = attrs.get("value", "")
            self._form["options"].setdefault(self._select, []).append(value)
            if value and (self._form["fields"].get(self._select) in (None, "") or "selected" in attrs):
                self._form["fields"][self._select] = value
            return
        name = attrs.get("name")
        if not name or name in self._form["fields"]:
            return
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self._form["files"].append(name)
            elif kind in ("checkbox", "radio"):
                # Ticked: a person set on getting through ticks every box ("I confirm", "include all").
                value = attrs.get("value", "on")
                self._form["options"].setdefault(name, []).append(value)
                self._form["fields"][name] = value
            elif kind not in ("submit", "image", "reset"):
                self._form["fields"][name] = attrs.get("value", "")
            elif attrs.get("value") is not None:
                self._form["fields"][name] = attrs["value"]
        elif tag == "button":
            self._form["fields"][name] = attrs.get("value", "")
        elif tag == "select":
            self._select = name
            self._form["fields"][name] = None
        elif tag == "textarea":
            self._textarea = name
            self._form["fields"][name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea is not None:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


@dataclass
class Slot:
    """One parameter of a call that names a record: where it is and which kind of record."""

    where: str  # "path", "query", "body", "name" (a grid cell's name), "cell" (a change request's cell)
    key: str  # the parameter, field or property name
    kind: str
    index: int = 0  # which reference of a cell's name


def slots_of(call: Call, problems: list[str]) -> list[Slot]:
    found = []
    _route, kwargs = route_of(call.path) or (call.route, {})
    for param in kwargs:
        kind = path_kind(call.route.pattern, param)
        if kind is not None:
            found.append(Slot("path", param, kind))
    for where, fields in (("query", call.query), ("body", call.data or {})):
        cells = set()
        for name, value in fields.items():
            cell = next(((rule, prefix, kinds) for rule, prefix, kinds, _v in CELL_NAMES if rule.match(name)), None)
            if cell is not None:
                if cell[1] not in cells:  # every cell of the grid is read the same way: one of each is enough
                    cells.add(cell[1])
                    found += [Slot("name", name, kind, i) for i, kind in enumerate(cell[2])]
                continue
            if name == "cell" and isinstance(value, str) and CELL_VALUE.match(value):
                found.append(Slot("cell", name, "lesson" if value.startswith("c") else "work"))
                continue
            try:
                kind = field_kind(call.route, name, value, call.options.get(name, ()) if call.options else ())
            except AssertionError as error:
                problems.append(str(error))
                continue
            if kind is not None:
                found.append(Slot(where, name, kind))
    return found


def vary(call: Call, slot: Slot, value) -> Call:
    """The call with one reference replaced by `value`, everything else as it was."""
    if slot.where == "path":
        _route, kwargs = route_of(call.path)
        return replace(call, path=fill(call.route.pattern, {**kwargs, slot.key: value}))
    if slot.where == "query":
        return replace(call, query={**call.query, slot.key: value})
    data = dict(call.data or {})
    if slot.where == "body":
        data[slot.key] = value
    elif slot.where == "cell":
        data[slot.key] = f"{data[slot.key][0]}-{value}"
    else:
        prefix, *ids = slot.key.split("-")
        ids[slot.index] = str(value)
        del data[slot.key]
        writing = next(v for rule, *_rest, v in CELL_NAMES if rule.match(slot.key))
        data["-".join([prefix, *ids])] = writing  # a value that would be written, were the cell accepted
    return replace(call, data=data)


# ------------------------------------------------------------------ test 4: one parameter at a time


def discover(checker: Checker, actor: Actor, client: Client, token: str, routes, openapi, problems) -> list[Call]:
    """Read every page and endpoint as the actor, with its own records (nothing foreign may show), and
    return every call it is offered there: the pages it can open, the forms and links on them, the
    API operations of the OpenAPI description, and the endpoints the journal's script posts to."""
    calls: dict[tuple, Call] = {}

    def keep(call: Call) -> None:
        fields = tuple(sorted(re.sub(r"\d+", "#", k) for k in (call.data or {})))
        # One of each: the rows of a list post the same forms, each with its own record in the path.
        shape = (call.method, call.route.name, tuple(sorted(call.query)), fields, (call.data or {}).get("action"))
        calls.setdefault(shape, call)

    def harvest(call: Call, response, links: bool) -> None:
        if "html" not in response.get("Content-Type", ""):
            return
        page = Page()
        page.feed(response.content.decode())
        for href in page.links if links else ():
            link = urlsplit(urljoin(call.path, href))
            found = route_of(link.path) if link.query and not link.netloc else None
            if found:
                keep(Call("get", link.path, found[0], dict(parse_qsl(link.query, keep_blank_values=True))))
        for form in page.forms:
            action = urlsplit(urljoin(call.path, form["action"]))
            found = route_of(action.path)
            if found is None or action.netloc:
                continue
            fields = {k: v for k, v in form["fields"].items() if v is not None}
            query = dict(parse_qsl(action.query, keep_blank_values=True))
            if form["method"] == "get":
                keep(Call("get", action.path, found[0], {**query, **fields}, options=form["options"]))
            else:
                keep(Call("post", action.path, found[0], query, fields, tuple(form["files"]), form["options"]))

    def read(reads: list[Call], links: bool) -> None:
        for chunk in range(0, len(reads), 40):
            group = reads[chunk : chunk + 40]
            responses = checker.run(actor, client, token, [(call, READ) for call in group])
            for call, response in zip(group, responses, strict=True):
                if response.status_code == 200:
                    keep(call)
                    harvest(call, response, links)

    reads = []
    for route in routes:
        url = fill_kinds(route, actor.own)
        if url is None:
            continue
        reads.append(Call("get", url, route, api_query(openapi, route, actor.own) if route.api else {}))
        kinds = {path_kind(route.pattern, p) for p in route.params}
        for kind, values in actor.also.items():
            for value in values if kind in kinds else ():
                reads.append(Call("get", fill_kinds(route, {**actor.own, kind: value}), route))
        seeds = {name: actor.own.get(kind) for name, kind in QUERY_SEEDS.get(route.name, {}).items()}
        if seeds and None not in seeds.values():
            reads.append(Call("get", url, route, seeds))
    read(reads, links=True)
    # The pages the first ones link to with a query (another week, term, year, import job): their forms too.
    read([c for c in list(calls.values()) if c.method == "get" and c.query and not c.route.api], links=False)
    for route in routes:
        writers = WRITERS.get(route.name)
        if route.name in SCRIPT_POSTS and writers and actor.label in writers:
            url = fill_kinds(route, actor.own)
            if url is not None:
                keep(Call("post", url, route, data=dict(SCRIPT_POSTS[route.name])))
    all_api = [r for r in all_routes() if r.api]
    for path, operations in openapi["paths"].items():
        route = next((r for r in routes if r.pattern == api_pattern(path)), None)
        if route is None:
            continue
        for method, operation in operations.items():
            names = [r.name for r in all_api if r.pattern == route.pattern]
            name = next((n for n in names if operation.get("operationId", "").endswith(n.split(":")[-1])), "")
            writers = WRITERS.get(name)
            if method == "get" or not writers or actor.label not in writers:
                continue
            url = fill_kinds(route, actor.own)
            if url is not None:
                keep(Call(method, url, route, data=api_body(openapi, operation, actor.own)))
    return list(calls.values())


def as_rendered(client: Client, token: str, call: Call) -> Call:
    """The call with the fields of the form that its own address renders, if it renders one.

    A form that carries what its page showed (the digest of a closing preview) is sent as the page
    at the varied address would have it, so a refusal is never just a stale digest.
    """
    if call.route.api:
        return call
    response = send(client, token, Call("get", call.path, call.route))
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return call
    page = Page()
    page.feed(response.content.decode())
    for form in page.forms:
        action = urlsplit(urljoin(call.path, form["action"])).path
        if action == call.path and form["method"] == "post" and set(form["fields"]) >= set(call.data or {}):
            fields = {k: v for k, v in form["fields"].items() if v is not None and k in (call.data or {})}
            return replace(call, data={**(call.data or {}), **fields})
    return call


def api_body(openapi: dict, operation: dict, values: dict) -> dict:
    """A body for an API operation from its schema: own records for references, plausible values else."""
    content = (operation.get("requestBody") or {}).get("content", {}).get("application/json")
    if not content:
        return {}
    schema = content["schema"]
    if "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    samples = {"value": 7, "status": "late", "points": 12}
    body = {}
    for name in schema.get("properties", {}):
        kind = FIELD_KINDS.get(name)
        body[name] = values.get(kind) if kind else samples.get(name, "x")
    return body


def test_no_page_shows_and_no_parameter_reaches_a_record_outside_the_actors_scope(access):
    """Every page and endpoint (without parameters, and with the actor's own records) read by every
    actor shows nothing foreign. Then own records everywhere but one parameter, which names a record
    of another school, class or family: refused when it is in the path; in every case nothing
    changes and nothing foreign shows."""
    checker = Checker()
    actors = scopes(access)
    routes = list({r.pattern: r for r in all_routes()}.values())
    openapi = Client().get("/api/v1/openapi.json").json()
    problems: list[str] = []
    counts = {"baselines": 0, "variations": 0, "path": 0}
    kinds_varied = set()
    opened = {}
    for actor in actors:
        client, token = checker.sign_in(actor)
        offered = discover(checker, actor, client, token, routes, openapi, problems)
        opened[actor.label] = sum(call.method == "get" for call in offered)
        for call in offered:
            counts["baselines"] += 1
            checks = []
            for slot in slots_of(call, problems):
                if slot.kind in SHARED_KINDS:
                    continue
                for what, value, strict in actor.foreign_values(slot.kind):
                    if not strict and call.method != "get":
                        continue  # out of scope but reachable (a past year's term): only read, never written
                    variant = replace(vary(call, slot, value), what=f"{slot.key} = {what}")
                    if slot.where == "path" and call.method == "post":
                        variant = as_rendered(client, token, variant)
                    refuse = strict and slot.where == "path"
                    checks.append((variant, REFUSE if refuse else HARMLESS))
                    kinds_varied.add(slot.kind)
                    counts["path"] += refuse
            counts["variations"] += len(checks)
            checker.run(actor, client, token, checks, baseline=call)
    plain = len([r for r in routes if not r.params])
    print(checker.summary(actors=len(actors), patterns=len(routes), without_parameters=plain, **counts))
    assert not problems, "\n".join(sorted(set(problems)))
    assert plain >= 10, routes  # the real URL configuration
    assert all(opened.values()), opened  # every actor opened pages: the markers were looked for
    assert counts["variations"] > 200, counts
    assert {"student", "lesson", "work", "assignment", "term", "teacher", "class", "person"} <= kinds_varied, (
        kinds_varied
    )
    assert not checker.failures, checker.report()


# ------------------------------------------------------------------ test 5: own scope, wrong capability

UNMAPPED = "unmapped"
NOTHING_WRITTEN = "nothing written"  # a page that answers every method alike: a POST must change nothing

# Who may write through each route, in their own scope. A route that accepts a write and is missing
# here fails the test until someone says who may use it.
WRITERS = {
    "journal:grid": SUBJECT_TEACHERS,
    "journal:summative": SUBJECT_TEACHERS,
    "journal:change_request": SUBJECT_TEACHERS,
    "journal:lesson": SUBJECT_TEACHERS,
    "journal:cell": SUBJECT_TEACHERS,
    "journal:points": SUBJECT_TEACHERS,
    "api:put_mark": SUBJECT_TEACHERS,
    "api:put_attendance": SUBJECT_TEACHERS,
    "api:put_points": SUBJECT_TEACHERS,
    "school:import": SCHOOL_ADMINS,
    "school:close_term": SCHOOL_ADMINS,
    "school:timetable": SCHOOL_ADMINS,
    "school:schedule": SCHOOL_ADMINS,
    "school:class_shift": SCHOOL_ADMINS,
    "school:load": SCHOOL_ADMINS,
    "school:decide": SCHOOL_ADMINS,
    "school:people_code": SCHOOL_ADMINS,
    "school:people_leave": SCHOOL_ADMINS,
    "school:people_return": SCHOOL_ADMINS,
    "school:people_transfer": SCHOOL_ADMINS,
    "school:class_letters": SCHOOL_ADMINS,
    "school_calendar": SCHOOL_ADMINS,
    "school:bells": SCHOOL_ADMINS,
    "school:reopen_term": OFFICERS,
    # Marking a sync conflict as reviewed: the school's administration (officers read the page only).
    "sync:school": SCHOOL_ADMINS,
    # The pending request about A's teacher: the teacher, or the administration of the teacher's school.
    "school:links": frozenset({"teacher"}) | SCHOOL_ADMINS,
    # Pages that answer a POST as they answer a GET.
    "home": NOTHING_WRITTEN,
    "analytics:area": NOTHING_WRITTEN,
    "diary:index": NOTHING_WRITTEN,
    "diary:week": NOTHING_WRITTEN,
    "diary:history": NOTHING_WRITTEN,
    "diary:summary": NOTHING_WRITTEN,
    "journal:index": NOTHING_WRITTEN,
    "school:index": NOTHING_WRITTEN,
    "school:dashboard": NOTHING_WRITTEN,
    "school:person_history": NOTHING_WRITTEN,
    "school:report": NOTHING_WRITTEN,
    "school:area_closures": NOTHING_WRITTEN,
    "school:history": NOTHING_WRITTEN,
    # One's own inbox, account, session and tokens.
    "inbox": EVERYONE,
    # Letters: a family to their child's teachers, a teacher to the families of the pupils they teach, and
    # the two sides of a conversation; announcements: a class's class teacher, the school's administration.
    "messages:write": frozenset({"guardian"}),
    "messages:family": SUBJECT_TEACHERS | {"class_teacher"},
    "messages:conversation": frozenset({"guardian", "teacher"}),
    "messages:announce": SCHOOL_ADMINS | {"teacher", "class_teacher"},
    "web_manifest": NOTHING_WRITTEN,
    "service_worker": NOTHING_WRITTEN,
    "offline": NOTHING_WRITTEN,
    "login": EVERYONE,
    "logout": EVERYONE,
    "unlock": EVERYONE,
    "activate": EVERYONE,
    "password_reset": EVERYONE,
    "password_reset_code": EVERYONE,
    "profile": EVERYONE,
    "profile_password": EVERYONE,
    "sign_out_everywhere": EVERYONE,
    "switch_role": EVERYONE,
    "set_language": EVERYONE,
    "api:create_token": EVERYONE,
    "api:delete_token": EVERYONE,
}


def writers_of(route: Route):
    if route.pattern.startswith("admin/"):
        return frozenset({"sysadmin"})  # the registry's administration
    return WRITERS.get(route.name, UNMAPPED)


def write_methods(route: Route, methods: dict, openapi: dict) -> list[str]:
    if route.api:
        found = set()
        for path, operations in openapi["paths"].items():
            if api_pattern(path) != route.pattern:
                continue
            for method, operation in operations.items():
                if operation.get("operationId", "").endswith(route.name.split(":")[-1]):
                    found.add(method)
        return sorted(found & set(WRITE_METHODS))
    return sorted(methods.get(route, set()) & set(WRITE_METHODS))


def test_own_scope_without_the_capability_is_refused_and_changes_nothing(access):
    """A director writing a mark, a class teacher another teacher's subject, a family or an officer
    anything of a school, a teacher closing a term or setting the timetable: refused, nothing changed."""
    from birtutas.journal import queries, services
    from birtutas.testing import on_day

    w = access.world
    checker = Checker()
    actors = scopes(access)
    by_label = {x.label: x for x in actors}
    routes = all_routes()
    probe, probe_token = sign_in(by_label["director"])
    openapi = probe.get("/api/v1/openapi.json").json()
    methods = methods_of(probe, probe_token, routes, by_label["director"].own, openapi)
    plan, unmapped, quiet = [], [], []
    for route in routes:
        verbs = write_methods(route, methods, openapi)
        if not verbs:
            continue
        writers = writers_of(route)
        if writers is UNMAPPED:
            unmapped.append(f"{route.name} ({route.pattern}): {', '.join(verbs)}")
        elif writers == NOTHING_WRITTEN:
            quiet.append((route, verbs))
        elif writers is not EVERYONE:
            plan.append((route, verbs, writers))
    assert not unmapped, (
        "these routes accept a write and nobody said who may make it: add each to WRITERS in the access test\n"
        + "\n".join(unmapped)
    )
    # Closing: school A's own term of the previous year, ended and open; reopening: term 1, closed.
    term_of = {"school:close_term": access.a_term.pk, "school:reopen_term": w.terms[0].pk}
    with on_day(access.a_term.ends_on + dt.timedelta(days=1)):
        digest = services.preview_digest(queries.close_preview(w.a.organization, access.a_term))
    counts = {"attempts": 0, "positive": 0}
    school = by_label["director"].own  # school A's records

    def attempt(routes_now):
        for actor in actors:
            client, token = checker.sign_in(actor)
            checks = []
            for route, verbs, writers in routes_now:
                # The actor's own records, and its school's where it has none of a kind (a change request).
                mine = {k: v for k, v in actor.own.items() if v is not None}
                values = {**school, **mine, "term": term_of.get(route.name, actor.own["term"])}
                url = fill_kinds(route, values)
                if url is None:
                    continue
                body = {**well_formed_body(route, values), "digest": digest}
                entitled = writers == NOTHING_WRITTEN or actor.label in writers
                if entitled and writers != NOTHING_WRITTEN:
                    continue
                expect = HARMLESS if writers == NOTHING_WRITTEN else INCAPABLE
                what = f"Role.{actor.role.name} has no right to this"
                checks += [(Call(verb, url, route, data=body, what=what, generic=True), expect) for verb in verbs]
            counts["attempts"] += len(checks)
            checker.run(actor, client, token, checks)

    attempt(plan + [(r, v, NOTHING_WRITTEN) for r, v in quiet])
    # The same requests from someone entitled are not refused: the refusals above are about the capability.
    refused = []
    for route, verbs, writers in plan:
        if route.pattern.startswith("admin/"):
            continue  # the administration's own forms are checked by its tests; here it is only refused
        actor = by_label[sorted(writers)[0]]
        values = {**actor.own, "term": term_of.get(route.name, actor.own["term"])}
        url = fill_kinds(route, values)
        client, token = sign_in(actor)
        for verb in verbs:
            with transaction.atomic():
                response = send(client, token, Call(verb, url, route, data=well_formed_body(route, values)))
                transaction.set_rollback(True)
            counts["positive"] += 1
            if response.status_code in REFUSED or response.status_code >= 500:
                refused.append(f"{actor.label} {verb.upper()} {url} -> {response.status_code}")
    print(checker.summary(write_routes=len(plan), pages_posted_to=len(quiet), **counts))
    assert counts["attempts"] > 100, counts
    assert not checker.failures, checker.report()
    assert not refused, "entitled writers refused:\n" + "\n".join(refused)
