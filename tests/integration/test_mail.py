"""Mail through a real SMTP server: every template arrives intact, and exactly once, under faults."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import select

from core.token import token_hash
from mail.compose import XLSX, Attachment, Envelope, Mailbox, compose
from mail.templates import KINDS, MailRenderer
from mail.transport import Job, Outcome, SmtpSettings, deliver_all
from storage.database import session_scope
from storage.models import Contact, OutboundMessage, Request
from tests.support import demo
from usecases.cycle import open_cycle
from usecases.outbox import deliver_pending
from usecases.settings import BUNDLED_TEMPLATES

NOW = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)
TODAY = dt.date(2026, 9, 1)
FAST = {"backoff": 0.01, "retries": 3, "timeout": 5.0}

CONTEXT = {
    "region_name": "Region Aachen", "agency_name": "Regionalagentur Region Aachen",
    "agency_email": "fachkraefte@regionalagentur.example.org", "agency_phone": "0241 99999-0",
    "agency_address": "Musterstraße 1, 52062 Aachen", "year": 2026, "deadline_text": "Donnerstag, 15. Oktober 2026",
    "funding_line": "Mit finanzieller Unterstützung des Landes Nordrhein-Westfalen und der Europäischen Union.",
    "deadline_short": "15.10.2026", "days_to_deadline": 0, "old_deadline_text": "Donnerstag, 1. Oktober 2026",
    "institution_name": "Städteregion <Test> & Partner", "institution_code": "STRAC",
    "recipient_name": "Jürgen Müller-Lüdenscheidt", "link": "https://fko.example.org/r/TOKEN-abcdefghijklmnopqrstuv",
    "filename": "Abfrage-2026-aachen-STRAC.xlsx", "received_text": "02.10.2026 um 14:05 Uhr", "base_label": "2025",
    "changes": {"new": 1, "changed": 2, "ended": 1, "unchanged": 3, "missing": 1},
    "change_lines": ["STRAC-0002 Pflegeausbildungsverbund: Titel, Ende"],
    "problems": [{"cell": "D12", "column": "Handlungsfeld",
                  "message": "Zeile 12, Handlungsfeld: „Ausbildung“ ist kein zulässiger Wert."}],
    "problem_groups": [{"row": 12, "title": "Pflegeausbildungsverbund <Nord>", "problems": [
        {"cell": "D12", "column": "Handlungsfeld", "message": "Zeile 12, Handlungsfeld: „Ausbildung“ ist kein "
         "zulässiger Wert.", "detail": "„Ausbildung“ ist kein zulässiger Wert."}]}],
    "problem_count": 1, "wrong_file": False, "submission_id": 7,
    "summary": [{"kind": "changed", "count": 2, "more": 0, "items": [
                    {"key": "STRAC-0002", "title": "Pflegeausbildungsverbund <Nord>", "detail": "Titel, Ende"},
                    {"key": "STRAC-0003", "title": "Azubi-Tage", "detail": "Status"}]},
                {"kind": "new", "count": 1, "more": 0, "items": [{"key": "STRAC-0009", "title": "Neu", "detail": ""}]},
                {"kind": "ended", "count": 1, "more": 0,
                 "items": [{"key": "STRAC-0001", "title": "Alt", "detail": "abgeschlossen"}]},
                {"kind": "missing", "count": 1, "more": 0,
                 "items": [{"key": "STRAC-0004", "title": "Vergessen", "detail": ""}]},
                {"kind": "unchanged", "count": 3, "more": 0, "items": []}],
    "greeting": "Sehr geehrter Herr Müller-Lüdenscheidt", "answer_by_text": "Donnerstag, 29. Oktober 2026",
    "reminded": [{"date": "8. Oktober 2026", "kind": "reminder",
                  "people": [{"name": "Dörte <Öztürk>", "email": "doerte@stadt.example.org", "undeliverable": False}]}],
}


def send_all(server, jobs: list[Job], **settings: object) -> list[Outcome]:  # type: ignore[no-untyped-def]
    outcomes: list[Outcome] = []
    smtp = SmtpSettings(host="127.0.0.1", port=server.port, **settings)  # type: ignore[arg-type]
    asyncio.run(deliver_all(jobs, smtp, lambda job, outcome: outcomes.append(outcome)))
    return outcomes


@pytest.mark.parametrize("kind", KINDS)
def test_every_template_arrives_intact(kind: str, smtp_server) -> None:  # type: ignore[no-untyped-def]
    rendered = MailRenderer(BUNDLED_TEMPLATES).render(kind, CONTEXT)
    envelope = Envelope(sender=Mailbox("noreply@regionalagentur.example.org", "Regionalagentur Region Aachen"),
                        to=[Mailbox("juergen.mueller@stadt.example.org", "Jürgen Müller-Lüdenscheidt")],
                        cc=[Mailbox("doerte@stadt.example.org", "Dörte Öztürk")],
                        reply_to=Mailbox("fachkraefte@regionalagentur.example.org", "Regionalagentur Region Aachen"))
    sheet = b"PK\x03\x04" + bytes(range(256)) * 100
    attachments = [Attachment("Abfrage-2026-aachen-STRAC.xlsx", sheet, XLSX)] if kind == "invitation" else []
    composed = compose(rendered, envelope, key=f"aachen:2026:STRAC:{kind}", now=NOW, attachments=attachments)
    (outcome,) = send_all(smtp_server, [Job(1, envelope.sender.email, composed.recipients, composed.data)])
    assert outcome.state == "sent"

    (received,) = smtp_server.recorder.received
    assert sorted(received.recipients) == ["doerte@stadt.example.org", "juergen.mueller@stadt.example.org"]
    message = received.message()
    subject = str(message["Subject"])
    assert "Region Aachen" in subject and "2026" in subject
    assert "Städteregion <Test> & Partner" in subject
    assert message["To"].addresses[0].display_name == "Jürgen Müller-Lüdenscheidt"
    assert message["Cc"].addresses[0].display_name == "Dörte Öztürk"
    assert message["From"].addresses[0].display_name == "Regionalagentur Region Aachen"
    assert message["Reply-To"].addresses[0].addr_spec == "fachkraefte@regionalagentur.example.org"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"] == composed.message_id
    assert email.utils.parsedate_to_datetime(str(message["Date"])) == NOW
    assert all("TOKEN" not in str(value) for _, value in message.items())  # the link never in a header

    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text, markup = plain.get_content(), html.get_content()
    assert plain.get_content_charset() == "utf-8" and "Regionalagentur Region Aachen" in text
    assert "Städteregion &lt;Test&gt; &amp; Partner" in markup
    assert "<Test>" not in markup
    if kind in ("invitation", "reminder", "reminder_deputy", "escalation", "refusal"):
        assert CONTEXT["link"] in text and CONTEXT["link"] in markup
    if kind != "receipt":  # the receipt still greets "Guten Tag" + name
        assert "Sehr geehrter Herr Müller-Lüdenscheidt," in text and "Sehr geehrter Herr Müller-Lüdenscheidt," in markup
    if kind == "escalation":
        assert "am 8. Oktober 2026: Erinnerung an Dörte <Öztürk> (doerte@stadt.example.org)" in text
        assert "Dörte &lt;Öztürk&gt;" in markup and "<Öztürk>" not in markup
        assert "bis Donnerstag, 29. Oktober 2026, bei uns eingeht" in text and "0241 99999-0" in text
    if kind == "refusal":  # by row, the row named by its activity's title
        lines = text.splitlines()
        row = lines.index("Zeile 12: „Pflegeausbildungsverbund <Nord>“")
        assert lines[row + 1] == "- [D12, Handlungsfeld] „Ausbildung“ ist kein zulässiger Wert."
        assert "Zeile 12: „Pflegeausbildungsverbund &lt;Nord&gt;“" in markup and "Zelle D12" in markup
    if kind == "receipt":  # the changes in words, as on the page
        lines = text.splitlines()
        first = lines.index("- 2 geändert: „Pflegeausbildungsverbund <Nord>“ (Titel, Ende); „Azubi-Tage“ (Status)")
        assert lines[first + 1:first + 5] == ["- 1 neu: „Neu“ (neue ID STRAC-0009)",
                                              "- 1 beendet: „Alt“ (abgeschlossen)",
                                              "- 1 fehlt in Ihrer Tabelle und bleibt vorerst erhalten: „Vergessen“",
                                              "- 3 unverändert"]
        assert "„Pflegeausbildungsverbund &lt;Nord&gt;“ (Titel, Ende)" in markup
    attached = list(message.iter_attachments())
    if kind == "invitation":
        (part,) = attached
        assert part.get_content_type() == XLSX
        assert part.get_filename() == "Abfrage-2026-aachen-STRAC.xlsx"
        assert part.get_content() == sheet
    else:
        assert attached == []


def received_keys(server) -> Counter[str]:  # type: ignore[no-untyped-def]
    return Counter(str(m["Message-ID"]) for m in server.recorder.messages())


def test_open_cycle_invites_every_institution_exactly_once(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    result = open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    assert (result.created, result.requests_created, result.invitations_queued) == (
        True, demo.INSTITUTIONS, demo.INSTITUTIONS)
    report = asyncio.run(deliver_pending(demo_ctx))
    assert (report.sent, report.failed, report.refused) == (demo.INSTITUTIONS, 0, 0)

    messages = smtp_server.recorder.messages()
    assert len(messages) == demo.INSTITUTIONS and set(received_keys(smtp_server).values()) == {1}
    ihk = next(m for m in messages if "IHK Aachen" in str(m["Subject"]))
    assert ihk["To"].addresses[0].addr_spec == "leonie.reiners@ihk-aachen.example.org"
    assert [a.addr_spec for a in ihk["Cc"].addresses] == ["dirk.kraemer@ihk-aachen.example.org"]
    (attachment,) = ihk.iter_attachments()
    assert attachment.get_filename() == "Abfrage-2026-aachen-IHK.xlsx"
    body = ihk.get_body(("plain",)).get_content()
    assert "Bitte bis Donnerstag, 15. Oktober 2026, erledigen." in body  # the weekday date set off by commas
    link = next(word for word in body.split() if word.startswith("https://fko.example.org/r/"))
    token = link.rsplit("/", 1)[1]
    with session_scope(demo_ctx.engine) as session:
        hashes = {r.token_hash for r in session.exec(select(Request)).all()}
        assert token_hash(token) in hashes
        assert all(token not in (r.token_hash or "") for r in session.exec(select(Request)).all())

    again = open_cycle(demo_ctx, year=2026, deadline=None, today=TODAY, now=NOW)
    assert (again.created, again.requests_created, again.invitations_queued) == (False, 0, 0)
    assert asyncio.run(deliver_pending(demo_ctx)).attempted == 0
    assert len(smtp_server.recorder.received) == demo.INSTITUTIONS


def test_connection_dropped_mid_batch_then_rerun_delivers_each_exactly_once(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    smtp_server.recorder.faults.drop_after = 7
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    first = asyncio.run(deliver_pending(demo_ctx, smtp=SmtpSettings("127.0.0.1", smtp_server.port, **FAST)))
    # Connections already past MAIL FROM when the server started dropping still finish their message.
    accepted = len(smtp_server.recorder.received)
    assert 7 <= accepted < demo.INSTITUTIONS
    assert (first.sent, first.failed) == (accepted, demo.INSTITUTIONS - accepted)
    with session_scope(demo_ctx.engine) as session:
        states = Counter(m.state for m in session.exec(select(OutboundMessage)).all())
    assert states == {"sent": accepted, "failed": demo.INSTITUTIONS - accepted}

    smtp_server.recorder.faults.drop_after = None
    second = asyncio.run(deliver_pending(demo_ctx, smtp=SmtpSettings("127.0.0.1", smtp_server.port, **FAST)))
    assert (second.sent, second.failed) == (demo.INSTITUTIONS - accepted, 0)
    keys = received_keys(smtp_server)
    assert len(keys) == demo.INSTITUTIONS and set(keys.values()) == {1}
    assert asyncio.run(deliver_pending(demo_ctx)).attempted == 0


def test_temporary_refusals_are_retried_with_backoff(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    smtp_server.recorder.faults.defer_rcpt = 2
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    report = asyncio.run(deliver_pending(demo_ctx, smtp=SmtpSettings("127.0.0.1", smtp_server.port, **FAST)))
    assert (report.sent, report.failed) == (demo.INSTITUTIONS, 0)
    assert set(received_keys(smtp_server).values()) == {1}


def test_refused_address_is_marked_and_the_batch_goes_on(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    primary = "leonie.reiners@ihk-aachen.example.org"
    smtp_server.recorder.faults.reject = {primary, "tobias.bauer@arbeitsagentur-bruehl.example.org",
                                          "sabine.hamacher@arbeitsagentur-bruehl.example.org"}
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    report = asyncio.run(deliver_pending(demo_ctx, smtp=SmtpSettings("127.0.0.1", smtp_server.port, **FAST)))
    # IHK: the primary is refused, the deputy in Cc still gets it; AA-BRL: both refused, nothing arrives.
    assert (report.sent, report.refused, report.failed) == (21, 1, 0)
    assert sorted(report.refused_addresses) == sorted(smtp_server.recorder.faults.reject)
    with session_scope(demo_ctx.engine) as session:
        refused = {c.email for c in session.exec(select(Contact)).all() if c.refused_at is not None}
        assert refused == smtp_server.recorder.faults.reject
        brl = session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key
                                                         == "aachen:2026:AA-BRL:invitation")).one()
        assert brl.state == "refused" and "550" in (brl.last_error or "")
    ihk = next(r for r in smtp_server.recorder.received if "IHK Aachen" in str(r.message()["Subject"]))
    assert ihk.recipients == ["dirk.kraemer@ihk-aachen.example.org"]
    assert asyncio.run(deliver_pending(demo_ctx)).attempted == 0  # refused stays refused: nothing resent


def test_server_down_at_start_then_up(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    smtp_server.stop()
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    down = asyncio.run(deliver_pending(demo_ctx, smtp=SmtpSettings("127.0.0.1", smtp_server.port, **FAST)))
    assert (down.sent, down.failed) == (0, demo.INSTITUTIONS)
    assert "keine Verbindung zum Mailserver" in down.errors[0]
    smtp_server.start()
    up = asyncio.run(deliver_pending(demo_ctx, smtp=SmtpSettings("127.0.0.1", smtp_server.port, **FAST)))
    assert (up.sent, up.failed) == (demo.INSTITUTIONS, 0)
    assert set(received_keys(smtp_server).values()) == {1}


def test_without_relay_mail_lands_as_eml_files(demo_ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    report = asyncio.run(deliver_pending(demo_ctx, use_settings=False))
    assert report.sent == demo.INSTITUTIONS
    files = sorted((tmp_path / "var" / "mail").glob("*.eml"))
    assert len(files) == demo.INSTITUTIONS
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert "Abfrage 2026" in str(parsed["Subject"]) and parsed["X-Fko-Envelope-To"]


def test_two_senders_at_once_never_send_a_message_twice(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    # The page and a flow may deliver the outbox at the same moment: each message is claimed by one.
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    smtp = SmtpSettings("127.0.0.1", smtp_server.port, concurrency=3, **FAST)

    async def both():  # type: ignore[no-untyped-def]
        return await asyncio.gather(deliver_pending(demo_ctx, smtp=smtp), deliver_pending(demo_ctx, smtp=smtp))

    first, second = asyncio.run(both())
    assert first.sent + second.sent == demo.INSTITUTIONS
    keys = received_keys(smtp_server)
    assert len(keys) == demo.INSTITUTIONS and set(keys.values()) == {1}


def test_a_crashed_senders_claim_lapses_and_its_messages_go_out_later(demo_ctx, smtp_server) -> None:  # type: ignore[no-untyped-def]
    from storage.outbox import claim_due_messages
    from usecases.outbox import CLAIM_LEASE, MAX_ATTEMPTS

    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=TODAY, now=NOW)
    with session_scope(demo_ctx.engine) as session:  # a sender claims everything, then dies
        claimed = claim_due_messages(session=session, now=dt.datetime.now(dt.UTC), lease=CLAIM_LEASE,
                                     max_attempts=MAX_ATTEMPTS)
    assert len(claimed) == demo.INSTITUTIONS
    assert asyncio.run(deliver_pending(demo_ctx)).attempted == 0  # still claimed: nobody else sends them
    with session_scope(demo_ctx.engine) as session:
        for message in session.exec(select(OutboundMessage)).all():
            message.claimed_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    assert asyncio.run(deliver_pending(demo_ctx)).sent == demo.INSTITUTIONS
    assert set(received_keys(smtp_server).values()) == {1}
