"""What python-calamine does with valid .ods files today, pinned: .ods returns are read by core.ods because of it.

The files are the minimal reproducers of tests/fixtures/calamine_ods/ (make_repro.py). When an upgrade of
python-calamine changes any of this, a test here fails: then see whether calamine could read .ods again
(README, reading returned sheets) and update these pins.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

from python_calamine import CalamineError, CalamineWorkbook

from core.grid import MAX_COLUMNS
from core.ods import read_ods
from tests.support import gnumeric

REPRO = Path(__file__).parents[1] / "fixtures" / "calamine_ods"
UPGRADED = "python-calamine changed its .ods reading: re-check README (reading returned sheets) and core.ods"


def ours(name: str) -> list[list[object]]:
    (sheet,) = read_ods((REPRO / name).read_bytes(), keep_rows=lambda _n, _v: 10, max_columns=MAX_COLUMNS)
    return [list(row) for row in sheet.rows]


def refusal(opening: Callable[[], object]) -> str | None:
    try:
        opening()
    except CalamineError as exc:
        return str(exc)
    return None


def test_calamine_refuses_cells_on_lines_of_their_own(tmp_path: Path) -> None:
    path = REPRO / "cells-on-own-lines.ods"
    message = refusal(lambda: CalamineWorkbook.from_path(str(path)))
    assert message is not None and "Expecting 'table-cell'" in message, UPGRADED
    # From bytes, as the sandbox reads uploads, the same failure looks like an unknown format.
    assert refusal(lambda: CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes()))) is not None, UPGRADED
    # The file is valid: the same document without the whitespace reads, and so does Gnumeric, and so do we.
    assert CalamineWorkbook.from_path(str(REPRO / "cells-compact.ods")).get_sheet_by_name("Tabelle1").to_python() == [
        ["ID", "Titel"]]
    gnumeric.ssconvert(path, tmp_path / "back.csv")
    assert (tmp_path / "back.csv").read_text().splitlines() == ["ID,Titel"]
    assert ours("cells-on-own-lines.ods") == [["ID", "Titel"]]


def test_calamine_drops_line_breaks_and_merged_ranges_of_ods() -> None:
    sheet = CalamineWorkbook.from_path(str(REPRO / "line-break-and-merge.ods")).get_sheet_by_name("Tabelle1")
    assert sheet.to_python() == [["Zeile einsZeile zwei"], ["IHK-0001"]], UPGRADED
    assert sheet.merged_cell_ranges is None, UPGRADED
    assert ours("line-break-and-merge.ods") == [["Zeile eins\nZeile zwei"], ["IHK-0001"]]
    (read,) = read_ods((REPRO / "line-break-and-merge.ods").read_bytes(), keep_rows=lambda _n, _v: 10,
                       max_columns=MAX_COLUMNS)
    assert read.merged == [(1, 0, 2, 0)]
