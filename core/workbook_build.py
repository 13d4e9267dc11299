"""Build an institution's personal, pre-filled survey workbook (.xlsx) from the sheet spec."""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass

from jinja2 import Environment, StrictUndefined, Template
from openpyxl import Workbook
from openpyxl.cell.cell import Cell, MergedCell
from openpyxl.styles import Alignment, Font, PatternFill, Protection
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from core.activity import Activity
from core.catalog import Catalogs
from core.sheet_meta import NO_BASE, SheetMeta
from core.sheet_spec import Column, SheetSpec, YearRange

FORMULA_STARTS = ("=", "+", "-", "@")
ESCAPE_LOOKALIKE = re.compile(r"(_x[0-9A-Fa-f]{4}_)")
# Beginn/Ende hold years (2027) and dates (serial numbers ≥ 10000) in one column, pre-filled or typed: one
# format shows each as such. "\." is a literal dot in every locale (a bare "." may be read as the decimal
# separator); LibreOffice 7.4 (de-DE and en-US) shows "15.03.2027" and "2028" and saves the code unchanged.
PERIOD_FORMAT = r"[<10000]0;DD\.MM\.YYYY"
HINT_LINE_CHARS = 95  # characters of a Hinweise line that fit the 120-wide column (measured in a PDF, with room)
LINE_HEIGHT = 15.0    # points per line of 11-point text


@dataclass(frozen=True)
class SheetInfo:
    """Everything a personal workbook says besides the activities."""

    region_code: str
    region_name: str
    cycle_year: int
    institution_code: str
    institution_name: str
    base_label: str
    agency_name: str
    agency_email: str
    agency_phone: str = ""
    deadline: dt.date | None = None
    years: YearRange | None = None  # what Beginn/Ende take (None: the defaults of ``SheetSpec.round_years``)

    def year_range(self, spec: SheetSpec) -> YearRange:
        return self.years or spec.round_years(self.cycle_year)

    def meta(self, spec: SheetSpec) -> SheetMeta:
        return SheetMeta(spec.format_version, self.region_code, self.cycle_year, self.institution_code,
                         self.base_label or NO_BASE)


def write_text(cell: Cell | MergedCell, text: str) -> None:
    """Write ``text`` so that no spreadsheet program evaluates it as a formula or decodes it as an escape."""
    # OOXML reads "_xHHHH_" in a text as an escaped character; a literal one is written as "_x005F_xHHHH_".
    cell.value = ESCAPE_LOOKALIKE.sub(r"_x005F\1", text)
    cell.data_type = "s"
    if text.startswith(FORMULA_STARTS):
        cell.quotePrefix = True


def date_cell_value(text: str) -> dt.date | int | str:
    """A stored date text as the cell value people expect: a real date, a year number or ``MM.YYYY`` text."""
    if len(text) == 4 and text.isdigit():
        return int(text)
    if len(text) == 7 and text[4] == "-":
        return f"{text[5:7]}.{text[:4]}"
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return text


def hints_template(spec: SheetSpec) -> Template:
    """The ``Hinweise`` text's template, compiled (once per round is enough: see workbook_skeleton)."""
    environment = Environment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)  # noqa: S701 (plain text into cells)
    return environment.from_string(spec.hints_template)


def render_hints(template: Template, spec: SheetSpec, catalogs: Catalogs, info: SheetInfo) -> list[str]:
    """The lines of the ``Hinweise`` sheet; a line starting with "# " is a heading."""
    catalog_lists = [(c.header, spec.choices(c, catalogs)) for c in spec.columns if c.catalog]
    text = template.render(
        cycle_year=info.cycle_year,
        free_rows=spec.new_rows,
        region_name=info.region_name,
        institution_name=info.institution_name,
        institution_code=info.institution_code,
        deadline=info.deadline.strftime("%d.%m.%Y") if info.deadline else None,
        sheet_name=spec.sheet_name,
        base_label=info.base_label,
        columns=spec.columns,
        catalogs=catalog_lists,
        agency_name=info.agency_name,
        agency_email=info.agency_email,
        agency_phone=info.agency_phone,
        horizon=info.year_range(spec).horizon,
        last_year=info.year_range(spec).last,
    )
    return text.splitlines()


def _lists_sheet(workbook: Workbook, spec: SheetSpec, catalogs: Catalogs) -> dict[str, str]:
    """A hidden sheet holding each dropdown's values; returns column key → range formula."""
    sheet = workbook.create_sheet(spec.lists_sheet_name)
    sheet.sheet_state = "hidden"
    ranges: dict[str, str] = {}
    index = 0
    for column in spec.columns:
        if column.kind != "choice":
            continue
        index += 1
        letter = get_column_letter(index)
        write_text(sheet.cell(row=1, column=index), column.header)
        values = spec.choices(column, catalogs)
        for row, value in enumerate(values, start=2):
            write_text(sheet.cell(row=row, column=index), value)
        ranges[column.key] = f"{quote_sheetname(spec.lists_sheet_name)}!${letter}$2:${letter}${len(values) + 1}"
    sheet.protection.sheet = True
    return ranges


def _validations(sheet: Worksheet, spec: SheetSpec, ranges: dict[str, str], last_row: int,
                 years: YearRange) -> None:
    first, last = years.first, years.last  # a year after the horizon is allowed: the check only notes it
    for index, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        area = f"{letter}2:{letter}{last_row}"
        validation: DataValidation | None = None
        if column.kind == "choice":
            validation = DataValidation(type="list", formula1=ranges[column.key], allow_blank=True)
            validation.error = f"Bitte einen Wert aus der Liste für „{column.header}“ wählen."
        elif column.kind == "date":
            cell = f"{letter}2"
            # A year or a date in range, or a month typed as text ("03.2027" stays text in a German office).
            formula = (f"OR(AND(ISNUMBER({cell}),OR(AND({cell}>={first},{cell}<={last}),"
                       f"AND({cell}>=DATE({first},1,1),{cell}<=DATE({last},12,31)))),"
                       f"AND(ISTEXT({cell}),LEN({cell})=7,MID({cell},3,1)=\".\"))")
            validation = DataValidation(type="custom", formula1=formula, allow_blank=True)
            validation.error = (f"Bitte ein Datum (TT.MM.JJJJ), einen Monat (MM.JJJJ) oder ein Jahr (JJJJ) "
                                f"zwischen {first} und {last} eintragen.")
        elif column.max_length:
            validation = DataValidation(type="textLength", operator="lessThanOrEqual",
                                        formula1=str(column.max_length), allow_blank=True)
            validation.error = f"Höchstens {column.max_length} Zeichen."
        if validation is None:
            continue
        validation.errorTitle = column.header
        validation.showErrorMessage = True
        validation.errorStyle = "warning" if column.kind == "date" else "stop"
        if column.help:
            validation.promptTitle = column.header[:32]
            validation.prompt = column.help[:255]
            validation.showInputMessage = True
        sheet.add_data_validation(validation)
        validation.add(area)


def _activity_sheet(sheet: Worksheet, spec: SheetSpec, activities: list[Activity]) -> int:
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor=spec.header_color)
    locked_fill = PatternFill("solid", fgColor=spec.locked_color)
    wrap = Alignment(wrap_text=True, vertical="top")
    unlocked = Protection(locked=False)
    for index, column in enumerate(spec.columns, start=1):
        cell = sheet.cell(row=1, column=index)
        write_text(cell, column.header + (" *" if column.required else ""))
        cell.font, cell.fill = header_font, header_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        sheet.column_dimensions[get_column_letter(index)].width = column.width
    last_row = len(activities) + spec.new_rows + 1
    for row in range(2, last_row + 1):
        activity = activities[row - 2] if row - 2 < len(activities) else None
        for index, column in enumerate(spec.columns, start=1):
            cell = sheet.cell(row=row, column=index)
            cell.alignment = wrap
            if column.kind == "id":
                cell.fill = locked_fill  # locked: the default protection of a cell
            else:
                cell.protection = unlocked
                # typed text stays text, "=…" included; dates and years show as typed
                cell.number_format = PERIOD_FORMAT if column.kind == "date" else "@"
            if activity is None:
                continue
            text = (activity.key or "") if column.kind == "id" else field_text(activity, column)
            if not text:
                continue
            if column.kind == "date":
                value = date_cell_value(text)
                if isinstance(value, str):
                    write_text(cell, value)
                else:
                    cell.value = value
                    cell.number_format = PERIOD_FORMAT  # openpyxl gives a date its own ISO format
            else:
                write_text(cell, text)
    sheet.freeze_panes = "C2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(spec.columns))}{last_row}"
    sheet.row_dimensions[1].height = 32
    protection = sheet.protection
    protection.sheet = True
    # Allowed (False): formatting, filtering, links; inserting and deleting rows (Excel still refuses to delete
    # a row holding a locked ID; LibreOffice refuses both for such rows). Sorting stays forbidden: sorting the
    # unlocked columns alone would part every row from its ID (LibreOffice does sort them; Excel does not).
    for permission in ("formatCells", "formatColumns", "formatRows", "insertRows", "deleteRows",
                       "autoFilter", "insertHyperlinks"):
        setattr(protection, permission, False)
    protection.sort = True
    return last_row


def field_text(activity: Activity, column: Column) -> str:
    if column.is_core_field:
        return str(getattr(activity, column.key))
    return activity.extra.get(column.key, "")


def build_workbook(
    *, spec: SheetSpec, catalogs: Catalogs, info: SheetInfo, activities: list[Activity], secret: bytes
) -> bytes:
    """The personal workbook for one institution, pre-filled with ``activities``, as .xlsx bytes.

    Built whole by openpyxl; many of them (a round): ``workbook_skeleton.SheetBuilder``, same bytes, faster."""
    workbook = Workbook()
    sheet = workbook.active
    if sheet is None:  # a new Workbook always has one sheet
        raise RuntimeError("openpyxl created no sheet")
    sheet.title = spec.sheet_name
    last_row = _activity_sheet(sheet, spec, activities)

    hints = workbook.create_sheet(spec.hints_sheet_name)
    hints.column_dimensions["A"].width = 120
    hints.sheet_properties.pageSetUpPr.fitToPage = True  # printed: one page wide
    hints.page_setup.fitToWidth, hints.page_setup.fitToHeight = 1, 0
    for row, line in enumerate(render_hints(hints_template(spec), spec, catalogs, info), start=1):
        cell = hints.cell(row=row, column=1)
        heading = line.startswith("# ")
        write_text(cell, line[2:] if heading else line)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        if heading:
            cell.font = Font(bold=True, size=14 if row == 1 else 12)
        elif len(line) > HINT_LINE_CHARS:
            # LibreOffice does not grow a row for wrapped text when it opens an .xlsx: the lines would overlap.
            hints.row_dimensions[row].height = LINE_HEIGHT * -(-len(line) // HINT_LINE_CHARS)

    ranges = _lists_sheet(workbook, spec, catalogs)
    _validations(sheet, spec, ranges, last_row, info.year_range(spec))

    meta = workbook.create_sheet(spec.meta_sheet_name)
    meta.sheet_state = "veryHidden"
    for row, (key, value) in enumerate(info.meta(spec).rows(secret), start=1):
        write_text(meta.cell(row=row, column=1), key)
        write_text(meta.cell(row=row, column=2), value)
    meta.protection.sheet = True

    workbook.active = 0
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
