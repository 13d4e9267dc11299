"""The `fko` command line as staff use it: real process, real SQLite file, exit codes of DESIGN §9."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest

from tests.support import demo
from tests.support.factories import VALID_ROWS, institutions_csv, institutions_xlsx


def test_init_demo_then_list_shows_the_demo_region(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    init = run_fko("init", "--demo")
    assert init.exit_code == 0, init.stderr
    assert f"{demo.INSTITUTIONS} Institutionen" in init.stdout and f"{demo.ACTIVITIES} Aktivitäten" in init.stdout
    assert (tmp_path / "var" / "fko.db").is_file()
    assert (tmp_path / "var" / "secret.key").stat().st_mode & 0o077 == 0

    listed = run_fko("institutions", "list")
    assert listed.exit_code == 0, listed.stderr
    assert "Region Aachen (Beispieldaten)" in listed.stdout
    for name in ("IHK Aachen", "HWK Aachen", "RWTH Aachen University", "Kreis Heinsberg"):
        assert name in listed.stdout


def test_list_json_has_institutions_with_contacts(run_fko) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    result = run_fko("institutions", "list", "--json")
    data = json.loads(result.stdout)
    assert data["sample_data"] is True
    ihk = next(i for i in data["institutions"] if i["code"] == "IHK")
    assert ihk["name"] == "IHK Aachen"
    assert sorted(c["role"] for c in ihk["contacts"]) == ["deputy", "head", "primary"]


def test_init_twice_keeps_data(run_fko) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    again = run_fko("init")
    assert again.exit_code == 0
    assert "bereits eingerichtet" in again.stdout
    assert "IHK Aachen" in run_fko("institutions", "list").stdout


def test_demo_into_a_database_with_data_is_refused(run_fko) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    result = run_fko("init", "--demo")
    assert result.exit_code == 2
    assert "enthält bereits Daten" in result.stderr
    assert "Traceback" not in result.stderr


def test_reset_without_confirmation_deletes_nothing(run_fko) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    result = run_fko("init", "--demo", "--reset")  # no terminal to ask, no --yes
    assert result.exit_code == 2 and "nichts gelöscht" in result.stderr
    assert "IHK Aachen" in run_fko("institutions", "list").stdout


def test_list_before_init_says_what_to_do(run_fko) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("institutions", "list")
    assert result.exit_code == 2
    assert "fko init" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["csv-semicolon", "csv-comma", "xlsx"])
def test_import_institutions_file(run_fko, tmp_path: Path, kind: str) -> None:  # type: ignore[no-untyped-def]
    data = {"csv-semicolon": lambda: institutions_csv(VALID_ROWS),
            "csv-comma": lambda: institutions_csv(VALID_ROWS, delimiter=","),
            "xlsx": lambda: institutions_xlsx(VALID_ROWS)}[kind]()
    path = tmp_path / ("institutionen.xlsx" if kind == "xlsx" else "institutionen.csv")
    path.write_bytes(data)
    assert run_fko("init").exit_code == 0
    result = run_fko("institutions", "import", str(path))
    assert result.exit_code == 0, result.stderr
    assert "2 neu" in result.stdout and "4 Ansprechpersonen neu" in result.stdout
    listed = json.loads(run_fko("institutions", "list", "--json").stdout)
    assert [i["code"] for i in listed["institutions"]] == ["IHK", "KDN"]
    assert listed["sample_data"] is False


def test_malformed_import_names_row_and_problem_and_changes_nothing(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    db = tmp_path / "var" / "fko.db"
    before = sqlite3.connect(db).execute("select count(*) from institution").fetchone()

    rows = [
        ["NEU", "Neue Institution", "", "", "", "Nina Neu", "nina@neu.example.org", "Hauptansprechperson"],
        ["IHK", "IHK Aachen", "Kammer", "", "", "Ohne Mail", "", "Vertretung"],
        ["IHK", "Andere Kammer", "Kammer", "", "", "Otto", "otto@example.org", "Leitung"],
        ["HWK", "HWK Aachen", "Kammer", "", "", "Hugo", "hugo@hwk.example.org", "Chef"],
    ]
    path = tmp_path / "kaputt.csv"
    path.write_bytes(institutions_csv(rows))
    result = run_fko("institutions", "import", str(path))

    assert result.exit_code == 1
    assert "nichts wurde geändert" in result.stderr
    assert "Zeile 3, E-Mail: Die E-Mail-Adresse fehlt." in result.stderr
    assert "Zeile 4, Kürzel: Das Kürzel „IHK“ ist doppelt vergeben" in result.stderr
    assert "Zeile 5, Rolle: „Chef“ ist keine bekannte Rolle" in result.stderr
    assert "Traceback" not in result.stderr
    after = sqlite3.connect(db).execute("select count(*) from institution").fetchone()
    assert after == before
    assert "NEU" not in run_fko("institutions", "list").stdout


def test_import_of_missing_file_is_a_usage_error(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init").exit_code == 0
    result = run_fko("institutions", "import", str(tmp_path / "fehlt.csv"))
    assert result.exit_code == 2 and "kann nicht gelesen werden" in result.stderr


def test_bad_setting_is_one_clear_line(run_fko, fko_env) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("init", env={**fko_env, "FKO_SMTP_TLS": "maybe"})
    assert result.exit_code == 2
    assert "FKO_SMTP_TLS" in result.stderr and "Traceback" not in result.stderr


def test_settings_are_read_from_dotenv(run_fko, fko_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in fko_env.items() if k != "FKO_DATA_DIR"}
    (tmp_path / ".env").write_text(f"FKO_DATA_DIR={tmp_path / 'from-dotenv'}\n", encoding="utf-8")
    assert run_fko("init", env=env, cwd=tmp_path).exit_code == 0
    assert (tmp_path / "from-dotenv" / "fko.db").is_file()


def test_help_is_useful(run_fko) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("--help")
    assert result.exit_code == 0
    for command in ("init", "demo", "institutions"):
        assert command in result.stdout
    assert "Kürzel, Name" in run_fko("institutions", "import", "--help").stdout


def test_demo_runs_a_whole_yearly_round(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("demo", "--no-prefect", "--year", "2027")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert f"{demo.INSTITUTIONS} Institutionen." in out
    assert f"01.09.2027: Abfrage 2027 eröffnet, {demo.INSTITUTIONS} Einladungen versandt" in out
    assert "HWK lädt eine Tabelle mit 2 Fehlern hoch: abgelehnt" in out
    assert "Erinnerungsstufe Eskalation an die Leitung" in out
    assert "Version 2027 freigegeben und veröffentlicht" in out
    var = tmp_path / "var"
    mails = len(list((var / "mail").glob("*.eml")))
    assert f"{mails} E-Mails als .eml-Dateien" in out  # every mail the demo reports sending is in the sink
    assert mails > demo.INSTITUTIONS  # the invitations, and receipts and reminders on top
    assert (var / "dokumente" / "Handlungskonzept-2027.pdf").stat().st_size > 10_000
    report = (var / "dokumente" / "Aenderungen-2025-2027.md").read_text(encoding="utf-8")
    # what the institutions reported (survey_templates/demo/answers.toml), told in the change report
    assert "Azubi-Speed-Dating Handel" in report and "Neue Aktivität" not in report
    assert "„geplant“ → „bestehend“" in report
    assert re.search(r"lädt die Tabelle hoch: angenommen \(neu \d+, geändert \d+, beendet \d+, fehlend [1-9]", out)
