"""Repository functions for messages read from the agency's mailbox (mail_intake)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.models import Contact, Cycle, Institution, MailIntake, OutboundMessage, Request, Submission


def intake_of(*, session: Session, region_id: int, folder: str, uidvalidity: int, uid: int) -> MailIntake | None:
    return session.exec(select(MailIntake).where(
        MailIntake.region_id == region_id, MailIntake.folder == folder, MailIntake.uidvalidity == uidvalidity,
        MailIntake.uid == uid)).first()


def mailed_submission(*, session: Session, cycle_id: int, sha256: str) -> Submission | None:
    """The submission an attachment with these bytes already became in this round (by mail), if any."""
    return session.exec(select(Submission).join(Request, col(Request.id) == col(Submission.request_id)).where(
        Request.cycle_id == cycle_id, Submission.source == "mail", Submission.raw_sha256 == sha256)
        .order_by(col(Submission.id)).limit(1)).first()


def messages_by_id(*, session: Session, message_ids: set[str]) -> list[OutboundMessage]:
    if not message_ids:
        return []
    return list(session.exec(select(OutboundMessage).where(col(OutboundMessage.message_id).in_(message_ids))).all())


def last_message_to(*, session: Session, address: str) -> OutboundMessage | None:
    """The newest message of ours that went (or was to go) to this address, as To or Cc."""
    lowered = address.lower()
    for message in session.exec(select(OutboundMessage).where(col(OutboundMessage.state).in_(("sent", "refused")))
                                .order_by(col(OutboundMessage.id).desc()).limit(5000)).all():
        if message.recipient.lower() == lowered or lowered in (c.lower() for c in message.cc):
            return message
    return None


def intakes_since(*, session: Session, region_id: int, since: dt.datetime) -> list[MailIntake]:
    return list(session.exec(select(MailIntake).where(MailIntake.region_id == region_id,
                                                      col(MailIntake.fetched_at) >= since)
                             .order_by(col(MailIntake.id))).all())


def answered_lately(*, session: Session, address: str, kind: str, since: dt.datetime) -> bool:
    """Whether a message of this kind went to this address since then (a limit on automatic answers)."""
    return session.exec(select(OutboundMessage.id).where(
        OutboundMessage.kind == kind, func.lower(OutboundMessage.recipient) == address.lower(),
        col(OutboundMessage.created_at) >= since)).first() is not None


def is_contact(*, session: Session, address: str) -> bool:
    return bool(address) and session.exec(select(Contact.id).where(
        func.lower(Contact.email) == address.lower())).first() is not None


def intake_in_any_region(*, session: Session, folder: str, uidvalidity: int, uid: int) -> MailIntake | None:
    """A message of a mailbox all regions share, recorded under whichever region it went to."""
    return session.exec(select(MailIntake).where(
        MailIntake.folder == folder, MailIntake.uidvalidity == uidvalidity, MailIntake.uid == uid)).first()


def regions_of_messages(*, session: Session, message_ids: set[str]) -> set[int]:
    """The regions our messages with these Message-IDs were written for (by their round or institution)."""
    regions: set[int] = set()
    for message in messages_by_id(session=session, message_ids=message_ids):
        cycle = session.get(Cycle, message.cycle_id) if message.cycle_id else None
        institution = session.get(Institution, message.institution_id) if message.institution_id else None
        owner = cycle.region_id if cycle else institution.region_id if institution else None
        if owner is not None:
            regions.add(owner)
    return regions


def regions_of_address(*, session: Session, address: str) -> set[int]:
    """The regions whose institutions have a contact with this address."""
    if not address:
        return set()
    return set(session.exec(select(Institution.region_id).join(Contact, col(Contact.institution_id) == Institution.id)
                            .where(func.lower(Contact.email) == address.lower())).all())
