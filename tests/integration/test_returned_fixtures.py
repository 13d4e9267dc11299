"""Workbooks that real spreadsheet programs wrote read back with every row intact (DESIGN §5).

The committed files under tests/fixtures/returned/ were made by tests/fixtures/make_fixtures.py:
LibreOffice (Debian's libreoffice-calc-nogui, driven through python3-uno) and Gnumeric (Debian's
gnumeric, its ssconvert typing the edits) edited and saved our sheet as .xlsx, .ods and .xls;
xlsxwriter wrote it as another program would. Tests re-run LibreOffice and Gnumeric live so a change
to the builder cannot silently break the round trip.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from core.activity import Activity
from core.diff import diff_activities
from core.sheet_check import Expected, SheetResult, check_sheet
from tests.support import gnumeric
from tests.support.factories import SHEET_SECRET, build_sheet_bytes, demo_activities, templates
from usecases.sandbox import read_grid_isolated
from usecases.settings import BUNDLED_TEMPLATES

FIXTURES = Path(__file__).parents[1] / "fixtures"
FIXTURE_SECRET = b"fixture-secret-not-for-production"


def read(path: Path, secret: bytes = FIXTURE_SECRET) -> SheetResult:
    from core.filetype import Limits

    spec, catalogs = templates()
    grid = read_grid_isolated(path.read_bytes(), templates_dir=BUNDLED_TEMPLATES, limits=Limits())
    return check_sheet(grid, spec=spec, catalogs=catalogs, expected=Expected("aachen", 2026, secret, "IHK"),
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



def gnumeric_edits_as_activities() -> tuple[list[Activity], list[Activity]]:
    """What the institution typed in Gnumeric (tests/support/gnumeric.py EDITS), as the activities it means:
    the sheet's rows in order, and the one kept though missing (its row cleared)."""
    base = {a.key: a for a in demo_activities()}
    new = Activity(key=None, institution_code="IHK", title="Azubi-Werkstatt Energiewende",
                   field_of_action="Transformation und Digitalisierung der Arbeitswelt", status="geplant",
                   start="2026", end="2027-12", target_groups="Auszubildende; Unternehmen", area="StädteRegion Aachen",
                   remarks="=keine Formel, nur Text")
    rows = [
        dataclasses.replace(base["IHK-0001"], title="Ausbildungsbotschafter:innen (erweitert)",
                            description="Auszubildende berichten in Schulklassen.\nNeu: auch an Förderschulen – für "
                                        "Schüler:innen mit Förderbedarf; Größe der Gruppen ≤ 12."),
        dataclasses.replace(base["IHK-0002"], status="entfällt"),
        dataclasses.replace(base["IHK-0003"], start="2026-03-15", end="2026-06-30"),
        dataclasses.replace(base["IHK-0005"], start="2023", remarks="=10+2"),  # formula's value; text stays text
        base["IHK-0006"],
        new,
    ]
    return rows, [base["IHK-0004"]]


@pytest.mark.parametrize("suffix", gnumeric.FORMATS)
def test_gnumeric_edits_read_back_in_every_format(suffix: str) -> None:
    result = read(FIXTURES / "returned" / f"gn_edited.{suffix}")
    assert result.ok, [p.message for p in result.problems]
    rows, missing = gnumeric_edits_as_activities()
    assert result.activities == rows  # every row, every field: the line break too (ODS <text:line-break/>)
    assert result.missing == missing


@pytest.mark.parametrize("suffix", gnumeric.FORMATS)
def test_gnumeric_unedited_round_trip_is_unchanged(suffix: str) -> None:
    result = read(FIXTURES / "returned" / f"gn_unedited.{suffix}")
    assert result.ok, [p.message for p in result.problems]
    assert result.activities == demo_activities()


def test_live_gnumeric_round_trip_of_a_freshly_built_sheet(tmp_path: Path) -> None:
    base = tmp_path / "fko_built.xlsx"
    base.write_bytes(build_sheet_bytes())
    gnumeric.write_returns(base, tmp_path)
    rows, missing = gnumeric_edits_as_activities()
    for suffix in gnumeric.FORMATS:
        unedited = read(tmp_path / f"gn_unedited.{suffix}", SHEET_SECRET)
        assert unedited.ok and unedited.activities == demo_activities(), suffix
        edited = read(tmp_path / f"gn_edited.{suffix}", SHEET_SECRET)
        assert edited.ok, [p.message for p in edited.problems]
        assert (edited.activities, edited.missing) == (rows, missing), suffix


def libreoffice_ods(source: Path, out_dir: Path) -> Path:
    """The real LibreOffice saves ``source`` as .ods (own profile; a fresh one may need a retry)."""
    for _ in range(3):
        subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={(out_dir / 'p').as_uri()}",
                        "--convert-to", "ods", "--outdir", str(out_dir), str(source)],
                       capture_output=True, timeout=300, check=False)
        if (target := out_dir / f"{source.stem}.ods").is_file():
            return target
    raise AssertionError("LibreOffice wrote no .ods")


@pytest.mark.parametrize("program", ["gnumeric", "libreoffice"])
def test_merged_id_cells_in_an_ods_are_refused_by_range_as_in_xlsx(tmp_path: Path, program: str) -> None:
    source = FIXTURES / "hostile" / "merged-id-cells.xlsx"  # A2:A4 merged: rows 3 and 4 would lose their IDs
    if program == "gnumeric":
        gnumeric.ssconvert(source, ods := tmp_path / "merged.ods")
    else:
        ods = libreoffice_ods(source, tmp_path)
    problems = [(p.cell, p.message) for p in read(ods, SHEET_SECRET).problems]
    assert problems == [(p.cell, p.message) for p in read(source, SHEET_SECRET).problems]
    assert problems == [("A2:A4", "Die Zellen A2:A4 sind verbunden. Bitte die Verbindung aufheben (in Excel: Start › "
                                  "„Verbinden und zentrieren“) und jede Zeile vollständig ausfüllen, auch die ID.")]
