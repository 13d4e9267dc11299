"""Who runs the round: the region's name and the agency's contact details, as the institutions' page shows them."""

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


def site_info(ctx: AppContext) -> SiteInfo:
    """The region of the settings (or the only one in the database)."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        return SiteInfo(region_name=region.name, agency_name=region.agency_name, agency_email=region.agency_email,
                        agency_phone=region.agency_phone, agency_address=region.agency_address)
