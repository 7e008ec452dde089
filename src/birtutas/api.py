"""The JSON API at /api/v1/ (OpenAPI 3 at /api/v1/openapi.json, docs at /api/v1/docs).

Mobile apps and integrations authenticate with a bearer token from POST /api/v1/auth/token;
a signed-in browser session works for reading. Handlers are thin: parse, call a query or a
service, render. Errors carry a message in the language of the Accept-Language header.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

from django.contrib.auth import authenticate
from django.http import Http404, HttpResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Router, Schema
from ninja.security import HttpBearer, SessionAuth
from pydantic import Field, StrictInt, StrictStr

from birtutas.journal import queries, rules, services
from birtutas.kernel import clock
from birtutas.kernel.errors import ServiceError
from birtutas.kernel.parsing import DATE_MAX, DATE_MIN, MAX_ID
from birtutas.registry.permissions import Actor
from birtutas.registry.rules import mask_iin
from birtutas.registry.services import issue_api_token, revoke_api_token, user_for_token
from birtutas.web import throttle


class BearerToken(HttpBearer):
    def authenticate(self, request, token):
        user = user_for_token(token)
        if user is not None:
            request.user = user
        return user


class ReadOnlySession(SessionAuth):
    """A browser session may read; writes need a token, which cross-site requests cannot carry."""

    def __call__(self, request):
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            return None
        return super().__call__(request)


api = NinjaAPI(
    title="Birtutas API",
    version="1",
    description="Diary, journal, marks and attendance of the Birtutas education platform.",
    auth=[BearerToken(), ReadOnlySession()],
    urls_namespace="api",
)


@api.exception_handler(ServiceError)
def service_error(request, error: ServiceError):
    return api.create_response(request, {"detail": str(error.message)}, status=error.status)


@api.exception_handler(rules.RuleError)
def rule_error(request, error: rules.RuleError):
    return api.create_response(request, {"detail": str(error.message)}, status=400)


@api.exception_handler(Http404)
def not_found(request, error):
    return api.create_response(request, {"detail": _("Not found.")}, status=404)


def _actor(request) -> Actor:
    return Actor.for_user(request.auth)


# Bounds on what a client sends: an id that no column can hold or a date that date arithmetic cannot
# reach is a 422 with its reason, never an overflow. Bodies are strict: `true` or 7.5 is not a mark.
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
SchoolDate = Annotated[dt.date, Field(ge=DATE_MIN, le=DATE_MAX)]


class Message(Schema):
    detail: str


# ------------------------------------------------------------------ auth

auth_router = Router(tags=["auth"])


class Credentials(Schema):
    username: Annotated[StrictStr, Field(max_length=150)]
    password: Annotated[StrictStr, Field(max_length=1024)]
    label: Annotated[StrictStr, Field(max_length=100)] = ""


class TokenOut(Schema):
    token: str


@auth_router.post("/token", auth=None, response={200: TokenOut, 401: Message, 429: Message})
def create_token(request, credentials: Credentials, response: HttpResponse):
    """Exchange a username and password for a bearer token (shown once; keep it secret).

    Throttled as the sign-in page is; an app that keeps the device cookie this sets is never
    held back by strangers' wrong guesses at the same account.
    """
    if throttle.refusal(request, credentials.username) is not None:
        return 429, {"detail": _("Too many failed sign-in attempts. Try again later.")}
    user = authenticate(request, username=credentials.username, password=credentials.password)
    if user is None:
        throttle.record_failure(request, credentials.username)
        return 401, {"detail": _("The username or password is wrong. Both are case-sensitive.")}
    throttle.record_success(request, response, credentials.username)
    return 200, {"token": issue_api_token(user, credentials.label)}


@auth_router.delete("/token", auth=[BearerToken()], response={204: None})
def delete_token(request):
    """Revoke the token this request was made with."""
    revoke_api_token(request.auth, request.headers.get("Authorization", "").partition(" ")[2])
    return 204, None


# ------------------------------------------------------------------ me


class PersonOut(Schema):
    id: int
    name: str
    iin_masked: str


class MeOut(Schema):
    username: str
    person: PersonOut | None
    roles: list[str]
    children: list[PersonOut]


def _person(p) -> dict:
    return {"id": p.pk, "name": p.full_name, "iin_masked": mask_iin(p.iin)}


@api.get("/me", response=MeOut, tags=["me"])
def me(request):
    """Who the token belongs to, their roles and the children whose diary they may open."""
    actor = _actor(request)
    user = request.auth
    return {
        "username": user.username,
        "person": _person(user.person) if user.person else None,
        "roles": sorted(actor.roles()),
        "children": [_person(p) for p in queries.diary_students(actor) if p.pk != actor.person_id],
    }


# ------------------------------------------------------------------ diary

diary_router = Router(tags=["diary"])


class WorkOut(Schema):
    title: str
    kind: str
    points: int
    max_points: int


class DueOut(Schema):
    lesson_id: int
    subject: str
    homework: str
    set_on: dt.date


class DiaryLessonOut(Schema):
    lesson_id: int
    period: int
    starts: dt.time | None
    ends: dt.time | None
    subject: str
    teacher: str
    room: str
    topic: str
    homework: str
    homework_due: dt.date | None
    mark: int | None
    attendance: str | None
    summatives: list[WorkOut]
    homework_due_now: list[DueOut]


class DiaryDayOut(Schema):
    date: dt.date
    lessons: list[DiaryLessonOut]
    homework_due: list[DueOut]


class DiaryWeekOut(Schema):
    student: PersonOut
    school_class: str | None
    days: list[DiaryDayOut]


def _due(lesson) -> dict:
    """Homework set at an earlier lesson and due on this day (or at this lesson)."""
    return {
        "lesson_id": lesson.pk,
        "subject": lesson.assignment.subject.name,
        "homework": lesson.homework,
        "set_on": lesson.date,
    }


@diary_router.get("/{student_id}", response=DiaryWeekOut)
def diary_week(request, student_id: ObjectId, week: SchoolDate | None = None):
    """A student's week: timetable, topics, homework, marks and absences."""
    student, school_class, days = queries.diary_week(_actor(request), student_id, week or clock.today())
    return {
        "student": _person(student),
        "school_class": school_class.name if school_class else None,
        "days": [
            {
                "date": day.date,
                "lessons": [
                    {
                        "lesson_id": e.lesson.pk,
                        "period": e.lesson.period,
                        "starts": e.starts,
                        "ends": e.ends,
                        "subject": e.subject,
                        "teacher": e.teacher,
                        "room": e.room,
                        "topic": e.lesson.topic,
                        "homework": e.lesson.homework,
                        "homework_due": e.lesson.homework_due,
                        "mark": e.mark,
                        "attendance": e.attendance,
                        "summatives": [
                            {"title": w.title, "kind": w.kind, "points": v, "max_points": w.max_points}
                            for w, v in e.works
                        ],
                        "homework_due_now": [_due(h) for h in e.due],
                    }
                    for e in day.entries
                ],
                "homework_due": [_due(h) for h in day.due],
            }
            for day in days
        ],
    }


class SubjectResultOut(Schema):
    subject: str
    formative: list[int]
    absences: int
    late: int
    percent: Decimal | None
    grade: int | None


class SummaryOut(Schema):
    student: PersonOut
    term: int
    closed: bool
    subjects: list[SubjectResultOut]


@diary_router.get("/{student_id}/summary", response=SummaryOut)
def diary_summary(request, student_id: ObjectId, term_id: ObjectId | None = None):
    """Per subject: formative marks, absences, the term percentage and grade."""
    term = queries.requested_term(term_id)
    if term is None:
        raise Http404
    student, _class, subjects, closed = queries.term_summary(_actor(request), student_id, term)
    return {
        "student": _person(student),
        "term": term.number,
        "closed": closed,
        "subjects": [
            {
                "subject": s.subject,
                "formative": s.formative,
                "absences": s.absences,
                "late": s.late,
                "percent": s.percent,
                "grade": s.grade,
            }
            for s in subjects
        ],
    }


# ------------------------------------------------------------------ journal

journal_router = Router(tags=["journal"])


class AssignmentOut(Schema):
    id: int
    school_class: str
    subject: str
    hours_per_week: int


@journal_router.get("/", response=list[AssignmentOut])
def journal_index(request):
    """The class-subjects the caller teaches."""
    return [
        {"id": a.pk, "school_class": a.school_class.name, "subject": a.subject.name, "hours_per_week": a.hours_per_week}
        for a in queries.teacher_assignments(_actor(request))
    ]


class LessonOut(Schema):
    id: int
    date: dt.date
    period: int
    topic: str
    homework: str


class SummativeOut(Schema):
    id: int
    kind: str
    title: str
    max_points: int
    date: dt.date


class RowOut(Schema):
    student: PersonOut
    marks: dict[int, int]
    attendance: dict[int, str]
    points: dict[int, int]
    percent: Decimal | None
    grade: int | None


class GridOut(Schema):
    assignment: AssignmentOut
    term: int
    closed: bool
    lessons: list[LessonOut]
    summatives: list[SummativeOut]
    rows: list[RowOut]


@journal_router.get("/{assignment_id}/terms/{term_id}", response=GridOut)
def journal_grid(request, assignment_id: ObjectId, term_id: ObjectId):
    """The journal of one class-subject for one term: lessons, summatives, every student's marks."""
    grid = queries.journal_grid(_actor(request), assignment_id, term_id)
    a = grid.assignment
    return {
        "assignment": {
            "id": a.pk,
            "school_class": a.school_class.name,
            "subject": a.subject.name,
            "hours_per_week": a.hours_per_week,
        },
        "term": grid.term.number,
        "closed": grid.closed,
        "lessons": [
            {"id": x.pk, "date": x.date, "period": x.period, "topic": x.topic, "homework": x.homework}
            for x in grid.lessons
        ],
        "summatives": [
            {"id": w.pk, "kind": w.kind, "title": w.title, "max_points": w.max_points, "date": w.date}
            for w in grid.works
        ],
        "rows": [
            {
                "student": _person(r.student),
                "marks": {k: v[0] for k, v in r.cells.items() if v[0] is not None},
                "attendance": {k: v[1] for k, v in r.cells.items() if v[1] is not None},
                "points": r.points,
                "percent": r.percent,
                "grade": r.grade,
            }
            for r in grid.rows
        ],
    }


class MarkIn(Schema):
    value: StrictInt | None


class AttendanceIn(Schema):
    status: Annotated[StrictStr, Field(max_length=20)] | None


class PointsIn(Schema):
    points: StrictInt | None


class CellOut(Schema):
    mark: int | None
    attendance: str | None
    text: str


def _cell(entry: rules.CellEntry) -> dict:
    return {
        "mark": entry.mark,
        "attendance": entry.attendance,
        "text": rules.format_cell(entry.mark, entry.attendance, get_language() or "kk"),
    }


@journal_router.put(
    "/lessons/{lesson_id}/students/{student_id}/mark",
    response={200: CellOut, 400: Message, 403: Message, 404: Message, 409: Message},
)
def put_mark(request, lesson_id: ObjectId, student_id: ObjectId, body: MarkIn):
    """Set (or clear, with null) a formative mark 1–10. Repeating the call changes nothing."""
    return _cell(services.update_cell(request.auth, lesson_id, student_id, mark=body.value))


@journal_router.put(
    "/lessons/{lesson_id}/students/{student_id}/attendance",
    response={200: CellOut, 400: Message, 403: Message, 404: Message, 409: Message},
)
def put_attendance(request, lesson_id: ObjectId, student_id: ObjectId, body: AttendanceIn):
    """Set the attendance status (illness, excused, unexcused, late), or null for present."""
    return _cell(services.update_cell(request.auth, lesson_id, student_id, attendance=body.status))


@journal_router.put(
    "/works/{work_id}/students/{student_id}/points",
    response={200: PointsIn, 400: Message, 403: Message, 404: Message, 409: Message},
)
def put_points(request, work_id: ObjectId, student_id: ObjectId, body: PointsIn):
    """Set (or clear) the points scored on a unit or term summative, 0 to its maximum."""
    services.set_points(request.auth, work_id, student_id, body.points)
    return {"points": body.points}


api.add_router("/auth", auth_router)
api.add_router("/diary", diary_router)
api.add_router("/journal", journal_router)
