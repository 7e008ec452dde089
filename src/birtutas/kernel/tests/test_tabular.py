import csv
import datetime as dt
import io
from decimal import Decimal

from openpyxl import load_workbook

from birtutas.kernel.tabular import csv_response, sheet_title, xlsx_response

ROWS = [
    ["Әбенов Ерлан", 8, Decimal("84.50"), dt.date(2026, 11, 20), None],
    ['=HYPERLINK("x")', -3, 1.5, "-2", "@sum"],
]


def test_xlsx_keeps_types_and_never_makes_a_formula():
    header = ["Оқушы", "Баға", "%", "Күні", "=1+1"]
    response = xlsx_response("журнал 7Ә.xlsx", [("Журнал: 7 «Ә» [2]", header, ROWS)])
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''%D0%B6" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.active
    assert sheet.title == "Журнал  7 «Ә»  2"
    assert sheet.freeze_panes == "A2"
    assert [c.value for c in sheet[1]] == header and sheet["E1"].data_type == "s"
    assert sheet["A2"].value == "Әбенов Ерлан"
    assert sheet["B2"].value == 8 and sheet["C2"].value == 84.5
    assert sheet["D2"].value == dt.datetime(2026, 11, 20) and sheet["D2"].is_date
    assert sheet["E2"].value is None
    assert sheet["A3"].data_type == "s" and sheet["A3"].value.startswith("=")
    assert sheet["B3"].value == -3 and sheet["D3"].data_type == "s"


def test_csv_has_a_bom_and_defuses_formulas():
    response = csv_response("report.csv", ["name", "mark", "%", "date", "note"], ROWS)
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    assert rows[1] == ["Әбенов Ерлан", "8", "84.50", "2026-11-20", ""]
    assert rows[2] == ['\'=HYPERLINK("x")', "-3", "1.5", "'-2", "'@sum"]


def test_sheet_titles_follow_excels_rules():
    assert sheet_title("a/b\\c?d*e:f[g]") == "a b c d e f g"
    assert len(sheet_title("х" * 40)) == 31
    assert sheet_title("///") == "Sheet"
