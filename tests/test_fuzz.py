"""No input gives a server error: the API fuzzed from its OpenAPI description, every form fuzzed.

Two generated campaigns, both deterministic and bounded so the suite stays quick:

- schemathesis reads /api/v1/openapi.json from the app itself and sends every operation valid and
  invalid requests (types, bounds, missing fields) in-process through the WSGI handler, with a
  teacher's bearer token;
- every page the test world's teacher and director can open is found from the URL configuration
  (as the access test does), its forms are read from the HTML, and every field of every form, plus
  the one field the journal's script posts, is sent hostile values: empty, very long, NUL, negative,
  huge and non-numeric numbers, dates out of range, ids that do not exist or are another school's,
  and odd Unicode.

A request answered with a 5xx, or one that leaves a dangling reference in the database (a posted id
saved without existing, which PostgreSQL reports only at commit), fails the test.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from birtutas.journal import messaging
from birtutas.registry.services import issue_api_token

pytestmark = pytest.mark.django_db

# ------------------------------------------------------------------ the URL configuration


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


def routes() -> list[str]:
    # Django's admin is a staff tool with its own id handling (`<path:object_id>`, validated by the admin).
    return sorted({route for route, _pattern in walk(get_resolver().url_patterns) if not route.startswith("admin/")})


def fill(route: str, values: dict) -> str:
    def repl(match):
        name = match.group(2)
        if name not in values:
            raise AssertionError(f"path parameter <{name}> in {route} has no value in the fuzz test's map")
        return str(values[name])

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", repl, route)


def own_objects(world) -> dict:
    a = world.a
    if not hasattr(world, "letter"):
        world.letter = messaging.write_to_teacher(a.guardian, a.student.pk, a.teacher.person_id, "Сәлеметсіз бе")
    return {
        "conversation_id": world.letter.conversation_id,
        "assignment_id": a.assignment_a.pk,
        "term_id": world.term.pk,
        "lesson_id": a.lessons_a[0].pk,
        "student_id": a.student.pk,
        "work_id": a.work_a.pk,
        "class_id": a.class_a.pk,
        "organization_id": a.organization.pk,
        "request_id": a.change_request.pk,
        "person_id": a.student.pk,
        "session_id": "0b7c4a59-7d59-4e37-9d1c-2f1f6f1d0c8e",  # a sync transfer session nobody opened
    }


def no_server_error(response) -> bool:
    return response.status_code < 500


# ------------------------------------------------------------------ ids in paths and queries

OUT_OF_RANGE_IDS = ("0", "9223372036854775807", "9223372036854775808", "99999999999999999999", "1" * 40)
UNMATCHED = {"0", "9223372036854775808", "99999999999999999999", "1" * 40}
QUERY_VALUES = ("0001-01-01", "9999-12-31", "2026-02-30", "99999999999999999999", "-1", "abc", "")
QUERY_NAMES = ("week", "term", "term_id")


def entitled(world, route: str):
    """The person of school A whose pages a route serves, so each request reaches the view's own work."""
    a = world.a
    if route.startswith("area/"):
        return world.analyst
    if route.startswith("school/"):
        return a.director
    if route.startswith(("diary/", "api/v1/diary")):
        return a.guardian
    return a.teacher


class Visitor:
    """One signed-in browser (and one bearer token, for the API) per person."""

    def __init__(self):
        self.clients: dict = {}

    def get(self, user) -> tuple[Client, dict]:
        if user.pk not in self.clients:
            client = Client(raise_request_exception=False)
            client.force_login(user)
            self.clients[user.pk] = (client, {"HTTP_AUTHORIZATION": f"Bearer {issue_api_token(user)}"})
        return self.clients[user.pk]


def test_ids_too_large_for_the_database_are_not_server_errors(world):
    """Every route, every id in it out of range, every method: 4xx (the web's own converter gives 404)."""
    visitor = Visitor()
    failures, tried = [], 0
    for route in routes():
        if "<" not in route:
            continue
        user = entitled(world, route)
        client, bearer = visitor.get(user)
        for value in OUT_OF_RANGE_IDS:
            url = fill(route, dict.fromkeys(own_objects(world), value))
            for method in ("get", "post", "put", "delete"):
                headers = bearer if url.startswith("/api/") else {}
                kwargs = {"content_type": "application/json", "data": "{}"} if method != "get" else {}
                with transaction.atomic():
                    response = getattr(client, method)(url, **kwargs, **headers)
                tried += 1
                if not no_server_error(response):
                    failures.append(f"{user.username} {method.upper()} {url} -> {response.status_code}")
                elif value in UNMATCHED and not url.startswith("/api/") and response.status_code != 404:
                    # The web's `<id:…>` converter does not match: no view even runs.
                    failures.append(f"{user.username} {method.upper()} {url} -> {response.status_code}, not 404")
    assert tried > 300
    assert not failures, "\n".join(failures)


def test_every_object_id_in_a_web_path_uses_the_bounded_converter():
    """A new `<int:…_id>` would let an overflowing id reach the database again."""
    from birtutas.kernel.parsing import ObjectIdConverter

    loose = []
    for route, pattern in walk(get_resolver().url_patterns):
        if route.startswith(("api/", "admin/")):
            continue  # ninja validates its own parameters (bounded in the schema, checked below); so does the admin
        for name, converter in pattern.pattern.converters.items():
            if name.endswith("_id") and not isinstance(converter, ObjectIdConverter):
                loose.append(f"{route}: <{name}>")
    assert not loose, loose


def test_every_object_id_of_the_api_is_bounded(client):
    from birtutas.kernel.parsing import MAX_ID

    schema = client.get("/api/v1/openapi.json").json()
    loose = []
    for path, operations in schema["paths"].items():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                bounds = parameter["schema"].get("anyOf", [parameter["schema"]])[0]
                bounded = bounds.get("minimum") == 1 and bounds.get("maximum") == MAX_ID
                if parameter["name"].endswith("_id") and not bounded:
                    loose.append(f"{path}: {parameter['name']} {parameter['schema']}")
    assert not loose, loose


def test_query_values_out_of_range_are_not_server_errors(world):
    values = own_objects(world)
    visitor = Visitor()
    failures = []
    for route in routes():
        url = fill(route, values)
        client, bearer = visitor.get(entitled(world, route))
        for value in QUERY_VALUES:
            query = "&".join(f"{name}={value}" for name in QUERY_NAMES)
            with transaction.atomic():
                response = client.get(f"{url}?{query}", **(bearer if url.startswith("/api/") else {}))
            if not no_server_error(response):
                failures.append(f"GET {url}?{query} -> {response.status_code}")
    assert not failures, "\n".join(failures)


def test_weeks_at_the_ends_of_the_calendar_are_clamped_or_refused(world):
    """The diary page clamps a far week to the years a school can mean (its links still work); the API,
    which has no page to show, refuses it with a 422 naming the parameter."""
    client = Client()
    client.force_login(world.a.guardian)
    for week, previous in (("0001-01-01", "1899-12-25"), ("9999-12-31", "2199-12-23")):
        response = client.get(f"/diary/{world.a.student.pk}/?week={week}")
        assert response.status_code == 200
        assert f'href="?week={previous}"' in response.content.decode()
        response = client.get(f"/api/v1/diary/{world.a.student.pk}?week={week}")
        assert response.status_code == 422
        assert "week" in str(response.json()["detail"])


# ------------------------------------------------------------------ every form of every page


class Forms(HTMLParser):
    """The forms of a page: action, method, enctype, and every named control with its default value."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []
        self._form = None
        self._select = None
        self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = {
                "action": attrs.get("action") or "",
                "method": (attrs.get("method") or "get").lower(),
                "multipart": attrs.get("enctype") == "multipart/form-data",
                "fields": [],
                "files": [],
            }
            self.forms.append(self._form)
            return
        if self._form is None or not attrs.get("name"):
            # A select's default is its first real choice, so the other fields' values are ones a person could send.
            if tag == "option" and self._select is not None and not self._select["value"]:
                self._select["value"] = attrs.get("value", "")
            return
        name = attrs["name"]
        if tag == "input":
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self._form["files"].append(name)
            elif kind in ("checkbox", "radio"):
                self._form["fields"].append([name, attrs.get("value", "on") if "checked" in attrs else None])
            else:
                self._form["fields"].append([name, attrs.get("value", "")])
        elif tag == "button":
            self._form["fields"].append([name, attrs.get("value", "")])
        elif tag == "select":
            self._select = {"name": name, "value": None}
            self._form["fields"].append(self._select)
        elif tag == "textarea":
            self._textarea = [name, ""]
            self._form["fields"].append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(html: str, page_url: str) -> list[dict]:
    parser = Forms()
    parser.feed(html)
    found = []
    for form in parser.forms:
        if form["method"] != "post":
            continue
        fields, seen = [], set()
        for field in form["fields"]:
            name, value = (field["name"], field["value"]) if isinstance(field, dict) else field
            if name == "csrfmiddlewaretoken" or name in seen:
                continue
            seen.add(name)
            fields.append((name, value))
        action = urlsplit(urljoin(page_url, form["action"])).path
        found.append({"action": action, "multipart": form["multipart"], "fields": fields, "files": form["files"]})
    return found


def hostile_values(world) -> list[str]:
    b = world.b
    return [
        "",
        "   ",
        "x" * 10_000,
        "9\x00",
        "-1",
        "0",
        "99999999999999999999",
        "9223372036854775808",
        "1.5",
        "NaN",
        "0001-01-01",
        "9999-12-31",
        "987654321",  # an id nothing has
        str(b.student.pk),  # ids of another school's objects
        str(b.assignment_a.pk),
        f"c-{b.lessons_a[0].pk}",
        "Қазақ тілі 🙂 \u202e\ufeff <script>alert(1)</script>' OR 1=1 --",
    ]


def dangling_references() -> str | None:
    """Deferred foreign keys are checked at commit; ask the database now, inside the test's transaction."""
    try:
        with transaction.atomic():
            connection.check_constraints()
    except IntegrityError as error:
        return str(error)
    return None


def post(client: Client, form: dict, data: dict):
    """Send the form; return the response and any dangling reference it left (which is then undone)."""
    payload = dict(data)
    for name in form["files"]:
        value = payload.pop(name, "")
        payload[name] = SimpleUploadedFile(f"{name}.csv", value.encode("utf-8", "surrogatepass"), "text/csv")
    with transaction.atomic():
        response = client.post(form["action"], payload)
        problem = dangling_references()
        if problem:
            transaction.set_rollback(True)  # so the next request starts from a sound database
    return response, problem


def discover_forms(world, user, term=None) -> dict[str, dict]:
    """Every POST form on every page the user can open, by action; the grid's many cells by kind."""
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    values = {**own_objects(world), **({"term_id": term.pk} if term else {})}
    forms: dict[str, dict] = {}
    for route in routes():
        if route.startswith("api/"):
            continue  # schemathesis covers the API
        url = fill(route, values)
        response = client.get(url)
        if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
            continue
        for form in forms_of(response.content.decode(), url):
            known = forms.setdefault(form["action"], {**form, "fields": []})
            names = {n for n, _v in known["fields"]}
            known["fields"] += [(n, v) for n, v in form["fields"] if n not in names]
            known["files"] = sorted(set(known["files"]) | set(form["files"]))
    # Endpoints that take a POST but no form names (the journal's script posts `value` to them).
    for route in routes():
        url = fill(route, values)
        if route.startswith("api/") or url in forms:
            continue
        response = client.get(url)
        if response.status_code == 405 and "POST" in response.get("Allow", ""):
            forms[url] = {"action": url, "multipart": False, "fields": [("value", "")], "files": []}
    return forms


def kind_of(name: str) -> str:
    """The grid's c-<lesson>-<student> cells are all parsed the same way: one of each kind is enough."""
    return re.sub(r"\d+", "#", name)


def fuzz_forms(world, user, forms: list[dict], done: set) -> tuple[list[str], int]:
    """Post every hostile value to every field (one at a time, the others as rendered) of every form."""
    values = hostile_values(world)
    failures, tried = [], 0
    client = Client(raise_request_exception=False, HTTP_ACCEPT_LANGUAGE="en")
    for form in forms:
        defaults = {name: value for name, value in form["fields"] if value is not None}  # unticked boxes
        for target in [name for name, _v in form["fields"]] + form["files"] + [None]:
            key = (user.pk, kind_of(form["action"]), kind_of(target or ""))
            if key in done:
                continue
            done.add(key)
            for value in values if target else [None]:
                if "_auth_user_id" not in client.session:
                    client.force_login(user)  # again, after a form that signs out
                response, problem = post(client, form, {**defaults, **({target: value} if target else {})})
                tried += 1
                where = f"{user.username} POST {form['action']} {target}={(value or '')[:40]!r}"
                if not no_server_error(response):
                    failures.append(f"{where} -> {response.status_code}")
                if problem:
                    failures.append(f"{where} left a dangling reference: {problem}")
    return failures, tried


def close_a_term(world, term) -> None:
    """The director closes a past term through the pages, so the forms of a closed term show too."""
    director = world.a.director
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(director)
    values = {**own_objects(world), "term_id": term.pk}
    path = fill("school/<organization_id>/term/<term_id>/close/", values)
    form = discover_forms(world, director, term).get(path, {"fields": []})
    fields = {name: value for name, value in form["fields"] if value is not None}
    response = client.post(path, {**fields, "confirm": "yes"})
    assert response.status_code in (200, 302), response.status_code
    teacher = Client(HTTP_ACCEPT_LANGUAGE="en")
    teacher.force_login(world.a.teacher)
    grid = teacher.get(fill("journal/<assignment_id>/term/<term_id>/", values)).content.decode()
    assert "This term is closed" in grid


def test_hostile_values_in_every_form_field_are_not_server_errors(world):
    a = world.a
    # A closed term shows forms an open one does not (the change request): close a past one first, then
    # find every form of both before posting anything, as posts may remove what a page needs to show.
    past_term = world.terms[0]
    close_a_term(world, past_term)
    plan = []
    for user in (a.teacher, a.director):
        forms = {**discover_forms(world, user, past_term), **discover_forms(world, user)}
        assert len(forms) >= 4, forms  # the discovery must be finding real forms
        # The director's tools change what other forms act on (teaching load, people, closing): last.
        plan.append((user, sorted(forms.values(), key=lambda f: (f["action"].startswith("/school/"), f["action"]))))
    failures, tried, done = [], 0, set()
    for user, forms in plan:
        found, count = fuzz_forms(world, user, forms, done)
        failures += found
        tried += count
    fuzzed = {kind for _user, kind, _field in done}
    assert fuzzed >= {"/journal/#/term/#/", "/journal/#/term/#/change-request/", "/school/class/#/load/"}, fuzzed
    assert tried > 500
    assert not failures, "\n".join(failures)


# ------------------------------------------------------------------ the API, from its OpenAPI description


@pytest.fixture
def wsgi_app():
    """Django's WSGI handler, as a server runs it, inside the test's transaction.

    A real request would close the database connection when it finishes (as Django's own test
    client prevents): that would end the test's transaction, so it is kept open here the same way.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


EXAMPLES_PER_OPERATION = 40
EDGE_INTEGERS = (0, -1, 2**31, 2**63 - 1, 2**63, 10**20)
EDGE_DATES = ("0001-01-01", "1899-12-31", "9999-12-31")


def test_the_api_answers_no_generated_request_with_a_server_error(world, wsgi_app):
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", wsgi_app)
    # The fuzzer's own token must live through the run: revoking it is tested in test_api.
    schema = schema.exclude(method="DELETE", path="/api/v1/auth/token")
    token = issue_api_token(world.a.teacher)
    headers = {"Authorization": f"Bearer {token}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7, [o.label for o in operations]
    # A third of the cases aim at the teacher's own objects, so the handlers get past "not found" into the
    # services; a third put the values at the edges of what a column or a date can hold into every path
    # and query parameter, which random generation alone reaches too rarely to count on.
    own = own_objects(world)
    raw = schema.raw_schema

    def edges_for(operation):
        spec = raw["paths"][operation.path][operation.method.lower()]
        choices = {}
        for parameter in spec.get("parameters", []):
            kinds = parameter["schema"].get("anyOf", [parameter["schema"]])
            if any(k.get("type") == "integer" for k in kinds):
                choices[parameter["name"]] = st.sampled_from(EDGE_INTEGERS)
            elif any(k.get("format") == "date" for k in kinds):
                choices[parameter["name"]] = st.sampled_from(EDGE_DATES)
        return st.fixed_dictionaries(choices)

    def aim(case, mode: str, edges: dict):
        if mode == "own" and case.path_parameters:
            case.path_parameters = {name: own.get(name, value) for name, value in case.path_parameters.items()}
        elif mode == "edge":
            for name, value in edges.items():
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters = {**case.path_parameters, name: value}
                else:
                    case.query = {**(case.query or {}), name: value}
        return case

    strategy = st.sampled_from(operations).flatmap(
        lambda operation: st.tuples(
            st.one_of(
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            ),
            st.sampled_from(["generated", "own", "edge"]),
            edges_for(operation),
        ).map(lambda drawn: aim(*drawn))
    )
    seen = set()

    @settings(
        max_examples=EXAMPLES_PER_OPERATION * len(operations),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        seen.add(case.operation.label)
        with transaction.atomic():
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

    run()
    assert seen == {o.label for o in operations}
