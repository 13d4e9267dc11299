"""The daily staff digest: load what happened in the open round since the last digest, let ``core.digest`` decide,
and queue the mail through the outbox under one key per region and day (so it goes out once a day at most)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from core.dates import BERLIN
from core.digest import (
    Bounced,
    Digest,
    DigestEvents,
    FailedMail,
    MailNote,
    PhoneTask,
    Refused,
    Returned,
    RoundFacts,
    approval_readiness,
    build_digest,
    digest_context,
    is_working_day,
)
from core.workdays import public_holidays
from mail.compose import Composed, Envelope, Mailbox, compose
from storage.cycles import open_cycles, requests_with_institutions
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.models import ConceptVersion, Contact, Cycle, EventLog, Institution, OutboundMessage, Region
from storage.outbox import find_message
from storage.regions import get_region
from usecases.context import AppContext
from usecases.messages import base_context, renderer_for
from usecases.outbox import MAX_ATTEMPTS, queue_message
from usecases.settings import Settings

KIND = "staff_digest"
QUEUED = "digest.queued"            # event: a digest was queued; the next one starts after it
MAILBOX_EVENTS = ("mail.unclear", "mail.autoreply")  # from the agency's mailbox (usecases.mail_intake)
ROUND_EVENTS = ("return.accepted", "return.no_changes", "return.refused", "reminder.phone_task", "draft.rebuilt",
                *MAILBOX_EVENTS)
REASON_MAX = 200                    # of a mail server's answer, as shown in the digest


@dataclass
class DigestReport:
    """What the daily run did about the digest (for `fko remind` and the flow's log)."""

    recipient: str = ""
    due: bool = False               # a digest goes out today (in a dry run: would go out)
    queued: bool = False            # this run queued it
    already: bool = False           # an earlier run today queued it already
    why_not: str = ""               # no_round | not_working_day | nothing_new
    counts: dict[str, int] = field(default_factory=dict)


def digest_key(region_code: str, day: dt.date) -> str:
    return f"digest:{region_code}:{day.isoformat()}"


def staff_address(settings: Settings, region: Region) -> str:
    """``FKO_STAFF_EMAIL`` if set, else the agency's address of the region."""
    return settings.staff_email or region.agency_email


def queue_digest(ctx: AppContext, *, today: dt.date, now: dt.datetime, dry_run: bool = False,
                 planned_phone: Sequence[PhoneTask] = ()) -> DigestReport:
    """Queue today's digest for the region's staff if something happened since the last one.

    Once per region and day, however often the daily run runs: the outbox key holds the date. What happened
    after a digest was queued comes in the next one (the window starts at its event). ``planned_phone``: in a
    dry run the phone tasks the ladder would create today (they are not recorded yet)."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        report = DigestReport(recipient=staff_address(ctx.settings, region))
        cycles = open_cycles(session=session, region_id=region.id or 0)
        if not cycles:
            report.why_not = "no_round"
            return report
        key = digest_key(region.code, today)
        if find_message(session=session, key=key) is not None:
            report.due = report.already = True
            return report
        is_holiday = public_holidays(region.holiday_state)
        if not is_working_day(today, is_holiday):
            report.why_not = "not_working_day"
            return report
        cycle = cycles[-1]  # the newest open round; an older one still open is reported along with it
        events, failed_ids = _events(ctx, session, region=region, cycle=cycle,
                                     years={c.year for c in cycles}, cycle_ids={c.id or 0 for c in cycles},
                                     planned_phone=planned_phone)
        digest = build_digest(events, today=today, is_holiday=is_holiday, base_url=ctx.settings.base_url)
        if digest is None:
            report.why_not = "nothing_new"
            return report
        report.due, report.counts = True, digest.counts
        if dry_run:
            return report
        composed = compose_digest(ctx, region=region, cycle=cycle, digest=digest, key=key, to=report.recipient,
                                  now=now)
        _, report.queued = queue_message(ctx, session, key=key, kind=KIND, composed=composed, to=report.recipient,
                                         cc=[], cycle_id=cycle.id, institution_id=None)
        record_event(session=session, region_id=region.id, actor="system", action=QUEUED, subject=key,
                     details={"year": cycle.year, "day": today.isoformat(), "to": report.recipient,
                              "ready": approval_readiness(events.round, today) is not None,
                              "failed_ids": failed_ids, **digest.counts})
    return report


def compose_digest(ctx: AppContext, *, region: Region, cycle: Cycle, digest: Digest, key: str, to: str,
                   now: dt.datetime) -> Composed:
    """The digest as a mail to staff, from the staff_digest templates."""
    rendered = renderer_for(ctx.templates_dir).render(KIND, {
        **base_context(region, year=cycle.year, deadline=cycle.deadline, today=digest.day),
        **digest_context(digest)})
    envelope = Envelope(sender=Mailbox(ctx.settings.mail_from, region.agency_name),
                        to=[Mailbox(to, region.agency_name)])
    return compose(rendered, envelope, key=key, now=now.astimezone(BERLIN))


def _events(ctx: AppContext, session: Session, *, region: Region, cycle: Cycle, years: set[int],
            cycle_ids: set[int], planned_phone: Sequence[PhoneTask]) -> tuple[DigestEvents, list[int]]:
    """What happened since the last digest (or since the round opened), and the ids of the messages given up on
    that this digest names together with those named before (so none is named twice)."""
    last = session.exec(select(EventLog).where(EventLog.region_id == region.id, EventLog.action == QUEUED)
                        .order_by(col(EventLog.id).desc()).limit(1)).first()
    opened = session.exec(select(EventLog).where(EventLog.region_id == region.id, EventLog.action == "cycle.opened",
                                                 EventLog.subject == str(cycle.year))
                          .order_by(col(EventLog.id).desc()).limit(1)).first()
    since = max((last.id or 0) if last else 0, (opened.id or 0) if opened else 0)
    of_round = last is not None and last.details.get("year") == cycle.year
    institutions = {i.code: i for i in session.exec(select(Institution)
                                                    .where(Institution.region_id == region.id)).all()}
    names = {code: i.name for code, i in institutions.items()}
    draft = session.get(ConceptVersion, cycle.draft_version_id) if cycle.draft_version_id else None
    draft_label = draft.label if draft else str(cycle.year)

    returns: list[Returned] = []
    refusals: list[Refused] = []
    phone: list[PhoneTask] = list(planned_phone)
    mailbox: list[MailNote] = []
    rebuilt = False
    for event in session.exec(select(EventLog).where(EventLog.region_id == region.id, col(EventLog.id) > since,
                                                     col(EventLog.action).in_(ROUND_EVENTS))
                              .order_by(col(EventLog.id))).all():
        code, details = event.subject, event.details
        if event.action == "draft.rebuilt":
            rebuilt = rebuilt or code == draft_label
        elif details.get("year") not in years:
            continue
        elif event.action == "return.refused":
            refusals.append(Refused(code, names.get(code, code), int(details.get("problems", 0))))
        elif event.action in MAILBOX_EVENTS:
            mailbox.append(MailNote(code, str(details.get("subject", "")), event.action.removeprefix("mail."),
                                    "; ".join(str(line) for line in details.get("lines", []))[:REASON_MAX]))
        elif event.action == "reminder.phone_task":
            phone.append(PhoneTask(code, names.get(code, code), str(details.get("reason", ""))))
        else:
            returns.append(Returned(code, names.get(code, code),
                                    "no_changes" if event.action == "return.no_changes" else "accepted",
                                    new=int(details.get("new", 0)), changed=int(details.get("changed", 0)),
                                    ended=int(details.get("ended", 0))))

    bounces = _bounces(session, since=since, institutions=institutions)
    reported = {int(i) for e in session.exec(select(EventLog).where(EventLog.region_id == region.id,
                                                                   EventLog.action == QUEUED)).all()
                for i in e.details.get("failed_ids", [])}
    by_id = {i.id: i for i in institutions.values()}
    failed: list[FailedMail] = []
    new_ids: list[int] = []
    for message in session.exec(select(OutboundMessage).where(
            col(OutboundMessage.cycle_id).in_(cycle_ids), OutboundMessage.state == "failed",
            OutboundMessage.attempts >= MAX_ATTEMPTS, col(OutboundMessage.kind) != KIND)
            .order_by(col(OutboundMessage.id))).all():
        if (message.id or 0) in reported:
            continue
        new_ids.append(message.id or 0)
        owner = by_id.get(message.institution_id)
        failed.append(FailedMail(owner.code if owner else "", owner.name if owner else "", message.recipient,
                                 (message.last_error or "")[:REASON_MAX]))

    rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
    asked = [(r, i) for r, i in rows if i.active]
    facts = RoundFacts(year=cycle.year, deadline=cycle.deadline,
                       open_until=cycle.deadline + dt.timedelta(days=ctx.policy().accept_late_days),
                       institutions=len(asked), answered=sum(r.answered_at is not None for r, _ in asked),
                       draft_label=draft_label, draft_rebuilt=rebuilt,
                       was_ready=bool(of_round and last and last.details.get("ready")))
    events = DigestEvents(round=facts, returns=tuple(returns), refusals=tuple(refusals), bounces=tuple(bounces),
                          failed=tuple(failed), phone_tasks=tuple(phone), mailbox=tuple(mailbox))
    return events, sorted(reported | set(new_ids))


def _bounces(session: Session, *, since: int, institutions: dict[str, Institution]) -> list[Bounced]:
    """Addresses of this region's contacts that the mail server refused since event ``since`` (the outbox
    records those without a region: an address may belong to several)."""
    events = session.exec(select(EventLog).where(col(EventLog.region_id).is_(None), col(EventLog.id) > since,
                                                 EventLog.action == "mail.address_refused")
                          .order_by(col(EventLog.id))).all()
    if not events:
        return []
    by_id = {i.id: i for i in institutions.values()}
    owners: dict[str, Institution] = {}
    for contact in session.exec(select(Contact).where(col(Contact.institution_id).in_(list(by_id)))).all():
        owners.setdefault(contact.email.casefold(), by_id[contact.institution_id])
    seen: set[str] = set()
    bounced: list[Bounced] = []
    for event in events:
        address = event.subject.casefold()
        owner = owners.get(address)
        if owner is None or address in seen:
            continue
        seen.add(address)
        reason = str(event.details.get("reason", ""))[:REASON_MAX]
        bounced.append(Bounced(event.subject, owner.code, owner.name, reason))
    return bounced
