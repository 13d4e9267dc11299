"""Read a returned workbook: bytes in, checked activities and problems out (DESIGN §5)."""

from __future__ import annotations

from core.activity import Activity
from core.catalog import Catalogs
from core.filetype import FileRefused, Limits
from core.grid import Grid, GridError, read_untrusted
from core.problem import Problem
from core.sheet_check import Expected, SheetResult, check_sheet
from core.sheet_spec import SheetSpec


def read_grid(data: bytes, *, spec: SheetSpec, limits: Limits) -> Grid:
    """Detect the type, refuse dangerous containers, then parse (in this process: see usecases.sandbox)."""
    return read_untrusted(data, sheet_name=spec.sheet_name, meta_sheet_name=spec.meta_sheet_name,
                          skip_sheets=(spec.hints_sheet_name, spec.lists_sheet_name), max_rows=spec.max_rows,
                          limits=limits)


def sheet_names(spec: SheetSpec) -> dict[str, object]:
    """What the reader needs of the spec (the sandbox passes it to its child process)."""
    return {"sheet_name": spec.sheet_name, "meta_sheet_name": spec.meta_sheet_name,
            "skip_sheets": (spec.hints_sheet_name, spec.lists_sheet_name), "max_rows": spec.max_rows}


def refused(message: str) -> SheetResult:
    return SheetResult(problems=[Problem(None, None, message)])


def read_workbook(data: bytes, *, spec: SheetSpec, catalogs: Catalogs, expected: Expected,
                  base: list[Activity], limits: Limits | None = None) -> SheetResult:
    """Everything in one call, in this process: for tests and trusted files."""
    try:
        grid = read_grid(data, spec=spec, limits=limits or Limits())
    except (FileRefused, GridError) as exc:
        return refused(str(exc))
    return check_sheet(grid, spec=spec, catalogs=catalogs, expected=expected, base=base)
