"""Repository functions for regions (tenants)."""

from __future__ import annotations

from sqlmodel import Session, select

from core.region import RegionProfile
from storage.errors import Conflict, NotFound
from storage.models import Region


def _apply(region: Region, profile: RegionProfile) -> None:
    region.name = profile.name
    region.agency_name = profile.agency_name
    region.agency_email = profile.agency_email
    region.agency_phone = profile.agency_phone
    region.agency_address = profile.agency_address
    region.holiday_state = profile.holiday_state
    region.funding_line = profile.funding_line
    region.concept_horizon = profile.concept_horizon
    region.sheet_max_year = profile.sheet_max_year
    region.templates_dir = profile.templates
    region.base_url = profile.base_url


def create_region(*, session: Session, profile: RegionProfile, sample_data: bool = False,
                  logo: tuple[bytes, str] | None = None) -> Region:
    if session.exec(select(Region).where(Region.code == profile.code)).first() is not None:
        raise Conflict(f"Die Region {profile.code!r} gibt es bereits.")
    region = Region(code=profile.code, name="", agency_name="", agency_email="", sample_data=sample_data)
    _apply(region, profile)
    region.logo, region.logo_type = logo if logo else (None, "")
    session.add(region)
    session.flush()
    return region


def update_region(*, session: Session, region: Region, profile: RegionProfile,
                  logo: tuple[bytes, str] | None) -> None:
    """The region's settings from ``profile`` (same code); ``logo`` None removes it."""
    _apply(region, profile)
    region.logo, region.logo_type = logo if logo else (None, "")
    session.add(region)


def profile_of(region: Region) -> RegionProfile:
    return RegionProfile(code=region.code, name=region.name, agency_name=region.agency_name,
                         agency_email=region.agency_email, agency_phone=region.agency_phone,
                         agency_address=region.agency_address, holiday_state=region.holiday_state,
                         funding_line=region.funding_line, concept_horizon=region.concept_horizon,
                         sheet_max_year=region.sheet_max_year, templates=region.templates_dir,
                         base_url=region.base_url)


def get_region(*, session: Session, code: str | None = None) -> Region:
    """The region with ``code``; without a code, the only region of the database."""
    if code is not None:
        region = session.exec(select(Region).where(Region.code == code)).first()
        if region is None:
            known = ", ".join(r.code for r in session.exec(select(Region).order_by(Region.code)).all())
            raise NotFound(f"Es gibt keine Region {code!r} (--region oder FKO_REGION); vorhanden: {known or 'keine'}.")
        return region
    regions = list(session.exec(select(Region).order_by(Region.id)).all())
    if not regions:
        raise NotFound("Es gibt noch keine Region. Bitte zuerst `fko init` ausführen.")
    if len(regions) > 1:
        raise Conflict("Die Datenbank enthält mehrere Regionen (" + ", ".join(r.code for r in regions) + "): bitte "
                       "eine mit --region CODE oder FKO_REGION wählen.")
    return regions[0]


def all_regions(*, session: Session) -> list[Region]:
    return list(session.exec(select(Region).order_by(Region.id)).all())
