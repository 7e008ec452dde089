"""The director's pages: onboarding, timetable, teaching load, term closing, reports, cell history."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from birtutas.kernel.collation import namesakes, sorted_by_name
from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.kernel.events import Event
from birtutas.kernel.parsing import to_int
from birtutas.registry import queries as registry_queries
from birtutas.registry.permissions import Actor
from birtutas.registry.queries import history

from . import bells, onboarding, queries, rules, services
from .models import Attendance, Subject

ATTENDANCE_EVENTS = (Event.ATTENDANCE_SET, Event.ATTENDANCE_CLEAR)
CELL_EVENTS = (Event.MARK_SET, Event.MARK_CLEAR, *ATTENDANCE_EVENTS)
PERIOD_NUMBERS = range(1, 9)


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


@login_required
def school_index(request):
    organizations = queries.directed_organizations(_actor(request))
    if not organizations:
        raise Http404
    return redirect("school:dashboard", organization_id=organizations[0].pk)


@login_required
def dashboard(request, organization_id: int):
    actor = _actor(request)
    organization = queries.directed_organization(_actor(request), organization_id)
    term = queries.current_term(organization_id=organization.pk)
    return render(
        request,
        "journal/school/dashboard.html",
        {
            "organization": organization,
            "classes": list(queries.organization_classes(actor, organization)),
            "terms": registry_queries.terms_of(term.year_id) if term else [],
            "closures": queries.closures(organization),
            "requests": list(queries.pending_change_requests(actor, organization)),
            "term": term,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def close_term(request, organization_id: int, term_id: int):
    """The preview of what is missing, then the closing, confirmed with that very preview in front."""
    organization = queries.directed_organization(_actor(request), organization_id)
    term = queries.get_term(term_id, organization_id=organization.pk)
    if request.method == "POST":
        if request.POST.get("confirm") != "yes":
            messages.error(request, _("Tick the box to confirm that the term should be closed."))
        else:
            try:
                services.close_term(
                    request.user, organization.pk, term.pk, confirmed_digest=request.POST.get("digest", "")
                )
            except (ServiceError, rules.RuleError) as error:
                raise_refusal(error)
                messages.error(request, error.message)
            else:
                messages.success(request, _("The term is closed and its grades are final."))
                return redirect("school:dashboard", organization_id=organization.pk)
    preview = queries.close_preview(organization, term)
    return render(
        request,
        "journal/school/close.html",
        {
            "organization": organization,
            "term": term,
            "preview": preview,
            "digest": services.preview_digest(preview),
            "last_day": queries.last_school_day(organization.pk, term),
            "closed": queries.is_term_closed(organization.pk, term.pk),
        },
    )


@login_required
def area_closures(request):
    """An officer's list of closed terms in their district or region, each with a way to reopen it."""
    actor = _actor(request)
    closures = queries.area_closures(actor)
    if closures is None:
        raise Http404
    return render(request, "journal/school/closures.html", {"closures": closures})


@login_required
@require_POST
def reopen_term(request, organization_id: int, term_id: int):
    try:
        services.reopen_term(request.user, organization_id, term_id, reason=request.POST.get("reason", ""))
    except ServiceError as error:
        raise_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("The term is reopened: its marks can be corrected, then the school closes it again.")
        )
    return redirect("school:area_closures")


@login_required
@require_POST
def decide_request(request, request_id: int):
    approve = request.POST.get("decision") == "approve"
    try:
        change = services.decide_change(request.user, request_id, approve=approve)
    except ServiceError as error:
        raise_refusal(error)
        messages.error(request, error.message)
        return redirect("school:index")
    messages.success(request, _("The change is applied.") if approve else _("The request is rejected."))
    return redirect("school:dashboard", organization_id=change.organization_id)


@login_required
@require_http_methods(["GET", "POST"])
def import_csv(request, organization_id: int):
    """Upload, preview, confirm and follow a CSV import; checking and writing run as background jobs."""
    from django.urls import reverse
    from django.utils.translation import get_language

    from . import tasks

    organization = queries.directed_organization(_actor(request), organization_id)
    here = reverse("school:import", args=[organization.pk])
    if request.method == "POST" and request.POST.get("job"):
        job_id = to_int(request.POST.get("job")) or 0
        try:
            job = onboarding.confirm_job(request.user, organization.pk, job_id, request.POST.get("digest", ""))
        except ServiceError as error:
            raise_refusal(error)
            messages.error(request, error.message)
        else:
            tasks.apply_import.delay(job.pk)
        return redirect(f"{here}?job={job_id}")
    if request.method == "POST":
        uploads = {name: request.FILES[name] for name in onboarding.FILE_ORDER if name in request.FILES}
        term = queries.current_term()
        try:
            onboarding.refuse_size(sum(upload.size for upload in uploads.values()))
            if term is None:
                raise ServiceError(_("There is no school year to import into yet."))
            files = {name: upload.read() for name, upload in uploads.items()}
            job = onboarding.start_job(request.user, organization.pk, term.year_id, files, language=get_language())
        except ServiceError as error:
            raise_refusal(error)
            messages.error(request, error.message)
        else:
            tasks.check_import.delay(job.pk)
            return redirect(f"{here}?job={job.pk}")
    job = None
    if request.GET.get("job"):
        job = onboarding.visible_job(request.user, organization.pk, to_int(request.GET.get("job")) or 0)
    return render(
        request,
        "journal/school/import.html",
        {"organization": organization, "columns": onboarding.FILE_COLUMNS, **onboarding.describe_job(job)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def timetable(request, class_id: int):
    school_class = queries.directed_class(_actor(request), class_id)
    if request.method == "POST":
        try:
            services.set_timetable_slot(
                request.user,
                school_class.pk,
                to_int(request.POST.get("weekday")) or 0,
                to_int(request.POST.get("period")) or 0,
                to_int(request.POST.get("assignment")),
                request.POST.get("room", ""),
            )
        except ServiceError as error:
            raise_refusal(error)
            messages.error(request, error.message)
        else:
            messages.success(request, _("The timetable is saved."))
        return redirect("school:timetable", class_id=class_id)
    slots = queries.class_timetable(school_class)
    grid = [(p, [(d, slots.get((d, p))) for d in rules.SCHOOL_WEEKDAYS]) for p in PERIOD_NUMBERS]
    return render(
        request,
        "journal/school/timetable.html",
        {
            "school_class": school_class,
            "grid": grid,
            "weekdays": rules.SCHOOL_WEEKDAYS,
            "assignments": list(queries.class_assignments(school_class)),
            "shifts": bells.SHIFTS,
        },
    )


@login_required
@require_POST
def class_shift(request, class_id: int):
    try:
        changed = bells.set_class_shift(request.user, class_id, to_int(request.POST.get("shift")) or 0)
    except (ServiceError, rules.RuleError) as error:
        raise_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, _("The shift is saved.") if changed else _("Nothing changed."))
    return redirect("school:timetable", class_id=class_id)


@login_required
@require_POST
def schedule_term(request, class_id: int):
    term = queries.current_term()
    try:
        created = services.schedule_term(request.user, class_id, term.pk if term else 0)
    except ServiceError as error:
        raise_refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, _("Lessons added to the term: %(count)d.") % {"count": created})
    return redirect("school:timetable", class_id=class_id)


@login_required
@require_http_methods(["GET", "POST"])
def teaching_load(request, class_id: int):
    school_class = queries.directed_class(_actor(request), class_id)
    if request.method == "POST":
        subject_id = to_int(request.POST.get("subject"))
        if subject_id is None or not Subject.objects.filter(pk=subject_id).exists():
            raise Http404  # a subject the form never offered: never saved as a dangling reference
        try:
            services.set_teaching_assignment(
                request.user,
                school_class.pk,
                subject_id,
                to_int(request.POST.get("teacher")),
                to_int(request.POST.get("hours")) or 0,
            )
        except ServiceError as error:
            raise_refusal(error)
            messages.error(request, error.message)
        else:
            messages.success(request, _("The teaching load is saved."))
        return redirect("school:load", class_id=class_id)
    language = get_language()
    teachers = queries.school_teachers(_actor(request), school_class.organization_id)
    return render(
        request,
        "journal/school/load.html",
        {
            "school_class": school_class,
            "assignments": sorted_by_name(queries.class_assignments(school_class), language, lambda a: a.subject.name),
            "subjects": sorted_by_name(Subject.objects.all(), language),
            "teachers": teachers,
            "namesakes": namesakes(teachers),
        },
    )


@login_required
def class_report(request, class_id: int):
    school_class = queries.directed_class(_actor(request), class_id)
    term = queries.requested_term(request.GET.get("term"), year_id=school_class.year_id)
    if term is None:
        raise Http404
    assignments, rows = queries.class_report(school_class, term)
    for row in rows:
        row.cells = [row.grades[a.pk] for a in assignments]
    return render(
        request,
        "journal/school/report.html",
        {
            "school_class": school_class,
            "term": term,
            "terms": registry_queries.terms_of(term.year_id),
            "assignments": assignments,
            "rows": rows,
            "namesakes": namesakes(row.student for row in rows),
        },
    )


@login_required
def cell_history(request, student_id: int, lesson_id: int):
    actor = _actor(request)
    lesson = queries.directed_lesson(actor, lesson_id)
    student = queries.visible_student(actor, student_id)
    events = history(actor, f"{student_id}:{lesson_id}", CELL_EVENTS)
    labels = dict(Attendance.Status.choices)
    rows = [
        {
            "event": e,
            "what": e.event_label,
            "before": labels.get(e.before, e.before) if e.event in ATTENDANCE_EVENTS else e.before,
            "after": labels.get(e.after, e.after) if e.event in ATTENDANCE_EVENTS else e.after,
        }
        for e in events
    ]
    return render(request, "journal/school/history.html", {"lesson": lesson, "student": student, "rows": rows})


@login_required
def person_history(request, organization_id: int, person_id: int):
    """Everything recorded about one person in this school: the director's view of a person's file."""
    actor = _actor(request)
    organization = queries.directed_organization(actor, organization_id)
    person = queries.school_person(actor, organization, person_id)
    events = (
        registry_queries.person_history(actor, person.pk)
        .filter(organization_id=organization.pk)
        .select_related("actor__person")
    )
    return render(
        request,
        "journal/history.html",
        {"person": person, "events": list(events[:500]), "back": ("school:dashboard", organization.pk)},
    )
