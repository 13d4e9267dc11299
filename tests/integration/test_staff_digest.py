"""The staff digest through the real outbox and a real SMTP server: once a day however often the daily run runs,
only on working days with news, links into the staff area and never an institution's personal link."""

from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
from pathlib import Path

from sqlmodel import select

from storage.database import session_scope
from storage.models import OutboundMessage
from tests.integration.test_reminder_walk import BRL_PRIMARY, morning, request_id
from tests.support.factories import edit_sheet
from usecases.cycle import open_cycle
from usecases.digest import digest_key
from usecases.outbox import deliver_pending
from usecases.reminders import run_daily
from usecases.returns import accept_return, confirm_no_changes, sheet_for_request

AGENCY = "fachkraefte@regionalagentur-aachen.example.org"
BASE = "https://fko.example.org"
OPENED = dt.date(2026, 9, 1)  # Tuesday
DEADLINE = dt.date(2026, 10, 15)


def digests(server) -> list[email.message.EmailMessage]:  # type: ignore[no-untyped-def]
    return [m for m in server.recorder.messages() if str(m["Subject"]).startswith("Tagesübersicht")]


def daily(ctx, day: dt.date, hour: int = 8):  # type: ignore[no-untyped-def]
    """One run of the daily job at ``hour`` o'clock: the ladder and the digest, then the outbox."""
    now = morning(day) + dt.timedelta(hours=hour - 8)
    report = run_daily(ctx, today=day, now=now)
    asyncio.run(deliver_pending(ctx))
    return report


def test_digest_once_a_day_with_the_days_returns_and_refusals(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    smtp_server.recorder.faults.reject = {BRL_PRIMARY}  # bounces at the invitation
    open_cycle(demo_ctx, year=2026, deadline=DEADLINE, today=OPENED, now=morning(OPENED))
    asyncio.run(deliver_pending(demo_ctx))

    day = dt.date(2026, 9, 3)  # Thursday: IHK returns a changed sheet, HWK a broken one, VUV clicks "no changes"
    ihk = request_id(demo_ctx, "IHK")
    sheet, _ = sheet_for_request(demo_ctx, request_id=ihk, now=morning(day))
    accepted = accept_return(demo_ctx, request_id=ihk, now=morning(day), filename="ihk.xlsx", source="portal",
                             data=edit_sheet(sheet, {"B9": "Azubi-Werkstatt Energiewende",
                                                     "D9": "Duale Ausbildung stärken", "E9": "geplant"}))
    assert accepted.outcome == "accepted"
    hwk = request_id(demo_ctx, "HWK")
    hwk_sheet, _ = sheet_for_request(demo_ctx, request_id=hwk, now=morning(day))
    refused = accept_return(demo_ctx, request_id=hwk, now=morning(day), filename="hwk.xlsx", source="portal",
                            data=edit_sheet(hwk_sheet, {"D2": "Ausbildung", "E2": "irgendwie"}))
    assert refused.outcome == "refused" and len(refused.problems) == 2
    confirm_no_changes(demo_ctx, request_id=request_id(demo_ctx, "VUV"), now=morning(day))

    first = daily(demo_ctx, day)
    second = daily(demo_ctx, day, hour=14)  # the timer and the flow both ran, or staff ran `fko remind` by hand
    assert first.digest is not None and first.digest.queued and first.digest.recipient == AGENCY
    assert second.digest is not None and second.digest.already and not second.digest.queued

    (digest,) = digests(smtp_server)
    assert [a.addr_spec for a in digest["To"].addresses] == [AGENCY] and digest["Cc"] is None
    text = digest.get_body(("plain",)).get_content()
    html = digest.get_body(("html",)).get_content()
    assert "3 Rückmeldungen" not in str(digest["Subject"])  # IHK and VUV returned; HWK's file was refused
    assert "2 Rückmeldungen, 1 abgelehnte Datei, 1 unzustellbare Adresse" in str(digest["Subject"])
    for body in (text, html):
        assert "IHK Aachen" in body and "Tabelle angenommen, 1 neu, 0 geändert, 0 beendet" in body
        assert "Vereinigte Unternehmerverbände Aachen (VUV)" in body and "(VUV) (VUV)" not in body
        assert "keine Änderungen bestätigt" in body
        assert "2 Probleme gemeldet" in body and BRL_PRIMARY in body
        for code in ("IHK", "VUV", "HWK", "AA-BRL"):
            assert f"{BASE}/intern/institutionen/{code}" in body
        assert f"{BASE}/intern/" in body
    raw = digest.as_string()
    assert "/r/" not in raw  # no personal link, in no part of the message
    with session_scope(demo_ctx.engine) as session:
        queued = session.exec(select(OutboundMessage).where(OutboundMessage.kind == "staff_digest")).all()
        assert [m.idempotency_key for m in queued] == [digest_key("aachen", day)]

    # Friday: nothing happened since → no digest. Saturday: something happens, but no digest on a weekend;
    # it comes on Monday with the Saturday's news only.
    assert daily(demo_ctx, dt.date(2026, 9, 4)).digest.why_not == "nothing_new"  # type: ignore[union-attr]
    saturday = dt.date(2026, 9, 5)
    confirm_no_changes(demo_ctx, request_id=request_id(demo_ctx, "DGB"), now=morning(saturday))
    assert daily(demo_ctx, saturday).digest.why_not == "not_working_day"  # type: ignore[union-attr]
    assert len(digests(smtp_server)) == 1
    monday = daily(demo_ctx, dt.date(2026, 9, 7))
    assert monday.digest is not None and monday.digest.counts["returns"] == 1
    later = digests(smtp_server)[1].get_body(("plain",)).get_content()
    assert f"{BASE}/intern/institutionen/DGB" in later and "IHK" not in later.split("Stand der Abfrage")[0]

    # Thursday 29 Oct, two weeks after the deadline: the ladder's phone step for everyone who has not answered
    # (22 asked, 3 answered; the dry run already counts them), in that day's digest with each institution's page.
    phone_day = dt.date(2026, 10, 29)
    preview = run_daily(demo_ctx, today=phone_day, now=morning(phone_day), dry_run=True).digest
    assert preview is not None and preview.due and not preview.queued and preview.counts["phone_tasks"] == 19
    assert daily(demo_ctx, phone_day).digest.counts["phone_tasks"] == 19  # type: ignore[union-attr]
    calls = digests(smtp_server)[2].get_body(("plain",)).get_content()
    assert "TELEFONAUFGABEN (19)" in calls and "noch keine Rückmeldung, bitte anrufen" in calls
    assert f"{BASE}/intern/institutionen/HWK" in calls and f"{BASE}/intern/institutionen/IHK" not in calls

    # Friday 6 Nov: the late-return window closed on the 5th: the draft is ready for approval, said once.
    ready = daily(demo_ctx, dt.date(2026, 11, 6)).digest
    assert ready is not None and ready.counts == {"returns": 0, "refusals": 0, "bounces": 0, "phone_tasks": 0,
                                                  "ready": 1, "mailbox": 0}
    approval = digests(smtp_server)[3]
    assert "Entwurf bereit zur Freigabe" in str(approval["Subject"])
    assert f"{BASE}/intern/dokumente/2026/" in approval.get_body(("plain",)).get_content()
    assert daily(demo_ctx, dt.date(2026, 11, 9)).digest.why_not == "nothing_new"  # type: ignore[union-attr]
    assert len(digests(smtp_server)) == 4
    assert all("/r/" not in m.as_string() for m in digests(smtp_server))


def test_digest_goes_to_the_staff_address_when_one_is_set(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    import pytest
    from pydantic import ValidationError

    from usecases.settings import Settings

    with pytest.raises(ValidationError):
        Settings(staff_email="a@example.org, b@example.org")
    assert Settings(staff_email=" ").staff_email is None
    demo_ctx.settings = demo_ctx.settings.model_copy(update={"staff_email": "team@regionalagentur.example.org"})
    open_cycle(demo_ctx, year=2026, deadline=DEADLINE, today=OPENED, now=morning(OPENED))
    confirm_no_changes(demo_ctx, request_id=request_id(demo_ctx, "VUV"), now=morning(OPENED))
    assert daily(demo_ctx, OPENED).digest.recipient == "team@regionalagentur.example.org"  # type: ignore[union-attr]
    (digest,) = digests(smtp_server)
    assert [a.addr_spec for a in digest["To"].addresses] == ["team@regionalagentur.example.org"]


def test_fko_remind_shows_and_queues_the_digest(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    assert run_fko("cycle", "open", "--year", "2027", "--deadline", "15.01.2027").exit_code == 0
    assert run_fko("sheet", "build", "-i", "IHK", "-o", str(tmp_path), "--year", "2027").exit_code == 0
    sheet = tmp_path / "Abfrage-2027-aachen-IHK.xlsx"
    broken = tmp_path / "kaputt.xlsx"
    broken.write_bytes(edit_sheet(sheet.read_bytes(), {"D2": "Ausbildung"}))
    assert run_fko("ingest", str(broken), "--institution", "IHK").exit_code == 1
    sink = tmp_path / "var" / "mail"
    before = len(list(sink.glob("*.eml")))

    plan = run_fko("remind", "--today", "07.01.2027", "--dry-run")
    assert plan.exit_code == 0
    assert f"Tagesübersicht für das Team ginge an {AGENCY}: 1 abgelehnte Datei." in plan.stdout
    assert len(list(sink.glob("*.eml"))) == before
    sent = run_fko("remind", "--today", "07.01.2027")
    assert sent.exit_code == 0, sent.stderr
    assert f"Tagesübersicht für das Team an {AGENCY} in den Postausgang gestellt: 1 abgelehnte Datei." in sent.stdout
    assert "1 E-Mail versandt" in sent.stdout
    again = run_fko("remind", "--today", "07.01.2027")
    assert "heute schon an" in again.stdout and "nicht noch einmal" in again.stdout
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in sink.glob("*.eml")]
    (digest,) = [m for m in mails if str(m["Subject"]).startswith("Tagesübersicht 07.01.2027")]
    assert "/intern/institutionen/IHK" in digest.get_body(("plain",)).get_content()
    quiet = run_fko("remind", "--today", "08.01.2027")
    assert "Tagesübersicht für das Team: keine, seit der letzten ist nichts geschehen." in quiet.stdout


def test_fko_mail_test_sends_a_sample_digest_too(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from mail.templates import ALL_KINDS
    from usecases.mail_test import send_test_mails

    now = morning(OPENED)
    report = asyncio.run(send_test_mails(demo_ctx, to="ich@regionalagentur.example.org", today=OPENED, now=now))
    assert report.failed == {} and len(report.sent) == len(ALL_KINDS)
    assert "Tagesübersicht für das Team" in report.sent
    (sample,) = [m for m in smtp_server.recorder.messages() if str(m["Subject"]).startswith("[TEST] Tagesübersicht")]
    text = sample.get_body(("plain",)).get_content()
    assert "TESTNACHRICHT" in text and f"{BASE}/intern/institutionen/TEST" in text and "/r/" not in text
