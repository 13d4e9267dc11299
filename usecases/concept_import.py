"""Import an agency's existing concept: read in the sandbox, check every sheet, then store it whole as the
published baseline version, or nothing at all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import func
from sqlmodel import Session, col, select

from core.activity import Activity
from core.concept_import import (
    MAX_ROWS,
    ConceptRead,
    ImportProblem,
    InstitutionRef,
    assign_keys,
    read_concept,
    version_problems,
)
from core.dates import BERLIN
from core.filetype import FileRefused, Limits
from core.grid import GridError
from storage.concepts import add_activities, create_version, latest_published, list_versions, publish_version
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.models import Activity as ActivityRow
from storage.models import ConceptVersion, Cycle, Institution
from storage.regions import get_region
from usecases.context import AppContext
from usecases.sandbox import read_sheets_isolated

PUBLISHED_AT = dt.time(12)  # the day staff name, at noon in Berlin (as the demo's baseline)


@dataclass
class ConceptImport:
    label: str
    read: ConceptRead
    problems: list[ImportProblem] = field(default_factory=list)
    institutions: dict[str, str] = field(default_factory=dict)  # code → name
    stored: bool = False
    activities: list[Activity] = field(default_factory=list)    # with their IDs once stored
    adopted_draft: bool = False  # an empty draft of that label (texts written early) took the concept
    newer_published: str | None = None  # a published version newer than this one stays the base of rounds

    @property
    def ok(self) -> bool:
        return not self.problems


def import_concept(ctx: AppContext, *, data: bytes, filename: str, published_on: dt.date, approved_by: str,
                   label: str | None = None, check_only: bool = False) -> ConceptImport:
    """Read the file; without problems (and unless ``check_only``) store its activities with stable IDs as
    the published version ``label`` (default: the year of ``published_on``)."""
    require_current_schema(ctx.engine)
    name = label.strip() if label is not None else str(published_on.year)
    try:
        grids = read_sheets_isolated(data, max_rows=MAX_ROWS, limits=Limits())
    except (FileRefused, GridError) as exc:
        return ConceptImport(name, ConceptRead(), problems=[ImportProblem(None, None, None, str(exc))])
    published_at = dt.datetime.combine(published_on, PUBLISHED_AT, BERLIN)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        region_id = region.id or 0
        # Locked so no accepted return takes an activity number meanwhile (PostgreSQL; SQLite locks on write).
        institutions = list(session.exec(select(Institution).where(Institution.region_id == region_id)
                                         .order_by(col(Institution.code)).with_for_update()).all())
        read = read_concept(grids, spec=ctx.spec(), catalogs=ctx.catalogs(),
                            institutions=[InstitutionRef(i.code, i.name) for i in institutions])
        versions = list_versions(session=session, region_id=region_id)
        same = next((v for v in versions if v.label == name), None)
        draft = same if same is not None and same.status == "draft" else None
        result = ConceptImport(name, read, institutions={i.code: i.name for i in institutions})
        result.problems = read.problems + version_problems(
            name, label_given=label is not None, published=[v.label for v in versions if v.status == "published"],
            draft=_why_not_adoptable(session, draft) if draft else None)
        if result.problems or check_only:
            return result
        result.activities = assign_keys(read.activities, {i.code: i.last_activity_number for i in institutions})
        base = latest_published(session=session, region_id=region_id)
        version = draft or create_version(session=session, region_id=region_id, label=name,
                                          parent_id=base.id if base else None, note=f"Eingelesen aus {filename}")
        add_activities(session=session, version=version, activities=result.activities)
        publish_version(session=session, version=version, approved_by=approved_by, at=published_at)
        result.stored, result.adopted_draft = True, draft is not None
        if base is not None and base.published_at is not None and base.published_at > published_at:
            result.newer_published = base.label
        record_event(session=session, region_id=region_id, actor=f"staff:{approved_by}", action="concept.imported",
                     subject=name, details={"file": filename, "activities": len(result.activities),
                                            "institutions": read.counts(), "sheets": read.sheets,
                                            "adjusted": len(read.adjusted)})
    return result


def _why_not_adoptable(session: Session, draft: ConceptVersion) -> str | None:
    """Why an existing draft of the label cannot become the imported version; None if it can (no activities,
    no round of its own: staff only wrote its texts early)."""
    cycle = session.exec(select(Cycle).where(Cycle.draft_version_id == draft.id)).first()
    if cycle is not None:
        return f"der Entwurf der Abfrage {cycle.year}"
    count = session.exec(select(func.count()).select_from(ActivityRow)
                         .where(ActivityRow.version_id == draft.id)).one()
    return f"mit {count} Aktivitäten" if count else None
