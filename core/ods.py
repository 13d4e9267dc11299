"""Stream an OpenDocument spreadsheet (.ods) into raw cell rows, merged ranges and sheet visibility.

python-calamine 0.9 refuses valid .ods files whose cells stand on lines of their own (Gnumeric writes
them so), drops ``<text:line-break/>`` and tabs from texts, and reports no merged ranges for .ods
(tests/fixtures/calamine_ods/). This reader follows the format instead: one pass of expat over
content.xml, no tree kept. It refuses what defusedxml refuses (any DTD, entity declarations, external
references); repeated rows and cells are counted, never expanded; only the rows a caller asks for are
kept, each at most ``max_columns`` wide. The inflated size is capped before (core.filetype).
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import math
import re
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from xml.parsers import expat

OdsValue = str | float | bool | dt.date | dt.datetime | dt.time | dt.timedelta

MAX_MERGED = 1000     # merged ranges kept per sheet; one is enough to refuse the sheet
MAX_CELL_TEXT = 32_767  # Excel's limit; longer texts are cut here and refused as too long by the check

_OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0 "
_TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0 "
_TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0 "
_STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0 "
_DRAW = "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0 "

_SHEET = _TABLE + "table"
_ROW = _TABLE + "table-row"
_CELL = _TABLE + "table-cell"
_COVERED = _TABLE + "covered-table-cell"
_PARAGRAPHS = {_TEXT + "p", _TEXT + "h"}
_SPACE, _TAB, _BREAK = _TEXT + "s", _TEXT + "tab", _TEXT + "line-break"
# Inside a cell but not its text: comments, shapes, footnotes.
_NOT_CELL_TEXT = {_OFFICE + "annotation", _TEXT + "note"}
_ROWS_REPEATED, _COLUMNS_REPEATED = _TABLE + "number-rows-repeated", _TABLE + "number-columns-repeated"
_ROWS_SPANNED, _COLUMNS_SPANNED = _TABLE + "number-rows-spanned", _TABLE + "number-columns-spanned"
_VALUE_TYPE, _STRING_VALUE = _OFFICE + "value-type", _OFFICE + "string-value"
_STYLE_ELEMENT = _STYLE + "style"
_TABLE_PROPERTIES = _STYLE + "table-properties"

_DURATION = re.compile(r"^(-)?P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_BLANKS = re.compile(r"[ \t\r\n]+")


class OdsError(ValueError):
    """content.xml is not a readable spreadsheet (broken XML, a DTD or entity, a missing part)."""


@dataclass
class OdsSheet:
    name: str
    visible: bool
    rows: list[list[OdsValue]] = field(default_factory=list)  # from A1, "" for empty cells, rectangular
    total_rows: int = 0      # up to the last non-empty cell, even beyond ``rows``
    total_columns: int = 0
    # Merged cell ranges, 0-based (first row, first column, last row, last column), in document order.
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)


KeepRows = Callable[[str, bool], int]
"""Given a sheet's name and visibility, how many rows of it to keep (0: count only)."""


def read_ods(data: bytes, *, keep_rows: KeepRows, max_columns: int) -> list[OdsSheet]:
    """Every sheet of the .ods in ``data`` in workbook order; raises OdsError for a damaged file."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            content = archive.read("content.xml")  # CRC-checked: a member larger than declared is refused
    except (zipfile.BadZipFile, zlib.error, KeyError, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise OdsError("no readable content.xml") from exc
    reader = _Reader(keep_rows, max_columns)
    parser = expat.ParserCreate(namespace_separator=" ")
    # defusedxml's rules: a spreadsheet needs no DTD, so none is parsed (no entity can be declared).
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = _forbidden
    parser.EntityDeclHandler = _forbidden
    parser.UnparsedEntityDeclHandler = _forbidden
    parser.ExternalEntityRefHandler = _forbidden
    parser.buffer_text = True
    parser.buffer_size = 1 << 16
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.characters
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise OdsError(f"broken XML: {exc}") from exc
    except (ValueError, OverflowError, LookupError) as exc:  # a count that is no number, an unknown encoding
        raise OdsError(str(exc)) from exc
    if reader.sheet is not None:
        raise OdsError("content.xml ends inside a sheet")
    return reader.sheets


def _forbidden(*_args: object) -> int:
    raise OdsError("DTD, entity or external reference in content.xml")


def _count(raw: str) -> int:
    """A repeat, span or space count; below 1 means 1."""
    return max(1, int(raw))


class _Reader:
    """expat handlers: the state of one pass over content.xml (flat attributes: this runs per XML event)."""

    def __init__(self, keep_rows: KeepRows, max_columns: int) -> None:
        self.keep_rows = keep_rows
        self.max_columns = max_columns
        self.sheets: list[OdsSheet] = []
        self.hidden_styles: set[str] = set()
        self.style: str | None = None
        self.sheet: OdsSheet | None = None
        self.keep = 0            # rows of the current sheet to keep
        self.nested = 0          # depth inside a table within the sheet (not the sheet's cells)
        # the current row
        self.row_index = 0       # 0-based
        self.row_repeat = 1
        self.row_cells: list[OdsValue] = []
        self.row_last = -1       # last non-empty column
        self.row_spans: list[tuple[int, int, int]] = []  # (column, rows, columns) of cells spanning more than one
        self.column = 0
        # the current cell
        self.in_cell = False
        self.cell_repeat = 1
        self.attributes: dict[str, str] = {}
        self.skip = 0            # depth inside the cell's comment, shape or note
        self.in_paragraph = 0
        self.paragraphs = 0      # text:p / text:h seen
        self.pieces: list[str] = []
        self.length = 0
        self.trailing_blank = True  # the text so far ends in a blank: the next one collapses (ODF 1.2 §6.1.2)

    # --- structure ----------------------------------------------------------------------------------
    def start(self, name: str, attributes: dict[str, str]) -> None:
        if self.in_cell:
            self._text_start(name, attributes)
        elif self.sheet is None:
            self._outside_start(name, attributes)
        elif self.nested or name == _SHEET:
            self.nested += 1
        elif name in (_CELL, _COVERED):
            repeat = attributes.get(_COLUMNS_REPEATED)
            self.cell_repeat = _count(repeat) if repeat else 1
            if name == _CELL and (_ROWS_SPANNED in attributes or _COLUMNS_SPANNED in attributes):
                rows = _count(attributes.get(_ROWS_SPANNED, "1"))
                columns = _count(attributes.get(_COLUMNS_SPANNED, "1"))
                if (rows > 1 or columns > 1) and len(self.row_spans) < MAX_MERGED:
                    self.row_spans.extend((self.column + i, rows, columns)
                                          for i in range(min(self.cell_repeat, MAX_MERGED)))
            self.in_cell, self.attributes = True, attributes
            self.paragraphs, self.pieces, self.length, self.trailing_blank = 0, [], 0, True
        elif name == _ROW:
            repeat = attributes.get(_ROWS_REPEATED)
            self.row_repeat = _count(repeat) if repeat else 1
            self.row_cells, self.row_last, self.row_spans, self.column = [], -1, [], 0

    def _outside_start(self, name: str, attributes: dict[str, str]) -> None:
        if name == _SHEET:
            sheet_name = attributes.get(_TABLE + "name", "")
            visible = attributes.get(_TABLE + "style-name") not in self.hidden_styles
            self.sheet = OdsSheet(name=sheet_name, visible=visible)
            self.keep = max(0, self.keep_rows(sheet_name, visible))
            self.row_index = 0
        elif name == _STYLE_ELEMENT:
            self.style = attributes.get(_STYLE + "name") if attributes.get(_STYLE + "family") == "table" else None
        elif name == _TABLE_PROPERTIES and self.style and attributes.get(_TABLE + "display") == "false":
            self.hidden_styles.add(self.style)

    def end(self, name: str) -> None:
        if self.in_cell:
            if self.skip:
                self.skip -= 1
            elif name in _PARAGRAPHS:
                self.in_paragraph -= 1
            elif name in (_CELL, _COVERED):
                self._cell_end()
                self.in_cell, self.in_paragraph = False, 0
        elif self.sheet is None:
            if name == _STYLE_ELEMENT:
                self.style = None
        elif self.nested:
            self.nested -= 1
        elif name == _ROW:
            self._row_end(self.sheet)
        elif name == _SHEET:
            self._sheet_end(self.sheet)
            self.sheet = None

    # --- texts --------------------------------------------------------------------------------------
    def _text_start(self, name: str, attributes: dict[str, str]) -> None:
        if self.skip or name in _NOT_CELL_TEXT or name.startswith(_DRAW) or name == _SHEET:
            self.skip += 1
        elif name in _PARAGRAPHS:
            if self.paragraphs:
                self._add("\n")
            self.paragraphs += 1
            self.trailing_blank = True  # blanks at the start of a paragraph are not text
            self.in_paragraph += 1
        elif not self.in_paragraph:
            return
        elif name == _SPACE:
            count = _count(attributes.get(_TEXT + "c", "1"))
            self._add(" " * min(count, MAX_CELL_TEXT + 1 - self.length) if self.length <= MAX_CELL_TEXT else "")
        elif name == _TAB:
            self._add("\t")
        elif name == _BREAK:
            self._add("\n")

    def characters(self, text: str) -> None:
        if not self.in_paragraph or self.skip:
            return  # layout whitespace between elements, or text that is not the cell's
        if "  " in text or not text.isprintable():
            text = _BLANKS.sub(" ", text)
        if self.trailing_blank and text[:1] == " ":
            text = text[1:]
        if text:
            self._add(text)
            self.trailing_blank = text[-1] == " "

    def _add(self, text: str) -> None:
        if self.length <= MAX_CELL_TEXT:
            text = text[:MAX_CELL_TEXT + 1 - self.length]
            self.pieces.append(text)
            self.length += len(text)
        self.trailing_blank = False

    # --- values -------------------------------------------------------------------------------------
    def _cell_end(self) -> None:
        attributes = self.attributes
        kind = attributes.get(_VALUE_TYPE, "")
        text = "".join(self.pieces)
        value = text if kind == "string" and _STRING_VALUE not in attributes else _value(kind, attributes, text)
        repeat, column = self.cell_repeat, self.column
        if value != "":
            self.row_last = column + repeat - 1
        if self.row_index < self.keep and column < self.max_columns:
            if repeat == 1:
                self.row_cells.append(value)
            else:
                self.row_cells.extend([value] * min(repeat, self.max_columns - column))
        self.column = column + repeat

    def _row_end(self, sheet: OdsSheet) -> None:
        repeat, first = self.row_repeat, self.row_index
        if self.row_spans and len(sheet.merged) < MAX_MERGED:
            sheet.merged.extend(itertools.islice(((row, column, row + rows - 1, column + columns - 1)
                                                  for row in range(first, first + repeat)
                                                  for column, rows, columns in self.row_spans),
                                                 MAX_MERGED - len(sheet.merged)))
        if self.row_last >= 0:
            sheet.total_rows = first + repeat
            sheet.total_columns = max(sheet.total_columns, self.row_last + 1)
            if first < self.keep:
                sheet.rows += [[] for _ in range(first - len(sheet.rows))]  # empty rows between, padded at the end
                sheet.rows.extend(list(self.row_cells) for _ in range(min(repeat, self.keep - first)))
        self.row_index = first + repeat

    def _sheet_end(self, sheet: OdsSheet) -> None:
        width = min(sheet.total_columns, self.max_columns)
        sheet.rows += [[] for _ in range(min(self.keep, sheet.total_rows) - len(sheet.rows))]
        sheet.rows = [(row + [""] * (width - len(row)))[:width] for row in sheet.rows]
        self.sheets.append(sheet)


def _value(kind: str, attributes: dict[str, str], text: str) -> OdsValue:
    """The cell's value as python-calamine gives it: floats for numbers, dates, times, booleans, "" if empty;
    the text the cell shows where a typed value is missing or not what its type says."""
    if kind in ("float", "percentage", "currency"):
        number = _float(attributes.get(_OFFICE + "value"))
        return text if number is None else number
    if kind == "boolean":
        flag = attributes.get(_OFFICE + "boolean-value", "").strip().lower()
        return flag == "true" if flag in ("true", "false") else text
    if kind == "date":
        return _date(attributes.get(_OFFICE + "date-value", "")) or text
    if kind == "time":
        return _duration(attributes.get(_OFFICE + "time-value", "")) or text
    if kind == "string" and _STRING_VALUE in attributes:
        return attributes[_STRING_VALUE][:MAX_CELL_TEXT + 1]
    return text


def _float(raw: str | None) -> float | None:
    try:
        number = float(raw) if raw is not None else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _date(raw: str) -> dt.date | dt.datetime | None:
    try:
        if "T" not in raw:
            return dt.date.fromisoformat(raw.strip())
        return dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        return None


def _duration(raw: str) -> dt.time | dt.timedelta | None:
    match = _DURATION.match(raw.strip())
    if not match or not any(match.groups()[1:]):
        return None
    sign, days, hours, minutes, seconds = match.groups()
    try:
        delta = dt.timedelta(days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
                             seconds=float(seconds or 0))
    except (ValueError, OverflowError):
        return None
    if sign:
        return -delta
    if delta < dt.timedelta(days=1):
        return (dt.datetime.min + delta).time()
    return delta
