"""Tables handed to people as files: XLSX for spreadsheets, CSV for everything else.

Both keep numbers as numbers and dates as dates, and neither lets a cell become a formula: a text
that starts with "=", "+", "-", "@" or a tab would run as one when the file is opened
(CSV injection), so such text is written as text (XLSX) or with a leading apostrophe (CSV).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.http import HttpResponse
from django.utils.http import content_disposition_header

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

Sheet = tuple[str, Sequence[str], Iterable[Sequence]]


def _is_number(value) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def sheet_title(title: str) -> str:
    """Excel's rules for a sheet's name: at most 31 characters, none of []:*?/\\."""
    return re.sub(r"[\[\]:*?/\\]", " ", str(title)).strip()[:31] or "Sheet"


def workbook(sheets: Sequence[Sheet]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    bold = Font(bold=True)
    for title, header, rows in sheets:
        sheet = book.create_sheet(sheet_title(title))
        sheet.freeze_panes = "A2"
        heading = []
        for name in header:
            cell = WriteOnlyCell(sheet, value=str(name))
            cell.data_type = "s"  # a column may be named by what a teacher typed (a work's title)
            cell.font = bold
            heading.append(cell)
        sheet.append(heading)
        for row in rows:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
                if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                    cell.number_format = "DD.MM.YYYY"
                elif isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                cells.append(cell)
            sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _xlsx_value(value):
    if value is None or _is_number(value) or isinstance(value, dt.date):
        return value
    return str(value)


def _csv_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    if not _is_number(value) and text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_csv_value(h) for h in header])
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
    return out.getvalue()


def _attachment(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


def xlsx_response(filename: str, sheets: Sequence[Sheet]) -> HttpResponse:
    return _attachment(workbook(sheets), XLSX, filename)


def csv_response(filename: str, header: Sequence[str], rows: Iterable[Sequence]) -> HttpResponse:
    # With a byte-order mark, spreadsheets in Kazakh and Russian locales open UTF-8 as UTF-8.
    return _attachment(("\ufeff" + csv_text(header, rows)).encode(), "text/csv; charset=utf-8", filename)
