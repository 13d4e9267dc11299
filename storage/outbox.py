"""Repository functions for the outbox (outbound_message) and for refused addresses."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, or_, update
from sqlmodel import Session, col, select

from storage.models import Contact, OutboundMessage


def find_message(*, session: Session, key: str) -> OutboundMessage | None:
    return session.exec(select(OutboundMessage).where(OutboundMessage.idempotency_key == key)).first()


def existing_keys(*, session: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` are queued already (asked in chunks: the database limits a query's parameters)."""
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        found.update(session.exec(select(OutboundMessage.idempotency_key)
                                  .where(col(OutboundMessage.idempotency_key).in_(chunk))).all())
    return found


def add_message(*, session: Session, message: OutboundMessage) -> tuple[OutboundMessage, bool]:
    """Insert unless a message with the same idempotency key exists; returns (row, created)."""
    existing = find_message(session=session, key=message.idempotency_key)
    if existing is not None:
        return existing, False
    session.add(message)
    session.flush()
    return message, True


def _claimable(now: dt.datetime, max_attempts: int):  # type: ignore[no-untyped-def]
    return and_(
        OutboundMessage.attempts < max_attempts,
        or_(col(OutboundMessage.state).in_(("pending", "failed")),
            and_(OutboundMessage.state == "sending",
                 or_(col(OutboundMessage.claimed_until).is_(None), col(OutboundMessage.claimed_until) < now))),
    )


def claim_due_messages(*, session: Session, now: dt.datetime, lease: dt.timedelta, max_attempts: int,
                       claimer: str | None = None, kinds: tuple[str, ...] | None = None) -> list[OutboundMessage]:
    """Claim every message due for sending, each by a conditional update: two senders running at the
    same time (the page and a flow, say) never claim the same message. A claim lapses after ``lease``,
    so the messages of a sender that died are taken up again."""
    query = select(col(OutboundMessage.id)).where(_claimable(now, max_attempts))
    if kinds is not None:  # only what the command at hand queued (e.g. receipts), not mail held back elsewhere
        query = query.where(col(OutboundMessage.kind).in_(kinds))
    candidates = session.exec(query.order_by(col(OutboundMessage.id))).all()
    claimed: list[int] = []
    for message_id in candidates:
        result = session.execute(
            update(OutboundMessage)
            .where(col(OutboundMessage.id) == message_id, _claimable(now, max_attempts))
            .values(state="sending", claimed_until=now + lease, claimed_by=claimer,
                    attempts=OutboundMessage.attempts + 1)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(message_id)
    session.flush()
    session.expire_all()
    if not claimed:
        return []
    return list(session.exec(select(OutboundMessage).where(col(OutboundMessage.id).in_(claimed))
                             .order_by(col(OutboundMessage.id))).all())


def current_claimers(*, session: Session, now: dt.datetime) -> set[str]:
    """The senders holding unexpired claims right now."""
    rows = session.exec(select(OutboundMessage.claimed_by).where(
        OutboundMessage.state == "sending", col(OutboundMessage.claimed_until) >= now,
        col(OutboundMessage.claimed_by).is_not(None)).distinct()).all()
    return {r for r in rows if r}


def release_claims(*, session: Session, claimers: set[str]) -> int:
    """Give up the claims of senders known to be gone; their messages become due again at once."""
    if not claimers:
        return 0
    result = session.execute(update(OutboundMessage)
                             .where(OutboundMessage.state == "sending", col(OutboundMessage.claimed_by).in_(claimers))
                             .values(claimed_until=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


def refused_addresses(*, session: Session) -> set[str]:
    rows = session.exec(select(func.lower(Contact.email)).where(col(Contact.refused_at).is_not(None))).all()
    return set(rows)


def mark_address_refused(*, session: Session, email: str, reason: str, at: dt.datetime) -> int:
    """Every contact with this address gets no more mail; returns how many contacts that concerns."""
    contacts = session.exec(select(Contact).where(func.lower(Contact.email) == email.lower())).all()
    for contact in contacts:
        if contact.refused_at is None:
            contact.refused_at, contact.refused_reason = at, reason[:500]
    session.flush()
    return len(contacts)


def list_messages(*, session: Session, cycle_id: int | None = None) -> list[OutboundMessage]:
    query = select(OutboundMessage)
    if cycle_id is not None:
        query = query.where(OutboundMessage.cycle_id == cycle_id)
    return list(session.exec(query.order_by(col(OutboundMessage.id))).all())


ROUND_MAIL = ("invitation", "reminder", "reminder_deputy", "escalation", "deadline_moved")


def cancel_round_mail(*, session: Session, cycle_id: int) -> int:
    """Unsent invitations, reminders and notices of a round that has ended: never sent (state "cancelled")."""
    messages = session.exec(select(OutboundMessage).where(OutboundMessage.cycle_id == cycle_id,
                                                          col(OutboundMessage.kind).in_(ROUND_MAIL),
                                                          col(OutboundMessage.state).in_(("pending", "failed")))).all()
    for message in messages:
        message.state, message.last_error = "cancelled", "Abfrage beendet (Konzept veröffentlicht)"
        session.add(message)
    return len(messages)
