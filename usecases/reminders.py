"""Carry out the reminder ladder: mails through the outbox, phone tasks for staff, each step once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from core.ladder import DueStep, LadderState, Policy, due_steps
from core.workdays import public_holidays
from storage.cycles import open_cycles, requests_with_institutions
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.institutions import contacts_of
from storage.regions import get_region
from usecases.context import AppContext
from usecases.cycle import personal_link
from usecases.messages import base_context, institution_mail, pick_recipients, reachable_roles
from usecases.outbox import queue_message


@dataclass(frozen=True)
class PlannedStep:
    due: DueStep
    institution_name: str
    recipients: list[str] = field(default_factory=list)


@dataclass
class RemindReport:
    planned: list[PlannedStep] = field(default_factory=list)
    mails_queued: int = 0
    phone_tasks: int = 0
    rounds: list[int] = field(default_factory=list)  # the years of the running rounds looked at


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
            for due in due_steps(states, policy, today, is_holiday):
                request, institution = by_request[due.request_id]
                step = due.step
                recipients = None
                if due.action == "mail":
                    recipients = pick_recipients(contacts[institution.id], step.to[step.to.index(due.to_roles[0]):],
                                                 cc_roles=step.cc)
                planned = PlannedStep(due, institution.name, recipients=(
                    [c.email for c in [*recipients.to, *recipients.cc]] + ([region.agency_email] if step.cc_staff
                                                                           else []) if recipients else []))
                report.planned.append(planned)
                if dry_run:
                    continue
                key = step_key(region.code, cycle.year, institution.code, step.name)
                if recipients is not None:
                    composed = institution_mail(ctx, kind=step.template, key=key, region=region,
                                                institution=institution, recipients=recipients, now=now,
                                                cc_staff=step.cc_staff,
                                                context={**context, "link": personal_link(ctx, request)})
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
