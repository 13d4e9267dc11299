"""`fko sheet build` and `fko sheet check` as staff use them (DESIGN §9 JSON shape and exit codes)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import openpyxl

from tests.support.factories import edit_sheet


def built_sheet(run_fko, tmp_path: Path, code: str = "IHK") -> Path:  # type: ignore[no-untyped-def]
    result = run_fko("sheet", "build", "--institution", code.lower(), "--out", str(tmp_path),
                     "--year", "2026", "--deadline", "15.10.2026")
    assert result.exit_code == 0, result.stderr
    path = tmp_path / f"Abfrage-2026-aachen-{code}.xlsx"
    assert str(path) in result.stdout.replace("\n", "")
    return path


def test_build_then_check_unchanged_sheet(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    path = built_sheet(run_fko, tmp_path)
    result = run_fko("sheet", "check", str(path), "--year", "2026", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["institution"] == "IHK" and report["rows"] == 6
    assert report["problems"] == []
    assert (report["changes"]["unchanged"], report["changes"]["new"]) == (6, 0)


def test_check_refused_sheet_lists_problems_and_exits_1(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    path = built_sheet(run_fko, tmp_path)
    path.write_bytes(edit_sheet(path.read_bytes(), {"D3": "Ausbildung", "A4": "HWK-0001"}))
    result = run_fko("sheet", "check", str(path), "--year", "2026", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert [(p["cell"], p["column"]) for p in report["problems"]] == [("D3", "Handlungsfeld"), ("A4", "ID")]
    assert report["problems"][0]["message"].startswith("Zeile 3, Handlungsfeld: „Ausbildung“ ist kein zulässiger")

    human = run_fko("sheet", "check", str(path), "--year", "2026")
    assert human.exit_code == 1 and "D3" in human.stderr and "würde abgelehnt (2 Probleme)" in human.stderr


def test_check_writes_nothing(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    path = built_sheet(run_fko, tmp_path)
    path.write_bytes(edit_sheet(path.read_bytes(), {"B9": "Neue Aktivität", "D9": "Duale Ausbildung stärken",
                                                    "E9": "geplant"}))
    db = tmp_path / "var" / "fko.db"

    def snapshot() -> list[tuple[str, int]]:
        with sqlite3.connect(db) as connection:
            tables = [r[0] for r in connection.execute("select name from sqlite_master where type='table'")]
            return [(t, connection.execute(f'select count(*) from "{t}"').fetchone()[0]) for t in tables]  # noqa: S608

    before = snapshot()
    files_before = sorted(p.name for p in (tmp_path / "var").rglob("*") if p.is_file())
    result = run_fko("sheet", "check", str(path), "--year", "2026", "--json")
    assert json.loads(result.stdout)["changes"]["new"] == 1
    assert snapshot() == before
    assert sorted(p.name for p in (tmp_path / "var").rglob("*") if p.is_file()) == files_before


def test_check_of_other_cycle_and_of_garbage(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    path = built_sheet(run_fko, tmp_path)
    other = run_fko("sheet", "check", str(path), "--year", "2027", "--json")
    assert other.exit_code == 1
    assert "stammt aus der Abfrage 2026" in json.loads(other.stdout)["problems"][0]["message"]
    garbage = tmp_path / "kaputt.xlsx"
    garbage.write_bytes(path.read_bytes()[:3000])
    broken = run_fko("sheet", "check", str(garbage), "--json")
    assert broken.exit_code == 1 and "Traceback" not in broken.stderr
    assert "beschädigt oder unvollständig" in json.loads(broken.stdout)["problems"][0]["message"]


def test_build_for_unknown_institution_is_a_usage_error(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    result = run_fko("sheet", "build", "--institution", "XYZ", "--out", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 2 and "keine Institution mit dem Kürzel „XYZ“" in result.stderr


def test_build_before_any_published_concept_gives_an_empty_first_sheet(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init").exit_code == 0
    csv = tmp_path / "i.csv"
    csv.write_text("Kürzel;Name;Ansprechperson;E-Mail;Rolle\nIHK;IHK Aachen;Anna;anna@example.org;Leitung\n"
                   "IHK;IHK Aachen;Ben;ben@example.org;Hauptansprechperson\n", encoding="utf-8")
    assert run_fko("institutions", "import", str(csv)).exit_code == 0
    result = run_fko("sheet", "build", "--institution", "IHK", "--out", str(tmp_path / "x.xlsx"))
    assert result.exit_code == 0, result.stderr
    workbook = openpyxl.load_workbook(tmp_path / "x.xlsx")
    hints = " ".join(str(c.value) for row in workbook["Hinweise"].iter_rows() for c in row if c.value)
    assert "erste Abfrage zum Handlungskonzept" in hints and "Handlungskonzept ." not in hints
    checked = run_fko("sheet", "check", str(tmp_path / "x.xlsx"), "--json")
    assert checked.exit_code == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["rows"] == 0  # only the prepared empty rows: nothing to report


def build_to(fko_env, tmp_path: Path, out: str, *extra: str, answer: bytes | None = None):  # type: ignore[no-untyped-def]
    """`fko sheet build -i IHK --out OUT` without a terminal (stdin empty, as in a script), or, with ``answer``,
    at a terminal where staff type ``answer``."""
    import os
    import pty
    import subprocess
    import sys

    from tests.conftest import CliResult

    args = [sys.executable, "-m", "cli", "sheet", "build", "-i", "IHK", "--year", "2026", "--out", out, *extra]
    if answer is None:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=fko_env,
                              cwd=tmp_path, timeout=120)
        return CliResult(done.returncode, done.stdout, done.stderr)
    terminal, staff = pty.openpty()
    try:
        os.write(terminal, answer)  # typed ahead: the terminal keeps it until the question reads it
        process = subprocess.Popen(args, stdin=staff, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=fko_env, cwd=tmp_path)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        os.close(terminal)
        os.close(staff)
    return CliResult(process.returncode, stdout, stderr)


def test_build_out_without_suffix_gets_xlsx_and_an_existing_file_needs_a_yes(run_fko, fko_env, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                             ) -> None:
    assert run_fko("init", "--demo").exit_code == 0
    first = build_to(fko_env, tmp_path, "Tabelle-IHK")
    assert first.exit_code == 0, first.stderr
    target = tmp_path / "Tabelle-IHK.xlsx"
    assert f"geschrieben: {target.name}" in first.stdout and not (tmp_path / "Tabelle-IHK").exists()
    assert openpyxl.load_workbook(target)["Aktivitäten"]["A2"].value == "IHK-0001"

    target.write_bytes(b"eigene Notizen")  # staff's own file under that name
    refused = build_to(fko_env, tmp_path, "Tabelle-IHK.xlsx")
    assert refused.exit_code == 1
    assert "Tabelle-IHK.xlsx existiert bereits; nichts geschrieben. Mit --force wird die Datei überschrieben." \
        in " ".join(refused.stderr.split())
    assert target.read_bytes() == b"eigene Notizen"

    declined = build_to(fko_env, tmp_path, "Tabelle-IHK", answer=b"n\n")
    assert declined.exit_code == 1 and "Tabelle-IHK.xlsx existiert bereits. Überschreiben? [j/N]" in declined.stdout
    assert target.read_bytes() == b"eigene Notizen"

    confirmed = build_to(fko_env, tmp_path, "Tabelle-IHK", answer=b"ja\n")
    assert confirmed.exit_code == 0, confirmed.stderr
    assert openpyxl.load_workbook(target)["Aktivitäten"]["A2"].value == "IHK-0001"

    target.write_bytes(b"eigene Notizen")
    forced = build_to(fko_env, tmp_path, "Tabelle-IHK", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert openpyxl.load_workbook(target)["Aktivitäten"]["A2"].value == "IHK-0001"
