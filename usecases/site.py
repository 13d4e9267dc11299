"""Who runs the round: region name, agency contact details, funding line and logo, as the page shows them."""

from __future__ import annotations

from dataclasses import dataclass

from storage.database import session_scope
from storage.regions import get_region
from usecases.context import AppContext


@dataclass(frozen=True)
class SiteInfo:
    region_name: str
    agency_name: str
    agency_email: str
    agency_phone: str
    agency_address: str
    funding_line: str = ""
    logo: bytes | None = None     # PNG or SVG, shown at the top of every page
    logo_type: str = ""


def site_info(ctx: AppContext) -> SiteInfo:
    """The region of the settings (or the only one in the database)."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        return SiteInfo(region_name=region.name, agency_name=region.agency_name, agency_email=region.agency_email,
                        agency_phone=region.agency_phone, agency_address=region.agency_address,
                        funding_line=region.funding_line, logo=region.logo, logo_type=region.logo_type)
