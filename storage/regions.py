"""Repository functions for regions (tenants)."""

from __future__ import annotations

from sqlmodel import Session, select

from core.region import RegionProfile
from storage.errors import Conflict, NotFound
from storage.models import Region


def create_region(*, session: Session, profile: RegionProfile, sample_data: bool = False) -> Region:
    if session.exec(select(Region).where(Region.code == profile.code)).first() is not None:
        raise Conflict(f"Die Region {profile.code!r} gibt es bereits.")
    region = Region(
        code=profile.code,
        name=profile.name,
        agency_name=profile.agency_name,
        agency_email=profile.agency_email,
        agency_phone=profile.agency_phone,
        agency_address=profile.agency_address,
        sample_data=sample_data,
    )
    session.add(region)
    session.flush()
    return region


def get_region(*, session: Session, code: str | None = None) -> Region:
    """The region with ``code``; without a code, the only region of the database."""
    if code is not None:
        region = session.exec(select(Region).where(Region.code == code)).first()
        if region is None:
            raise NotFound(f"Es gibt keine Region {code!r} (FKO_REGION).")
        return region
    regions = list(session.exec(select(Region).order_by(Region.id)).all())
    if not regions:
        raise NotFound("Es gibt noch keine Region. Bitte zuerst `fko init` ausführen.")
    if len(regions) > 1:
        raise Conflict("Die Datenbank enthält mehrere Regionen: bitte eine mit FKO_REGION wählen.")
    return regions[0]
