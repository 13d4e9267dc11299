"""An institution's activities in its round's base version (kept by a long-running page: a published version
never changes) and what it last told us this round."""

from __future__ import annotations

from typing import cast

from sqlmodel import Session

from core.activity import Activity, activity_from_dict
from core.diff import diff_activities
from storage.concepts import list_activities
from storage.models import ConceptVersion, Cycle, Institution, Request
from storage.person_data import latest_erasure
from storage.requests import latest_answer
from usecases.context import AppContext


def base_version_of(session: Session, cycle: Cycle) -> ConceptVersion | None:
    """The version the round started from; None in a region's first round."""
    return session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None


def base_activities(ctx: AppContext, session: Session, cycle: Cycle, institution: Institution) -> list[Activity]:
    """The institution's activities in the round's base version. A published version never changes, so a
    long-running page keeps them (an answer needs them up to three times); the key holds the version's
    publication time and the latest erasure too, so neither a database restored under the running page nor a
    person's erased data is ever answered from before."""
    version = base_version_of(session, cycle)
    if version is None:
        return []
    # An erasure (`fko person erase`) rewrites published activities too: a new one makes a new key.
    erased = latest_erasure(session=session)
    key = ("base", version.id, version.published_at, institution.id, erased)
    cached = cast("tuple[Activity, ...] | None", ctx.memo.get(key))
    if cached is None:
        cached = tuple(list_activities(session=session, version_id=version.id, institution_id=institution.id))
        if version.status == "published":
            ctx.memo[key] = cached
    return list(cached)


def current_activities(ctx: AppContext, session: Session, request: Request, cycle: Cycle,
                       institution: Institution) -> tuple[list[Activity], list[Activity]]:
    """What the institution last told us (its latest accepted return, else the base version) and what the
    draft keeps beside it: the base's activities that return left out without ending them (DESIGN §5)."""
    base = base_activities(ctx, session, cycle, institution)
    answer = latest_answer(session=session, request_id=request.id or 0)
    if answer is None or answer.outcome != "accepted":
        return base, []
    answered = [activity_from_dict(a) for a in answer.activities]
    return answered, diff_activities(base, answered, ending_statuses=ctx.catalogs().ending_statuses).missing
