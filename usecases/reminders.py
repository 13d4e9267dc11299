"""Carry out the reminder ladder: mails through the outbox, phone tasks for staff, each step once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session, col, select

from core.dates import BERLIN, german_date
from core.digest import PhoneTask
from core.institution import ContactRecord
from core.ladder import DueStep, LadderState, Policy, answer_by, due_steps
from core.workdays import public_holidays
from storage.cycles import open_cycles, requests_with_institutions
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.institutions import contacts_of
from storage.models import Contact, Cycle, EventLog, Institution, OutboundMessage, Region
from storage.regions import get_region
from usecases.context import AppContext
from usecases.cycle import personal_link
from usecases.digest import DigestReport, queue_digest
from usecases.messages import base_context, institution_mail, pick_recipients, reachable_roles
from usecases.outbox import queue_message
from usecases.status import to_call


@dataclass(frozen=True)
class PlannedStep:
    due: DueStep
    institution_name: str
    recipients: list[str] = field(default_factory=list)
    call: list[ContactRecord] = field(default_factory=list)  # a phone task: whom staff call, in this order


@dataclass
class RemindReport:
    planned: list[PlannedStep] = field(default_factory=list)
    mails_queued: int = 0
    phone_tasks: int = 0
    rounds: list[int] = field(default_factory=list)  # the years of the running rounds looked at
    digest: DigestReport | None = None                # the staff digest (run_daily only)


def step_key(region_code: str, year: int, institution_code: str, step_name: str) -> str:
    return f"{region_code}:{year}:{institution_code}:{step_name}"


def run_reminders(ctx: AppContext, *, today: dt.date, now: dt.datetime, dry_run: bool = False,
                  policy: Policy | None = None) -> RemindReport:
    """Plan (and unless ``dry_run`` carry out) today's steps for every open cycle of the region.

    Safe to run any number of times a day: a carried-out step is recorded on the request, and its mail
    goes through the outbox under a key per institution × cycle × step.
    """
    require_current_schema(ctx.engine)
    policy = policy or ctx.policy()
    report = RemindReport()
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        is_holiday = public_holidays(region.holiday_state)
        for cycle in open_cycles(session=session, region_id=region.id or 0):
            report.rounds.append(cycle.year)
            rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
            contacts = {i.id: contacts_of(session=session, institution_id=i.id or 0) for _, i in rows}
            states = [LadderState(request_id=r.id or 0, institution_code=i.code, deadline=cycle.deadline,
                                  answered=r.answered_at is not None, last_step=r.last_step,
                                  reachable_roles=reachable_roles(contacts[i.id]))
                      for r, i in rows if i.active]
            by_request = {r.id: (r, i) for r, i in rows}
            context = base_context(region, year=cycle.year, deadline=cycle.deadline, today=today)
            sent: RoundMail | None = None  # loaded when the first mail of the run needs it
            for due in due_steps(states, policy, today, is_holiday):
                request, institution = by_request[due.request_id]
                step = due.step
                recipients = None
                if due.action == "mail":
                    recipients = pick_recipients(contacts[institution.id], step.to[step.to.index(due.to_roles[0]):],
                                                 cc_roles=step.cc)
                planned = PlannedStep(due, institution.name, recipients=(
                    [c.email for c in [*recipients.to, *recipients.cc]] + ([region.agency_email] if step.cc_staff
                                                                           else []) if recipients else []),
                    call=to_call(contacts[institution.id]) if due.action == "phone" else [])
                report.planned.append(planned)
                if dry_run:
                    continue
                key = step_key(region.code, cycle.year, institution.code, step.name)
                if recipients is not None:
                    sent = sent or round_mail(session, region=region, cycle=cycle)
                    written = mails_sent(sent, region=region, cycle=cycle, institution=institution,
                                         contacts=contacts[institution.id], policy=policy)
                    by = answer_by(cycle.deadline, step.name, today, policy, is_holiday)
                    composed = institution_mail(ctx, kind=step.template, key=key, region=region,
                                                institution=institution, recipients=recipients, now=now,
                                                cc_staff=step.cc_staff,
                                                context={**context, "link": personal_link(ctx, request),
                                                         "reminded": written, "answer_by_text": german_date(by)})
                    to, cc = recipients.addresses
                    if step.cc_staff:
                        cc = [*cc, region.agency_email]
                    _, created = queue_message(ctx, session, key=key, kind=step.template, composed=composed, to=to,
                                               cc=cc, cycle_id=cycle.id, institution_id=institution.id)
                    report.mails_queued += int(created)
                    request.reminders_sent += 1
                    action = "reminder.sent"
                else:
                    report.phone_tasks += 1
                    action = "reminder.phone_task"
                request.last_step = step.name
                record_event(session=session, region_id=region.id, actor="system", action=action,
                             subject=institution.code, details={"step": step.name, "year": cycle.year,
                                                                "due_on": due.due_on.isoformat(),
                                                                "reason": due.reason, "today": today.isoformat()})
    return report


def run_daily(ctx: AppContext, *, today: dt.date, now: dt.datetime, dry_run: bool = False,
              policy: Policy | None = None) -> RemindReport:
    """The daily run of a round (`fko remind`, the escalate-reminders flow, the systemd timer): today's reminder
    steps, then the staff digest of what happened since the last one, with the phone tasks just created."""
    report = run_reminders(ctx, today=today, now=now, dry_run=dry_run, policy=policy)
    planned = [PhoneTask(p.due.institution_code, p.institution_name, p.due.reason)
               for p in report.planned if p.due.action == "phone"] if dry_run else []
    report.digest = queue_digest(ctx, today=today, now=now, dry_run=dry_run, planned_phone=planned)
    return report


# Which of the round's mails an escalation recounts, and as what (any step of the ladder: "reminder").
RECOUNTED = {"invitation": "invitation", "deadline_moved": "deadline_moved"}


@dataclass
class RoundMail:
    """The mail of one round that went out so far (sent, or refused by the server), loaded once per run."""

    ladder_days: dict[tuple[str, str], dt.date]      # (institution code, step) → the day the ladder carried it out
    messages: dict[int, list[OutboundMessage]]        # institution id → its messages, oldest first


def round_mail(session: Session, *, region: Region, cycle: Cycle) -> RoundMail:
    ladder_days: dict[tuple[str, str], dt.date] = {}
    for event in session.exec(select(EventLog).where(EventLog.region_id == region.id,
                                                     EventLog.action == "reminder.sent")).all():
        if event.details.get("year") == cycle.year and event.details.get("today"):
            ladder_days[(event.subject, str(event.details.get("step")))] = dt.date.fromisoformat(
                str(event.details["today"]))
    messages: dict[int, list[OutboundMessage]] = {}
    for message in session.exec(select(OutboundMessage).where(
            OutboundMessage.cycle_id == cycle.id, col(OutboundMessage.state).in_(("sent", "refused")))
            .order_by(col(OutboundMessage.id))).all():
        messages.setdefault(message.institution_id or 0, []).append(message)
    return RoundMail(ladder_days, messages)


def mails_sent(sent: RoundMail, *, region: Region, cycle: Cycle, institution: Institution, contacts: list[Contact],
               policy: Policy) -> list[dict[str, Any]]:
    """The round's mails to the institution, oldest first, for the head of institution to read: when (the day
    the ladder carried out a step; else the day it was sent), what, and to whom (name, address, whether the
    address is known to be undeliverable). The agency's own copy is left out."""
    steps = {step_key(region.code, cycle.year, institution.code, step.name): step for step in policy.steps}
    by_address = {c.email.casefold(): c for c in contacts}
    entries: list[dict[str, Any]] = []
    for message in sent.messages.get(institution.id or 0, []):
        step = steps.get(message.idempotency_key)
        kind = ("escalation" if step.escalates else "reminder") if step else RECOUNTED.get(message.kind)
        if kind is None:
            continue
        day = (sent.ladder_days.get((institution.code, step.name)) if step else None) or (
            (message.sent_at or message.created_at).astimezone(BERLIN).date())
        people = []
        for address in [message.recipient, *message.cc]:
            if address.casefold() == region.agency_email.casefold():
                continue
            contact = by_address.get(address.casefold())
            people.append({"name": contact.name if contact else "", "email": address,
                           "undeliverable": message.state == "refused" or bool(contact and contact.refused_at)})
        entries.append({"date": german_date(day, weekday=False), "kind": kind, "people": people})
    return entries
