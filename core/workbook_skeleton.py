"""Personal workbooks at the scale of a round: what all sheets share is taken once from a workbook openpyxl
built (``build_workbook``), and each institution's rows, notes and signature are written into it as the very
XML openpyxl writes. The result is byte for byte the workbook ``build_workbook`` gives (but the moment of
building in docProps/core.xml and the zip entries, which is the skeleton's), ~13× faster (bench/opening.py).

How it stays the same file: openpyxl numbers cell styles in the order they first appear (sheet by sheet, row
by row), so the style table depends on which kinds of cells a workbook holds and in what order (a text
starting with "=" or "-" gets a quote-prefixed style of its own where it first occurs; a date keeps the date
format openpyxl first gave it in the table). ``SheetBuilder`` writes each institution's cells and notes that
shape; the shared parts (styles, lists, validations, protections, hidden sheets) come from a skeleton of the
same shape: the first sheet of each shape is built by openpyxl, and its skeleton is kept only if the sheet
assembled from it is identical to it.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field

from jinja2 import Template
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.compat import safe_string
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel
from openpyxl.utils.exceptions import IllegalCharacterError

from core.activity import Activity
from core.catalog import Catalogs
from core.sheet_spec import SheetSpec, YearRange
from core.workbook_build import (
    ESCAPE_LOOKALIKE,
    FORMULA_STARTS,
    HINT_LINE_CHARS,
    LINE_HEIGHT,
    SheetInfo,
    build_workbook,
    date_cell_value,
    field_text,
    hints_template,
    render_hints,
)

Kind = tuple[str, bool]  # what a cell is styled as (header, id, text, date, hint, hint14, hint12, plain), quoted
PLAIN: Kind = ("plain", False)  # openpyxl's default style: no style attribute at all
MAX_TEXT = 32767  # openpyxl cuts longer cell texts
NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")  # what lxml refuses to write (openpyxl's ValueError)
SHEETS = ("xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml", "xl/worksheets/sheet3.xml",
          "xl/worksheets/sheet4.xml")
WORKBOOK = "xl/workbook.xml"
MAX_SKELETONS = 64  # distinct style orders kept; beyond them a sheet is built by openpyxl as before


def cell_text(text: str) -> str:
    """The text openpyxl stores for ``write_text``: escape look-alikes escaped, cut, illegal characters refused."""
    value = ESCAPE_LOOKALIKE.sub(r"_x005F\1", text)[:MAX_TEXT]
    if ILLEGAL_CHARACTERS_RE.search(value):
        raise IllegalCharacterError(f"{value} cannot be used in worksheets.")
    return value


def xml_text(value: str) -> str:
    """Element text as lxml writes it in openpyxl's ASCII XML: &, <, > and CR escaped, the rest as references."""
    if NOT_XML.search(value):
        raise ValueError("All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters")
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return escaped if escaped.isascii() else escaped.encode("ascii", "xmlcharrefreplace").decode("ascii")


class _Styles:
    """Style ids as openpyxl gives them: 0 for the default, then 1, 2, … in the order kinds first appear."""

    def __init__(self) -> None:
        self.order: list[Kind] = []
        self._ids: dict[Kind, int] = {}

    def id(self, kind: Kind) -> int:
        if kind == PLAIN:
            return 0
        found = self._ids.get(kind)
        if found is None:
            found = self._ids[kind] = len(self.order) + 1
            self.order.append(kind)
        return found


def _text_cell(ref: str, base: str, text: str, styles: _Styles) -> str:
    """A cell written with ``write_text``: an inline string, quote-prefixed when it starts like a formula."""
    value = cell_text(text)
    style = styles.id((base, text.startswith(FORMULA_STARTS)))
    attributes = f' r="{ref}" s="{style}"' if style else f' r="{ref}"'
    if not value:
        return f'<c{attributes} t="inlineStr"></c>'
    space = ' xml:space="preserve"' if value != value.strip() else ""
    return f'<c{attributes} t="inlineStr"><is><t{space}>{xml_text(value)}</t></is></c>'


@dataclass
class PersonalParts:
    """What differs from one institution's workbook to the next, as openpyxl would write it."""

    activity_rows: str
    last_row: int
    hint_rows: str
    hint_count: int
    meta_rows: str
    meta_count: int
    style_order: tuple[Kind, ...]
    with_dates: bool  # openpyxl keeps the date format it gave a date before ours replaced it: a style of its own

    @property
    def shape(self) -> tuple[tuple[Kind, ...], bool]:
        """What the shared parts depend on: workbooks of one shape share a skeleton."""
        return self.style_order, self.with_dates


@dataclass
class _Template:
    """A part's XML with named slots: literal and slot name alternate (slots at odd positions)."""

    chunks: tuple[str, ...]

    @classmethod
    def of(cls, text: str, replacements: list[tuple[str, str]]) -> _Template:
        """``text`` with each ``old`` replaced by its ``new``, in which ``\\0name\\0`` marks the slot ``name``."""
        for old, new in replacements:
            if old not in text:
                raise ValueError(f"skeleton: {old!r} not found")
            text = text.replace(old, new)
        return cls(tuple(text.split("\0")))

    def fill(self, values: dict[str, str]) -> bytes:
        return "".join(values[c] if i % 2 else c for i, c in enumerate(self.chunks)).encode("utf-8")


def _sheet_data(xml: str) -> tuple[str, str]:
    """Head and tail of a worksheet's XML, around the rows inside ``<sheetData>``."""
    start = xml.index("<sheetData>") + len("<sheetData>")
    return xml[:start], xml[xml.index("</sheetData>"):]


def _dimension(column: str, rows: int) -> str:
    """openpyxl's ``calculate_dimension`` for cells filling columns A to ``column`` in rows 1 to ``rows``."""
    return f"A1:{column}{rows}" if rows else "A1:A1"


@dataclass
class _Skeleton:
    """The parts of the workbooks of one style order, ready to be filled with an institution's parts."""

    members: list[tuple[zipfile.ZipInfo, bytes | _Template]]

    @classmethod
    def harvest(cls, reference: bytes, parts: PersonalParts, columns: int) -> _Skeleton:
        """Take the skeleton out of ``reference``, the openpyxl build of the institution ``parts`` describe."""
        last, col = str(parts.last_row), get_column_letter(columns)
        members: list[tuple[zipfile.ZipInfo, bytes | _Template]] = []
        with zipfile.ZipFile(io.BytesIO(reference)) as archive:
            for info in archive.infolist():
                data = archive.read(info)
                member: bytes | _Template = data
                if info.filename == WORKBOOK:  # the filter's defined name ends at the last row
                    member = _Template.of(data.decode("utf-8"), [(f"${col}${last}</definedName>",
                                                                  f"${col}$\0last\0</definedName>")])
                elif info.filename == SHEETS[0]:
                    head, tail = _sheet_data(data.decode("utf-8"))
                    # The last row closes the dimension, the filter and every validation's range.
                    ranges = sorted(set(re.findall(rf'(?:sqref|ref)="[A-Z]+[12]:[A-Z]+{last}"', tail)))
                    member = _Template.of(head + "\0activity_rows\0" + tail, [
                        (f'<dimension ref="{_dimension(col, parts.last_row)}"/>', '<dimension ref="\0dimension1\0"/>'),
                        *((r, r[:-len(last) - 1] + '\0last\0"') for r in ranges)])
                elif info.filename in (SHEETS[1], SHEETS[3]):
                    hints = info.filename == SHEETS[1]
                    head, tail = _sheet_data(data.decode("utf-8"))
                    slot = "dimension2" if hints else "dimension4"
                    dimension = _dimension("A", parts.hint_count) if hints else _dimension("B", parts.meta_count)
                    member = _Template.of(head + ("\0hint_rows\0" if hints else "\0meta_rows\0") + tail, [
                        (f'<dimension ref="{dimension}"/>', f'<dimension ref="\0{slot}\0"/>')])
                members.append((info, member))
        return cls(members)

    def assemble(self, parts: PersonalParts, columns: int) -> bytes:
        col, last = get_column_letter(columns), str(parts.last_row)
        values = {
            "last": last, "activity_rows": parts.activity_rows, "hint_rows": parts.hint_rows,
            "meta_rows": parts.meta_rows, "dimension1": _dimension(col, parts.last_row),
            "dimension2": _dimension("A", parts.hint_count), "dimension4": _dimension("B", parts.meta_count),
        }
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for reference, member in self.members:
                info = zipfile.ZipInfo(reference.filename, reference.date_time)  # as openpyxl's ``writestr``
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = reference.external_attr
                archive.writestr(info, member.fill(values) if isinstance(member, _Template) else member)
        return buffer.getvalue()


@dataclass
class SheetBuilder:
    """Builds a round's personal workbooks: the same bytes as ``build_workbook``, the shared parts built once.

    One builder per sheet spec and catalogs (e.g. per round); safe to share between threads (at worst two
    of them build the same skeleton at once).
    """

    spec: SheetSpec
    catalogs: Catalogs
    _hints: Template = field(init=False, repr=False)
    _skeletons: dict[tuple[object, YearRange], _Skeleton | None] = field(default_factory=dict, repr=False)
    _lists: list[str] = field(init=False, repr=False)
    built_by_openpyxl: int = 0  # sheets built whole by openpyxl (the first of each shape), for tests and benchmarks

    def __post_init__(self) -> None:
        self._hints = hints_template(self.spec)
        self._lists = _lists_texts(self.spec, self.catalogs)

    def build(self, *, info: SheetInfo, activities: list[Activity], secret: bytes) -> bytes:
        """The personal workbook for one institution, as ``build_workbook`` builds it."""
        parts = self.parts(info, activities, secret)
        key = (parts.shape, info.year_range(self.spec))
        if key in self._skeletons:
            skeleton = self._skeletons[key]
            if skeleton is not None:
                return skeleton.assemble(parts, len(self.spec.columns))
        reference = build_workbook(spec=self.spec, catalogs=self.catalogs, info=info, activities=activities,
                                   secret=secret)
        self.built_by_openpyxl += 1
        if key not in self._skeletons and len(self._skeletons) < MAX_SKELETONS:
            self._skeletons[key] = self._checked_skeleton(reference, parts)
        return reference

    def _checked_skeleton(self, reference: bytes, parts: PersonalParts) -> _Skeleton | None:
        """The skeleton of ``reference``, if the workbook assembled from it is ``reference`` itself; else None
        (sheets of this shape are then built by openpyxl)."""
        try:
            skeleton = _Skeleton.harvest(reference, parts, len(self.spec.columns))
        except ValueError:
            return None
        return skeleton if skeleton.assemble(parts, len(self.spec.columns)) == reference else None

    def parts(self, info: SheetInfo, activities: list[Activity], secret: bytes) -> PersonalParts:
        """An institution's cells as openpyxl writes them, sheet by sheet (the order styles are numbered in)."""
        styles = _Styles()
        activity_rows, last_row, with_dates = _activity_rows(self.spec, activities, styles)
        lines = render_hints(self._hints, self.spec, self.catalogs, info)
        hint_rows = _hint_rows(lines, styles)
        for text in self._lists:  # the lists sheet is shared, but its styles count in the order
            styles.id(("plain", text.startswith(FORMULA_STARTS)))
        meta = info.meta(self.spec).rows(secret)
        meta_rows = "".join(f'<row r="{row}">{_text_cell(f"A{row}", "plain", key, styles)}'
                            f'{_text_cell(f"B{row}", "plain", value, styles)}</row>'
                            for row, (key, value) in enumerate(meta, start=1))
        return PersonalParts(activity_rows, last_row, hint_rows, len(lines), meta_rows, len(meta),
                             tuple(styles.order), with_dates)


def _lists_texts(spec: SheetSpec, catalogs: Catalogs) -> list[str]:
    """The lists sheet's texts in the order openpyxl writes its cells (row by row)."""
    columns = [[c.header, *spec.choices(c, catalogs)] for c in spec.columns if c.kind == "choice"]
    return [column[row] for row in range(max((len(c) for c in columns), default=0))
            for column in columns if row < len(column)]


def _activity_rows(spec: SheetSpec, activities: list[Activity], styles: _Styles) -> tuple[str, int, bool]:
    """Header and activity rows of the ``Aktivitäten`` sheet (``workbook_build._activity_sheet``), the last row,
    and whether a cell holds a date (rather than a year or a text)."""
    letters = [get_column_letter(i) for i in range(1, len(spec.columns) + 1)]
    out = ['<row r="1" ht="32" customHeight="1">']
    out.extend(_text_cell(f"{letter}1", "header", column.header + (" *" if column.required else ""), styles)
               for letter, column in zip(letters, spec.columns, strict=True))
    out.append("</row>")
    bases = ["id" if c.kind == "id" else "date" if c.kind == "date" else "text" for c in spec.columns]
    last_row = len(activities) + spec.new_rows + 1
    with_dates = False
    for row in range(2, last_row + 1):
        activity = activities[row - 2] if row - 2 < len(activities) else None
        out.append(f'<row r="{row}">')
        for letter, column, base in zip(letters, spec.columns, bases, strict=True):
            ref = f"{letter}{row}"
            text = "" if activity is None else (activity.key or "") if column.kind == "id" else field_text(activity,
                                                                                                          column)
            if not text:
                out.append(f'<c r="{ref}" s="{styles.id((base, False))}" t="n"></c>')
                continue
            value = date_cell_value(text) if column.kind == "date" else text
            if isinstance(value, str):
                out.append(_text_cell(ref, base, value, styles))
            else:
                with_dates = with_dates or isinstance(value, dt.date)
                number = to_excel(value) if isinstance(value, dt.date) else value  # type: ignore[no-untyped-call]
                out.append(f'<c r="{ref}" s="{styles.id((base, False))}" t="n"><v>{safe_string(number)}</v></c>')
        out.append("</row>")
    return "".join(out), last_row, with_dates


def _hint_rows(lines: list[str], styles: _Styles) -> str:
    """The rows of the ``Hinweise`` sheet (``workbook_build.build_workbook``)."""
    out = []
    for row, line in enumerate(lines, start=1):
        heading = line.startswith("# ")
        base = ("hint14" if row == 1 else "hint12") if heading else "hint"
        cell = _text_cell(f"A{row}", base, line[2:] if heading else line, styles)
        if not heading and len(line) > HINT_LINE_CHARS:
            height = safe_string(LINE_HEIGHT * -(-len(line) // HINT_LINE_CHARS))
            out.append(f'<row r="{row}" ht="{height}" customHeight="1">{cell}</row>')
        else:
            out.append(f'<row r="{row}">{cell}</row>')
    return "".join(out)
