"""Repository functions for staff accounts and their sessions."""

from __future__ import annotations

import datetime as dt

from sqlmodel import Session, col, select

from storage.models import StaffAccount, StaffSession


def find_staff(*, session: Session, region_id: int, name: str) -> StaffAccount | None:
    return session.exec(select(StaffAccount).where(StaffAccount.region_id == region_id,
                                                   StaffAccount.name == name)).first()


def list_staff(*, session: Session, region_id: int) -> list[StaffAccount]:
    return list(session.exec(select(StaffAccount).where(StaffAccount.region_id == region_id)
                             .order_by(col(StaffAccount.name))).all())


def staff_by_setup(*, session: Session, setup_hash: str) -> StaffAccount | None:
    return session.exec(select(StaffAccount).where(StaffAccount.setup_hash == setup_hash)).first()


def add_session(*, session: Session, staff_id: int, token_hash: str, now: dt.datetime,
                expires_at: dt.datetime) -> StaffSession:
    row = StaffSession(token_hash=token_hash, staff_id=staff_id, created_at=now, expires_at=expires_at)
    session.add(row)
    session.flush()
    return row


def live_session(*, session: Session, token_hash: str, now: dt.datetime) -> tuple[StaffSession, StaffAccount] | None:
    """The session behind a cookie, with its (active) account, unless expired."""
    row = session.exec(select(StaffSession, StaffAccount)
                       .join(StaffAccount, col(StaffAccount.id) == StaffSession.staff_id)
                       .where(StaffSession.token_hash == token_hash)).first()
    if row is None or row[0].expires_at <= now or not row[1].active:
        return None
    return row[0], row[1]


def end_sessions(*, session: Session, staff_id: int | None = None, token_hash: str | None = None) -> int:
    """Remove one session (by its hash) or all of an account; returns how many."""
    query = select(StaffSession)
    if token_hash is not None:
        query = query.where(StaffSession.token_hash == token_hash)
    if staff_id is not None:
        query = query.where(StaffSession.staff_id == staff_id)
    rows = list(session.exec(query).all())
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)
