"""Where the round stands: per institution state, last action, reminders, phone tasks; totals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import col, select

from core.institution import ContactRecord, call_list
from storage.cycles import cycle_of_year, newest_cycle, requests_with_institutions, round_published
from storage.database import require_current_schema, session_scope
from storage.models import Contact, EventLog, MailIntake, Submission
from storage.regions import get_region
from usecases.context import AppContext

STATE_LABELS = {"invited": "eingeladen", "downloaded": "heruntergeladen", "refused": "Upload abgelehnt",
                "answered": "beantwortet"}
ACTION_LABELS = {"sheet.downloaded": "Tabelle heruntergeladen", "return.accepted": "Tabelle angenommen",
                 "return.refused": "Upload abgelehnt", "return.no_changes": "Keine Änderungen bestätigt",
                 "reminder.sent": "erinnert", "reminder.phone_task": "Telefonaufgabe", "link.renewed": "neuer Link",
                 "return.held": "nach der Veröffentlichung eingegangen", "reminder.phone_done": "Telefonat erledigt"}
HELD_LABEL = "nach der Veröffentlichung eingegangen, für die nächste Abfrage aufbewahrt"
SOURCE_LABELS = {"portal": "Seite", "cli": "fko ingest", "inbox": "Eingangsordner", "mail": "E-Mail",
                 "phone": "Telefon (im internen Bereich erfasst)"}
NO_PHONE = "ohne Telefonnummer in der Institutionsliste (Spalte „Telefon“)"
NO_CONTACT = "keine aktive Ansprechperson in der Institutionsliste"


def to_call(contacts: list[Contact]) -> list[ContactRecord]:
    """Whom staff call for a phone task: the institution's active contacts, primary first, then deputy, head."""
    return call_list([ContactRecord(c.name, c.email, c.role, salutation=c.salutation, phone=c.phone)
                      for c in contacts if c.active])


def call_text(contacts: list[ContactRecord], role_labels: dict[str, str]) -> str:
    """``Anna Schmitz (Hauptansprechperson): 0241 12345-0; ohne Telefonnummer in der Institutionsliste (Spalte
    „Telefon“): Ben Berg (Vertretung)``: those with a number in the order to call them, then those without."""
    if not contacts:
        return NO_CONTACT
    who = [f"{c.name} ({role_labels.get(c.role, c.role)})" for c in contacts]
    parts = [f"{label}: {c.phone}" for c, label in zip(contacts, who, strict=True) if c.phone]
    missing = [label for c, label in zip(contacts, who, strict=True) if not c.phone]
    if missing:
        parts.append(f"{NO_PHONE}: {', '.join(missing)}")
    return "; ".join(parts)


@dataclass
class InstitutionStatus:
    code: str
    name: str
    state: str
    answer: str | None          # accepted | no_changes | None
    reminders: int
    escalated: bool
    phone_task: bool
    last_action: str
    last_action_at: dt.datetime | None
    call: list[ContactRecord] = field(default_factory=list)  # for an open phone task: whom to call, in order
    phone_done: bool = False    # staff marked the call done (staff area)

    @property
    def open_phone_task(self) -> bool:
        return self.phone_task and not self.answer and not self.phone_done

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "state": self.state, "answer": self.answer,
                "reminders": self.reminders, "escalated": self.escalated, "phone_task": self.phone_task,
                "last_action": self.last_action,
                "last_action_at": self.last_action_at.isoformat() if self.last_action_at else None,
                "call": [{"name": c.name, "role": c.role, "phone": c.phone or None} for c in self.call]}


@dataclass
class HeldReturn:
    """A file that came after the round's version was published: kept, not taken in; staff decide."""

    code: str
    name: str
    filename: str
    received_at: dt.datetime
    source: str
    submission: int

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "filename": self.filename,
                "received_at": self.received_at.isoformat(), "source": self.source, "submission": self.submission}


@dataclass
class Undeliverable:
    """A contact's address the mail server refused (at sending, or later by a bounce): no more mail goes there;
    the reminders go to the next contact role."""

    code: str
    name: str
    address: str
    role: str
    reason: str
    at: dt.datetime

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "name": self.name, "address": self.address, "role": self.role,
                "reason": self.reason, "at": self.at.isoformat()}


@dataclass
class UnclearMail:
    """A message in the agency's mailbox that was no return and no bounce (filed in fko/unklar for staff)."""

    sender: str
    subject: str
    at: dt.datetime
    lines: list[str]

    def as_json(self) -> dict[str, Any]:
        return {"sender": self.sender, "subject": self.subject, "at": self.at.isoformat(), "lines": self.lines}


@dataclass
class CycleStatus:
    year: int
    deadline: dt.date
    state: str = "open"          # open | published | closed
    rows: list[InstitutionStatus] = field(default_factory=list)
    held: list[HeldReturn] = field(default_factory=list)
    undeliverable: list[Undeliverable] = field(default_factory=list)
    unclear_mail: list[UnclearMail] = field(default_factory=list)

    @property
    def totals(self) -> dict[str, Any]:
        answered = sum(1 for r in self.rows if r.answer)
        return {"institutions": len(self.rows), "answered": answered, "open": len(self.rows) - answered,
                "refused_uploads": sum(1 for r in self.rows if r.state == "refused"),
                "phone_tasks": sum(1 for r in self.rows if r.open_phone_task),
                "undeliverable": len(self.undeliverable), "unclear_mail": len(self.unclear_mail),
                "response_rate": round(answered / len(self.rows), 3) if self.rows else 0.0}


class NoCycle(Exception):
    pass


def cycle_status(ctx: AppContext, *, year: int | None = None) -> CycleStatus:
    require_current_schema(ctx.engine)
    policy = ctx.policy()
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = (cycle_of_year(session=session, region_id=region.id or 0, year=year) if year
                 else newest_cycle(session=session, region_id=region.id or 0))
        if cycle is None:
            raise NoCycle(year)
        rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
        events: dict[str, EventLog] = {}
        escalated: set[str] = set()
        phone: set[str] = set()
        called: set[str] = set()
        for event in session.exec(select(EventLog).where(EventLog.region_id == region.id,
                                                         col(EventLog.action).in_(ACTION_LABELS))
                                  .order_by(col(EventLog.id))).all():
            if event.details.get("year") != cycle.year:  # another year's round
                continue
            events[event.subject] = event
            if policy.escalates(event.details.get("step")):
                escalated.add(event.subject)
            if event.action == "reminder.phone_task":
                phone.add(event.subject)
                called.discard(event.subject)  # a new phone task after one was done: open again
            if event.action == "reminder.phone_done":
                called.add(event.subject)
        answers = {s.request_id: s.outcome for s in session.exec(
            select(Submission).where(col(Submission.outcome).in_(("accepted", "no_changes")),
                                     col(Submission.request_id).in_([r.id for r, _ in rows]))
            .order_by(col(Submission.received_at))).all()}
        status = CycleStatus(year=cycle.year, deadline=cycle.deadline,
                             state="published" if round_published(session, cycle) else cycle.state)
        by_request = {request.id: institution for request, institution in rows}
        for held in session.exec(select(Submission).where(Submission.outcome == "held",
                                                          col(Submission.request_id).in_(list(by_request)))
                                 .order_by(col(Submission.received_at), col(Submission.id))).all():
            institution = by_request[held.request_id]
            status.held.append(HeldReturn(code=institution.code, name=institution.name, filename=held.filename,
                                          received_at=held.received_at, source=held.source, submission=held.id or 0))
        contacts: dict[int, list[Contact]] = {}
        calling = [i.id for r, i in rows if i.code in phone and answers.get(r.id or 0) is None]
        for contact in session.exec(select(Contact).where(col(Contact.institution_id).in_(calling))
                                    .order_by(col(Contact.id))).all():
            contacts.setdefault(contact.institution_id, []).append(contact)
        by_institution = {i.id: i for _, i in rows}
        for contact in session.exec(select(Contact).where(col(Contact.institution_id).in_(list(by_institution)),
                                                          col(Contact.refused_at).is_not(None))
                                    .order_by(col(Contact.refused_at), col(Contact.id))).all():
            owner = by_institution[contact.institution_id]
            status.undeliverable.append(Undeliverable(owner.code, owner.name, contact.email, contact.role,
                                                      contact.refused_reason or "",
                                                      contact.refused_at or cycle.opened_at))
        for intake in session.exec(select(MailIntake).where(MailIntake.region_id == region.id,
                                                            MailIntake.kind == "unclear",
                                                            col(MailIntake.fetched_at) >= cycle.opened_at)
                                   .order_by(col(MailIntake.id))).all():
            status.unclear_mail.append(UnclearMail(intake.sender, intake.subject, intake.fetched_at,
                                                   [str(line) for line in intake.details.get("lines", [])]))
        for request, institution in rows:
            last = events.get(institution.code)
            status.rows.append(InstitutionStatus(
                code=institution.code, name=institution.name, state=request.state,
                answer=answers.get(request.id or 0), reminders=request.reminders_sent,
                escalated=institution.code in escalated, phone_task=institution.code in phone,
                last_action=ACTION_LABELS.get(last.action, last.action) if last else "eingeladen",
                last_action_at=last.at if last else cycle.opened_at,
                call=to_call(contacts.get(institution.id or 0, [])), phone_done=institution.code in called))
        return status
