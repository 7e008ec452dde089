"""Access control, tried on every URL the project has, generated from the URL configuration.

Every pattern with object parameters is requested by every role with objects of another school,
another class and another family, with every method the endpoint answers; each must be refused
with 403 or 404. A positive control proves each pattern does work for someone entitled, so a
refusal is never just a broken URL. A new endpoint is covered without anyone remembering; a new
kind of path parameter fails the test until it is added to the maps below.
"""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from birtutas.registry.services import issue_api_token

METHODS = ("get", "post", "put", "delete")
REFUSED = {403, 404}


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def object_patterns():
    found = []
    for route, pattern in walk(get_resolver().url_patterns):
        if pattern.pattern.converters or "<" in route:
            found.append(route)
    return sorted(set(found))


def fill(route: str, values: dict) -> str:
    import re

    def repl(match):
        name = match.group(2)
        if name not in values:
            raise AssertionError(f"path parameter <{name}> in {route} has no entry in the access test's maps")
        return str(values[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", repl, route)


def objects_of(world, school, *, klass: str) -> dict:
    """Path parameter values pointing at one class ('a' or 'b') of one school."""
    lessons = school.lessons_a if klass == "a" else school.lessons_b
    return {
        "assignment_id": (school.assignment_a if klass == "a" else school.assignment_b).pk,
        "term_id": world.term.pk,
        "lesson_id": lessons[0].pk,
        "student_id": (school.student if klass == "a" else school.student_b).pk,
        "work_id": (school.work_a if klass == "a" else school.work_b).pk,
        "class_id": (school.class_a if klass == "a" else school.class_b).pk,
        "organization_id": school.organization.pk,
        "request_id": school.change_request.pk,
    }


def foreign_sets(world, role: str) -> list[tuple[str, dict]]:
    """For a role of school A: the objects it must not reach."""
    other_school = objects_of(world, world.b, klass="a")
    other_class = {
        **objects_of(world, world.a, klass="b"),
        "organization_id": world.b.organization.pk,
        "request_id": world.b.change_request.pk,
    }
    other_family = {**other_class, "student_id": world.a.classmate.pk}
    sets = [("another school", other_school)]
    if role in ("teacher", "student", "guardian"):
        sets.append(("another class", other_class))
    if role in ("student", "guardian"):
        sets.append(("another family", other_family))
    if role in ("analyst", "district_officer"):
        # Area roles see aggregates only: every personal object is out of reach, even in their own area.
        sets += [("own area", objects_of(world, world.a, klass="a")), ("another class", other_class)]
    return sets


def users(world) -> dict:
    a = world.a
    return {
        "teacher": a.teacher,
        "student": a.student_user,
        "guardian": a.guardian,
        "director": a.director,
        "analyst": world.analyst,
        "district_officer": world.district_officer,
    }


def body(values: dict) -> dict:
    """A well-formed body for any endpoint, so a refusal is about the objects, never about the input."""
    return {
        "value": 7,
        "status": "late",
        "points": 5,
        "reason": "test",
        "cell": f"c-{values['lesson_id']}",
        "student": values["student_id"],
    }


def request(client: Client, method: str, url: str, token: str | None, values: dict):
    BODY = body(values)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token and url.startswith("/api/") else {}
    if url.startswith("/api/") and method != "get":
        return getattr(client, method)(url, data=json.dumps(BODY), content_type="application/json", **headers)
    if method == "post":
        return client.post(url, BODY, **headers)
    if method in ("put", "delete"):
        return getattr(client, method)(url, **headers)
    return client.get(url, **headers)


@pytest.mark.django_db
def test_every_object_url_refuses_every_role_outside_its_scope(world):
    routes = object_patterns()
    assert len(routes) >= 15, routes  # the test must be walking the real URL configuration
    tokens = {role: issue_api_token(user) for role, user in users(world).items()}
    failures, tried = [], 0
    for role, user in users(world).items():
        client = Client()
        client.force_login(user)
        for label, values in foreign_sets(world, role):
            for route in routes:
                url = fill(route, values)
                for method in METHODS:
                    response = request(client, method, url, tokens[role], values)
                    if response.status_code == 405:
                        continue
                    tried += 1
                    if response.status_code not in REFUSED:
                        failures.append(f"{role} {method.upper()} {url} ({label}) -> {response.status_code}")
    assert not failures, "\n".join(failures)
    assert tried > len(routes) * 10


# Which role is entitled to each kind of object, to prove every pattern works for someone.
def entitled(world, route: str):
    a = world.a
    own = objects_of(world, a, klass="a")
    if route.startswith(("school/", "api/v1/school")) or "history" in route:
        return a.director, own
    if route.startswith(("diary/", "api/v1/diary")):
        return a.guardian, own
    return a.teacher, own


@pytest.mark.django_db
def test_every_object_url_works_for_someone_entitled(world):
    failures = []
    for route in object_patterns():
        user, values = entitled(world, route)
        client = Client()
        client.force_login(user)
        token = issue_api_token(user)
        url = fill(route, values)
        statuses = {m: request(client, m, url, token, values).status_code for m in METHODS}
        answered = {m: s for m, s in statuses.items() if s != 405}
        if not answered or any(s in REFUSED or s >= 500 for s in answered.values()):
            failures.append(f"{user.username} {url} -> {statuses}")
    assert not failures, "\n".join(failures)


@pytest.mark.django_db
def test_signed_out_visitors_are_sent_to_sign_in_or_refused(world):
    client = Client()
    for route in object_patterns():
        url = fill(route, objects_of(world, world.a, klass="a"))
        response = client.get(url)
        if url.startswith("/api/"):
            assert response.status_code in (401, 405), url
        else:
            assert response.status_code in (302, 405), url
            if response.status_code == 302:
                assert response["Location"].startswith("/accounts/login/"), url
