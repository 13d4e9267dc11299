"""Import the list of institutions and contacts: all rows checked, then saved whole or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.institution import parse_institutions
from core.problem import Problem
from core.table import TableError, read_table
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.institutions import ImportSummary, InstitutionView, list_institutions, save_institutions
from storage.regions import get_region
from usecases.context import AppContext


@dataclass
class ImportResult:
    problems: list[Problem] = field(default_factory=list)
    summary: ImportSummary | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def import_institutions(ctx: AppContext, *, data: bytes, filename: str, actor: str = "staff") -> ImportResult:
    require_current_schema(ctx.engine)
    try:
        table = read_table(data)
    except TableError as exc:
        return ImportResult(problems=[Problem(None, None, str(exc))])
    records, problems = parse_institutions(table, ctx.catalogs())
    if problems:
        return ImportResult(problems=problems)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        if region.id is None:
            raise RuntimeError("region without id")
        summary = save_institutions(session=session, region_id=region.id, records=records)
        record_event(
            session=session,
            region_id=region.id,
            actor=actor,
            action="institutions.imported",
            subject=filename,
            details={"created": summary.created, "updated": summary.updated,
                     "contacts_deactivated": summary.contacts_deactivated},
        )
    return ImportResult(summary=summary)


@dataclass
class InstitutionOverview:
    region_name: str
    sample_data: bool
    institutions: list[InstitutionView]


def institution_overview(ctx: AppContext, *, include_inactive: bool = False) -> InstitutionOverview:
    """The region's institutions with their contacts (primary first), for staff to look over."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        views = list_institutions(session=session, region_id=region.id or 0, active_only=not include_inactive)
        return InstitutionOverview(region_name=region.name, sample_data=region.sample_data, institutions=views)
