"""Repository functions for cycles (a region's yearly round) and the requests of a cycle."""

from __future__ import annotations

from sqlmodel import Session, col, select

from storage.models import ConceptVersion, Cycle, Institution, Request


def round_published(session: Session, cycle: Cycle) -> bool:
    """The round's version is adopted: state "published", or (a round published by an earlier release) its
    year's version is. Read in the caller's session, so a write in it sees a publication that came first."""
    if cycle.state == "published":
        return True
    status = session.exec(select(ConceptVersion.status).where(ConceptVersion.region_id == cycle.region_id,
                                                              ConceptVersion.label == str(cycle.year))).first()
    return status == "published"  # the status alone: the version's texts are not read


def require_cycle(*, session: Session, region_id: int, year: int) -> Cycle:
    """The year's cycle; LookupError (callers say "no such round") when there is none."""
    cycle = cycle_of_year(session=session, region_id=region_id, year=year)
    if cycle is None:
        raise LookupError(f"no cycle {year}")
    return cycle


def cycle_of_year(*, session: Session, region_id: int, year: int) -> Cycle | None:
    return session.exec(select(Cycle).where(Cycle.region_id == region_id, Cycle.year == year)).first()


def newest_cycle(*, session: Session, region_id: int, open_only: bool = False) -> Cycle | None:
    query = select(Cycle).where(Cycle.region_id == region_id)
    if open_only:
        query = query.where(Cycle.state == "open")
    return session.exec(query.order_by(col(Cycle.year).desc()).limit(1)).first()


def open_cycles(*, session: Session, region_id: int) -> list[Cycle]:
    return list(session.exec(select(Cycle).where(Cycle.region_id == region_id, Cycle.state == "open")
                             .order_by(col(Cycle.year))).all())


def requests_with_institutions(*, session: Session, cycle_id: int) -> list[tuple[Request, Institution]]:
    """Every request of the cycle with its institution, by institution code."""
    query = (select(Request, Institution).join(Institution, col(Institution.id) == Request.institution_id)
             .where(Request.cycle_id == cycle_id).order_by(col(Institution.code)))
    return list(session.exec(query).all())
