"""The director's report pages and the journal's exports: parse, read, render a printable page or a
spreadsheet (`?format=xlsx`). Nothing else."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_safe

from birtutas.kernel import clock
from birtutas.kernel.errors import ServiceError, raise_refusal
from birtutas.kernel.tabular import xlsx_response
from birtutas.registry.permissions import Actor
from birtutas.registry.queries import terms_of

from . import queries, reports

XLSX = "xlsx"


def _actor(request) -> Actor:
    return Actor.for_user(request.user)


def _page(request, template: str, export: reports.Export, query: dict, **context):
    if request.GET.get("format") == XLSX:
        return xlsx_response(f"{export.filename}.xlsx", export.sheets())
    return render(
        request,
        template,
        {"export": export, "xlsx_query": urlencode({**query, "format": XLSX}), "today": clock.today(), **context},
    )


@login_required
@require_safe
def attendance(request, class_id: int):
    """Attendance of a class over a term (`?term=`, the current one by default) or any days of its
    school year (`?from=&to=`); bad dates are refused on the page itself, in the reader's language."""
    school_class = queries.directed_class(_actor(request), class_id)  # "not found" before any 400
    terms = terms_of(school_class.year_id)
    first, last = request.GET.get("from", ""), request.GET.get("to", "")
    try:
        report = reports.attendance_report(school_class, terms, term=request.GET.get("term"), first=first, last=last)
    except ServiceError as error:
        raise_refusal(error)
        context = {"school_class": school_class, "terms": terms, "error": error.message, "first": first, "last": last}
        return render(request, "journal/reports/attendance.html", context, status=error.status)
    period = report.period
    if period.term is not None:
        query = {"term": period.term.pk}
    else:
        query = {"from": period.first.isoformat(), "to": period.last.isoformat()}
    return _page(
        request,
        "journal/reports/attendance.html",
        report.export,
        query,
        school_class=school_class,
        terms=terms,
        period=period,
        counted_until=report.counted_until,
        first=period.first.isoformat(),
        last=period.last.isoformat(),
    )


@login_required
@require_safe
def grades(request, class_id: int):
    report = reports.class_grades(_actor(request), class_id, request.GET.get("term"))
    return _page(
        request,
        "journal/reports/grades.html",
        report.export,
        {"term": report.term.pk},
        school_class=report.school_class,
        term=report.term,
        terms=report.terms,
    )


@login_required
@require_safe
def journal(request, assignment_id: int, term_id: int):
    export = reports.class_journal(_actor(request), assignment_id, term_id)
    context = {"assignment_id": assignment_id, "term_id": term_id}
    return _page(request, "journal/reports/journal.html", export, {}, **context)
