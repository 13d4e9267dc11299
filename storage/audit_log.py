"""What the audit log reads: recorded events and the outbox's messages, from a moment on (`fko log`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import or_
from sqlmodel import Session, col, select

from storage.models import Cycle, EventLog, Institution, OutboundMessage


def events_since(*, session: Session, region_id: int, since: dt.datetime | None) -> list[EventLog]:
    """The region's events and those of the whole installation (mail, backups, erasures), oldest first."""
    query = select(EventLog).where(or_(EventLog.region_id == region_id, col(EventLog.region_id).is_(None)))
    if since is not None:
        query = query.where(col(EventLog.at) >= since)
    return list(session.exec(query.order_by(col(EventLog.at), col(EventLog.id))).all())


def messages_since(*, session: Session, region_id: int, since: dt.datetime | None
                   ) -> list[tuple[OutboundMessage, str | None]]:
    """The messages of the region's rounds and institutions and those of none (staff mail), with the
    institution's code; those created or sent from ``since`` on."""
    institutions = {i.id: (i.code, i.region_id) for i in session.exec(select(Institution)).all()}
    cycles = {c.id: c.region_id for c in session.exec(select(Cycle)).all()}
    query = select(OutboundMessage)
    if since is not None:
        query = query.where(or_(col(OutboundMessage.created_at) >= since, col(OutboundMessage.sent_at) >= since))
    found = []
    for message in session.exec(query.order_by(col(OutboundMessage.id))).all():
        code, owner = institutions.get(message.institution_id, (None, None))
        owner = owner or cycles.get(message.cycle_id)
        if owner is None or owner == region_id:
            found.append((message, code))
    return found
