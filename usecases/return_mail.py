"""The receipt or refusal to an institution: who gets it, what it may promise, the problems it lists."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session

from core.dates import german_date
from core.deadline import is_late, returns_closed
from core.problem import RowProblems
from storage.institutions import contacts_of
from storage.models import Cycle, Institution, Region, Request, Submission
from usecases.context import AppContext
from usecases.cycle import personal_link
from usecases.messages import Recipients, base_context, institution_mail, pick_recipients
from usecases.outbox import queue_message

MAILED_PROBLEMS = 50  # as many problems as a refusal mail lists


def closed(ctx: AppContext, cycle: Cycle, now: dt.datetime) -> bool:
    return returns_closed(cycle_open=cycle.state == "open", deadline=cycle.deadline, now=now,
                          late_days=ctx.policy().accept_late_days)


def open_until(ctx: AppContext, cycle: Cycle) -> dt.date:
    return cycle.deadline + dt.timedelta(days=ctx.policy().accept_late_days)


def upload_again(ctx: AppContext, cycle: Cycle, now: dt.datetime) -> dict[str, str]:
    """What a receipt or refusal may promise about uploading (again) through the link: until the deadline;
    after it, in the late period, only until the version is adopted; afterwards nothing."""
    if closed(ctx, cycle, now):
        return {"again": "none", "again_until_text": ""}
    if is_late(cycle.deadline, now):
        return {"again": "late", "again_until_text": german_date(open_until(ctx, cycle))}
    return {"again": "deadline", "again_until_text": german_date(cycle.deadline)}


def recipients_of(session: Session, institution: Institution) -> Recipients | None:
    contacts = contacts_of(session=session, institution_id=institution.id or 0)
    return pick_recipients(contacts, ("primary", "deputy", "head"), ("deputy",))


def addresses(recipients: Recipients | None) -> list[str]:
    if recipients is None:
        return []
    to, cc = recipients.addresses
    return [to, *cc]


def queue_institution_mail(ctx: AppContext, session: Session, *, kind: str, submission: Submission,
                            request: Request, cycle: Cycle, institution: Institution, region: Region,
                            context: dict[str, object], now: dt.datetime, also_to: str = "") -> list[str]:
    """Queue the receipt or refusal; the addresses it goes to (none: nobody reachable). ``also_to``: the
    sender of a mailed sheet, in Cc beside the institution's contacts (who always see it)."""
    recipients = recipients_of(session, institution)
    if recipients is None:
        return []  # nobody reachable: staff see it in the institution list
    known = {a.lower() for a in addresses(recipients)}
    extra = [also_to] if also_to and also_to.lower() not in known else []
    key = f"{region.code}:{cycle.year}:{institution.code}:{kind}:{submission.id}"
    composed = institution_mail(ctx, kind=kind, key=key, region=region, institution=institution,
                                recipients=recipients, now=now, context={
                                    **base_context(region, year=cycle.year, deadline=cycle.deadline),
                                    **upload_again(ctx, cycle, now),
                                    "link": personal_link(ctx, request), **context}, extra_cc=extra)
    to, cc = recipients.addresses
    queue_message(ctx, session, key=key, kind=kind, composed=composed, to=to, cc=[*cc, *extra], cycle_id=cycle.id,
                  institution_id=institution.id)
    return [*addresses(recipients), *extra]


def mailed_groups(groups: list[RowProblems], limit: int = MAILED_PROBLEMS) -> list[dict[str, object]]:
    """Problem groups for a mail template, at most ``limit`` problems in all."""
    mailed: list[dict[str, object]] = []
    left = limit
    for group in groups:
        details = group.details[:left]
        if not details:
            break
        left -= len(details)
        mailed.append({"row": group.row, "title": group.title,
                       "problems": [{**p.as_dict(), "detail": detail} for p, detail in details]})
    return mailed
