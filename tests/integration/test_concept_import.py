"""`fko concept import` as staff use it: a real workbook (also one LibreOffice wrote), the real CLI, a real database."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from openpyxl import Workbook

from tests.support.factories import VALID_ROWS, institutions_xlsx

HEADER = ["Institution", "Titel", "Handlungsfeld", "Status", "Beginn", "Ende", "Zielgruppen", "Gebiet"]
DUAL = "Duale Ausbildung stärken"
GOOD = {
    "IHK": [["IHK", "Azubi-Speed-Dating", DUAL, "Bestehend", 2024, "", "Auszubildende, unternehmen", "gesamte region"],
            ["IHK Aachen", "Ausbildungsbotschafter", "Berufsorientierung u. Übergang Schule - Beruf", "bestehend",
             "01.09.2023", 2027, "", ""]],
    "Kreis": [["KDN", "Talentscouts", DUAL, "geplant", "2026", "", "", "Kreis Düren"]],
}
BAD = {
    "IHK": [["IHK", "Azubi-Speed-Dating", DUAL, "bestehend", "", "", "", ""]],
    "Kreis": [["HWK", "Meisterkurse", DUAL, "bestehend", "", "", "", ""],
              ["KDN", "Berufe-Tag", "Ausbildung", "vielleicht", "31.02.2026", "", "", ""],
              ["", "Ohne Institution", DUAL, "geplant", "", "", "", ""],
              ["IHK", "Azubi-Speed-Dating", DUAL, "bestehend", "", "", "", ""]],
}


def concept_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    workbook = Workbook()
    workbook.remove(workbook.active)
    for name, rows in sheets.items():
        sheet = workbook.create_sheet(name)
        sheet.append(HEADER)
        for row in rows:
            sheet.append(row)
        sheet.append([])  # an empty row in between is ignored
    workbook.create_sheet("Hinweise").append(["So ist die Tabelle aufgebaut."])
    workbook.save(path)
    return path


@pytest.fixture
def region(run_fko, tmp_path: Path):  # type: ignore[no-untyped-def]
    """`fko init` without the demo and the institutions IHK and KDN imported, as a new region starts."""
    assert run_fko("init").exit_code == 0
    institutions = tmp_path / "institutionen.xlsx"
    institutions.write_bytes(institutions_xlsx(VALID_ROWS))
    assert run_fko("institutions", "import", str(institutions)).exit_code == 0
    return tmp_path / "var" / "fko.db"


def versions(db: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(db) as connection:
        return connection.execute("select label, status, approved_by from concept_version order by id").fetchall()


def keys(db: Path, label: str) -> list[tuple[str, str, str]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "select a.key, a.title, a.status from activity a join concept_version v on v.id = a.version_id "
            "where v.label = ? order by a.position", (label,)).fetchall()


def test_concept_import_publishes_the_baseline_with_stable_ids(run_fko, region: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = concept_xlsx(tmp_path / "konzept.xlsx", GOOD)
    result = run_fko("concept", "import", str(path), "--published-on", "15.03.2025", "--approved-by", "Petra Plan")
    assert result.exit_code == 0, result.stderr
    assert ("konzept.xlsx eingelesen: 3 Aktivitäten von 2 Institutionen, veröffentlicht als Version 2025 "
            "(Stand 15.03.2025).") in result.stdout
    assert "Gelesen: „IHK“, „Kreis“; übersprungen: „Hinweise“" in result.stdout
    assert "IHK-0001 … IHK-0002" in result.stdout and "(KDN-0001)" in result.stdout
    assert "Blatt „IHK“, Status: „Bestehend“ → „bestehend“ (D2)" in result.stdout
    assert ("Blatt „IHK“, Handlungsfeld: „Berufsorientierung u. Übergang Schule - Beruf“ → „Berufsorientierung "
            "und Übergang Schule–Beruf“ (C3)") in result.stdout
    assert "Blatt „IHK“, Zielgruppen: „Auszubildende, unternehmen“ → „Auszubildende; Unternehmen“ (G2)" in result.stdout
    assert versions(region) == [("2025", "published", "Petra Plan")]
    assert keys(region, "2025") == [("IHK-0001", "Azubi-Speed-Dating", "bestehend"),
                                    ("IHK-0002", "Ausbildungsbotschafter", "bestehend"),
                                    ("KDN-0001", "Talentscouts", "geplant")]
    rendered = run_fko("render", "--version", "2025", "--out", str(tmp_path / "docs"), "--no-pdf")
    assert rendered.exit_code == 0, rendered.stderr  # the documents show what was imported
    html = (tmp_path / "docs" / "Handlungskonzept-2025.html").read_text(encoding="utf-8")
    assert "Talentscouts" in html and "Berufsorientierung und Übergang Schule–Beruf" in html

    again = run_fko("concept", "import", str(path))
    assert again.exit_code == 1
    assert "Es gibt bereits eine veröffentlichte Version (2025)" in again.stderr and "--label" in again.stderr
    assert versions(region) == [("2025", "published", "Petra Plan")]

    newer = run_fko("concept", "import", str(path), "--label", "2025-überarbeitet", "--json")
    assert newer.exit_code == 0, newer.stderr
    answer = json.loads(newer.stdout)
    assert answer["stored"] is True and answer["label"] == "2025-überarbeitet"
    assert answer["keys"] == ["IHK-0003", "IHK-0004", "KDN-0002"]  # IDs are never given twice
    assert [v[0] for v in versions(region)] == ["2025", "2025-überarbeitet"]


def test_concept_import_refuses_with_every_problem_and_stores_nothing(run_fko, region: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = concept_xlsx(tmp_path / "konzept.xlsx", BAD)
    result = run_fko("concept", "import", str(path))
    assert result.exit_code == 1
    err = result.stderr
    assert "konzept.xlsx wurde nicht eingelesen, nichts wurde gespeichert (6 Probleme)" in err
    for line in ["Blatt „Kreis“, Zelle A2 (Institution): „HWK“ ist keine eingelesene Institution. Bitte Kürzel "
                 "oder Namen eintragen; eingelesen sind: IHK, KDN.",
                 "Blatt „Kreis“, Zelle C3 (Handlungsfeld): „Ausbildung“ ist kein zulässiger Wert.",
                 "Blatt „Kreis“, Zelle D3 (Status): „vielleicht“ ist kein zulässiger Wert. Zulässig sind: bestehend, "
                 "geplant, abgeschlossen, entfällt.",
                 "Blatt „Kreis“, Zelle E3 (Beginn): „31.02.2026“ ist kein gültiges Datum.",
                 "Blatt „Kreis“, Zelle A4 (Institution): Die Institution fehlt.",
                 "Blatt „Kreis“, Zelle B5 (Titel): Die Aktivität „Azubi-Speed-Dating“ von IHK steht bereits in "
                 "Blatt „IHK“, Zelle B2."]:
        assert line in " ".join(err.split()), line
    assert "Traceback" not in err
    assert versions(region) == []
    assert run_fko("diff").exit_code == 2  # no version to compare: nothing was stored

    as_json = run_fko("concept", "import", str(path), "--json")
    assert as_json.exit_code == 1
    problems = json.loads(as_json.stdout)["problems"]
    assert [(p["sheet"], p["cell"]) for p in problems] == [("Kreis", "A2"), ("Kreis", "C3"), ("Kreis", "D3"),
                                                           ("Kreis", "E3"), ("Kreis", "A4"), ("Kreis", "B5")]


def test_concept_import_check_only_reports(run_fko, region: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = concept_xlsx(tmp_path / "konzept.xlsx", GOOD)
    result = run_fko("concept", "import", str(path), "--check")
    assert result.exit_code == 0, result.stderr
    assert "keine Probleme. 3 Aktivitäten von 2 Institutionen würden als Version" in result.stdout
    assert "nichts wurde gespeichert (--check)" in result.stdout
    assert "Angepasst (4 Zellen" in result.stdout
    assert versions(region) == []
    bad = run_fko("concept", "import", str(concept_xlsx(tmp_path / "bad.xlsx", BAD)), "--check")
    assert bad.exit_code == 1 and "Zelle A2 (Institution)" in bad.stderr


def test_concept_import_of_an_unreadable_file_is_one_german_line(run_fko, region: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "konzept.xlsx"
    path.write_bytes(b"PK\x03\x04 kein echtes Excel")
    result = run_fko("concept", "import", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.stderr
    assert "nichts wurde gespeichert" in result.stderr and "Die Datei" in result.stderr
    assert versions(region) == []


def test_concept_import_before_institutions_says_what_to_do(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init").exit_code == 0
    result = run_fko("concept", "import", str(concept_xlsx(tmp_path / "konzept.xlsx", GOOD)))
    assert result.exit_code == 1
    assert "Es sind noch keine Institutionen eingelesen" in result.stderr and "fko institutions import" in result.stderr


def libreoffice_convert(source: Path, suffix: str, out_dir: Path) -> Path:
    """Let the real LibreOffice save the workbook in another format (own profile; a fresh one may need a retry)."""
    office = shutil.which("soffice") or shutil.which("libreoffice")
    if office is None:
        pytest.skip("LibreOffice is not installed")
    profile = out_dir / "lo-profile"
    for _ in range(3):
        subprocess.run([office, "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                        "--convert-to", suffix, "--outdir", str(out_dir), str(source)],
                       capture_output=True, timeout=300, check=False)
        target = out_dir / f"{source.stem}.{suffix}"
        if target.is_file():
            return target
    raise AssertionError(f"LibreOffice did not write {source.stem}.{suffix}")


def test_concept_import_reads_an_ods_written_by_libreoffice(run_fko, region: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = concept_xlsx(tmp_path / "konzept.xlsx", GOOD)
    out = tmp_path / "lo"
    out.mkdir()
    ods = libreoffice_convert(source, "ods", out)
    result = run_fko("concept", "import", str(ods), "--published-on", "2025-03-15")
    assert result.exit_code == 0, result.stderr
    assert "konzept.ods eingelesen: 3 Aktivitäten von 2 Institutionen, veröffentlicht als Version 2025" in result.stdout
    stored = keys(region, "2025")
    assert [k for k, _, _ in stored] == ["IHK-0001", "IHK-0002", "KDN-0001"]
    with sqlite3.connect(region) as connection:
        start, end, groups = connection.execute(
            "select start, \"end\", target_groups from activity where key = 'IHK-0002'").fetchone()
    assert (start, end) == ("2023-09-01", "2027")
    assert groups == ""
