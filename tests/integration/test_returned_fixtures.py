"""Workbooks that real spreadsheet programs wrote read back with every row intact (DESIGN §5).

The committed files under tests/fixtures/returned/ were made by tests/fixtures/make_fixtures.py:
LibreOffice (Debian's libreoffice-calc-nogui, driven through python3-uno) edited and saved our sheet
as .xlsx, .ods and .xls; xlsxwriter wrote it as another program would. One test re-runs LibreOffice
live so a change to the builder cannot silently break the round trip.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core.diff import diff_activities
from core.sheet_check import Expected, SheetResult, check_sheet
from tests.support.factories import demo_activities, templates
from usecases.sandbox import read_grid_isolated
from usecases.settings import BUNDLED_TEMPLATES

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE_SECRET = b"fixture-secret-not-for-production"


def read(path: Path) -> SheetResult:
    from core.filetype import Limits

    spec, catalogs = templates()
    grid = read_grid_isolated(path.read_bytes(), templates_dir=BUNDLED_TEMPLATES, limits=Limits())
    return check_sheet(grid, spec=spec, catalogs=catalogs, expected=Expected("aachen", 2026, FIXTURE_SECRET, "IHK"),
                       base=demo_activities())


def assert_edits_arrived(result: SheetResult) -> None:
    _, catalogs = templates()
    base = demo_activities()
    assert result.ok, [p.message for p in result.problems]
    diff = diff_activities(base, result.activities, ending_statuses=catalogs.ending_statuses)
    by_key = {a.key: a for a in result.activities}
    assert by_key["IHK-0001"].title == "Ausbildungsbotschafter:innen (erweitert)"
    assert by_key["IHK-0001"].description == (
        "Auszubildende berichten in Schulklassen.\nNeu: auch an Förderschulen – für Schüler:innen mit Förderbedarf; "
        "Größe der Gruppen ≤ 12.")
    assert [a.key for a in diff.ended] == ["IHK-0002"]
    assert (by_key["IHK-0003"].start, by_key["IHK-0003"].end) == ("2026-03-15", "2026-06-30")
    assert [a.key for a in result.missing] == ["IHK-0004"]  # cleared, not deleted: kept and flagged
    assert by_key["IHK-0005"].remarks == "12"               # a typed formula: its value
    assert by_key["IHK-0006"] == base[5]
    (new,) = diff.new
    assert (new.title, new.status, new.start, new.end, new.area) == (
        "Azubi-Werkstatt Energiewende", "geplant", "2026", "2027-12", "StädteRegion Aachen")
    assert new.target_groups == "Auszubildende; Unternehmen"
    assert new.remarks == "=keine Formel, nur Text"


@pytest.mark.parametrize("name", ["lo_edited.xlsx", "lo_edited.ods", "lo_edited.xls"])
def test_libreoffice_edits_read_back_in_every_format(name: str) -> None:
    assert_edits_arrived(read(FIXTURES / "returned" / name))


@pytest.mark.parametrize("name", ["lo_unedited.xlsx", "fko_built.xlsx"])
def test_unedited_round_trip_is_unchanged(name: str) -> None:
    result = read(FIXTURES / "returned" / name)
    assert result.ok and result.activities == demo_activities()


def test_row_deleted_in_libreoffice_million_row_dimension() -> None:
    path = FIXTURES / "returned" / "lo_row_deleted.xlsx"
    import zipfile

    assert b'<dimension ref="A1:O1048576"/>' in zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    result = read(path)
    assert result.ok
    assert [a.key for a in result.activities] == [f"IHK-000{n}" for n in range(1, 6)]
    assert [a.key for a in result.missing] == ["IHK-0006"]


def test_xlsxwriter_file_with_windows_line_ends() -> None:
    result = read(FIXTURES / "returned" / "xlsxwriter.xlsx")
    assert result.ok
    assert result.activities[0].description.endswith("\nZweite Zeile mit Windows-Zeilenende.")
    assert "_x000D_" not in result.activities[0].description and "\r" not in result.activities[0].description


def test_live_libreoffice_round_trip_of_a_freshly_built_sheet(tmp_path: Path) -> None:
    completed = subprocess.run([sys.executable, str(FIXTURES / "make_fixtures.py"), str(tmp_path)],
                               capture_output=True, text=True, timeout=600)
    assert completed.returncode == 0, completed.stderr[-3000:]
    for suffix in ("xlsx", "ods", "xls"):
        assert_edits_arrived(read(tmp_path / f"lo_edited.{suffix}"))
    assert read(tmp_path / "lo_unedited.xlsx").activities == demo_activities()

