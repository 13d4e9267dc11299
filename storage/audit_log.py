"""What the audit log reads: recorded events and the outbox's messages, from a moment on (`fko log`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_
from sqlmodel import Session, col, select

from storage.models import Contact, Cycle, EventLog, Institution, OutboundMessage


def events_since(*, session: Session, region_id: int, since: dt.datetime | None,
                 several: bool = False) -> list[EventLog]:
    """The region's events and those of the whole installation (mail, backups, erasures), oldest first. With
    ``several`` regions, a refused address (recorded without a region) only when it is one of this region's."""
    query = select(EventLog).where(or_(EventLog.region_id == region_id, col(EventLog.region_id).is_(None)))
    if since is not None:
        query = query.where(col(EventLog.at) >= since)
    events = list(session.exec(query.order_by(col(EventLog.at), col(EventLog.id))).all())
    if not several:
        return events
    own = {email.casefold() for email in session.exec(
        select(Contact.email).join(Institution, col(Institution.id) == Contact.institution_id)
        .where(Institution.region_id == region_id)).all()}
    return [e for e in events if e.region_id is not None or e.action != "mail.address_refused"
            or e.subject.casefold() in own]


def messages_since(*, session: Session, region_id: int, since: dt.datetime | None, region_code: str | None = None
                   ) -> list[tuple[OutboundMessage, str | None]]:
    """The messages of the region's rounds and institutions and those of none (staff mail), with the
    institution's code; those created or sent from ``since`` on. With ``region_code`` (a database of several
    regions), a message of none only when its key names the region (staff invitations, answers to mail)."""
    institutions = {i.id: (i.code, i.region_id) for i in session.exec(select(Institution)).all()}
    cycles = {c.id: c.region_id for c in session.exec(select(Cycle)).all()}
    query = select(OutboundMessage)
    if since is not None:
        query = query.where(or_(col(OutboundMessage.created_at) >= since, col(OutboundMessage.sent_at) >= since))
    found = []
    for message in session.exec(query.order_by(col(OutboundMessage.id))).all():
        code, owner = institutions.get(message.institution_id, (None, None))
        owner = owner or cycles.get(message.cycle_id)
        if owner == region_id or (owner is None and (region_code is None or _names_region(message, region_code))):
            found.append((message, code))
    return found


def _names_region(message: OutboundMessage, code: str) -> bool:
    """A message of no round or institution whose idempotency key names the region (``staff_invite:CODE:…``,
    ``CODE:mail_unclear:…``)."""
    return message.idempotency_key.startswith((f"{code}:", f"staff_invite:{code}:"))
