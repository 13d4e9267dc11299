"""Who runs the round: region name, agency contact details, funding line and logo, as the page shows them; and
which regions one page serves."""

from __future__ import annotations

from dataclasses import dataclass

from core.token import looks_like_token, token_hash
from storage.database import session_scope
from storage.regions import all_regions, get_region
from storage.requests import find_request_by_token_hash, request_parts
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


@dataclass(frozen=True)
class RegionSite:
    code: str
    name: str
    ctx: AppContext  # the region's own context: its templates folder and page address


def region_sites(ctx: AppContext) -> list[RegionSite]:
    """Every region of the database with its own context, in the order they were added."""
    with session_scope(ctx.engine) as session:
        regions = all_regions(session=session)
        return [RegionSite(r.code, r.name, ctx.for_region(r, several=len(regions) > 1)) for r in regions]


def region_of_link(ctx: AppContext, token: str) -> str | None:
    """The code of the region a personal link belongs to (None for an unknown or malformed one)."""
    if not looks_like_token(token):
        return None
    with session_scope(ctx.engine) as session:
        request = find_request_by_token_hash(session=session, token_hash=token_hash(token))
        if request is None:
            return None
        return request_parts(session=session, request=request)[2].code
