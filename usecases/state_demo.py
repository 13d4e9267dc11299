"""The state demo (`fko demo --state`): further NRW regions beside the demo region Aachen, so the ministry's
roll-up has content. Their data is fictitious (survey_templates/demo/state/); each region gets two published
versions (the year before and the demo year, with activities new and ended between them) and the demo year's
round with its answers; one region runs its first round and has no version yet."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from sqlmodel import Session, select

from core.catalog import parse_catalogs
from core.dates import BERLIN
from core.demo import DemoDataError
from core.state_demo import StateDemoRegion, parse_state_region
from storage.concepts import add_activities, create_version, list_versions, publish_version
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.institutions import save_institutions
from storage.models import Cycle, Institution, Region, Request
from storage.regions import all_regions, create_region
from usecases.context import AppContext

STATE_DEMO_DIR = Path("demo") / "state"
TEMPLATES_FOLDER = "vorlagen"   # under the data folder: the own templates folders of demo regions


@dataclass
class StateDemoResult:
    year: int
    regions: list[str] = field(default_factory=list)          # names of the regions added
    activities: int = 0
    without_version: list[str] = field(default_factory=list)  # names of the regions still without a version


def state_demo_regions(ctx: AppContext) -> list[StateDemoRegion]:
    """The state demo's regions, each checked against the catalogs (the region's own lists where it has them)."""
    catalogs = ctx.catalogs()
    folder = ctx.templates_dir / STATE_DEMO_DIR
    files = sorted(folder.glob("*.toml"))
    if not files:
        raise DemoDataError(f"Keine Demo-Regionen für das Land in {folder}.")
    return [parse_state_region(path.read_text(encoding="utf-8"), catalogs, file=path.name) for path in files]


def _toml_list(values: tuple[str, ...]) -> str:
    return "[\n" + "".join(f"  {json.dumps(v, ensure_ascii=False)},\n" for v in values) + "]"


def _own_templates(ctx: AppContext, region: StateDemoRegion) -> str:
    """A copy of the templates folder with the region's own fields of action and areas (as an agency keeps its
    own survey_templates), written whole before it is used; returns its absolute path."""
    target = (ctx.settings.data_dir / TEMPLATES_FOLDER / region.profile.code).resolve()
    text = (ctx.templates_dir / "catalogs.toml").read_text(encoding="utf-8")
    for key, values in (("fields_of_action", region.fields_of_action), ("areas", region.areas)):
        if values:
            text = re.sub(rf"(?ms)^{key} = \[.*?^\]", lambda _m, k=key, v=values: f"{k} = {_toml_list(v)}", text,
                          count=1)
    catalogs = parse_catalogs(text)
    if (region.fields_of_action and catalogs.fields_of_action != region.fields_of_action) or \
            (region.areas and catalogs.areas != region.areas):
        raise DemoDataError(f"{region.profile.code}: eigene Listen konnten nicht in catalogs.toml geschrieben werden.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{region.profile.code}-", dir=target.parent))
    try:
        shutil.copytree(ctx.templates_dir, staging, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("__pycache__", "demo"))
        (staging / "catalogs.toml").write_text(text, encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return str(target)


def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), BERLIN)


def _add_region(session: Session, ctx: AppContext, data: StateDemoRegion, year: int) -> int:
    """One region with its versions and the round of ``year``; returns the activities of its newest version."""
    profile = data.profile
    if data.own_catalog:
        profile = replace(profile, templates=_own_templates(ctx, data))
    region = create_region(session=session, profile=profile, sample_data=True)
    region_id = region.id or 0
    save_institutions(session=session, region_id=region_id, records=data.institutions)
    note = "Beispieldaten: Institutionen, Ansprechpersonen, E-Mail-Adressen und Aktivitäten sind frei erfunden."
    base = None
    if data.baseline:
        base = create_version(session=session, region_id=region_id, label=str(year - 1), note=note)
        add_activities(session=session, version=base, activities=data.baseline)
        publish_version(session=session, version=base, approved_by="Lenkungskreis (Beispieldaten)",
                        at=_at(dt.date(year - 1, 3, 31)))
    cycle = Cycle(region_id=region_id, year=year, opened_at=_at(dt.date(year, 9, 1)), deadline=dt.date(year, 10, 15),
                  base_version_id=base.id if base else None, state="open")
    session.add(cycle)
    session.flush()
    institutions = {i.code: i.id or 0 for i in session.exec(select(Institution)
                                                            .where(Institution.region_id == region_id)).all()}
    for code, institution_id in sorted(institutions.items()):
        answered = code in data.answered
        session.add(Request(cycle_id=cycle.id or 0, institution_id=institution_id,
                            state="answered" if answered else "invited",
                            answered_at=_at(dt.date(year, 9, 20)) if answered else None))
    count = len(data.baseline)
    if data.published:
        current = create_version(session=session, region_id=region_id, label=str(year),
                                 parent_id=base.id if base else None, note=note)
        count = add_activities(session=session, version=current, activities=data.current)
        publish_version(session=session, version=current, approved_by="Lenkungskreis (Beispieldaten)",
                        at=_at(dt.date(year, 11, 20)))
        cycle.draft_version_id, cycle.state = current.id, "published"
    record_event(session=session, region_id=region_id, actor="staff", action="demo.loaded", subject=region.code,
                 details={"state_demo": True, "institutions": len(data.institutions), "activities": count})
    return count


def load_state_demo(ctx: AppContext, *, year: int) -> StateDemoResult:
    """Adds the state demo's regions to a database that holds the demo region (or any regions but these)."""
    require_current_schema(ctx.engine)
    regions = state_demo_regions(ctx)
    result = StateDemoResult(year=year)
    with session_scope(ctx.engine) as session:
        known = {r.code for r in all_regions(session=session)}
        clash = sorted(known & {r.profile.code for r in regions})
        if clash:
            raise DemoDataError(f"Die Demo-Regionen {', '.join(clash)} sind schon geladen; `fko demo --state` "
                                "beginnt mit einer leeren Datenbank.")
        for data in regions:
            result.activities += _add_region(session, ctx, data, year)
            result.regions.append(data.profile.name)
            if not data.published and not data.baseline:
                result.without_version.append(data.profile.name)
    return result


def demo_year(ctx: AppContext) -> int:
    """The state demo's year: the one after the demo region's baseline (its next round's year)."""
    with session_scope(ctx.engine) as session:
        labels = [v for r in all_regions(session=session) for v in _published_years(session, r)]
    return max(labels, default=dt.datetime.now(BERLIN).year - 1) + 1


def _published_years(session: Session, region: Region) -> list[int]:
    return [int(v.label) for v in list_versions(session=session, region_id=region.id or 0)
            if v.status == "published" and v.label.isdigit()]
