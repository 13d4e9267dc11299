"""What retention looks at in the database: the rounds, the stored files rows point at, the evidence of published
versions; and marking rows whose file was removed (`fko cleanup`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from core.retention import Round, StoredItem
from storage.models import ConceptVersion, Cycle, OutboundMessage, Request, StaffSession, Submission
from storage.requests import latest_answer

UNSENT = ("pending", "sending", "failed")


def rounds(*, session: Session) -> list[Round]:
    """Every round with the moment its version was published (its draft, or its year's version)."""
    versions = {v.id: v for v in session.exec(select(ConceptVersion)).all()}
    by_label = {(v.region_id, v.label): v for v in versions.values()}
    found = []
    for cycle in session.exec(select(Cycle).order_by(col(Cycle.year))).all():
        version = versions.get(cycle.draft_version_id) or by_label.get((cycle.region_id, str(cycle.year)))
        published = version.published_at if version is not None and version.status == "published" else None
        found.append(Round(cycle.region_id, cycle.year, cycle.opened_at, published))
    return found


def _cycles(session: Session) -> dict[int, tuple[int, int]]:
    return {c.id or 0: (c.region_id, c.year) for c in session.exec(select(Cycle)).all()}


def stored_uploads(*, session: Session) -> list[StoredItem]:
    """Every return whose raw file is still in the file store, with its round."""
    cycles = _cycles(session)
    rows = session.exec(select(Submission.id, Submission.raw_sha256, Submission.size, Request.cycle_id)
                        .join(Request, col(Request.id) == Submission.request_id)
                        .where(col(Submission.raw_sha256).is_not(None), col(Submission.raw_removed_at).is_(None))
                        ).all()
    return [StoredItem(str(sid), sha or "", size, round=cycles.get(cycle_id)) for sid, sha, size, cycle_id in rows]


def stored_mail(*, session: Session) -> list[StoredItem]:
    """Every message whose body is still in the file store and that is not waiting to be sent."""
    cycles = _cycles(session)
    rows = session.exec(select(OutboundMessage.id, OutboundMessage.body_sha256, OutboundMessage.cycle_id,
                               OutboundMessage.created_at)
                        .where(col(OutboundMessage.body_sha256).is_not(None),
                               col(OutboundMessage.body_removed_at).is_(None),
                               col(OutboundMessage.state).not_in(UNSENT))).all()
    return [StoredItem(str(mid), sha or "", 0, round=cycles.get(cycle_id) if cycle_id else None, at=created)
            for mid, sha, cycle_id, created in rows]


def unsent_bodies(*, session: Session) -> set[str]:
    """Bodies of messages still to be sent: never removed."""
    return {sha for sha in session.exec(select(OutboundMessage.body_sha256).where(
        col(OutboundMessage.state).in_(UNSENT), col(OutboundMessage.body_sha256).is_not(None))).all() if sha}


def audit_uploads(*, session: Session) -> frozenset[str]:
    """The returns a published version was built from: each institution's latest answer of the version's round,
    if it was an accepted file (the evidence of what the institution reported)."""
    published = {v.id for v in session.exec(select(ConceptVersion).where(ConceptVersion.status == "published"))}
    keep: set[str] = set()
    for cycle in session.exec(select(Cycle)).all():
        version = session.exec(select(ConceptVersion).where(ConceptVersion.region_id == cycle.region_id,
                                                            ConceptVersion.label == str(cycle.year))).first()
        if cycle.draft_version_id not in published and (version is None or version.id not in published):
            continue
        for request in session.exec(select(Request).where(Request.cycle_id == cycle.id)).all():
            latest = latest_answer(session=session, request_id=request.id or 0)
            if latest is not None and latest.outcome == "accepted":
                keep.add(str(latest.id))
    return frozenset(keep)


def referenced(*, session: Session) -> dict[str, set[str]]:
    """Every sha256 a row points at, by file kind (files no row names are orphans)."""
    uploads = set(session.exec(select(Submission.raw_sha256).where(col(Submission.raw_sha256).is_not(None))).all())
    mail = set(session.exec(select(OutboundMessage.body_sha256)
                            .where(col(OutboundMessage.body_sha256).is_not(None))).all())
    return {"upload": {s for s in uploads if s}, "mail": {s for s in mail if s}}


def mark_uploads_removed(*, session: Session, keys: list[str], at: dt.datetime) -> None:
    if keys:
        session.execute(update(Submission).where(col(Submission.id).in_([int(k) for k in keys]))
                        .values(raw_removed_at=at))


def mark_bodies_removed(*, session: Session, keys: list[str], at: dt.datetime) -> None:
    if keys:
        session.execute(update(OutboundMessage).where(col(OutboundMessage.id).in_([int(k) for k in keys]))
                        .values(body_removed_at=at))


def remove_expired_sessions(*, session: Session, now: dt.datetime, dry_run: bool = False) -> int:
    """Staff sign-ins that have run out (their cookie no longer works)."""
    expired = session.exec(select(StaffSession.id).where(col(StaffSession.expires_at) < now)).all()
    if expired and not dry_run:
        session.execute(delete(StaffSession).where(col(StaffSession.id).in_(list(expired))))
    return len(expired)
