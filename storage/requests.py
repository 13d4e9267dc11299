"""Repository functions for requests (an institution's part in a cycle) and their submissions."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Cycle, Institution, Region, Request, Submission

T = TypeVar("T")


def find_request_by_token_hash(*, session: Session, token_hash: str) -> Request | None:
    return session.exec(select(Request).where(Request.token_hash == token_hash)).first()


def request_parts(*, session: Session, request: Request) -> tuple[Cycle, Institution, Region]:
    cycle = session.get(Cycle, request.cycle_id)
    institution = session.get(Institution, request.institution_id)
    region = session.get(Region, cycle.region_id) if cycle else None
    if cycle is None or institution is None or region is None:
        raise LookupError(f"request {request.id} points at missing rows")
    return cycle, institution, region


def list_submissions(*, session: Session, request_id: int) -> list[Submission]:
    return list(session.exec(select(Submission).where(Submission.request_id == request_id)
                             .order_by(col(Submission.received_at), col(Submission.id))).all())


def _newest_answer(query: SelectOfScalar[T], request_id: int) -> SelectOfScalar[T]:
    """``query`` narrowed to the request's newest answer: an accepted return or a "no changes" confirmation."""
    return (query.where(Submission.request_id == request_id, col(Submission.outcome).in_(("accepted", "no_changes")))
            .order_by(col(Submission.received_at).desc(), col(Submission.id).desc()).limit(1))


def latest_answer(*, session: Session, request_id: int) -> Submission | None:
    """The newest accepted return or "no changes" confirmation: it replaces any earlier one."""
    return session.exec(_newest_answer(select(Submission), request_id)).first()


def latest_outcome(*, session: Session, request_id: int) -> str | None:
    """The outcome of ``latest_answer`` alone (its activities and problems, often large, are not read)."""
    return session.exec(_newest_answer(select(Submission.outcome), request_id)).first()


def request_for(*, session: Session, cycle_id: int, institution_id: int) -> Request | None:
    return session.exec(select(Request).where(Request.cycle_id == cycle_id,
                                              Request.institution_id == institution_id)).first()
