"""`fko log`: who did what when, in German, for a round with mail, uploads, a refused address, a new link,
the approval and an erasure; by institution, from a day on, and as JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.support.factories import edit_sheet

BRUEHL = "tobias.bauer@arbeitsagentur-bruehl.example.org"


def ok(run_fko, env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    result = run_fko(*args, env=env)
    assert result.exit_code == 0, result.stdout + result.stderr
    return result


def sheet(run_fko, env: dict[str, str], tmp_path: Path, code: str, edits: dict[str, object]) -> Path:  # type: ignore[no-untyped-def]
    path = tmp_path / f"{code}.xlsx"
    ok(run_fko, env, "sheet", "build", "--institution", code, "--out", str(path), "--force")
    path.write_bytes(edit_sheet(path.read_bytes(), edits))
    return path


def publish(data_dir: Path) -> None:
    """The approval, as the staff area or `fko publish --early` gives it (without rendering documents)."""
    from usecases.context import AppContext
    from usecases.settings import Settings
    from usecases.versions import current_drafts, publish_draft

    ctx = AppContext.from_settings(Settings(data_dir=data_dir))
    try:
        now = dt.datetime.now(dt.UTC)
        current_drafts(ctx, now=now)
        publish_draft(ctx, approved_by="Lenkungskreis", now=now, label="2026")
    finally:
        ctx.close()


def test_the_log_tells_who_did_what_when_in_german(run_fko, fko_env: dict[str, str], smtp_server,  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port),
           "FKO_MAIL_FROM": "noreply@regionalagentur.example.org", "FKO_BASE_URL": "https://fko.example.org"}
    smtp_server.recorder.faults.reject = {BRUEHL}
    ok(run_fko, env, "init", "--demo")
    ok(run_fko, env, "cycle", "open", "--year", "2026", "--deadline", "15.10.2099")
    ok(run_fko, env, "ingest", str(sheet(run_fko, env, tmp_path, "IHK", {"B9": "Neu", "D9": "Duale Ausbildung "
                                                                        "stärken", "E9": "geplant"})), "--notify")
    refused = run_fko("ingest", str(sheet(run_fko, env, tmp_path, "VUV", {"E2": "vielleicht"})), env=env)
    assert refused.exit_code == 1
    ok(run_fko, env, "cycle", "new-link", "--institution", "HWK", "--year", "2026")
    publish(Path(env["FKO_DATA_DIR"]))
    ok(run_fko, env, "person", "erase", BRUEHL, "--yes", "--by", "Petra Beispiel")

    text = ok(run_fko, env, "log").stdout
    berlin_today = dt.datetime.now(ZoneInfo("Europe/Berlin")).date()  # the log's dates are Berlin's
    today = berlin_today.strftime("%d.%m.%Y")
    expected = [
        "Mitarbeitende (Befehlszeile): Abfrage 2026 eröffnet, Frist 15.10.2099",
        "fko-cycle (Versand): E-Mail „Einladung“ an leonie.reiners@ihk-aachen.example.org (Kopie: "
        "dirk.kraemer@ihk-aachen.example.org): versandt",
        "Mitarbeitende (Befehlszeile): Rückmeldung von IHK angenommen (Abfrage 2026): 1 neu, 0 geändert",
        "fko-cycle (Versand): E-Mail „Eingangsbestätigung“ an leonie.reiners@ihk-aachen.example.org",
        "Mitarbeitende (Befehlszeile): Datei von VUV abgelehnt (Abfrage 2026): 1 Probleme",
        "Mitarbeitende (Befehlszeile): Neuer persönlicher Link für HWK (Abfrage 2026); der bisherige gilt nicht mehr",
        "fko-cycle (automatisch): Adresse [gelöscht] abgelehnt (550 5.1.1 Mailbox unknown); keine weiteren E-Mails "
        "dorthin",
        "Lenkungskreis: Version 2026 freigegeben und veröffentlicht",
        "Petra Beispiel: Personenbezogene Daten auf Wunsch gelöscht (Löschung Nr. 1): 1 Ansprechperson",
        "fko-cycle (Versand): E-Mail „Einladung“ an [gelöscht] (Kopie: "
        "sabine.hamacher@arbeitsagentur-bruehl.example.org): versandt",
    ]
    lines = text.splitlines()
    for wanted in expected:
        assert any(wanted in line and line.startswith(today) for line in lines), (wanted, text)
    assert BRUEHL not in text
    order = [next(i for i, line in enumerate(lines) if wanted in line) for wanted in expected[:3]]
    assert order == sorted(order)  # oldest first

    ihk = json.loads(ok(run_fko, env, "log", "--institution", "ihk", "--json").stdout)
    assert ihk["institution"] == "IHK" and ihk["entries"]
    assert {entry["institution"] for entry in ihk["entries"]} == {"IHK"}
    actions = [entry["action"] for entry in ihk["entries"]]
    assert {"mail.invitation", "return.accepted", "mail.receipt"} <= set(actions)
    assert all(set(entry) == {"at", "who", "what", "institution", "action"} for entry in ihk["entries"])

    tomorrow = (berlin_today + dt.timedelta(days=1)).strftime("%d.%m.%Y")
    assert "keine Einträge" in ok(run_fko, env, "log", "--since", tomorrow).stdout
    assert ok(run_fko, env, "log", "--since", berlin_today.isoformat()).stdout.count("\n") == len(lines)
    unknown = run_fko("log", "--institution", "XYZ", env=env)
    assert unknown.exit_code == 2 and "XYZ" in unknown.stderr and "Traceback" not in unknown.stderr
    wrong_day = run_fko("log", "--since", "gestern", env=env)
    assert wrong_day.exit_code == 2 and "kein Datum" in wrong_day.stderr
