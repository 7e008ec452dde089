"""The JSON API: tokens, the diary, the journal, marks and attendance, OpenAPI."""

from __future__ import annotations

import pytest
from django.test import Client

from birtutas.journal import services
from birtutas.journal.models import Attendance, Mark
from birtutas.kernel.models import AuditEvent
from birtutas.registry.models import ApiToken

pytestmark = pytest.mark.django_db


def token_for(client: Client, username: str, password: str = "correct horse battery") -> str:
    response = client.post(
        "/api/v1/auth/token", {"username": username, "password": password}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return response.json()["token"]


def auth(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_ACCEPT_LANGUAGE": "en"}


def test_tokens_are_issued_for_good_credentials_only_and_stored_hashed(world, client):
    bad = client.post(
        "/api/v1/auth/token", {"username": "teacher_a", "password": "nope"}, content_type="application/json"
    )
    assert bad.status_code == 401
    token = token_for(client, "teacher_a")
    assert not ApiToken.objects.filter(digest=token).exists()
    assert client.get("/api/v1/me", **auth(token)).json()["username"] == "teacher_a"
    assert client.delete("/api/v1/auth/token", **auth(token)).status_code == 204
    assert client.get("/api/v1/me", **auth(token)).status_code == 401


def test_teacher_sets_marks_and_attendance_idempotently(world, client):
    a = world.a
    token = token_for(client, "teacher_a")
    lesson = a.lessons_a[0]
    url = f"/api/v1/journal/lessons/{lesson.pk}/students/{a.student.pk}"
    for _ in range(2):
        response = client.put(f"{url}/mark", {"value": 9}, content_type="application/json", **auth(token))
        assert response.status_code == 200 and response.json()["mark"] == 9
    response = client.put(f"{url}/attendance", {"status": "late"}, content_type="application/json", **auth(token))
    assert response.json() == {"mark": 9, "attendance": "late", "text": "l9"}
    assert Mark.objects.filter(lesson=lesson).count() == 1
    assert Attendance.objects.get(lesson=lesson).status == "late"
    assert AuditEvent.objects.filter(event__startswith="mark.").count() == 1
    refused = client.put(f"{url}/mark", {"value": 11}, content_type="application/json", **auth(token))
    assert refused.status_code == 400 and "from 1 to 10" in refused.json()["detail"]
    refused = client.put(f"{url}/attendance", {"status": "unexcused"}, content_type="application/json", **auth(token))
    assert refused.status_code == 400 and "absent" in refused.json()["detail"]
    grid = client.get(f"/api/v1/journal/{a.assignment_a.pk}/terms/{world.term.pk}", **auth(token)).json()
    row = next(r for r in grid["rows"] if r["student"]["id"] == a.student.pk)
    assert row["marks"] == {str(lesson.pk): 9} and row["attendance"] == {str(lesson.pk): "late"}
    assert "•" in row["student"]["iin_masked"]


def test_guardian_reads_the_diary_and_summary(world, client):
    a = world.a
    teacher = token_for(client, "teacher_a")
    client.put(
        f"/api/v1/journal/lessons/{a.lessons_a[0].pk}/students/{a.student.pk}/mark",
        {"value": 8},
        content_type="application/json",
        **auth(teacher),
    )
    services.update_lesson(
        a.teacher, a.lessons_a[0].pk, topic="Көпмүшелер", homework="§12, 5-жаттығу", homework_due=a.lessons_a[1].date
    )
    token = token_for(client, "parent_a")
    me = client.get("/api/v1/me", **auth(token)).json()
    assert [c["id"] for c in me["children"]] == [a.student.pk]
    week = client.get(f"/api/v1/diary/{a.student.pk}?week=2026-11-16", **auth(token)).json()
    marks = [lesson["mark"] for day in week["days"] for lesson in day["lessons"]]
    assert 8 in marks
    monday = week["days"][0]["lessons"][0]
    assert monday["teacher"] == a.teacher.person.short_name and monday["starts"] is None  # no bell schedule
    assert set(monday) >= {"room", "ends", "homework_due_now"} and "homework_due" in week["days"][0]
    wednesday = week["days"][2]["lessons"][0]
    assert wednesday["homework_due_now"] == [
        {"lesson_id": a.lessons_a[0].pk, "subject": "Algebra", "homework": "§12, 5-жаттығу", "set_on": "2026-11-16"}
    ]
    summary = client.get(f"/api/v1/diary/{a.student.pk}/summary?term_id={world.term.pk}", **auth(token)).json()
    assert summary["subjects"][0]["grade"] == 4  # 8/10 -> 80 %
    assert client.get(f"/api/v1/diary/{a.classmate.pk}", **auth(token)).status_code == 404


def test_a_session_may_read_but_not_write(world):
    a = world.a
    client = Client()
    client.force_login(a.teacher)
    assert client.get("/api/v1/journal/").status_code == 200
    response = client.put(
        f"/api/v1/journal/lessons/{a.lessons_a[0].pk}/students/{a.student.pk}/mark",
        {"value": 5},
        content_type="application/json",
    )
    assert response.status_code == 401
    assert not Mark.objects.exists()


def test_openapi_describes_the_api(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    assert {
        "/api/v1/me",
        "/api/v1/diary/{student_id}",
        "/api/v1/journal/{assignment_id}/terms/{term_id}",
        "/api/v1/journal/lessons/{lesson_id}/students/{student_id}/mark",
    } <= paths
    assert client.get("/api/v1/docs").status_code == 200


def test_json_of_the_wrong_type_is_refused_never_coerced(world, client):
    """`true` is not a mark and 7.5 neither; "7" is text. Each is a 422 naming the field, and nothing is written."""
    a = world.a
    token = token_for(client, "teacher_a")
    url = f"/api/v1/journal/lessons/{a.lessons_a[0].pk}/students/{a.student.pk}"
    work = f"/api/v1/journal/works/{a.work_a.pk}/students/{a.student.pk}/points"
    refused = [
        (f"{url}/mark", {"value": True}),
        (f"{url}/mark", {"value": False}),
        (f"{url}/mark", {"value": 7.5}),
        (f"{url}/mark", {"value": 7.0}),
        (f"{url}/mark", {"value": "7"}),
        (f"{url}/mark", {"value": [7]}),
        (f"{url}/mark", {}),
        (f"{url}/attendance", {"status": 1}),
        (f"{url}/attendance", {"status": True}),
        (f"{url}/attendance", {"status": "late" * 10}),
        (work, {"points": True}),
        (work, {"points": 5.5}),
        (work, {"points": "5"}),
    ]
    for path, body in refused:
        response = client.put(path, body, content_type="application/json", **auth(token))
        assert response.status_code == 422, (path, body, response.status_code)
        assert any(error["loc"][-1] in body or body == {} for error in response.json()["detail"]), response.json()
    assert not Mark.objects.exists() and not Attendance.objects.exists()
    response = client.post(
        "/api/v1/auth/token", {"username": ["teacher_a"], "password": 1}, content_type="application/json"
    )
    assert response.status_code == 422


def test_ids_and_dates_out_of_range_are_a_422_with_the_reason(world, client):
    a = world.a
    token = token_for(client, "parent_a")
    for path in (
        "/api/v1/diary/99999999999999999999",
        "/api/v1/diary/9223372036854775808/summary",
        f"/api/v1/diary/{a.student.pk}/summary?term_id=99999999999999999999",
        f"/api/v1/diary/{a.student.pk}?week=0001-01-01",
        f"/api/v1/diary/{a.student.pk}?week=9999-12-31",
        "/api/v1/diary/0",
    ):
        response = client.get(path, **auth(token))
        assert response.status_code == 422, path
        assert response.json()["detail"][0]["msg"], path
    assert client.get(f"/api/v1/diary/{a.student.pk}?week=2026-11-16", **auth(token)).status_code == 200
