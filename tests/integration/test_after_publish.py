"""After the round's version is published (issue 23): nothing more is taken into it, the file is kept for
staff, and no mail promises what the round can no longer do."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import json
import time
from pathlib import Path

from sqlmodel import select

from storage.database import session_scope
from storage.models import Request, Submission
from tests.integration.test_reminder_walk import request_id
from tests.support.factories import edit_sheet
from tests.support.portal import client, csrf_of, main_text

NEW_ROW = {"B9": "Neu per Post", "D9": "Duale Ausbildung stärken", "E9": "geplant"}
HELD = "Nach der Veröffentlichung eingegangen, für die nächste Abfrage aufbewahrt"


def flat(text: str) -> str:
    return " ".join(text.split())


def mail_sink(tmp_path: Path) -> list[str]:
    return [str(email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["Subject"])
            for p in sorted((tmp_path / "var" / "mail").glob("*.eml"))]


def stored_uploads(tmp_path: Path) -> int:
    return sum(1 for p in (tmp_path / "var" / "files" / "upload").rglob("*") if p.is_file())


def publish(ctx, now: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    from usecases.versions import publish_draft, rebuild_draft

    rebuild_draft(ctx, year=2026, now=now)
    publish_draft(ctx, approved_by="Frau Beispiel", now=now)


def test_after_publish_ingest_keeps_the_file_for_staff_and_mails_nobody(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    assert run_fko("cycle", "open", "--year", "2027", "--deadline", "15.10.2027").exit_code == 0
    for code in ("IHK", "HWK"):
        assert run_fko("sheet", "build", "-i", code, "-o", str(tmp_path), "--year", "2027").exit_code == 0
    ihk, hwk = (tmp_path / f"Abfrage-2027-aachen-{code}.xlsx" for code in ("IHK", "HWK"))
    assert run_fko("ingest", str(ihk)).exit_code == 0
    published = run_fko("publish", "--yes", "--early", "--approved-by", "Frau Beispiel")
    assert published.exit_code == 0, published.stderr
    diff_before = json.loads(run_fko("diff", "--from", "2025", "--to", "2027", "--json").stdout)
    mails = mail_sink(tmp_path)
    uploads = stored_uploads(tmp_path)

    hwk.write_bytes(edit_sheet(hwk.read_bytes(), NEW_ROW))
    late = run_fko("ingest", str(hwk), "--notify")  # even asked to: no receipt that promises anything
    assert late.exit_code == 1
    assert ("Nicht übernommen: Version 2027 des Handlungskonzepts ist bereits veröffentlicht: "
            "Abfrage-2027-aachen-HWK.xlsx (HWK) wird nicht mehr in die Abfrage 2027 übernommen. Die Datei ist als nach "
            "der Veröffentlichung eingegangen aufbewahrt (für die nächste Abfrage; `fko cycle status` listet sie). "
            "Keine E-Mail an die Institution.") in flat(late.stderr)
    assert "Angenommen" not in late.stdout and "Traceback" not in late.stderr
    assert mail_sink(tmp_path) == mails
    assert stored_uploads(tmp_path) == uploads + 1  # the raw file is kept
    assert json.loads(run_fko("diff", "--from", "2025", "--to", "2027", "--json").stdout) == diff_before  # unchanged

    status = json.loads(run_fko("cycle", "status", "--json").stdout)
    assert status["state"] == "published"
    assert [(h["code"], h["filename"], h["source"]) for h in status["held"]] == [
        ("HWK", "Abfrage-2027-aachen-HWK.xlsx", "cli")]
    rows = {r["code"]: r for r in status["institutions"]}
    assert (rows["HWK"]["state"], rows["HWK"]["answer"]) == ("invited", None)
    assert rows["HWK"]["last_action"] == "nach der Veröffentlichung eingegangen"
    table = flat(run_fko("cycle", "status").stdout)
    assert "Abfrage 2027 · Frist Freitag, 15. Oktober 2027 · Version 2027 veröffentlicht" in table
    assert f"{HELD} (1): • HWK (HWK Aachen): Abfrage-2027-aachen-HWK.xlsx" in table


def test_after_publish_the_page_says_the_concept_is_adopted_and_keeps_a_late_upload(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["HWK"]
    with client() as http:
        page = http.get(link).text
        csrf, sheet = csrf_of(page), http.get(f"{link}/tabelle").content
        publish(portal.ctx, portal.clock.now)
        adopted = http.get(link)
        download = http.get(f"{link}/tabelle")
        kept = http.post(f"{link}/hochladen", data={"csrf": csrf},  # the form was open before publishing
                         files={"datei": ("HWK-spaet.xlsx", edit_sheet(sheet, NEW_ROW), "application/octet-stream")})
        no_changes = http.post(f"{link}/keine-aenderungen", data={"csrf": csrf})
        again = http.get(link)

    text = main_text(adopted.text)
    assert adopted.status_code == 200
    assert ("Das Handlungskonzept Region Aachen 2026 ist beschlossen und veröffentlicht. Rückmeldungen aus der "
            "Abfrage 2026 (HWK Aachen) werden nicht mehr in diese Fassung aufgenommen") in text
    assert "Hochladen und prüfen" not in adopted.text and "Keine Änderungen in diesem Jahr" not in adopted.text
    assert "Das Handlungskonzept ist beschlossen" in main_text(download.text)  # no sheet for a closed round
    assert download.headers["content-type"].startswith("text/html")
    assert kept.status_code == 200
    assert ("Ihre Datei „HWK-spaet.xlsx“ ist am 01.09.2026 um 10:00 Uhr bei uns eingegangen. Sie wurde "
            "nicht mehr in das Handlungskonzept 2026 übernommen, weil es inzwischen beschlossen ist. Wir haben die "
            "Datei aufbewahrt") in main_text(kept.text)
    assert no_changes.status_code == 409 and "ist beschlossen und veröffentlicht" in main_text(no_changes.text)
    assert "Das Handlungskonzept ist beschlossen" in main_text(again.text)

    with session_scope(portal.ctx.engine) as session:
        outcomes = [s.outcome for s in session.exec(select(Submission).order_by(Submission.id)).all()]
        request = session.get(Request, request_id(portal.ctx, "HWK"))
        assert request is not None and request.answered_at is None and request.state == "downloaded"
    assert outcomes == ["held"]
    time.sleep(1)  # the page sends its mail right after answering: nothing may come
    assert portal.smtp.recorder.received == []


def test_after_publish_receipts_promise_only_what_the_round_can_do(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from usecases.cycle import open_cycle
    from usecases.ingest import ingest_file
    from usecases.outbox import deliver_pending
    from usecases.returns import sheet_for_request

    opened = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=opened.date(), now=opened)
    asyncio.run(deliver_pending(demo_ctx))
    smtp_server.recorder.received.clear()

    def receipt(code: str, now: dt.datetime) -> str:
        sheet, name = sheet_for_request(demo_ctx, request_id=request_id(demo_ctx, code), now=now)
        result = ingest_file(demo_ctx, data=edit_sheet(sheet, NEW_ROW), filename=name, source="cli", year=2026,
                             now=now, notify=True)
        assert result.outcome == "accepted"
        asyncio.run(deliver_pending(demo_ctx))
        message = smtp_server.recorder.messages()[-1]
        assert str(message["Subject"]).startswith("Eingangsbestätigung")
        return flat(message.get_body(("plain",)).get_content())

    in_time = receipt("IHK", dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC))
    assert "Bis zum Donnerstag, 15. Oktober 2026, können Sie über Ihren Link" in in_time
    late = receipt("HWK", dt.datetime(2026, 10, 20, 8, 0, tzinfo=dt.UTC))
    assert "Bis zum Donnerstag, 15. Oktober 2026" not in late
    assert ("Die Frist ist abgelaufen. Eine neue Fassung nehmen wir über Ihren Link") in late
    assert "noch bis zum Donnerstag, 5. November 2026 an, solange das Handlungskonzept 2026 nicht beschlossen" in late
    after_window = receipt("VUV", dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC))  # staff take it in by hand
    assert "über Ihren Link ist keine neue Fassung mehr möglich" in after_window
    assert "hochladen" not in after_window

    publish(demo_ctx, dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC))
    count = len(smtp_server.recorder.received)
    sheet, name = sheet_for_request(demo_ctx, request_id=request_id(demo_ctx, "DGB"),
                                    now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC))
    held = ingest_file(demo_ctx, data=sheet, filename=name, source="cli", year=2026,
                       now=dt.datetime(2026, 11, 22, tzinfo=dt.UTC), notify=True)
    assert held.outcome == "held" and held.recipients == []
    assert asyncio.run(deliver_pending(demo_ctx)).attempted == 0
    assert len(smtp_server.recorder.received) == count
