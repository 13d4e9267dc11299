"""`fko cycle open` and `fko mail` as staff use them (mail to the .eml sink of the data dir)."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from tests.support import demo


def test_open_cycle_twice_sends_each_invitation_once(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    first = run_fko("cycle", "open", "--year", "2027", "--deadline", "15.10.2027")
    assert first.exit_code == 0, first.stderr
    assert "Abfrage 2027 eröffnet, Frist: Freitag, 15. Oktober 2027." in first.stdout
    assert f"{demo.INSTITUTIONS} Einladungen vorbereitet" in first.stdout
    assert f"{demo.INSTITUTIONS} E-Mails versandt" in first.stdout
    mails = sorted((tmp_path / "var" / "mail").glob("*.eml"))
    assert len(mails) == demo.INSTITUTIONS
    message = email.message_from_bytes(mails[0].read_bytes(), policy=email.policy.default)
    assert str(message["Subject"]).startswith("Abfrage 2027 zum Handlungskonzept Fachkräfteoffensive Region Aachen")

    second = run_fko("cycle", "open", "--year", "2027")
    assert second.exit_code == 0, second.stderr
    assert "war bereits eröffnet" in second.stdout and "Keine neuen Einladungen" in second.stdout
    assert len(list((tmp_path / "var" / "mail").glob("*.eml"))) == demo.INSTITUTIONS

    outbox = json.loads(run_fko("mail", "outbox", "--json").stdout)
    assert len(outbox) == demo.INSTITUTIONS and {m["state"] for m in outbox} == {"sent"}
    assert run_fko("mail", "send").stdout.strip() == "Keine E-Mails zu versenden."


def test_open_cycle_with_past_deadline_is_refused(run_fko) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    result = run_fko("cycle", "open", "--year", "2026", "--deadline", "01.01.2020")
    assert result.exit_code == 2 and "liegt in der Vergangenheit" in result.stderr


def test_open_cycle_with_unreachable_relay_keeps_invitations_queued(run_fko, fko_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.smtp import free_port

    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(free_port())}
    assert run_fko("init", "--demo", env=env).exit_code == 0
    result = run_fko("cycle", "open", "--year", "2027", "--deadline", "15.10.2027", env=env)
    assert result.exit_code == 1
    assert f"{demo.INSTITUTIONS} E-Mails vorerst nicht versandt" in result.stderr and "fko mail send" in result.stderr
    assert "Traceback" not in result.stderr
    outbox = json.loads(run_fko("mail", "outbox", "--json", env=env).stdout)
    assert {m["state"] for m in outbox} == {"failed"}


def test_ingest_records_a_return_from_a_file(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.support.factories import edit_sheet

    assert run_fko("init", "--demo").exit_code == 0
    assert run_fko("cycle", "open", "--year", "2027", "--deadline", "15.10.2027").exit_code == 0
    assert run_fko("sheet", "build", "-i", "IHK", "-o", str(tmp_path), "--year", "2027").exit_code == 0
    sheet = tmp_path / "Abfrage-2027-aachen-IHK.xlsx"
    sheet.write_bytes(edit_sheet(sheet.read_bytes(), {"B9": "Neu per Post", "D9": "Duale Ausbildung stärken",
                                                      "E9": "geplant"}))
    result = run_fko("ingest", str(sheet), "--json", "--notify")  # the receipt only when staff ask for it
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["ok"], report["institution"], report["changes"]["new"]) == (True, "IHK", 1)
    receipts = [m for m in (tmp_path / "var" / "mail").glob("*.eml")
                if "Eingangsbest" in email.message_from_bytes(m.read_bytes(), policy=email.policy.default)["Subject"]]
    assert len(receipts) == 1

    broken = tmp_path / "kaputt.xlsx"
    broken.write_bytes(edit_sheet(sheet.read_bytes(), {"D2": "Ausbildung"}))
    refused = run_fko("ingest", str(broken), "--institution", "IHK")
    assert refused.exit_code == 1 and "„Ausbildung“ ist kein zulässiger Wert" in refused.stderr


def test_remind_dry_run_plans_and_sends_nothing_then_status(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    assert run_fko("cycle", "open", "--year", "2027", "--deadline", "15.01.2027").exit_code == 0
    mails = len(list((tmp_path / "var" / "mail").glob("*.eml")))
    quiet = run_fko("remind", "--today", "07.01.2027")
    assert quiet.exit_code == 0 and "Am 07.01.2027 ist keine Erinnerung fällig." in quiet.stdout
    plan = run_fko("remind", "--today", "25.01.2027", "--dry-run")
    assert plan.exit_code == 0 and "(nur Vorschau)" in plan.stdout and "Eskalation an die Leitung" in plan.stdout
    assert len(list((tmp_path / "var" / "mail").glob("*.eml"))) == mails
    sent = run_fko("remind", "--today", "25.01.2027")
    assert sent.exit_code == 0 and f"{demo.INSTITUTIONS} E-Mails versandt" in sent.stdout
    assert run_fko("remind", "--today", "25.01.2027").stdout.startswith("Am 25.01.2027 ist keine Erinnerung")
    status = json.loads(run_fko("cycle", "status", "--json").stdout)
    assert status["totals"] == {"institutions": demo.INSTITUTIONS, "answered": 0, "open": demo.INSTITUTIONS,
                                "refused_uploads": 0, "phone_tasks": 0, "response_rate": 0.0,
                                "undeliverable": 0, "unclear_mail": 0}
    assert {r["escalated"] for r in status["institutions"]} == {True}
    table = run_fko("cycle", "status")
    assert f"Rückmeldungen: 0 von {demo.INSTITUTIONS} (0%)" in table.stdout


def test_render_diff_publish_from_the_command_line(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    assert run_fko("publish", "--yes").exit_code == 2  # nothing to publish yet
    assert run_fko("cycle", "open", "--year", "2027", "--deadline", "15.10.2027").exit_code == 0
    rendered = run_fko("render", "--year", "2027", "--out", str(tmp_path / "docs"), "--no-pdf")
    assert rendered.exit_code == 0, rendered.stderr
    assert f"Entwurf 2027 neu aufgebaut: {demo.ACTIVITIES} Aktivitäten" in rendered.stdout
    assert (tmp_path / "docs" / "Handlungskonzept-2027.docx").is_file()
    changes = json.loads(run_fko("diff", "--json").stdout)
    assert (changes["from"], changes["to"], changes["counts"]["unchanged"]) == ("2025", "2027", demo.ACTIVITIES)
    assert len(changes["not_confirmed"]) == demo.INSTITUTIONS
    unconfirmed = run_fko("publish", "--early")  # no terminal, no --yes: asks for confirmation, publishes nothing
    assert unconfirmed.exit_code == 2 and "Bestätigung nötig" in unconfirmed.stderr
    published = run_fko("publish", "--yes", "--early", "--approved-by", "Frau Beispiel")
    assert published.exit_code == 0 and "Version 2027 veröffentlicht (freigegeben von Frau Beispiel)" in (
        published.stdout)
    again = run_fko("render", "--year", "2027", "--out", str(tmp_path / "docs"), "--no-pdf")
    assert again.exit_code == 2 and "bereits veröffentlicht" in again.stderr and "Traceback" not in again.stderr
