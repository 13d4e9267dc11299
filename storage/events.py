"""The event log: who did what when (staff, system, institutions)."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select

from storage.models import EventLog


def record_event(
    *,
    session: Session,
    region_id: int | None,
    actor: str,
    action: str,
    subject: str = "",
    details: dict[str, Any] | None = None,
) -> EventLog:
    entry = EventLog(region_id=region_id, actor=actor, action=action, subject=subject, details=details or {})
    session.add(entry)
    session.flush()
    return entry


def list_events(*, session: Session, region_id: int, action: str | None = None) -> list[EventLog]:
    query = select(EventLog).where(EventLog.region_id == region_id)
    if action is not None:
        query = query.where(EventLog.action == action)
    return list(session.exec(query.order_by(col(EventLog.id))).all())
