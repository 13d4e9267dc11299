"""`fko ingest` and the drop folder (issue 23): a staff mistake never mails an institution or changes its state."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
from pathlib import Path

from tests.support.factories import edit_sheet

NEW_ROW = {"B9": "Neu per Post", "D9": "Duale Ausbildung stärken", "E9": "geplant"}


def mail_sink(tmp_path: Path) -> list[str]:
    """The subjects of every mail in the .eml sink, in file order."""
    return [str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
            for p in sorted((tmp_path / "var" / "mail").glob("*.eml"))]


def flat(text: str) -> str:
    """Output as read: the terminal's line breaks do not matter."""
    return " ".join(text.split())


def status(run_fko) -> dict:  # type: ignore[no-untyped-def, type-arg]
    result = run_fko("cycle", "status", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def opened_round(run_fko, tmp_path: Path) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    """Demo region, round 2027 open with its invitations sent; IHK's and HWK's sheets built."""
    assert run_fko("init", "--demo").exit_code == 0
    opened = run_fko("cycle", "open", "--year", "2027", "--deadline", "15.10.2027")
    assert opened.exit_code == 0, opened.stderr
    sheets = {}
    for code in ("IHK", "HWK"):
        assert run_fko("sheet", "build", "-i", code, "-o", str(tmp_path), "--year", "2027").exit_code == 0
        sheets[code] = tmp_path / f"Abfrage-2027-aachen-{code}.xlsx"
    return sheets


def test_ingest_mistakes_another_institutions_sheet_is_refused_and_nobody_hears_of_it(run_fko, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                      ) -> None:
    sheets = opened_round(run_fko, tmp_path)
    sheets["IHK"].write_bytes(edit_sheet(sheets["IHK"].read_bytes(), NEW_ROW))
    mails, before = mail_sink(tmp_path), status(run_fko)

    for extra in ((), ("--notify",)):  # asking for mail does not make a typo right
        typo = run_fko("ingest", str(sheets["IHK"]), "-i", "HWK", *extra)
        assert typo.exit_code == 1, typo.stdout
        assert ("„Abfrage-2027-aachen-IHK.xlsx“ ist die Tabelle von IHK (IHK Aachen) für die Abfrage 2027, nicht die "
                "von HWK. Nichts gespeichert, keine E-Mail; der Stand von HWK bleibt unverändert.") in flat(typo.stderr)
        assert f"Ohne --institution wird sie bei IHK abgelegt: fko ingest {sheets['IHK']}" in flat(typo.stderr)
        assert "Traceback" not in typo.stderr
    as_json = json.loads(run_fko("ingest", str(sheets["IHK"]), "-i", "hwk", "--json").stdout)
    assert (as_json["ok"], as_json["recorded"], as_json["belongs_to"]) == (False, False,
                                                                           {"institution": "IHK", "year": 2027})
    assert mail_sink(tmp_path) == mails
    assert status(run_fko) == before

    # The hint is right: without --institution the file goes to IHK (and still no mail without --notify).
    filed = run_fko("ingest", str(sheets["IHK"]))
    assert filed.exit_code == 0, filed.stderr
    assert "Angenommen: Abfrage-2027-aachen-IHK.xlsx für IHK (7 Aktivitäten; neu 1" in flat(filed.stdout)
    assert "Keine E-Mail an IHK (Eingangsbestätigung nur mit --notify)." in flat(filed.stdout)
    assert mail_sink(tmp_path) == mails
    rows = {r["code"]: r for r in status(run_fko)["institutions"]}
    assert (rows["IHK"]["answer"], rows["HWK"]["state"], rows["HWK"]["answer"]) == ("accepted", "invited", None)


def test_ingest_mistakes_a_wrong_year_sheet_or_a_csv_changes_nothing(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheets = opened_round(run_fko, tmp_path)
    old = tmp_path / "alt" / "HWK-2026.xlsx"
    old.parent.mkdir()
    built = run_fko("sheet", "build", "-i", "HWK", "-o", str(old.parent), "--year", "2026", "--deadline", "15.10.2026")
    assert built.exit_code == 0, built.stderr
    next(old.parent.glob("*.xlsx")).rename(old)
    csv = tmp_path / "HWK.csv"
    csv.write_text("ID;Titel\nHWK-0001;Ausbildung\n", encoding="utf-8")
    mails, before = mail_sink(tmp_path), status(run_fko)

    wrong_year = run_fko("ingest", str(old), "-i", "HWK")
    assert wrong_year.exit_code == 1
    assert ("„HWK-2026.xlsx“ ist die Tabelle von HWK (HWK Aachen) aus der Abfrage 2026, nicht aus der Abfrage 2027. "
            "Eine Abfrage 2026 gibt es hier nicht. Nichts gespeichert, keine E-Mail; der Stand von HWK bleibt "
            "unverändert.") in flat(wrong_year.stderr)
    from_csv = run_fko("ingest", str(csv), "-i", "HWK")
    assert from_csv.exit_code == 1
    assert "„HWK.csv“ ist nicht als Tabelle von HWK zu erkennen: Die Datei ist eine Textdatei (z. B. CSV)." in flat(
        from_csv.stderr)
    assert "Nichts gespeichert, keine E-Mail; der Stand von HWK bleibt unverändert." in flat(from_csv.stderr)
    assert "Ist es doch die Rückmeldung von HWK, speichert `--notify` sie als abgelehnt" in flat(from_csv.stderr)
    nobody = run_fko("ingest", str(csv))
    assert nobody.exit_code == 1 and "„HWK.csv“ nennt keine Institution" in flat(nobody.stderr)
    assert mail_sink(tmp_path) == mails
    assert status(run_fko) == before
    assert run_fko("ingest", str(sheets["HWK"]), "--year", "2026").exit_code == 1  # a wrong --year alike
    assert status(run_fko) == before

    # Staff who know it is HWK's answer say so: then it is recorded as refused and HWK is told.
    told = run_fko("ingest", str(csv), "-i", "HWK", "--notify")
    assert told.exit_code == 1 and "HWK.csv für HWK abgelehnt (gespeichert)" in flat(told.stderr)
    assert "Liste der Probleme geht an" in flat(told.stderr)
    assert mail_sink(tmp_path)[len(mails):] == [
        "Bitte korrigieren: Ihre Tabelle zum Handlungskonzept Region Aachen 2027 (HWK Aachen)"]
    after = status(run_fko)
    assert after["totals"]["refused_uploads"] == 1
    assert {r["code"]: r["state"] for r in after["institutions"]}["HWK"] == "refused"


def test_ingest_mistakes_refused_own_sheet_is_recorded_but_mailed_only_on_request(run_fko, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                                                  ) -> None:
    sheets = opened_round(run_fko, tmp_path)
    broken = tmp_path / "kaputt.xlsx"
    broken.write_bytes(edit_sheet(sheets["IHK"].read_bytes(), {"D2": "Ausbildung"}))
    mails = mail_sink(tmp_path)
    refused = run_fko("ingest", str(broken))
    assert refused.exit_code == 1
    assert "kaputt.xlsx für IHK abgelehnt (gespeichert)" in flat(refused.stderr)
    assert "„Ausbildung“ ist kein zulässiger Wert" in flat(refused.stderr)
    assert "Keine E-Mail an IHK (Liste der Probleme nur mit --notify)." in flat(refused.stderr)
    assert mail_sink(tmp_path) == mails
    assert status(run_fko)["totals"]["refused_uploads"] == 1  # it is IHK's sheet: staff see the refusal

    sheets["IHK"].write_bytes(edit_sheet(sheets["IHK"].read_bytes(), NEW_ROW))
    accepted = run_fko("ingest", str(sheets["IHK"]), "--notify")
    assert accepted.exit_code == 0 and "Eingangsbestätigung geht an leonie.reiners@ihk-aachen.example.org" in flat(
        accepted.stdout)
    assert mail_sink(tmp_path)[len(mails):] == [
        "Eingangsbestätigung: Rückmeldung IHK Aachen zum Handlungskonzept Region Aachen 2027"]


def test_ingest_mistakes_dry_run_shows_what_would_happen_and_does_nothing(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheets = opened_round(run_fko, tmp_path)
    sheets["IHK"].write_bytes(edit_sheet(sheets["IHK"].read_bytes(), NEW_ROW))
    broken = tmp_path / "kaputt.xlsx"
    broken.write_bytes(edit_sheet(sheets["IHK"].read_bytes(), {"D2": "Ausbildung"}))
    mails, before = mail_sink(tmp_path), status(run_fko)
    files = sorted((tmp_path / "var").rglob("*"))

    plan = run_fko("ingest", str(sheets["IHK"]), "--dry-run", "--notify")
    assert plan.exit_code == 0, plan.stderr
    assert ("Probelauf (nichts gespeichert, nichts gesendet): würde angenommen: Abfrage-2027-aachen-IHK.xlsx für IHK "
            "(7 Aktivitäten; neu 1, geändert 0, beendet 0, fehlend 0).") in flat(plan.stdout)
    assert "Eingangsbestätigung ginge an leonie.reiners@ihk-aachen.example.org" in flat(plan.stdout)
    as_json = json.loads(run_fko("ingest", str(sheets["IHK"]), "--dry-run", "--json").stdout)
    assert (as_json["ok"], as_json["recorded"], as_json["dry_run"], as_json["changes"]["new"]) == (True, False, True, 1)
    refusal = run_fko("ingest", str(broken), "--dry-run")
    assert refusal.exit_code == 1 and "kaputt.xlsx für IHK würde abgelehnt" in flat(refusal.stderr)
    typo = run_fko("ingest", str(sheets["IHK"]), "-i", "HWK", "--dry-run")
    assert typo.exit_code == 1 and "nicht die von HWK" in flat(typo.stderr)

    assert mail_sink(tmp_path) == mails
    assert status(run_fko) == before
    assert sorted((tmp_path / "var").rglob("*")) == files  # not even the raw file was stored


def test_ingest_mistakes_drop_folder_files_without_mail(demo_ctx, smtp_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from sqlmodel import select

    from storage.database import session_scope
    from storage.models import OutboundMessage
    from tests.integration.test_reminder_walk import request_id
    from usecases.cycle import open_cycle
    from usecases.inbox import ingest_drop_folder
    from usecases.outbox import deliver_pending
    from usecases.returns import sheet_for_request
    from usecases.status import cycle_status

    now = dt.datetime(2026, 9, 10, 8, 0, tzinfo=dt.UTC)
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=now.date(), now=now)
    asyncio.run(deliver_pending(demo_ctx))
    invitations = len(smtp_server.recorder.received)
    ihk, name = sheet_for_request(demo_ctx, request_id=request_id(demo_ctx, "IHK"), now=now)
    hwk, hwk_name = sheet_for_request(demo_ctx, request_id=request_id(demo_ctx, "HWK"), now=now)
    inbox = tmp_path / "var" / "inbox"
    inbox.mkdir(parents=True)
    (inbox / name).write_bytes(edit_sheet(ihk, NEW_ROW))
    (inbox / hwk_name).write_bytes(edit_sheet(hwk, {"D2": "Ausbildung"}))
    (inbox / "liste.xlsx").write_bytes(b"ID;Titel\n")

    report = ingest_drop_folder(demo_ctx, year=2026, now=now)
    assert report.as_dict() == {"accepted": [f"IHK: {name}"], "refused": [f"HWK: {hwk_name}"], "held": [],
                                "unknown": ["liste.xlsx"]}
    assert (inbox / "done" / name).is_file() and (inbox / "unknown" / "liste.xlsx").is_file()
    with session_scope(demo_ctx.engine) as session:
        kinds = {m.kind for m in session.exec(select(OutboundMessage)).all()}
    assert kinds == {"invitation"}  # no receipt, no refusal queued
    assert asyncio.run(deliver_pending(demo_ctx)).attempted == 0
    assert len(smtp_server.recorder.received) == invitations
    states = {r.code: (r.state, r.answer) for r in cycle_status(demo_ctx, year=2026).rows}
    assert states["IHK"] == ("answered", "accepted") and states["HWK"] == ("refused", None)
