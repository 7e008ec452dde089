"""The area overview for district and region officers and ministry analysts: aggregates only.

One report, three forms: the page (a table and its charts), a CSV file and an XLSX workbook, each
under the same filters and each showing exactly the same cells.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from birtutas.kernel.tabular import csv_response, xlsx_response
from birtutas.registry.permissions import Actor

from . import filters, tables
from .queries import MIN_GROUP, area_report


def _report(request):
    return area_report(Actor.for_user(request.user), request.GET, get_language() or "kk")


@require_safe
@login_required
def area(request):
    report = _report(request)
    table = tables.table(report)
    return render(
        request,
        "analytics/area.html",
        {
            "report": report,
            "table": table,
            "charts": tables.chart_list(report, table),
            "period": tables.period(report),
            "notes": tables.notes(),
            "terms": filters.TERMS,
            "min_group": MIN_GROUP,
        },
    )


def _filename(report, extension: str) -> str:
    where = (
        f"district-{report.district.pk}"
        if report.district
        else (f"region-{report.region.pk}" if report.region else "all")
    )
    when = f"{report.year or 'no-year'}-{f'term-{report.term}' if report.term else 'year'}"
    return f"area-{where}-{when}.{extension}"


@require_safe
@login_required
def area_csv(request):
    report = _report(request)
    table = tables.table(report)
    return csv_response(_filename(report, "csv"), table.header, tables.export_rows(table))


@require_safe
@login_required
def area_xlsx(request):
    report = _report(request)
    table = tables.table(report)
    notes = [[tables.period(report)], *[[note] for note in tables.notes()]]
    sheets = [(table.caption, table.header, tables.export_rows(table)), (_("Notes"), [table.caption], notes)]
    return xlsx_response(_filename(report, "xlsx"), sheets)
