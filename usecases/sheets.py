"""Build an institution's personal workbook, and check a returned one (writes nothing)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

from sqlmodel import Session

from core.activity import Activity
from core.catalog import Catalogs
from core.diff import ActivityDiff, diff_activities
from core.filetype import FileRefused, Limits
from core.grid import GridError
from core.ownership import check_return, keys_of_returns
from core.problem import Problem
from core.sheet_check import Expected, SheetResult, check_meta
from core.sheet_spec import SheetSpec, YearRange
from core.workbook_build import SheetInfo, build_workbook
from core.workbook_skeleton import SheetBuilder
from storage.concepts import latest_published, list_activities
from storage.cycles import cycle_of_year, newest_cycle
from storage.database import require_current_schema, session_scope
from storage.errors import NotFound
from storage.institutions import get_institution
from storage.models import ConceptVersion, Institution, Region
from storage.regions import get_region
from storage.requests import list_submissions, request_for
from usecases.context import AppContext
from usecases.sandbox import read_grid_isolated


class NoBaseVersion(Exception):
    """There is no published concept version to pre-fill the sheets from."""


def default_cycle_year(ctx: AppContext, *, today: dt.date) -> int:
    """The year of the newest open cycle, else the year of ``today``."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = newest_cycle(session=session, region_id=region.id or 0, open_only=True)
    return cycle.year if cycle else today.year


def _base_version(session: Session, region: Region, year: int) -> ConceptVersion | None:
    """The year's round's base, else the newest published version; None before the region's first concept."""
    cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year)
    if cycle is not None:
        return session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
    return latest_published(session=session, region_id=region.id or 0)


def _base_activities(session: Session, version: ConceptVersion | None, institution_id: int) -> list[Activity]:
    return list_activities(session=session, version_id=version.id if version else None, institution_id=institution_id)


def _returned_keys(session: Session, region: Region, year: int, institution: Institution) -> set[str]:
    """The IDs in the institution's accepted returns of the year's round (given to new rows on acceptance)."""
    cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year)
    if cycle is None:
        return set()
    request = request_for(session=session, cycle_id=cycle.id or 0, institution_id=institution.id or 0)
    if request is None:
        return set()
    return keys_of_returns(s.activities for s in list_submissions(session=session, request_id=request.id or 0)
                           if s.outcome == "accepted")


def sheet_years(ctx: AppContext, region: Region, year: int) -> YearRange:
    """The years the round's sheets take in Beginn/Ende: the region's settings (`fko init --region-file`,
    [concept]), else the defaults, which move on with the round's year."""
    return ctx.spec().round_years(year, horizon=region.concept_horizon, last=region.sheet_max_year)


def sheet_filename(region_code: str, year: int, institution_code: str) -> str:
    return f"Abfrage-{year}-{region_code}-{institution_code}.xlsx"


class Builder(Protocol):
    def build(self, *, info: SheetInfo, activities: list[Activity], secret: bytes) -> bytes: ...


@dataclass(frozen=True)
class WholeByOpenpyxl:
    """Every sheet built whole by openpyxl, as before the skeleton (the benchmark's baseline)."""

    spec: SheetSpec
    catalogs: Catalogs

    def build(self, *, info: SheetInfo, activities: list[Activity], secret: bytes) -> bytes:
        return build_workbook(spec=self.spec, catalogs=self.catalogs, info=info, activities=activities, secret=secret)


_builders: OrderedDict[tuple[int, int], SheetBuilder] = OrderedDict()
_builders_lock = threading.Lock()


def sheet_builder(ctx: AppContext) -> SheetBuilder:
    """The builder of ``ctx``'s sheets: one per sheet spec and catalogs, kept, so that the parts all sheets share
    are built once (per round, per page process), not once per sheet."""
    spec, catalogs = ctx.spec(), ctx.catalogs()
    with _builders_lock:
        builder = _builders.get((id(spec), id(catalogs)))
        if builder is None or builder.spec is not spec or builder.catalogs is not catalogs:
            builder = _builders[(id(spec), id(catalogs))] = SheetBuilder(spec, catalogs)
            while len(_builders) > 8:
                _builders.popitem(last=False)
        return builder


def personal_sheet(ctx: AppContext, *, region: Region, institution: Institution, year: int, base_label: str,
                   deadline: dt.date | None, activities: list[Activity], builder: Builder | None = None) -> bytes:
    """An institution's pre-filled, signed workbook (the one place that turns database rows into a sheet)."""
    info = SheetInfo(region_code=region.code, region_name=region.name, cycle_year=year,
                     institution_code=institution.code, institution_name=institution.name, base_label=base_label,
                     agency_name=region.agency_name, agency_email=region.agency_email,
                     agency_phone=region.agency_phone, deadline=deadline, years=sheet_years(ctx, region, year))
    return (builder or sheet_builder(ctx)).build(info=info, activities=activities, secret=ctx.settings.secret())


def build_sheet(ctx: AppContext, *, institution_code: str, cycle_year: int,
                deadline: dt.date | None = None) -> tuple[bytes, str]:
    """The personal workbook of one institution for one cycle, and its file name."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        institution = get_institution(session=session, region_id=region.id or 0, code=institution_code)
        version = _base_version(session, region, cycle_year)
        cycle = cycle_of_year(session=session, region_id=region.id or 0, year=cycle_year)
        activities = _base_activities(session, version, institution.id or 0)
    data = personal_sheet(ctx, region=region, institution=institution, year=cycle_year,
                          base_label=version.label if version else "",
                          deadline=deadline or (cycle.deadline if cycle else None), activities=activities)
    return data, sheet_filename(region.code, cycle_year, institution.code)


@dataclass
class SheetCheck:
    result: SheetResult
    diff: ActivityDiff | None

    @property
    def ok(self) -> bool:
        return self.result.ok

    def as_json(self) -> dict[str, Any]:
        """The JSON shape of DESIGN §9, plus ``notices``: what was taken but is worth a second look."""
        changes: dict[str, Any] = {}
        if self.diff is not None:
            changes = self.diff.counts()
            changes["details"] = [
                {"key": c.new.key, "title": c.new.title,
                 "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in c.fields]}
                for c in self.diff.changed
            ]
            changes["new_titles"] = [a.title for a in self.diff.new]
            changes["missing_keys"] = [a.key for a in self.diff.missing]
        return {
            "ok": self.ok,
            "institution": self.result.institution_code,
            "rows": len(self.result.activities),
            "problems": [p.as_dict() for p in self.result.problems],
            "notices": [n.as_dict() for n in self.result.notices],
            "changes": changes,
        }


def check_returned_sheet(ctx: AppContext, *, data: bytes, cycle_year: int,
                         institution_code: str | None = None, limits: Limits | None = None) -> SheetCheck:
    """Read and check a returned workbook against the database; writes nothing."""
    require_current_schema(ctx.engine)
    spec: SheetSpec = ctx.spec()
    catalogs = ctx.catalogs()
    try:
        grid = read_grid_isolated(data, templates_dir=ctx.templates_dir, limits=limits or Limits())
    except (FileRefused, GridError) as exc:
        return SheetCheck(SheetResult(institution_code=institution_code,
                                      problems=[Problem(None, None, str(exc))]), None)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        expected = Expected(region_code=region.code, cycle_year=cycle_year, secret=ctx.settings.secret(),
                            institution_code=institution_code, years=sheet_years(ctx, region, cycle_year))
        meta, _ = check_meta(grid, spec, expected)
        code = institution_code or (meta.institution if meta else None)
        base: list[Activity] = []
        returned_keys: set[str] = set()
        if code is not None:
            try:
                institution = get_institution(session=session, region_id=region.id or 0, code=code)
            except NotFound:
                institution = None
            if institution is not None:
                base = _base_activities(session, _base_version(session, region, cycle_year), institution.id or 0)
                returned_keys = _returned_keys(session, region, cycle_year, institution)
    # As `ingest` checks it: IDs of the institution's earlier accepted returns in this round are its own.
    result = check_return(grid, spec=spec, catalogs=catalogs, expected=expected, base=base,
                          returned_keys=returned_keys)
    diff = diff_activities(base, result.activities, ending_statuses=catalogs.ending_statuses) if result.ok else None
    return SheetCheck(result, diff)
