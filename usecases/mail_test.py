"""`fko mail test`: one sample of every mail institutions get (and of the staff digest), to an address of staff's
choosing, marked as a test.

Sent straight through the relay (or the .eml sink), never through the outbox: a test must not wake queued mail
of the round, and it is meant to be sent again whenever staff change a template.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from core.dates import BERLIN, german_date
from core.digest import DigestEvents, MailNote, PhoneTask, Refused, Returned, RoundFacts, build_digest, digest_context
from core.institution import greeting
from core.ladder import answer_by, step_date
from core.workdays import public_holidays
from mail.compose import XLSX, Attachment, Envelope, Mailbox, compose
from mail.sink import EmlSink
from mail.templates import ALL_KINDS, KIND_LABELS, Rendered
from mail.transport import Job, Outcome, SmtpSettings, deliver_all
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.models import Institution
from storage.regions import get_region
from usecases.context import AppContext
from usecases.messages import base_context, received_text, renderer_for
from usecases.outbox import smtp_settings
from usecases.sheets import personal_sheet, sheet_filename

SUBJECT_MARK = "[TEST] "
TEXT_MARK = ("*** TESTNACHRICHT: Beispiel mit erfundenen Angaben, an {to} gesandt mit `fko mail test`. "
             "Keine Institution hat sie erhalten. ***\n\n")
HTML_MARK = ('<p style="border:2px solid #b00; padding:.5em; color:#b00; font-weight:bold;">TESTNACHRICHT: '
             "Beispiel mit erfundenen Angaben, an {to} gesandt mit <code>fko mail test</code>. Keine Institution "
             "hat sie erhalten.</p>")


@dataclass
class TestMailReport:
    sent: list[str] = field(default_factory=list)            # German kind names
    failed: dict[str, str] = field(default_factory=dict)     # kind name → reason


def sample_context(ctx: AppContext, *, year: int, today: dt.date, region: Any, now: dt.datetime) -> dict[str, Any]:
    """Every value the mail templates use, filled with plainly invented sample data of this region."""
    deadline = today + dt.timedelta(weeks=6)
    primary = {"name": "Erika Mustermann", "email": "erika.mustermann@beispiel.example.org", "undeliverable": False}
    deputy = {"name": "Max Beispiel", "email": "max.beispiel@beispiel.example.org", "undeliverable": False}
    return {
        **base_context(region, year=year, deadline=deadline, today=today),
        "old_deadline_text": german_date(today + dt.timedelta(weeks=4)), "again": "deadline",
        "institution_name": "Beispiel-Institution (Test)", "institution_code": "TEST",
        "recipient_name": "Erika Mustermann", "greeting": greeting("Frau Dr.", "Erika Mustermann"),
        "link": f"{ctx.settings.base_url.rstrip('/')}/r/BEISPIEL-LINK",
        **_sample_escalation(ctx, region=region, today=today, deadline=deadline, people=[primary, deputy]),
        "filename": sheet_filename(region.code, year, "TEST"), "received_text": received_text(now),
        "base_label": str(year - 1), "changes": {"new": 1, "changed": 2, "ended": 1, "unchanged": 3, "missing": 0},
        "change_lines": ["TEST-0002 Beispielaktivität: Titel, Ende"],
        "problems": [{"cell": "D12", "column": "Handlungsfeld",
                      "message": "Zeile 12, Handlungsfeld: „Ausbildung“ ist kein zulässiger Wert."}],
        "problem_count": 1, "wrong_file": False,
        "problem_groups": [{"row": 12, "title": "Beispielaktivität", "problems": [
            {"cell": "D12", "column": "Handlungsfeld", "detail": "„Ausbildung“ ist kein zulässiger Wert."}]}],
        "summary": [{"kind": "changed", "count": 2, "more": 0, "items": [
                        {"key": "TEST-0002", "title": "Beispielaktivität", "detail": "Titel, Ende"},
                        {"key": "TEST-0003", "title": "Zweite Beispielaktivität", "detail": "Status"}]},
                    {"kind": "new", "count": 1, "more": 0, "items": [
                        {"key": "TEST-0009", "title": "Neue Beispielaktivität", "detail": ""}]},
                    {"kind": "ended", "count": 1, "more": 0, "items": [
                        {"key": "TEST-0001", "title": "Beendete Beispielaktivität", "detail": "abgeschlossen"}]},
                    {"kind": "unchanged", "count": 3, "more": 0, "items": []}],
        "original_subject": f"AW: Abfrage {year} zum Handlungskonzept {region.name}", "no_sheet": False,
        "files": [{"filename": f"Rueckmeldung_{year - 1}.xlsx",
                   "reason": f"Die Tabelle stammt aus der Abfrage {year - 1}. Bitte senden Sie die Tabelle aus der "
                             f"Einladung zur Abfrage {year}."}],
    }


def _sample_escalation(ctx: AppContext, *, region: Any, today: dt.date, deadline: dt.date,
                       people: list[dict[str, Any]]) -> dict[str, Any]:
    """The escalation's account of the mails before it and the date it asks for, as the region's ladder would
    give them for a round opened today."""
    policy, is_holiday = ctx.policy(), public_holidays(region.holiday_state)
    escalation = next((step for step in policy.steps if step.escalates), policy.steps[-1])
    earlier = [step for step in policy.steps[:policy.index(escalation.name)] if step.kind == "mail"]
    sent_on = step_date(deadline, escalation, is_holiday)
    return {
        "reminded": [{"date": german_date(today, weekday=False), "kind": "invitation", "people": people[:1]}] + [
            {"date": german_date(step_date(deadline, step, is_holiday), weekday=False), "kind": "reminder",
             "people": people if step.cc else people[:1]} for step in earlier],
        "answer_by_text": german_date(answer_by(deadline, escalation.name, sent_on, policy, is_holiday)),
    }


def sample_digest_context(ctx: AppContext, *, today: dt.date, context: dict[str, Any]) -> dict[str, Any]:
    """The staff digest of an invented working day of the round (links into the staff area, as the real one)."""
    day = today + dt.timedelta(days=(7 - today.weekday()) % 7 or 7)  # the next Monday: always a digest day
    facts = RoundFacts(year=context["year"], deadline=today + dt.timedelta(weeks=6),
                       open_until=today + dt.timedelta(weeks=9), institutions=20, answered=5,
                       draft_label=str(context["year"]), draft_rebuilt=True)
    digest = build_digest(DigestEvents(
        round=facts, returns=(Returned("TEST", "Beispiel-Institution (Test)", "accepted", new=1, changed=2),),
        refusals=(Refused("TEST2", "Zweite Beispiel-Institution (Test)", 3),),
        phone_tasks=(PhoneTask("TEST3", "Dritte Beispiel-Institution (Test)"),),
        mailbox=(MailNote("erika.mustermann@beispiel.example.org", "Frage zur Abfrage", "unclear",
                          "ohne Tabelle im Anhang"),)),
        today=day, is_holiday=lambda _: False, base_url=ctx.settings.base_url)
    if digest is None:  # cannot happen: a Monday with events
        raise RuntimeError("sample digest without content")
    return {**context, **digest_context(digest)}


def _marked(rendered: Rendered, to: str) -> Rendered:
    html = rendered.html
    cut = html.find(">", html.find("<body")) + 1 if "<body" in html else 0  # the mark opens the body
    return Rendered(subject=SUBJECT_MARK + rendered.subject, text=TEXT_MARK.format(to=to) + rendered.text,
                    html=html[:cut] + HTML_MARK.format(to=to) + html[cut:])


async def send_test_mails(ctx: AppContext, *, to: str, today: dt.date, now: dt.datetime,
                          smtp: SmtpSettings | None = None) -> TestMailReport:
    """Render each kind with sample data and send it to ``to`` only (no Cc), from the configured sender."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        session.expunge(region)
    year = today.year
    context = sample_context(ctx, year=year, today=today, region=region, now=now)
    sample = Institution(region_id=region.id or 0, code="TEST", name="Beispiel-Institution (Test)")
    sheet = personal_sheet(ctx, region=region, institution=sample, year=year, base_label=str(year - 1),
                           deadline=today + dt.timedelta(weeks=6), activities=[])
    renderer = renderer_for(ctx.templates_dir)
    jobs: list[Job] = []
    names: dict[int, str] = {}
    envelope = Envelope(sender=Mailbox(ctx.settings.mail_from, region.agency_name), to=[Mailbox(to, "")],
                        reply_to=Mailbox(region.agency_email, region.agency_name))
    digest_context = sample_digest_context(ctx, today=today, context=context)
    base = ctx.settings.base_url.rstrip("/")
    invite_context = {**context, "staff_name": "Beispiel-Person (Test)", "sign_in_url": f"{base}/intern/anmelden",
                      "setup_url": f"{base}/intern/einrichten/TEST-kein-gueltiger-Link",
                      "valid_until": f"{today + dt.timedelta(days=3):%d.%m.%Y} um 12:00 Uhr"}
    for number, kind in enumerate(ALL_KINDS, start=1):
        attachments = [Attachment(context["filename"], sheet, XLSX)] if kind == "invitation" else None
        values = {"staff_digest": digest_context, "staff_invite": invite_context}.get(kind, context)
        composed = compose(_marked(renderer.render(kind, values), to), envelope,
                           key=f"test:{kind}:{to}:{now.isoformat()}", now=now.astimezone(BERLIN),
                           attachments=attachments)
        jobs.append(Job(id=number, sender=composed.sender, recipients=composed.recipients, data=composed.data))
        names[number] = KIND_LABELS.get(kind, kind)
    report = TestMailReport()

    def record(job: Job, outcome: Outcome) -> None:
        if outcome.state == "sent":
            report.sent.append(names[job.id])
        else:
            report.failed[names[job.id]] = outcome.error or "; ".join(outcome.refused.values()) or outcome.state

    smtp = smtp or smtp_settings(ctx.settings)
    if smtp is None:
        with EmlSink(ctx.settings.mail_sink_dir) as (host, port):
            await deliver_all(jobs, SmtpSettings(host=host, port=port), record)
    else:
        await deliver_all(jobs, smtp, record)
    with session_scope(ctx.engine) as session:
        record_event(session=session, region_id=region.id, actor="staff", action="mail.test", subject=to,
                     details={"sent": len(report.sent), "failed": len(report.failed)})
    return report
