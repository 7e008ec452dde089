"""Journal and diary pages: parse the request, call a query or a service, render. Nothing else."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import floatformat
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from birtutas.kernel import clock
from birtutas.kernel.errors import Forbidden, ServiceError, raise_refusal
from birtutas.kernel.parsing import require_date, to_date, to_int
from birtutas.registry import queries as registry_queries
from birtutas.registry.permissions import Action, Actor, may
from birtutas.registry.queries import person_history

from . import queries, rules, services


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


# ------------------------------------------------------------------ teacher


@login_required
def journal_index(request):
    actor = _actor(request)
    assignments = list(queries.teacher_assignments(actor))
    taught = [a for a in assignments if a.teacher_id == actor.person_id]
    led = [a for a in assignments if a.teacher_id != actor.person_id]
    return render(request, "journal/index.html", {"taught": taught, "led": led, "term": queries.current_term()})


@login_required
@require_GET
def journal_today(request):
    """The teacher's lessons of the school's date (or of ?day=), each one tap from its cells."""
    day = to_date(request.GET.get("day")) or clock.today()
    previous, following = rules.neighbouring_school_days(day)
    return render(
        request,
        "journal/today.html",
        {"plan": queries.teacher_day(_actor(request), day), "previous": previous, "next": following},
    )


@login_required
@require_http_methods(["GET", "POST"])
def journal_grid(request, assignment_id: int, term_id: int):
    actor = _actor(request)
    grid = queries.journal_grid(actor, assignment_id, term_id)
    if request.method == "POST":
        if not grid.writable:  # the director, the class teacher: they read the journal, never write it
            raise Forbidden(_("You may not make this change."))
        return _save_grid(request, grid)
    language = get_language() or "kk"
    for row in grid.rows:
        row.inputs = [
            (lesson.pk, rules.format_cell(*row.cells.get(lesson.pk, (None, None)), language)) for lesson in grid.lessons
        ]
        row.work_inputs = [(work.pk, row.points.get(work.pk, "")) for work in grid.works]
    return render(
        request,
        "journal/grid.html",
        {
            "grid": grid,
            "kinds": dict(rules.ATTENDANCE_CODES),
            "letters": rules.letters_for(language),
        },
    )


def _save_grid(request, grid: queries.JournalGrid):
    """The no-JavaScript path: the whole grid is posted; only cells whose value changed are written."""
    errors = []
    changed = 0
    student_ids = {row.student.pk: row for row in grid.rows}
    lesson_ids = {lesson.pk for lesson in grid.lessons}
    work_ids = {work.pk for work in grid.works}
    for name, value in request.POST.items():
        kind, _sep, rest = name.partition("-")
        first, _sep, second = rest.partition("-")
        object_id, student_id = to_int(first), to_int(second)
        row = student_ids.get(student_id)
        if row is None:
            continue
        try:
            if kind == "c" and object_id in lesson_ids:
                entry = rules.parse_cell(value)
                if (entry.mark, entry.attendance) == row.cells.get(object_id, (None, None)):
                    continue
                services.update_cell(request.user, object_id, student_id, mark=entry.mark, attendance=entry.attendance)
                changed += 1
            elif kind == "w" and object_id in work_ids:
                current = row.points.get(object_id)
                new = to_int(value) if value.strip() else None
                if value.strip() and new is None:
                    raise ServiceError(_("Points must be a whole number."))
                if new == current:
                    continue
                services.set_points(request.user, object_id, student_id, new)
                changed += 1
        except (ServiceError, rules.RuleError) as error:
            raise_refusal(error)
            errors.append(
                _("%(student)s: %(error)s (typed: «%(value)s»)")
                % {"student": row.student.short_name, "error": error.message, "value": value}
            )
    if errors:
        for error in errors:
            messages.error(request, error)
    if changed:
        messages.success(request, _("Saved %(count)d changes.") % {"count": changed})
    elif not errors:
        messages.info(request, _("Nothing changed."))
    return redirect(request.path)


@login_required
@require_POST
def journal_cell(request, lesson_id: int, student_id: int):
    """The enhanced path: one cell per request, answered with JSON for the page's script."""
    value = request.POST.get("value", "")
    try:
        entry = services.set_cell(request.user, lesson_id, student_id, value)
    except (ServiceError, rules.RuleError) as error:
        raise_refusal(error)
        return JsonResponse({"ok": False, "error": str(error.message)}, status=getattr(error, "status", 400))
    return JsonResponse(
        {
            "ok": True,
            "value": rules.format_cell(entry.mark, entry.attendance, get_language() or "kk"),
            **_row_result(request, student_id, lesson_id=lesson_id),
        }
    )


@login_required
@require_POST
def journal_points(request, work_id: int, student_id: int):
    value = request.POST.get("value", "").strip()
    try:
        points = to_int(value) if value else None
        if value and points is None:
            raise ServiceError(_("Points must be a whole number."))
        services.set_points(request.user, work_id, student_id, points)
    except (ServiceError, rules.RuleError) as error:
        raise_refusal(error)
        return JsonResponse({"ok": False, "error": str(error.message)}, status=getattr(error, "status", 400))
    value = "" if points is None else str(points)
    return JsonResponse({"ok": True, "value": value, **_row_result(request, student_id, work_id=work_id)})


def _row_result(request, student_id: int, **cell) -> dict:
    """The row's new term percent and grade, formatted as the grid page shows them, for the script to put in place."""
    percent, grade = queries.row_result(_actor(request), student_id, **cell)
    return {"percent": "" if percent is None else floatformat(percent, 1), "grade": "" if grade is None else str(grade)}


@login_required
@require_http_methods(["GET", "POST"])
def lesson_edit(request, lesson_id: int):
    actor = _actor(request)
    lesson = queries.visible_lesson(actor, lesson_id)
    objectives = list(queries.lesson_objectives(lesson))
    # What the form shows: the saved lesson, or after a refused save everything as it was typed.
    typed = {
        "topic": lesson.topic,
        "homework": lesson.homework,
        "homework_due": lesson.homework_due.isoformat() if lesson.homework_due else "",
        "chosen": {str(pk) for pk in lesson.objectives.values_list("pk", flat=True)},
    }
    can_edit = may(actor, Action.CHANGE, lesson)
    if request.method == "POST":
        if not can_edit:
            raise Forbidden(_("You may not make this change."))
        typed = {
            "topic": request.POST.get("topic", ""),
            "homework": request.POST.get("homework", ""),
            "homework_due": request.POST.get("homework_due", "").strip(),
            "chosen": set(request.POST.getlist("objectives")),
        }
        try:
            due = require_date(typed["homework_due"])
            services.update_lesson(
                request.user,
                lesson_id,
                topic=typed["topic"],
                homework=typed["homework"],
                homework_due=due,
                objective_ids=[to_int(pk) or 0 for pk in typed["chosen"]],
            )
        except ServiceError as error:
            raise_refusal(error)
            messages.error(request, error.message)
        else:
            messages.success(request, _("The lesson is saved."))
            return redirect("journal:grid", assignment_id=lesson.assignment_id, term_id=lesson.term_id)
    return render(
        request,
        "journal/lesson.html",
        {
            "lesson": lesson,
            "objectives": objectives,
            "typed": typed,
            "can_edit": can_edit,
        },
    )


@login_required
@require_POST
def summative_create(request, assignment_id: int, term_id: int):
    try:
        services.create_summative(
            request.user,
            assignment_id,
            term_id,
            kind=request.POST.get("kind", ""),
            title=request.POST.get("title", ""),
            max_points=to_int(request.POST.get("max_points")) or 0,
            date=to_date(request.POST.get("date")) or dt.date.min,
        )
    except ServiceError as error:
        raise_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, _("The summative work is added."))
    return redirect("journal:grid", assignment_id=assignment_id, term_id=term_id)


@login_required
@require_POST
def change_request(request, assignment_id: int, term_id: int):
    """Ask the director to change a cell of a closed term."""
    target = request.POST.get("cell", "")
    kind, _sep, object_id = target.partition("-")
    try:
        assignment = services.teachable_assignment(request.user, assignment_id)
        queries.get_term(term_id, year_id=assignment.school_class.year_id)
        services.request_change(
            request.user,
            student_id=to_int(request.POST.get("student")) or 0,
            lesson_id=to_int(object_id) if kind == "c" else None,
            work_id=to_int(object_id) if kind == "w" else None,
            new_value=request.POST.get("value", ""),
            reason=request.POST.get("reason", ""),
        )
    except (ServiceError, rules.RuleError) as error:
        raise_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your request is sent to the director."))
    return redirect("journal:grid", assignment_id=assignment_id, term_id=term_id)


@login_required
@require_GET
def school_journals(request, organization_id: int):
    """Every journal of the school, for its administration to open and read."""
    actor = _actor(request)
    organization = queries.directed_organization(actor, organization_id)
    return render(
        request,
        "journal/journals.html",
        {"organization": organization, "journals": queries.school_journals(actor, organization)},
    )


# ------------------------------------------------------------------ student and guardian


@login_required
def diary_index(request):
    student_id = queries.diary_start(_actor(request))
    if student_id is None:
        raise Http404
    return redirect("diary:week", student_id=student_id)


@login_required
def diary_week(request, student_id: int):
    actor = _actor(request)
    week = to_date(request.GET.get("week")) or clock.today()
    student, school_class, days = queries.diary_week(actor, student_id, week)
    monday = days[0].date
    return render(
        request,
        "journal/diary.html",
        {
            "student": student,
            "school_class": school_class,
            "days": days,
            "children": queries.diary_students(actor),
            "previous": monday - dt.timedelta(days=7),
            "next": monday + dt.timedelta(days=7),
            "today": clock.today(),
        },
    )


@login_required
def diary_summary(request, student_id: int):
    actor = _actor(request)
    term = queries.requested_term(request.GET.get("term"))
    if term is None:
        raise Http404
    student, school_class, subjects, closed = queries.term_summary(actor, student_id, term)
    return render(
        request,
        "journal/summary.html",
        {
            "student": student,
            "school_class": school_class,
            "subjects": subjects,
            "has_year": any(s.year_grade is not None for s in subjects),
            "closed": closed,
            "term": term,
            "terms": registry_queries.terms_of(term.year_id),
            "children": queries.diary_students(actor),
        },
    )


@login_required
def diary_history(request, student_id: int):
    """What was recorded about a student (marks, absences, grades, account), for the student and family."""
    actor = _actor(request)
    if student_id != actor.person_id and student_id not in actor.ward_ids:
        raise Http404
    student = queries.visible_student(actor, student_id)
    events = person_history(actor, student.pk).select_related("actor__person")
    return render(request, "journal/history.html", {"person": student, "events": list(events[:500])})
