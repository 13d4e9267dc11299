"""A synthetic region for the benchmarks: institutions with contacts and a published concept to start from."""

from __future__ import annotations

import datetime as dt

from core.activity import Activity, activity_key
from core.institution import ContactRecord, InstitutionRecord
from storage.concepts import add_activities, create_version, publish_version
from storage.database import session_scope
from storage.institutions import save_institutions
from storage.regions import get_region
from usecases.context import AppContext
from usecases.setup import init_database


def seed_region(ctx: AppContext, codes: list[str], *, rows: int, label: str, deputies: bool = False,
                description: str = "") -> int:
    """Set up the database with ``codes`` as institutions and ``rows`` activities each, published as ``label``;
    returns the region's id."""
    init_database(ctx)
    fields = ctx.catalogs().fields_of_action
    with session_scope(ctx.engine) as session:
        region = get_region(session=session)
        save_institutions(session=session, region_id=region.id or 0, records=[
            InstitutionRecord(code, f"Institution {code}", contacts=[
                ContactRecord("Anna", f"{code.lower()}@example.org", "primary"),
                *([ContactRecord("Ben", f"{code.lower()}-v@example.org", "deputy")] if deputies else [])])
            for code in codes])
        version = create_version(session=session, region_id=region.id or 0, label=label)
        add_activities(session=session, version=version, activities=[
            Activity(key=activity_key(code, n + 1), institution_code=code, title=f"Aktivität {n}",
                     field_of_action=fields[n % len(fields)], status="bestehend", description=description,
                     start="2024", end="2027", area="gesamte Region" if description else "")
            for code in codes for n in range(rows)])
        publish_version(session=session, version=version, approved_by="bench", at=dt.datetime.now(dt.UTC))
        return region.id or 0
