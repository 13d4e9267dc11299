"""Raw cell values of a returned workbook: python-calamine reads .xlsx, .xlsm and .xls, core.ods the .ods.

``extract_grid`` runs the parser in this process; python-calamine can abort the whole process on
crafted files (FACTS.md), so adapters call it in an isolated child process (usecases.sandbox).
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from python_calamine import CalamineError, CalamineWorkbook, PasswordError, SheetVisibleEnum

from core.filetype import FileRefused, Limits, check_container, check_size, detect_format
from core.ods import OdsError, OdsSheet, read_ods
from core.text import fold

Value = str | float | int | bool | dt.date | dt.datetime | dt.time | dt.timedelta | None

MAX_COLUMNS = 200        # wider sheets are refused rather than read
HEADER_SEARCH_ROWS = 20  # the header row may have been moved down this far
MAX_SHEETS = 100         # more visible sheets than this are refused rather than read
META_ROWS = 50           # rows of the meta sheet read


class GridError(ValueError):
    """The file could not be parsed; ``str(exc)`` is a German sentence for the institution."""


@dataclass
class Grid:
    activity_sheet: str | None
    rows: list[list[Value]] = field(default_factory=list)  # from A1, absolute positions
    total_rows: int = 0   # rows up to the last non-empty cell, even beyond ``rows``
    total_columns: int = 0
    meta: dict[str, str] = field(default_factory=dict)
    sheet_names: list[str] = field(default_factory=list)
    # Merged cell ranges of the activity sheet, 0-based (first row, first column, last row, last column).
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)


def _meta_text(value: Value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value).strip()


def extract_grid(data: bytes, *, sheet_name: str, meta_sheet_name: str, skip_sheets: tuple[str, ...],
                 max_rows: int) -> Grid:
    """Read the activity sheet (by name, else the first visible data sheet) and the meta sheet."""
    if _is_ods(data):
        return _ods_grid(data, sheet_name=sheet_name, meta_sheet_name=meta_sheet_name, skip_sheets=skip_sheets,
                         max_rows=max_rows)
    workbook = _open(data)
    try:
        metadata = workbook.sheets_metadata
        names = [m.name for m in metadata]
        wanted = fold(sheet_name)
        chosen = next((n for n in names if fold(n) == wanted), None)
        if chosen is None:
            skip = {s.casefold() for s in (*skip_sheets, meta_sheet_name)}
            chosen = next((m.name for m in metadata
                           if m.name.casefold() not in skip and m.visible == SheetVisibleEnum.Visible), None)
        grid = Grid(activity_sheet=chosen, sheet_names=names)
        if meta_sheet_name in names:
            for row in workbook.get_sheet_by_name(meta_sheet_name).to_python(skip_empty_area=False, nrows=META_ROWS):
                if len(row) >= 2 and _meta_text(row[0]):
                    grid.meta[_meta_text(row[0])] = _meta_text(row[1])
        if chosen is None:
            return grid
        _read_cells(workbook, grid, max_rows)
        return grid
    except (CalamineError, ValueError, OSError) as exc:
        raise GridError(_UNREADABLE) from exc
    finally:
        workbook.close()


def extract_sheets(data: bytes, *, max_rows: int, max_sheets: int = MAX_SHEETS) -> list[Grid]:
    """Read every visible sheet (in workbook order), each as a Grid named by ``activity_sheet``; hidden
    sheets are not read (their names stay in ``sheet_names``)."""
    if _is_ods(data):
        return _ods_sheets(data, max_rows=max_rows, max_sheets=max_sheets)
    workbook = _open(data)
    try:
        metadata = workbook.sheets_metadata
        names = [m.name for m in metadata]
        grids: list[Grid] = []
        for m in metadata:
            if m.visible != SheetVisibleEnum.Visible:
                continue
            if len(grids) == max_sheets:
                raise GridError(_too_many_sheets(max_sheets))
            grid = Grid(activity_sheet=m.name, sheet_names=names)
            _read_cells(workbook, grid, max_rows)
            grids.append(grid)
        return grids
    except GridError:
        raise
    except (CalamineError, ValueError, OSError) as exc:
        raise GridError(_UNREADABLE) from exc
    finally:
        workbook.close()


def _open(data: bytes) -> CalamineWorkbook:
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except PasswordError as exc:
        raise GridError(_PROTECTED) from exc
    except (CalamineError, ValueError, OSError) as exc:
        raise GridError(_UNREADABLE) from exc


def _read_cells(workbook: CalamineWorkbook, grid: Grid, max_rows: int) -> None:
    """Fill ``grid`` with the cells of its sheet ``grid.activity_sheet``."""
    sheet = workbook.get_sheet_by_name(grid.activity_sheet or "")
    end = sheet.end
    if end is None:
        return
    grid.total_rows, grid.total_columns = end[0] + 1, end[1] + 1
    grid.merged = [(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])][:1000]
    if grid.total_columns > MAX_COLUMNS:
        return  # refused by the check; reading 16,384 columns would cost gigabytes
    grid.rows = [list(r) for r in sheet.to_python(skip_empty_area=False, nrows=_rows_read(max_rows))]


def _rows_read(max_rows: int) -> int:
    """Rows of the activity sheet read: the header may stand lower, one more shows that there are too many."""
    return max_rows + HEADER_SEARCH_ROWS + 1


def _too_many_sheets(max_sheets: int) -> str:
    return (f"Die Datei enthält mehr als {max_sheets} sichtbare Blätter. Bitte nur die Blätter mit Aktivitäten "
            "einreichen.")


def _is_ods(data: bytes) -> bool:
    try:
        return detect_format(data) == "ods"
    except FileRefused:
        return False


def _read_ods(data: bytes, keep_rows: Callable[[str, bool], int]) -> list[OdsSheet]:
    try:
        return read_ods(data, keep_rows=keep_rows, max_columns=MAX_COLUMNS)
    except OdsError as exc:
        raise GridError(_UNREADABLE) from exc


def _from_ods(sheet: OdsSheet, names: list[str]) -> Grid:
    grid = Grid(activity_sheet=sheet.name, sheet_names=names, total_rows=sheet.total_rows,
                total_columns=sheet.total_columns, merged=sheet.merged)
    if grid.total_columns <= MAX_COLUMNS:  # wider: refused by the check, as from calamine
        grid.rows = [list[Value](row) for row in sheet.rows]
    return grid


def _ods_grid(data: bytes, *, sheet_name: str, meta_sheet_name: str, skip_sheets: tuple[str, ...],
              max_rows: int) -> Grid:
    """``extract_grid`` of an .ods: the same choice of sheets, in one pass that keeps only their rows."""
    wanted = fold(sheet_name)
    skip = {s.casefold() for s in (*skip_sheets, meta_sheet_name)}
    fallback: list[str] = []  # the first visible data sheet, in case none has the activity sheet's name

    def keep_rows(name: str, visible: bool) -> int:
        if fold(name) == wanted:
            return _rows_read(max_rows)
        if name == meta_sheet_name:
            return META_ROWS
        if visible and name.casefold() not in skip and not fallback:
            fallback.append(name)
            return _rows_read(max_rows)
        return 0

    sheets = _read_ods(data, keep_rows)
    names = [s.name for s in sheets]
    chosen = next((s for s in sheets if fold(s.name) == wanted), None) or next(
        (s for s in sheets if s.visible and s.name.casefold() not in skip), None)
    grid = _from_ods(chosen, names) if chosen else Grid(activity_sheet=None, sheet_names=names)
    for sheet in sheets:
        if sheet.name == meta_sheet_name:
            for row in sheet.rows[:META_ROWS]:
                if len(row) >= 2 and _meta_text(row[0]):
                    grid.meta[_meta_text(row[0])] = _meta_text(row[1])
            break
    return grid


def _ods_sheets(data: bytes, *, max_rows: int, max_sheets: int) -> list[Grid]:
    """``extract_sheets`` of an .ods."""
    visible = 0

    def keep_rows(_name: str, is_visible: bool) -> int:
        nonlocal visible
        visible += is_visible
        return _rows_read(max_rows) if is_visible and visible <= max_sheets else 0

    sheets = _read_ods(data, keep_rows)
    if visible > max_sheets:
        raise GridError(_too_many_sheets(max_sheets))
    names = [s.name for s in sheets]
    return [_from_ods(s, names) for s in sheets if s.visible]


def read_untrusted(data: bytes, *, sheet_name: str, meta_sheet_name: str, skip_sheets: tuple[str, ...],
                   max_rows: int, limits: Limits) -> Grid:
    """Detect the type, refuse dangerous containers, then parse. In this process: adapters run it in the
    sandbox (usecases.sandbox), which imports nothing else."""
    check_size(data, limits)
    file_format = detect_format(data)
    check_container(data, file_format, limits)
    return extract_grid(data, sheet_name=sheet_name, meta_sheet_name=meta_sheet_name, skip_sheets=skip_sheets,
                        max_rows=max_rows)


def read_untrusted_sheets(data: bytes, *, max_rows: int, limits: Limits) -> list[Grid]:
    """Like ``read_untrusted``, but every visible sheet (``extract_sheets``)."""
    check_size(data, limits)
    file_format = detect_format(data)
    check_container(data, file_format, limits)
    return extract_sheets(data, max_rows=max_rows)


_PROTECTED = ("Die Datei ist mit einem Passwort geschützt und kann nicht gelesen werden. "
              "Bitte den Passwortschutz entfernen und erneut speichern.")
_UNREADABLE = ("Die Datei konnte nicht gelesen werden; sie ist beschädigt oder in einem unbekannten Format. "
               "Bitte in Excel oder LibreOffice öffnen, als .xlsx speichern und erneut hochladen.")


def value_to_json(value: Value) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, dt.time):
        return {"time": value.isoformat()}
    if isinstance(value, dt.timedelta):
        return {"seconds": value.total_seconds()}
    return value


def value_from_json(value: Any) -> Value:
    if isinstance(value, dict):
        if "datetime" in value:
            return dt.datetime.fromisoformat(value["datetime"])
        if "date" in value:
            return dt.date.fromisoformat(value["date"])
        if "time" in value:
            return dt.time.fromisoformat(value["time"])
        if "seconds" in value:
            return dt.timedelta(seconds=value["seconds"])
        raise ValueError(f"unknown cell value {value!r}")
    if value is None or isinstance(value, str | float | int | bool):
        return value
    raise ValueError(f"unknown cell value {value!r}")


def grid_to_json(grid: Grid) -> dict[str, Any]:
    return {
        "activity_sheet": grid.activity_sheet,
        "rows": [[value_to_json(v) for v in row] for row in grid.rows],
        "total_rows": grid.total_rows,
        "total_columns": grid.total_columns,
        "meta": grid.meta,
        "sheet_names": grid.sheet_names,
        "merged": [list(m) for m in grid.merged],
    }


def grid_from_json(data: dict[str, Any]) -> Grid:
    return Grid(
        activity_sheet=data["activity_sheet"],
        rows=[[value_from_json(v) for v in row] for row in data["rows"]],
        total_rows=int(data["total_rows"]),
        total_columns=int(data["total_columns"]),
        meta={str(k): str(v) for k, v in data["meta"].items()},
        sheet_names=[str(n) for n in data["sheet_names"]],
        merged=[(int(m[0]), int(m[1]), int(m[2]), int(m[3])) for m in data.get("merged", [])],
    )
