"""The sheet as institutions meet it: edited in a real LibreOffice with the protection on, then checked and
ingested through the real CLI; `sheet check --json` and `ingest --json` agree on a refused file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.factories import edit_sheet
from usecases.settings import BUNDLED_TEMPLATES

FIXTURES = Path(__file__).parent.parent / "fixtures"
YEAR = "2027"


def open_round_and_build(run_fko, tmp_path: Path, *, concept: str = "") -> Path:  # type: ignore[no-untyped-def]
    """The demo's round 2027 open and IHK's sheet built; ``concept``: [concept] entries of the region file."""
    assert run_fko("init", "--demo").exit_code == 0
    if concept:
        region = tmp_path / "region.toml"
        region.write_text((BUNDLED_TEMPLATES / "region.toml").read_text(encoding="utf-8")
                          .replace("[concept]\n", f"[concept]\n{concept}\n"), encoding="utf-8")
        assert run_fko("init", "--region-file", str(region)).exit_code == 0
    opened = run_fko("cycle", "open", "--year", YEAR, "--deadline", "15.10.2027")
    assert opened.exit_code == 0, opened.stderr
    built = run_fko("sheet", "build", "-i", "IHK", "-o", str(tmp_path), "--year", YEAR)
    assert built.exit_code == 0, built.stderr
    return tmp_path / f"Abfrage-{YEAR}-aachen-IHK.xlsx"


def edit_in_libreoffice(sheet: Path, out: Path) -> dict[str, Any]:
    """tests/fixtures/lo_protected_edit.py under Debian's python3 (python3-uno). A fresh profile may fail once,
    and under a loaded test run LibreOffice's dispatcher has twice ended the office mid-script: tried three
    times, each with a fresh profile (the result of a run that finishes is not affected)."""
    if shutil.which("soffice") is None or not Path("/usr/bin/python3").exists():
        pytest.skip("LibreOffice with python3-uno is not installed")
    completed = None
    for _ in range(3):
        completed = subprocess.run(["/usr/bin/python3", str(FIXTURES / "lo_protected_edit.py"), str(sheet), str(out)],
                                   capture_output=True, text=True, timeout=300, check=False)
        if completed.returncode == 0:
            return dict(json.loads(completed.stdout))
    assert completed is not None
    raise AssertionError(completed.stderr[-3000:])


def shown(cells: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {address: str(cell["shown"]) for address, cell in cells.items()}


def json_of(result) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    return dict(json.loads(result.stdout))


def stored_activity_rows(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "var" / "fko.db") as connection:
        return int(connection.execute("select count(*) from activity").fetchone()[0])


def test_sheet_editing_in_libreoffice_with_protection_on(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheet = open_round_and_build(run_fko, tmp_path, concept="horizon = 2027")  # the sheet takes 2000 to 2032
    report = edit_in_libreoffice(sheet, tmp_path / "lo")

    assert report["protected"] is True
    assert report["id_refused"] is True       # the ID stays as it was
    assert report["insert_refused"] is True   # LibreOffice inserts no row holding a locked ID: free rows instead
    assert report["cut_refused"] is True      # a row cannot be moved with its ID
    assert report["sort_refused"] is False    # LibreOffice sorts the unlocked columns alone: Hinweise warn
    # What a person sees after typing, and again after the saved file is opened anew (before: "46461").
    expected = {"A2": "IHK-0001", "F2": "15.03.2027", "G2": "2027", "F3": "2015", "G3": "03.2027",
                "E4": "abgeschlossen", "E5": "entfällt", "A7": "IHK-0006", "A8": "", "B8": "Azubi-Speed-Dating",
                "F8": "01.09.2027", "G8": "2027", "F9": ""}
    assert shown(report["cells"]) == expected
    assert shown(report["reopened"]) == expected
    assert report["cells"]["F2"]["kind"] == "value" and report["cells"]["F2"]["value"] == 46461  # a real date
    assert report["cells"]["G2"]["kind"] == "value" and report["cells"]["G2"]["value"] == 2027   # a year

    checked = run_fko("sheet", "check", str(tmp_path / "lo" / "edited.xlsx"), "--year", YEAR, "--json")
    assert checked.exit_code == 0, checked.stdout
    result = json_of(checked)
    assert (result["ok"], result["rows"], result["problems"]) == (True, 7, [])
    changes = result["changes"]
    assert (changes["new"], changes["changed"], changes["ended"], changes["missing"]) == (1, 2, 2, 0)
    assert changes["new_titles"] == ["Azubi-Speed-Dating"]
    fields = {(c["key"], f["field"]): (f["old"], f["new"]) for c in changes["details"] for f in c["fields"]}
    assert fields == {("IHK-0001", "start"): ("2016", "2027-03-15"), ("IHK-0002", "end"): ("2027", "2027-03")}

    # The same sheet with a year beyond the latest the round takes: shown as typed, refused alike by both commands.
    assert report["beyond_latest"]["shown"] == "2040"
    beyond = tmp_path / "lo" / "beyond_latest.xlsx"
    activities_before = stored_activity_rows(tmp_path)
    checked = run_fko("sheet", "check", str(beyond), "--year", YEAR, "--json")
    ingested = run_fko("ingest", str(beyond), "--year", YEAR, "--json")
    assert (checked.exit_code, ingested.exit_code) == (1, 1)
    check_report, ingest_report = json_of(checked), json_of(ingested)
    assert check_report["problems"] == [{"cell": "G2", "column": "Ende", "message": "Zeile 2, Ende: 2040 liegt "
                                         "außerhalb der zulässigen Jahre (2000 bis 2032). Bitte die Jahreszahl "
                                         "prüfen."}]
    for key in ("ok", "institution", "rows", "problems"):
        assert check_report[key] == ingest_report[key], key
    assert check_report["rows"] == 7
    assert stored_activity_rows(tmp_path) == activities_before  # nothing of the refused file stored

    # A year after the concept's horizon (2027) is what next year's plans look like: taken, with a notice.
    assert report["after_horizon"]["shown"] == "2028"
    after = tmp_path / "lo" / "after_horizon.xlsx"
    checked = run_fko("sheet", "check", str(after), "--year", YEAR, "--json")
    ingested = run_fko("ingest", str(after), "--year", YEAR, "--json", "--dry-run")
    assert (checked.exit_code, ingested.exit_code) == (0, 0)
    check_report, ingest_report = json_of(checked), json_of(ingested)
    assert check_report["notices"] == [{"cell": "G2", "column": "Ende", "message": "Zeile 2, Ende: 2028 liegt nach "
                                        "dem Zeitraum des Handlungskonzepts (bis 2027). Bitte prüfen; die Angabe "
                                        "wird übernommen."}]
    for key in ("ok", "institution", "rows", "problems", "notices"):
        assert check_report[key] == ingest_report[key], key


def test_sheet_editing_refused_file_same_rows_and_problems_in_check_and_ingest(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheet = open_round_and_build(run_fko, tmp_path)
    # First an accepted return with a new row: it gets the ID IHK-0007 ...
    sheet.write_bytes(edit_sheet(sheet.read_bytes(), {"B8": "Neu per Post", "D8": "Duale Ausbildung stärken",
                                                      "E8": "geplant"}))
    accepted = run_fko("ingest", str(sheet), "--year", YEAR, "--json")
    assert accepted.exit_code == 0, accepted.stdout
    assert json_of(accepted)["rows"] == 7
    # ... which a later sheet carries (as the one behind the link does), with two mistakes.
    later = tmp_path / "zweite.xlsx"
    later.write_bytes(edit_sheet(sheet.read_bytes(), {"A8": "IHK-0007", "D3": "Ausbildung", "F4": "bald"}))
    activities_before = stored_activity_rows(tmp_path)
    checked = run_fko("sheet", "check", str(later), "--year", YEAR, "--json")
    ingested = run_fko("ingest", str(later), "--year", YEAR, "--json")
    assert (checked.exit_code, ingested.exit_code) == (1, 1)
    check_report, ingest_report = json_of(checked), json_of(ingested)
    assert [(p["cell"], p["column"]) for p in check_report["problems"]] == [("D3", "Handlungsfeld"), ("F4", "Beginn")]
    assert all(p["message"].startswith(f"Zeile {p['cell'][1:]}, ") for p in check_report["problems"])  # German
    for key in ("ok", "institution", "rows", "problems"):
        assert check_report[key] == ingest_report[key], key
    assert check_report["rows"] == 7
    assert stored_activity_rows(tmp_path) == activities_before
