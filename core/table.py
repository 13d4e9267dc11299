"""Read a small staff-supplied table (xlsx or csv, first sheet, header in row 1) into text cells."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass

from core.text import squash_spaces

MAX_TABLE_BYTES = 10 * 1024 * 1024
MAX_TABLE_ROWS = 20_000
# LibreOffice and Excel leave thousands of formatted but empty rows; stop after this many in a row.
MAX_EMPTY_RUN = 500


class TableError(ValueError):
    """The file cannot be read as a table at all; the message is German and meant for staff."""


@dataclass(frozen=True)
class Table:
    header: list[str]
    # (row number as a spreadsheet shows it, cell texts aligned with header)
    rows: list[tuple[int, list[str]]]


def cell_text(value: object) -> str:
    """A cell value as the text a person sees: no trailing ``.0`` on whole numbers, ISO dates."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return squash_spaces(str(value).replace("_x000D_", "")) if isinstance(value, str) else str(value)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TableError("Die Datei ist weder eine Excel-Datei (.xlsx) noch eine lesbare CSV-Datei.")


def _csv_rows(data: bytes) -> list[list[str]]:
    text = _decode(data)
    if "\x00" in text:
        raise TableError("Die Datei ist weder eine Excel-Datei (.xlsx) noch eine lesbare CSV-Datei.")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    try:
        return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        raise TableError(f"Die CSV-Datei ist fehlerhaft: {exc}") from exc


def _xlsx_rows(data: bytes) -> list[list[object]]:
    try:
        from openpyxl import load_workbook  # only when a table is an Excel file (a fast start elsewhere)

        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TableError("Die Excel-Datei ist beschädigt oder kein .xlsx-Format.") from exc
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # never trust <dimension>: it may under- or overstate the rows
        rows: list[list[object]] = []
        empty_run = 0
        for values in sheet.iter_rows(values_only=True):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                empty_run += 1
                if empty_run > MAX_EMPTY_RUN:
                    break
            else:
                empty_run = 0
            rows.append(list(values))
            if len(rows) > MAX_TABLE_ROWS + MAX_EMPTY_RUN:
                raise TableError(f"Die Tabelle hat mehr als {MAX_TABLE_ROWS} Zeilen.")
        return rows
    finally:
        workbook.close()


def read_table(data: bytes) -> Table:
    """Read the first sheet of an xlsx file or a csv file (``;`` or ``,``, UTF-8 or Windows-1252).

    The type is decided by the bytes, not the file name. Completely empty rows are dropped,
    the row numbers of the others are kept for messages.
    """
    if not data.strip():
        raise TableError("Die Datei ist leer.")
    if len(data) > MAX_TABLE_BYTES:
        raise TableError(f"Die Datei ist größer als {MAX_TABLE_BYTES // (1024 * 1024)} MB.")
    raw: list[list[object]]
    if data[:4] == b"PK\x03\x04":
        raw = _xlsx_rows(data)
    elif data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise TableError("Das alte Excel-Format (.xls) wird hier nicht gelesen. Bitte als .xlsx oder .csv speichern.")
    else:
        raw = [list[object](row) for row in _csv_rows(data)]
    texts = [[cell_text(v) for v in row] for row in raw]
    header_index = next((i for i, row in enumerate(texts) if any(row)), None)
    if header_index is None:
        raise TableError("Die Datei enthält keine Daten.")
    header = texts[header_index]
    width = len(header)
    while width and not header[width - 1]:
        width -= 1
    rows = [
        (number, (row + [""] * width)[:width])
        for number, row in enumerate(texts[header_index + 1 :], start=header_index + 2)
        if any(row)
    ]
    if len(rows) > MAX_TABLE_ROWS:
        raise TableError(f"Die Tabelle hat mehr als {MAX_TABLE_ROWS} Zeilen.")
    return Table(header=header[:width], rows=rows)
