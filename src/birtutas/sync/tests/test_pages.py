"""The sync status pages: the school servers of an area, and one school's sync state, each read only by
those who may, in the reader's language, with a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
import html
import uuid

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from birtutas.journal import queries as journal_queries
from birtutas.kernel import hlc
from birtutas.kernel.context import writing
from birtutas.kernel.errors import NotFound
from birtutas.kernel.events import Event
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import District, Membership, Organization, User
from birtutas.registry.roles import Role
from birtutas.sync import queries, services
from birtutas.sync.models import Conflict, Dirty, Have, Node, Origin, Parked, Refusal, Session
from birtutas.testing import build_access_world, signed_in

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)


# ------------------------------------------------------------------ the rules, table by table


@pytest.mark.parametrize(
    ("text", "days"),
    [("3", 3), (" 30 ", 30), ("", 7), ("0", 7), ("-2", 7), ("x", 7), (None, 7), ("3651", 7), ("3650", 3650)],
)
def test_the_days_filter_takes_a_whole_number_of_days_else_the_setting(settings, text, days):
    settings.SYNC_STALE_DAYS = 7
    assert queries.stale_days(text) == days


@pytest.mark.parametrize(
    ("last", "registered", "days", "stale"),
    [
        (NOW - dt.timedelta(days=8), NOW - dt.timedelta(days=100), 7, True),
        (NOW - dt.timedelta(days=7), NOW - dt.timedelta(days=100), 7, False),  # exactly 7 days: not more
        (NOW - dt.timedelta(days=7, seconds=1), NOW - dt.timedelta(days=100), 7, True),
        (NOW - dt.timedelta(hours=1), NOW - dt.timedelta(days=100), 7, False),
        (None, NOW - dt.timedelta(days=8), 7, True),  # never synced since its registration
        (None, NOW - dt.timedelta(days=2), 7, False),  # registered two days ago: not late yet
        (NOW - dt.timedelta(days=2), NOW - dt.timedelta(days=100), 1, True),
    ],
)
def test_a_node_is_stale_after_more_than_the_days_since_its_last_sync_or_registration(last, registered, days, stale):
    assert queries.is_stale(last, registered, NOW, days) is stale


@pytest.mark.parametrize(
    ("ms", "skew"),
    [
        (0, None),
        (120_000, None),  # two minutes: within the threshold
        (-120_000, None),
        (120_001, queries.Skew(ahead=True, minutes=2)),
        (-5 * 60_000, queries.Skew(ahead=False, minutes=5)),
        (119 * 60_000, queries.Skew(ahead=True, minutes=119)),
        (2 * 3600_000, queries.Skew(ahead=True, hours=2)),
        (-86_400_000, queries.Skew(ahead=False, hours=24)),
    ],
)
def test_a_clock_skew_is_shown_above_two_minutes_in_minutes_then_hours(ms, skew):
    assert queries.skew_of(ms) == skew


O1, O2, O3 = uuid.UUID(int=1), uuid.UUID(int=2), uuid.UUID(int=3)
P1, P2 = uuid.UUID(int=11), uuid.UUID(int=12)


@pytest.mark.parametrize(
    ("own", "peers", "waiting"),
    [
        ({}, {}, 0),
        ({O1: 150}, {}, 150),  # nobody acknowledged anything: all of it waits
        ({O1: 150}, {P1: {O1: 30}}, 120),
        ({O1: 150, O2: 10}, {P1: {O1: 30}}, 130),  # a retired origin's changes count too
        ({O1: 150}, {P1: {O1: 150}}, 0),
        ({O1: 150}, {P1: {O1: 200}}, 0),  # a peer ahead of a restored backup: nothing, not a negative
        ({O1: 150}, {P1: {O3: 99}}, 150),  # another origin's acknowledgement says nothing of ours
        ({O1: 150}, {P1: {O1: 30}, P2: {O1: 140}}, 10),  # the best-informed peer
        ({O1: 150}, {P1: {}}, 150),  # a peer that acknowledged nothing of this partition
    ],
)
def test_what_waits_is_what_the_other_side_has_not_acknowledged(own, peers, waiting):
    assert queries.waiting_from(own, peers) == waiting


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (True, "yes"),
        (False, "no"),
        (7, "7"),
        ("Алгебра", "Алгебра"),
        (["a", 2], "a, 2"),
        ({"k": None}, "k: —"),
        ("x" * 500, "x" * 199 + "…"),
    ],
)
def test_a_conflicting_value_is_shown_as_a_person_reads_it(value, shown):
    from django.utils import translation

    with translation.override("en"):
        assert queries.shown_value(value) == shown


def test_a_field_clock_shows_its_wall_time_and_nothing_for_a_malformed_one():
    stamp = hlc.pack(int(NOW.timestamp() * 1000) - hlc.EPOCH_MS, 3)
    assert queries.clock_time([stamp, str(O1), 0, "d"]) == NOW
    assert queries.clock_time(stamp) == NOW
    for bad in (None, [], ["x"], [hlc.MAX], [True], "12", {"stamp": "x"}):
        assert queries.clock_time(bad) is None


# ------------------------------------------------------------------ the world of the pages


def _uid(organization: Organization) -> uuid.UUID:
    if organization.uid is None:
        with writing():
            Organization.objects.filter(pk=organization.pk).update(uid=uuid.uuid4())
        organization.refresh_from_db()
    return organization.uid


def _node(organization, name="Сервер", *, synced_days_ago=None, **fields) -> Node:
    node = Node.objects.create(organization=organization, name=name, signing_key="00", box_key="age1", **fields)
    registered = timezone.now() - dt.timedelta(days=200)
    synced = timezone.now() - dt.timedelta(days=synced_days_ago) if synced_days_ago is not None else None
    Node.objects.filter(pk=node.pk).update(registered_at=registered, last_synced_at=synced)
    node.refresh_from_db()
    return node


def _user(role: Role, username: str, **where) -> User:
    from birtutas.testing import account, person

    user = account(person(username.title(), "Test", dt.date(1980, 1, 1)), username)
    with writing():
        Membership.objects.create(person=user.person, role=role, **where)
    return user


def _conflict(organization, field="topic", kept="Жаңа", replaced="Ескі", **extra) -> Conflict:
    stamp = hlc.pack(int(NOW.timestamp() * 1000) - hlc.EPOCH_MS)
    return Conflict.objects.create(
        id=uuid.uuid4(),
        partition=_uid(organization),
        kind="journal.lesson",
        uid=uuid.uuid4(),
        field=field,
        kept=kept,
        replaced=replaced,
        kept_clock=[stamp + 5, str(O1), 0, "a"],
        replaced_clock=[stamp, str(O2), 0, "b"],
        **extra,
    )


def text(response) -> str:
    return html.unescape(response.content.decode())


# ------------------------------------------------------------------ the list of school servers


def test_an_officer_sees_the_servers_of_their_area_with_the_silent_ones_first(world, settings):
    settings.SYNC_STALE_DAYS = 7
    a, b = world.a.organization, world.b.organization
    quiet = _node(a, "Мектеп сервері", synced_days_ago=12, pending_up=40, pending_down=3, clock_skew_ms=-86_400_000)
    Refusal.objects.create(node=quiet, kind="journal.mark", reason="scope")
    Refusal.objects.create(node=quiet, kind="journal.mark", reason="permission")
    _node(b, "B", synced_days_ago=30)  # another district: not the officer's
    page = text(signed_in(world.district_officer).get("/sync/schools/"))
    assert "1 school has not synced for more than 7 days" in page
    assert a.name in page and "Мектеп сервері" in page
    assert b.name not in page
    assert "clock 24 hours behind" in page
    row = page[page.index("Мектеп сервері") :]
    assert '<td class="num">40</td><td class="num">3</td><td class="num">2</td>' in row
    assert f'href="/sync/school/{a.pk}/"' in page  # an officer of the area opens the school's page


def test_the_days_filter_and_the_stale_only_view(world):
    a = world.a.organization
    _node(a, "recent", synced_days_ago=2)
    _node(a, "late", synced_days_ago=10)
    _node(a, "revoked", synced_days_ago=300, revoked_at=timezone.now(), revoked_reason="stolen")
    client = signed_in(world.analyst)
    page = text(client.get("/sync/schools/", {"days": "1"}))
    assert "1 school has not synced for more than 1 days:" in page
    assert "recent" in page and "late" in page and "revoked" in page
    assert "registration revoked on" in page and "stolen" in page
    only = text(client.get("/sync/schools/", {"days": "5", "show": "stale"}))
    assert "late" in only and "recent" not in only and "revoked" not in only  # a revoked server is not awaited
    assert 'value="5"' in only
    fresh = text(client.get("/sync/schools/", {"days": "20"}))
    assert "Every school server has synced within the last 20 days." in fresh
    # An analyst reads the list but not a school's own page: no link to it.
    assert f'href="/sync/school/{a.pk}/"' not in fresh


def test_schools_are_in_the_order_of_their_names_in_the_language_shown(world):
    district = world.a.organization.district
    names = ["Әлем мектебі", "Арман мектебі", "Бірлік мектебі", "Өркен мектебі", "Олжа мектебі"]
    with writing():
        for i, name in enumerate(names):
            school = Organization.objects.create(
                district=district,
                name_kk=name,
                name_ru=name,
                locality="rural",
                language="kk",
                connection="none",
                bin=None,
            )
            _node(school, f"n{i}", synced_days_ago=1)
    page = text(signed_in(world.district_officer, "kk").get("/sync/schools/"))
    found = sorted(names, key=page.index)
    assert found == ["Арман мектебі", "Әлем мектебі", "Бірлік мектебі", "Олжа мектебі", "Өркен мектебі"]


def test_a_school_without_a_server_is_not_listed(world):
    page = text(signed_in(world.district_officer).get("/sync/schools/"))
    assert world.a.organization.name not in page
    assert "No school server is registered in your area." in page


def test_the_list_is_for_officers_analysts_and_administrators_only(world):
    _node(world.a.organization)
    for user in (world.a.director, world.a.teacher, world.a.guardian, world.a.student_user):
        assert signed_in(user).get("/sync/schools/").status_code == 404, user.username
    assert Client().get("/sync/schools/")["Location"].startswith("/accounts/login/")
    superuser = User.objects.create_superuser("root", password="x")
    assert world.a.organization.name in text(signed_in(superuser).get("/sync/schools/"))
    assert signed_in(world.analyst).post("/sync/schools/").status_code == 405


def test_the_list_reads_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    client = signed_in(world.district_officer)
    node = _node(world.a.organization, "first", synced_days_ago=9)
    Refusal.objects.create(node=node, kind="journal.mark", reason="scope")
    with CaptureQueriesContext(connection) as one:
        assert client.get("/sync/schools/").status_code == 200
    with writing():
        for i in range(25):
            school = Organization.objects.create(
                district=world.a.organization.district,
                name_kk=f"Мектеп {i}",
                name_ru=f"Школа {i}",
                locality="rural",
                language="kk",
                connection="none",
            )
            extra = _node(school, f"n{i}", synced_days_ago=i)
            Refusal.objects.create(node=extra, kind="journal.mark", reason="scope")
    with django_assert_max_num_queries(len(one)):
        page = text(client.get("/sync/schools/"))
    assert "Мектеп 24" in page


# ------------------------------------------------------------------ one school's page


def test_the_director_reads_when_it_last_synced_and_what_waits_in_their_language(world, settings):
    settings.TIME_ZONE = "UTC"
    a = world.a.organization
    node = _node(a)
    client = signed_in(world.a.director)
    page = text(client.get(f"/sync/school/{a.pk}/"))
    assert "Never synced" in page
    assert "Waiting to be sent: 0 changes" in page
    origin = Origin.objects.create(is_self=True)
    Have.objects.create(peer=None, partition=_uid(a), origin=origin.id, counter=150)
    Have.objects.create(peer=node.pk, partition=a.uid, origin=origin.id, counter=30)
    Have.objects.create(peer=node.pk, partition=a.uid, origin=uuid.uuid4(), counter=500)  # not ours
    Have.objects.create(peer=None, partition=_uid(world.b.organization), origin=origin.id, counter=900)  # B's
    finished = timezone.now().replace(month=11, day=25, hour=10, minute=42)
    Session.objects.create(peer=node.pk, kind=Session.Kind.PUSH, state=Session.State.DONE, finished_at=finished)
    Session.objects.create(peer=node.pk, kind=Session.Kind.PULL, state=Session.State.FAILED, error="link cut")
    Session.objects.create(peer=uuid.uuid4(), kind=Session.Kind.PULL, state=Session.State.DONE, error="elsewhere")
    page = text(client.get(f"/sync/school/{a.pk}/"))
    assert "Last synced: 25 November, 10:42" in page
    assert "Waiting to be sent: 120 changes" in page
    assert "link cut" in page and "elsewhere" not in page  # the sessions of this school's server only
    russian = text(signed_in(world.a.director, "ru").get(f"/sync/school/{a.pk}/"))
    assert "25 ноября, 10:42" in russian
    kazakh = text(signed_in(world.a.director, "kk").get(f"/sync/school/{a.pk}/"))
    assert "10:42" in kazakh and "November" not in kazakh


def test_on_a_node_unsent_writes_and_parked_records_count(world, settings, tmp_path):
    settings.NODE_FILE = str(tmp_path / "node.json")
    a = world.a.organization
    centre = uuid.uuid4()
    client = signed_in(world.a.director)  # signing in is a write too (the account's last sign-in)
    origin = Origin.objects.create(is_self=True)
    Have.objects.create(peer=None, partition=_uid(a), origin=origin.id, counter=10)
    Have.objects.create(peer=centre, partition=a.uid, origin=origin.id, counter=4)
    Dirty.objects.all().delete()
    Dirty.objects.bulk_create(Dirty(tbl="journal_lesson", row_id=i) for i in range(3))
    Parked.objects.create(kind="journal.mark", uid=uuid.uuid4(), payload={}, missing="journal.lesson 1234")
    Session.objects.create(peer=centre, kind=Session.Kind.BUNDLE_IN, state=Session.State.DONE, records=77)
    page = text(client.get(f"/sync/school/{a.pk}/"))
    assert "Waiting to be sent: 9 changes" in page  # 10 - 4 counted, and 3 written since the last capture
    assert "1 received record waits for the records it refers to." in page
    assert "journal.lesson 1234" in page
    assert "Last synced:" in page and "Bundle read" in page
    assert "the school works on this server directly" not in page  # no list of registered servers on a node


def test_the_director_reviews_a_conflict_once_and_it_is_audited(world):
    a = world.a.organization
    conflict = _conflict(a)
    _conflict(world.b.organization, kept="B-нікі")
    client = signed_in(world.a.director)
    page = text(client.get(f"/sync/school/{a.pk}/"))
    assert "1 conflict to review." in page
    assert "Жаңа" in page and "Ескі" in page and "B-нікі" not in page
    assert "11/27/2026" in page  # when the replaced value was written, from its clock
    assert f'value="{conflict.pk}"' in page
    response = client.post(f"/sync/school/{a.pk}/", {"conflict": str(conflict.pk)})
    assert response.status_code == 302
    conflict.refresh_from_db()
    assert conflict.reviewed_by == world.a.director and conflict.reviewed_at is not None
    first = conflict.reviewed_at
    events = AuditEvent.objects.filter(event=Event.SYNC_CONFLICT_REVIEW, object_key=str(conflict.pk))
    assert events.count() == 1 and events.get().organization_id == a.pk
    deputy = build_access_world(world).deputy
    services.review_conflict(deputy, conflict.pk)  # again, by someone else: nothing changes
    conflict.refresh_from_db()
    assert conflict.reviewed_at == first and conflict.reviewed_by == world.a.director
    assert events.count() == 1
    page = text(client.get(f"/sync/school/{a.pk}/"))
    assert "conflict to review" not in page and f'value="{conflict.pk}"' not in page


def test_no_one_else_reviews_a_conflict_or_reads_its_values(world):
    a = world.a.organization
    conflict = _conflict(a)
    director_b = signed_in(world.b.director)
    assert director_b.get(f"/sync/school/{a.pk}/").status_code == 404
    assert director_b.post(f"/sync/school/{a.pk}/", {"conflict": str(conflict.pk)}).status_code == 404
    # B's director on B's own page with A's conflict: not found either.
    assert (
        director_b.post(f"/sync/school/{world.b.organization.pk}/", {"conflict": str(conflict.pk)}).status_code == 404
    )
    with pytest.raises(NotFound):
        services.review_conflict(world.b.director, conflict.pk)
    # The officer of A's district reads A's sync state, but not the values, and does not review.
    officer = signed_in(world.district_officer)
    page = text(officer.get(f"/sync/school/{a.pk}/"))
    assert "1 conflict to review." in page and "Жаңа" not in page and "Mark as reviewed" not in page
    assert officer.post(f"/sync/school/{a.pk}/", {"conflict": str(conflict.pk)}).status_code == 404
    assert signed_in(world.district_officer).get(f"/sync/school/{world.b.organization.pk}/").status_code == 404
    for user in (world.a.teacher, world.a.guardian, world.a.student_user, world.analyst):
        client = signed_in(user)
        assert client.get(f"/sync/school/{a.pk}/").status_code == 404, user.username
        assert client.post(f"/sync/school/{a.pk}/", {"conflict": str(conflict.pk)}).status_code == 404
    conflict.refresh_from_db()
    assert conflict.reviewed_at is None
    assert not AuditEvent.objects.filter(event=Event.SYNC_CONFLICT_REVIEW).exists()
    anonymous = Client().get(f"/sync/school/{a.pk}/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/accounts/login/")


def test_a_review_without_a_conflict_is_a_mistake_shown_on_the_page(world):
    a = world.a.organization
    client = signed_in(world.a.director)
    for body in ({}, {"conflict": "nonsense"}):
        response = client.post(f"/sync/school/{a.pk}/", body)
        assert response.status_code == 400
        assert "Choose the conflict to mark as reviewed." in text(response)
    assert client.post(f"/sync/school/{a.pk}/", {"conflict": str(uuid.uuid4())}).status_code == 404


def test_refusals_and_registered_servers_show_at_the_central_server(world):
    a = world.a.organization
    node = _node(a, "Кабинет 12", synced_days_ago=1, clock_skew_ms=5 * 60_000)
    _node(a, "Ескі сервер", revoked_at=timezone.now(), revoked_reason="replaced")
    Refusal.objects.create(node=node, kind="journal.mark", reason="scope", detail="another school's lesson")
    Refusal.objects.create(node=_node(world.b.organization), kind="journal.mark", reason="b-only")
    page = text(signed_in(world.a.director).get(f"/sync/school/{a.pk}/"))
    assert "another school's lesson" in page and "b-only" not in page
    assert "Кабинет 12" in page and "clock 5 minutes ahead" in page
    assert "registration revoked on" in page and "replaced" in page


def test_held_entries_show_where_the_journal_tells_them(world, monkeypatch):
    a = world.a.organization
    client = signed_in(world.a.director)
    monkeypatch.delattr(journal_queries, "held_entries", raising=False)
    assert "Changes held for a closed term" not in text(client.get(f"/sync/school/{a.pk}/"))
    asked = []
    monkeypatch.setattr(
        journal_queries,
        "held_entries",
        lambda organization_id: asked.append(organization_id) or ["mark 7 held"],
        raising=False,
    )
    page = text(client.get(f"/sync/school/{a.pk}/"))
    assert "Changes held for a closed term" in page and "mark 7 held" in page and asked == [a.pk]
    assert "mark 7 held" not in text(signed_in(world.district_officer).get(f"/sync/school/{a.pk}/"))


def test_the_school_page_reads_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    a = world.a.organization
    node = _node(a)
    client = signed_in(world.a.director)
    _conflict(a)
    Refusal.objects.create(node=node, kind="journal.mark", reason="scope")
    Session.objects.create(peer=node.pk, kind=Session.Kind.PUSH, state=Session.State.DONE)
    with CaptureQueriesContext(connection) as one:
        assert client.get(f"/sync/school/{a.pk}/").status_code == 200
    for i in range(30):
        reviewed = {"reviewed_by": world.a.director, "reviewed_at": timezone.now()} if i % 2 else {}
        _conflict(a, kept=f"k{i}", **reviewed)
        Refusal.objects.create(node=_node(a, f"n{i}"), kind="journal.mark", reason="scope")
        Session.objects.create(peer=node.pk, kind=Session.Kind.PULL, state=Session.State.DONE, records=i)
    with django_assert_max_num_queries(len(one)):
        page = text(client.get(f"/sync/school/{a.pk}/"))
    assert "k29" in page


def test_the_start_of_the_sync_pages_sends_each_reader_to_theirs(world):
    a = world.a.organization
    assert signed_in(world.a.director).get("/sync/")["Location"] == f"/sync/school/{a.pk}/"
    assert signed_in(world.district_officer).get("/sync/")["Location"] == "/sync/schools/"
    assert signed_in(world.analyst).get("/sync/")["Location"] == "/sync/schools/"
    assert signed_in(world.a.teacher).get("/sync/").status_code == 404
    assert Client().get("/sync/")["Location"].startswith("/accounts/login/")


def test_a_region_officer_sees_every_district_of_the_region(world):
    region_officer = _user(Role.REGION_OFFICER, "oblys", region=world.a.organization.district.region)
    _node(world.a.organization, "A-server")
    _node(world.b.organization, "B-server")
    other = District.objects.exclude(region=world.a.organization.district.region).first()
    if other is not None:
        with writing():
            far = Organization.objects.create(
                district=other, name_kk="Алыс", name_ru="Далёкая", locality="rural", language="kk", connection="none"
            )
        _node(far, "far-server")
    page = text(signed_in(region_officer).get("/sync/schools/"))
    assert "A-server" in page and "B-server" in page and "far-server" not in page
    assert signed_in(region_officer).get(f"/sync/school/{world.b.organization.pk}/").status_code == 200


def test_held_entries_of_a_closed_term_show_with_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    if not hasattr(journal_queries, "held_entries"):
        pytest.skip("the journal does not hold entries yet")
    from birtutas.journal.models import MarkEntry, TermClosure

    a = world.a.organization
    lesson = world.a.lessons_a[0]
    with writing():
        closure = TermClosure.objects.create(organization=a, term=lesson.term, closed_by=world.a.director)

    def held(n):
        with writing():
            for i in range(n):
                MarkEntry.objects.create(
                    organization=a,
                    student=world.a.student,
                    lesson=lesson,
                    field=MarkEntry.Field.MARK,
                    value=str(1 + i % 10),
                    stamp=closure.stamp + 1 + i,
                )

    client = signed_in(world.a.director)
    held(1)
    with CaptureQueriesContext(connection) as one:
        page = text(client.get(f"/sync/school/{a.pk}/"))
    assert world.a.student.short_name in page and lesson.assignment.subject.name in page
    held(12)
    with django_assert_max_num_queries(len(one)):
        page = text(client.get(f"/sync/school/{a.pk}/"))
    assert page.count(world.a.student.short_name) == 13
