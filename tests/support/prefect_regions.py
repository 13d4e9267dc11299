"""NRW's 16 labour-market regions side by side in one database, for the scale-out test and bench.

The region names are NRW's real ones (public); institutions, contacts and activities are fictitious. The first
region is the bundled example (Aachen, `fko init`), the others are added beside it as `fko init --region-file`
does (storage directly: no region file per region needed here).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from core.activity import Activity, activity_key
from core.institution import ContactRecord, InstitutionRecord
from core.region import RegionProfile
from storage.concepts import add_activities, create_version, publish_version
from storage.database import session_scope
from storage.institutions import save_institutions
from storage.regions import all_regions, create_region
from usecases.context import AppContext
from usecases.setup import init_database

NRW_REGIONS = {
    "aachen": "Region Aachen", "bergisches-staedtedreieck": "Bergisches Städtedreieck",
    "bonn-rhein-sieg": "Bonn/Rhein-Sieg", "duesseldorf-mettmann": "Düsseldorf/Kreis Mettmann",
    "emscher-lippe": "Emscher-Lippe", "hellweg-hochsauerland": "Hellweg-Hochsauerland", "koeln": "Köln",
    "maerkische-region": "Märkische Region", "mittlerer-niederrhein": "Mittlerer Niederrhein",
    "meo": "Mülheim an der Ruhr, Essen, Oberhausen", "mittleres-ruhrgebiet": "Mittleres Ruhrgebiet",
    "muensterland": "Münsterland", "niederrhein": "NiederRhein", "ostwestfalen-lippe": "Ostwestfalen-Lippe",
    "siegen-wittgenstein-olpe": "Siegen-Wittgenstein/Olpe", "westfaelisches-ruhrgebiet": "Westfälisches Ruhrgebiet",
}


def address(region: str, code: str, role: str = "") -> str:
    """The fictitious address of an institution's contact: unique across regions, so mail can be counted."""
    return f"{code.lower()}{'-' + role if role else ''}@{region}.example.org"


def seed_regions(ctx: AppContext, *, regions: int = 16, institutions: int = 3, rows: int = 2,
                 templates: dict[str, Path] | None = None) -> dict[str, list[str]]:
    """``regions`` of NRW's regions (Aachen first) with ``institutions`` institutions each (a primary contact and
    a deputy) and a published concept of ``rows`` activities per institution; ``templates``: a region's own
    templates folder. Returns each region's institution codes."""
    init_database(ctx)
    fields = ctx.catalogs().fields_of_action
    codes = [f"I{n:03d}" for n in range(institutions)]
    seeded: dict[str, list[str]] = {}
    with session_scope(ctx.engine) as session:
        existing = {r.code: r for r in all_regions(session=session)}
        for code, name in list(NRW_REGIONS.items())[:regions]:
            region = existing.get(code) or create_region(session=session, profile=RegionProfile(
                code=code, name=name, agency_name=f"Regionalagentur {name}",
                agency_email=f"agentur@{code}.example.org",
                templates=str((templates or {}).get(code, ""))))
            save_institutions(session=session, region_id=region.id or 0, records=[
                InstitutionRecord(i, f"Institution {i} ({name})", contacts=[
                    ContactRecord("Anna Beispiel", address(code, i), "primary"),
                    ContactRecord("Ben Beispiel", address(code, i, "v"), "deputy")]) for i in codes])
            version = create_version(session=session, region_id=region.id or 0, label="2025")
            add_activities(session=session, version=version, activities=[
                Activity(key=activity_key(i, n + 1), institution_code=i, title=f"Aktivität {n} in {name}",
                         field_of_action=fields[n % len(fields)], status="bestehend", start="2024", end="2027")
                for i in codes for n in range(rows)])
            publish_version(session=session, version=version, approved_by="Test", at=dt.datetime.now(dt.UTC))
            seeded[code] = codes
    return seeded
