"""Open a yearly cycle: one request and personal link per active institution, invitations via the outbox."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from core.activity import Activity
from core.dates import german_date
from core.deadline import deadline_concerns, default_deadline, link_expiry, plausible_year
from core.token import link_token, token_hash
from core.workdays import public_holidays
from mail.compose import XLSX, Attachment, Composed
from storage.concepts import latest_published, list_activities, list_versions
from storage.cycles import (
    cycle_of_year,
    newest_cycle,
    open_cycles,
    requests_with_institutions,
    require_cycle,
    round_published,
)
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.filestore import StoredFile
from storage.institutions import contacts_of, list_institutions
from storage.models import ConceptVersion, Cycle, Institution, Region, ReplacedLink, Request
from storage.outbox import existing_keys
from storage.regions import get_region
from usecases.context import AppContext
from usecases.messages import Recipients, base_context, institution_mail, pick_recipients
from usecases.outbox import queue_message
from usecases.readiness import ensure_mail_can_leave
from usecases.sheets import Builder, NoBaseVersion, personal_sheet, sheet_builder, sheet_filename
from usecases.versions import published_already, rebuild_draft


class OtherRoundOpen(Exception):
    """Another year's round is still open: one round at a time."""

    def __init__(self, year: int, deadline: dt.date) -> None:
        super().__init__(f"round {year} is open")
        self.year, self.deadline = year, deadline


class ImplausibleYear(Exception):
    """A year far from today (a typo such as 26 or 2099); staff may insist with ``force``."""


class DeadlineDiffers(Exception):
    """The round is open already with another deadline; moving it is `fko cycle deadline`."""

    def __init__(self, current: dt.date) -> None:
        super().__init__(f"deadline is {current}")
        self.current = current


class RoundEnded(Exception):
    """The round is closed or its version published: its deadline no longer moves."""


@dataclass
class OpenResult:
    year: int
    deadline: dt.date
    created: bool
    requests_created: int = 0
    invitations_queued: int = 0
    without_contact: list[str] = field(default_factory=list)


def invitation_key(region: Region, year: int, code: str) -> str:
    return f"{region.code}:{year}:{code}:invitation"


def personal_link(ctx: AppContext, request: Request) -> str:
    token = link_token(ctx.settings.secret(), request.id or 0, request.token_nonce)
    return f"{ctx.settings.base_url}/r/{token}"


def _new_token(ctx: AppContext, request: Request) -> None:
    """A fresh personal link: a new nonce, and only the hash of the token it gives is stored."""
    request.token_nonce = secrets.token_hex(16)
    request.token_hash = token_hash(link_token(ctx.settings.secret(), request.id or 0, request.token_nonce))


# Invitations are built outside any transaction, then queued up to this many in one short transaction (fewer
# commits, each a flush to disk); a small round queues them one by one, a large one 25 at a time.
QUEUE_BATCH = 25


def batch_size(due: int) -> int:
    return min(QUEUE_BATCH, max(1, due // 40))


@dataclass
class _Built:
    institution: Institution
    key: str
    composed: Composed
    recipients: Recipients
    stored: StoredFile  # the body, in the file store before any transaction


def _build_invitation(ctx: AppContext, *, key: str, region: Region, cycle: Cycle, base_label: str,
                      institution: Institution, request: Request, recipients: Recipients,
                      activities: list[Activity], now: dt.datetime, builder: Builder | None = None) -> _Built:
    """The invitation with the personal link and the pre-filled sheet (built, not queued)."""
    sheet = personal_sheet(ctx, region=region, institution=institution, year=cycle.year, base_label=base_label,
                           deadline=cycle.deadline, activities=activities, builder=builder)
    composed = institution_mail(
        ctx, kind="invitation", key=key, region=region, institution=institution, recipients=recipients,
        context={**base_context(region, year=cycle.year, deadline=cycle.deadline),
                 "link": personal_link(ctx, request)}, now=now,
        attachments=[Attachment(sheet_filename(region.code, cycle.year, institution.code), sheet, XLSX)])
    return _Built(institution, key, composed, recipients, ctx.files.put(composed.data, kind="mail"))


def _queue_built(ctx: AppContext, session: Session, cycle: Cycle, batch: list[_Built]) -> int:
    """Queue built invitations; how many were new (one queued meanwhile by another run is left as it is)."""
    queued = 0
    for built in batch:
        to, cc = built.recipients.addresses
        _, new = queue_message(ctx, session, key=built.key, kind="invitation", composed=built.composed, to=to,
                               cc=cc, cycle_id=cycle.id, institution_id=built.institution.id, stored=built.stored)
        queued += int(new)
    return queued


def open_cycle(ctx: AppContext, *, year: int, deadline: dt.date | None, today: dt.date, now: dt.datetime,
               progress: Callable[[int, int], None] | None = None, force: bool = False,
               builder: Builder | None = None) -> OpenResult:
    """Create the cycle (if new), a request per active institution (if new), and queue invitations.

    Safe to run again: nothing that exists is created or queued twice. Sending is a separate step
    (``deliver_pending``), so a failed relay never loses a queued invitation. The invitations are built
    outside any transaction and queued a few at a time (``batch_size``) in a short transaction: the page keeps taking
    returns (SQLite has one writer at a time), and a run cut off halfway keeps what it queued. The sheets come from one
    ``builder`` (default: ``sheet_builder``, which builds what they share once).
    """
    builder = builder or sheet_builder(ctx)
    require_current_schema(ctx.engine)
    ensure_mail_can_leave(ctx.settings)  # before any invitation is queued with a link nobody can open
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle, created = _cycle_of(session, region, year=year, deadline=deadline, today=today, now=now, force=force)
        base_version = session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
        if cycle.base_version_id and base_version is None:
            raise NoBaseVersion("the cycle's base version is gone")
        result = OpenResult(year=year, deadline=cycle.deadline, created=created)
        activities: dict[str, list[Activity]] = {}
        for activity in list_activities(session=session, version_id=cycle.base_version_id):
            activities.setdefault(activity.institution_code, []).append(activity)
        due = _invitations_due(ctx, session, region, cycle, result)
    batch: list[_Built] = []
    size = batch_size(len(due))
    for done, (institution, request, recipients, key) in enumerate(due, start=1):
        batch.append(_build_invitation(
            ctx, key=key, region=region, cycle=cycle, base_label=base_version.label if base_version else "",
            institution=institution, request=request, recipients=recipients,
            activities=activities.get(institution.code, []), now=now, builder=builder))
        if len(batch) == size or done == len(due):
            with session_scope(ctx.engine) as session:  # one short transaction per batch
                result.invitations_queued += _queue_built(ctx, session, cycle, batch)
            batch = []
            if progress:
                progress(done, len(due))
    if not published_already(ctx, year=year):  # the round's draft exists from the start
        rebuild_draft(ctx, year=year, now=now, only_if_stale=True)
    if result.requests_created or result.invitations_queued:
        with session_scope(ctx.engine) as session:
            record_event(session=session, region_id=region.id, actor="staff", action="invitations.queued",
                         subject=str(year), details={"requests": result.requests_created,
                                                     "invitations": result.invitations_queued,
                                                     "without_contact": result.without_contact})
    return result


def _cycle_of(session: Session, region: Region, *, year: int, deadline: dt.date | None, today: dt.date,
              now: dt.datetime, force: bool) -> tuple[Cycle, bool]:
    """The year's cycle, created from the newest published version if it does not exist; True if created.
    Refused: another round still running, an implausible year (unless ``force``), another deadline for a
    round that is open already."""
    cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year)
    if cycle is not None:
        if cycle.state != "open" or round_published(session, cycle):
            raise RoundEnded(str(year))
        if deadline is not None and deadline != cycle.deadline:
            raise DeadlineDiffers(cycle.deadline)
        return cycle, False
    running = [c for c in open_cycles(session=session, region_id=region.id or 0)
               if not round_published(session, c)]
    if running:
        raise OtherRoundOpen(running[0].year, running[0].deadline)
    if not force and not plausible_year(year, today=today):
        raise ImplausibleYear(str(year))
    newest = max((int(v.label) for v in list_versions(session=session, region_id=region.id or 0)
                  if v.status == "published" and v.label.isdigit()), default=None)
    if newest is not None and year <= newest:
        raise RoundEnded(str(year))  # that year's concept (or a later one) is adopted already
    deadline = deadline or default_deadline(today)
    base = latest_published(session=session, region_id=region.id or 0)  # None: the region's first round
    cycle = Cycle(region_id=region.id or 0, year=year, deadline=deadline, base_version_id=base.id if base else None,
                  opened_at=now)
    session.add(cycle)
    session.flush()
    record_event(session=session, region_id=region.id, actor="staff", action="cycle.opened",
                 subject=str(year), details={"deadline": cycle.deadline.isoformat()})
    return cycle, True


def _invitations_due(ctx: AppContext, session: Session, region: Region, cycle: Cycle, result: OpenResult,
                     ) -> list[tuple[Institution, Request, Recipients, str]]:
    """A request (new if need be) per active institution; those not yet invited and reachable are due."""
    requests = {r.institution_id: r for r, _ in requests_with_institutions(session=session, cycle_id=cycle.id or 0)}
    views = list_institutions(session=session, region_id=region.id or 0, active_only=True)
    new = [Request(cycle_id=cycle.id or 0, institution_id=view.institution.id or 0) for view in views
           if view.institution.id not in requests]
    if new:  # one flush gives them their ids; the links need them
        session.add_all(new)
        session.flush()
        for request in new:
            _new_token(ctx, request)
            request.token_expires_at = link_expiry(cycle.deadline)
            requests[request.institution_id] = request
        result.requests_created += len(new)
    keys = {view.institution.code: invitation_key(region, cycle.year, view.institution.code) for view in views}
    invited = existing_keys(session=session, keys=list(keys.values()))  # sent, or waiting in the outbox
    due: list[tuple[Institution, Request, Recipients, str]] = []
    for view in views:
        institution = view.institution
        key = keys[institution.code]
        if key in invited:
            continue
        recipients = pick_recipients(view.contacts, ("primary", "deputy", "head"), cc_roles=("deputy",))
        if recipients is None:
            result.without_contact.append(institution.code)
            continue
        due.append((institution, requests[institution.id or 0], recipients, key))
    return due


def renew_link(ctx: AppContext, *, year: int, institution_code: str, now: dt.datetime, send: bool = True) -> str:
    """Revoke an institution's personal link (e.g. forwarded to the wrong person) and make a new one.

    The old link shows the neutral page from now on; with ``send`` the institution's contacts get a
    fresh invitation with the new link (through the outbox).
    """
    from storage.institutions import get_institution
    from storage.requests import request_for

    if send:
        ensure_mail_can_leave(ctx.settings)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = require_cycle(session=session, region_id=region.id or 0, year=year)
        institution = get_institution(session=session, region_id=region.id or 0, code=institution_code)
        request = request_for(session=session, cycle_id=cycle.id or 0, institution_id=institution.id or 0)
        if request is None:
            raise LookupError(f"{institution.code} has no request in {year}")
        if cycle.state != "open" or round_published(session, cycle):
            raise RoundEnded(str(year))
        if request.token_hash:
            session.add(ReplacedLink(token_hash=request.token_hash, request_id=request.id or 0, replaced_at=now))
        _new_token(ctx, request)
        request.token_revoked_at = None
        link = personal_link(ctx, request)
        record_event(session=session, region_id=region.id, actor="staff", action="link.renewed",
                     subject=institution.code, details={"year": year})
        recipients = pick_recipients(contacts_of(session=session, institution_id=institution.id or 0),
                                     ("primary", "deputy", "head"), cc_roles=("deputy",))
        if send and recipients is not None:
            base_version = session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
            activities = list_activities(session=session, version_id=cycle.base_version_id,
                                         institution_id=institution.id)
            key = f"{invitation_key(region, year, institution.code)}:renewed:{request.token_nonce[:12]}"
            _queue_built(ctx, session, cycle, [_build_invitation(
                ctx, key=key, region=region, cycle=cycle, base_label=base_version.label if base_version else "",
                institution=institution, request=request, recipients=recipients, activities=activities, now=now)])
    return link


def close_cycle(ctx: AppContext, *, year: int, now: dt.datetime) -> bool:
    """End a cycle: the page closes and every personal link of it stops working. False if closed already."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = require_cycle(session=session, region_id=region.id or 0, year=year)
        if cycle.state == "closed":
            return False  # a published round closes here too: its links stop working
        cycle.state, cycle.closed_at = "closed", now
        for request, _ in requests_with_institutions(session=session, cycle_id=cycle.id or 0):
            request.token_expires_at = now
        record_event(session=session, region_id=region.id, actor="staff", action="cycle.closed", subject=str(year))
        return True


def open_cycle_year(ctx: AppContext) -> int | None:
    """The year of the newest open cycle, if any."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = newest_cycle(session=session, region_id=region.id or 0, open_only=True)
        return cycle.year if cycle else None


def year_to_process(ctx: AppContext, year: int | None) -> int | None:
    """The open cycle's year when ``year`` is None or names it; None when there is nothing to do."""
    open_year = open_cycle_year(ctx)
    return open_year if year in (None, open_year) else None


def check_deadline(ctx: AppContext, deadline: dt.date, *, today: dt.date) -> list[str]:
    """What staff should confirm about a deadline (weekend, the region's public holiday, too soon); German."""
    with session_scope(ctx.engine) as session:
        state = get_region(session=session, code=ctx.settings.region).holiday_state
    return deadline_concerns(deadline, today=today, is_holiday=public_holidays(state))


@dataclass
class MoveResult:
    year: int
    old: dt.date
    new: dt.date
    notices_queued: int = 0
    not_answered: list[str] = field(default_factory=list)


def move_deadline(ctx: AppContext, *, year: int, deadline: dt.date, now: dt.datetime,
                  notice: bool = True) -> MoveResult:
    """Move a running round's deadline: the reminder ladder counts from the new date (steps already carried
    out stay done), links live as long as the new date asks, and institutions that have not answered get a
    short notice (through the outbox, once per new date)."""
    require_current_schema(ctx.engine)
    if notice:
        ensure_mail_can_leave(ctx.settings)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = require_cycle(session=session, region_id=region.id or 0, year=year)
        if cycle.state != "open":
            raise RoundEnded(str(year))
        result = MoveResult(year=year, old=cycle.deadline, new=deadline)
        if deadline == cycle.deadline:
            return result
        cycle.deadline = deadline
        rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
        for request, institution in rows:
            if request.token_revoked_at is None:
                request.token_expires_at = link_expiry(deadline)
            if request.answered_at is None and institution.active:
                result.not_answered.append(institution.code)
        record_event(session=session, region_id=region.id, actor="staff", action="cycle.deadline_moved",
                     subject=str(year), details={"from": result.old.isoformat(), "to": deadline.isoformat(),
                                                 "notice": notice})
        if not notice:
            return result
        context = {**base_context(region, year=year, deadline=deadline), "old_deadline_text": german_date(result.old)}
        for request, institution in rows:
            if request.answered_at is not None or not institution.active:
                continue
            recipients = pick_recipients(contacts_of(session=session, institution_id=institution.id or 0),
                                         ("primary", "deputy", "head"), cc_roles=("deputy",))
            if recipients is None:
                continue
            key = f"{region.code}:{year}:{institution.code}:deadline:{deadline.isoformat()}"
            composed = institution_mail(ctx, kind="deadline_moved", key=key, region=region, institution=institution,
                                        recipients=recipients, now=now,
                                        context={**context, "link": personal_link(ctx, request)})
            to, cc = recipients.addresses
            _, created = queue_message(ctx, session, key=key, kind="deadline_moved", composed=composed, to=to, cc=cc,
                                       cycle_id=cycle.id, institution_id=institution.id)
            result.notices_queued += int(created)
    return result
