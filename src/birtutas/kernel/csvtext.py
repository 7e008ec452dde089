"""Reading the CSV files people export from spreadsheets: UTF-8 with or without a BOM, ',' or ';'
(spreadsheets in Kazakh and Russian locales save with ';'), and each record with its line number so
that every error names the line."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator


def decode(content: bytes | str) -> tuple[str | None, int]:
    """The text of a file and 0, or None and the line where it stops being UTF-8."""
    if isinstance(content, str):
        return content.removeprefix("\ufeff"), 0
    try:
        return content.decode("utf-8-sig"), 0
    except UnicodeDecodeError as error:
        return None, content[: error.start].count(b"\n") + 1


def delimiter(text: str) -> str:
    """',' or ';': whichever the header uses more."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    return ";" if header.count(";") > header.count(",") else ","


def column_name(raw: str) -> str:
    return re.sub(r"[\s\-]+", "_", raw.strip().lower())


class UnreadableCSV(Exception):
    """The file stops being valid CSV at `line`."""

    def __init__(self, line: int):
        super().__init__(line)
        self.line = line


def records(text: str, *, strict: bool = False, skip_blank: bool = False) -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (a quoted value may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text), strict=strict)
    previous = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise UnreadableCSV(previous + 1) from None
        if cells or not skip_blank:
            yield previous + 1, cells
        previous = reader.line_num
