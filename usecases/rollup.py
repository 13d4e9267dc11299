"""The ministry's roll-up over all regions (`fko rollup`, /intern/land/): load each region's latest published
version, its round of the year and its catalogs, let core.rollup count, write the workbook and the HTML/PDF report.

It reads every region of the database on purpose: it is the state's view. The staff area shows it only to an
account with the role "state"; a region's own staff never get it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import case, func
from sqlmodel import Session, col, select

from core.catalog import CatalogError, Catalogs
from core.dates import BERLIN, german_date
from core.rollup import (
    ActivityFacts,
    ClusterTable,
    RegionFacts,
    Rollup,
    RollupError,
    VersionFacts,
    build_rollup,
    choose_versions,
    parse_cluster_table,
)
from core.rollup_xlsx import render_rollup_workbook
from core.text import os_reason
from storage.database import require_current_schema, session_scope
from storage.models import Activity, ConceptVersion, Cycle, Region, Request
from storage.regions import all_regions
from storage.template_folder import load_catalogs
from usecases.context import AppContext
from usecases.pdf import PdfUnavailable, pdf_printer

CLUSTER_FILE = Path("rollup") / "clusters.toml"
REPORT_TEMPLATE = "landesuebersicht.html.j2"
FIRST_YEAR, LAST_YEAR = 2000, 2100


@dataclass
class RollupFiles:
    rollup: Rollup
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)   # German reasons (e.g. no PDF without Chromium)


def stem(year: int) -> str:
    return f"Landesuebersicht-{year}"


def cluster_table(templates_dir: Path) -> ClusterTable:
    path = templates_dir / CLUSTER_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RollupError(f"Die Zuordnungstabelle {path} kann nicht gelesen werden ({os_reason(exc)}).") from exc
    return parse_cluster_table(text, file=str(path))


def _versions(session: Session) -> dict[int, list[VersionFacts]]:
    rows = session.exec(select(ConceptVersion.id, ConceptVersion.region_id, ConceptVersion.label,
                               ConceptVersion.status, ConceptVersion.published_at, ConceptVersion.parent_id)).all()
    versions: dict[int, list[VersionFacts]] = defaultdict(list)
    for version_id, region_id, label, status, published_at, parent_id in rows:
        published_on = published_at.astimezone(BERLIN).date() if status == "published" and published_at else None
        versions[region_id].append(VersionFacts(version_id or 0, label, published_on, parent_id))
    return versions


def _activities(session: Session, version_ids: set[int]) -> dict[int, list[ActivityFacts]]:
    """Only the three columns the roll-up needs, for all chosen versions in one query."""
    found: dict[int, list[ActivityFacts]] = defaultdict(list)
    if version_ids:
        query = select(Activity.version_id, Activity.key, Activity.field_of_action, Activity.status) \
            .where(col(Activity.version_id).in_(version_ids))
        for version_id, key, field_of_action, status in session.exec(query).all():
            found[version_id].append(ActivityFacts(key, field_of_action, status))
    return found


def _rounds(session: Session, year: int) -> dict[int, tuple[int, int]]:
    """region id → (institutions asked, answered) in its round of ``year``."""
    answered = func.sum(case((col(Request.answered_at).is_not(None), 1), else_=0))
    query = (select(Cycle.region_id, func.count(col(Request.id)), answered)
             .join(Request, col(Request.cycle_id) == Cycle.id, isouter=True)
             .where(Cycle.year == year).group_by(col(Cycle.region_id)))
    return {region_id: (int(asked or 0), int(done or 0)) for region_id, asked, done in session.exec(query).all()}


def _ending(ctx: AppContext, region: Region, cache: dict[str, Catalogs]) -> tuple[str, ...]:
    folder = region.templates_dir or str(ctx.settings.templates_dir)
    if folder not in cache:
        try:
            cache[folder] = load_catalogs(Path(folder))
        except CatalogError as exc:  # the staff page shows this line too, not an error page
            raise RollupError(f"{region.name}: der Vorlagenordner {folder} ist unbrauchbar ({exc}).") from exc
    return cache[folder].ending_statuses


def rollup_of_year(ctx: AppContext, *, year: int, today: dt.date | None = None) -> Rollup:
    """The roll-up of ``year`` over every region of the database, with the installation's mapping table."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise RollupError(f"{year} ist kein Jahr einer Abfrage (erwartet {FIRST_YEAR}–{LAST_YEAR}).")
    require_current_schema(ctx.engine)
    table = cluster_table(ctx.settings.templates_dir)
    catalogs: dict[str, Catalogs] = {}
    with session_scope(ctx.engine) as session:
        regions = all_regions(session=session)
        if not regions:
            raise RollupError("Die Datenbank enthält noch keine Region.")
        versions = _versions(session)
        chosen = {r.id or 0: choose_versions(versions.get(r.id or 0, []), year) for r in regions}
        wanted = {v.id for pair in chosen.values() for v in pair if v is not None}
        activities = _activities(session, wanted)
        rounds = _rounds(session, year)
        facts = []
        for region in sorted(regions, key=lambda r: r.name.removeprefix("Region ").casefold()):  # "Region Köln"
            latest, previous = chosen[region.id or 0]
            asked, answered = rounds.get(region.id or 0, (None, None))
            facts.append(RegionFacts(
                code=region.code, name=region.name, version=latest,
                activities=tuple(activities.get(latest.id, [])) if latest else (), previous=previous,
                previous_activities=tuple(activities.get(previous.id, [])) if previous else (),
                asked=asked, answered=answered, ending_statuses=_ending(ctx, region, catalogs)))
    return build_rollup(year=year, regions=facts, table=table, stand=today or dt.datetime.now(BERLIN).date())


def render_report(rollup: Rollup, templates_dir: Path) -> str:
    """The report as self-contained, printable HTML (German), from survey_templates/rollup/ with the concept
    documents' style and page frame."""
    environment = Environment(loader=FileSystemLoader([templates_dir / "rollup", templates_dir / "concept"]),
                              undefined=StrictUndefined, autoescape=select_autoescape(enabled_extensions=("j2",)))
    environment.filters["datum"] = lambda day: german_date(day, weekday=False)
    environment.filters["zahl"] = lambda value: "–" if value is None else f"{value:,}".replace(",", ".")
    environment.filters["prozent"] = lambda value: "–" if value is None else f"{value:.1f} %".replace(".", ",")
    return environment.get_template(REPORT_TEMPLATE).render(r=rollup, charts=rollup.charts())


def print_pdf(html: Path, pdf: Path) -> None:
    with pdf_printer() as printer:
        printer.print(html, pdf)


def write_rollup(ctx: AppContext, *, year: int, out_dir: Path, pdf: bool = True,
                 today: dt.date | None = None) -> RollupFiles:
    """Workbook, HTML report and (with ``pdf``) its PDF into ``out_dir``: all written in a hidden folder beside
    them first and moved into place at the end, so an interrupted run leaves no half-written file."""
    rollup = rollup_of_year(ctx, year=year, today=today)
    html = render_report(rollup, ctx.settings.templates_dir)
    workbook = render_rollup_workbook(rollup)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".landesuebersicht-", dir=out_dir))
    except OSError as exc:
        raise RollupError(f"In den Ordner {out_dir} kann nicht geschrieben werden ({os_reason(exc)}).") from exc
    result = RollupFiles(rollup)
    try:
        (staging / f"{stem(year)}.xlsx").write_bytes(workbook)
        (staging / f"{stem(year)}.html").write_text(html, encoding="utf-8")
        names = [f"{stem(year)}.xlsx", f"{stem(year)}.html"]
        if pdf:
            try:
                print_pdf(staging / f"{stem(year)}.html", staging / f"{stem(year)}.pdf")
                names.append(f"{stem(year)}.pdf")
            except PdfUnavailable as exc:
                result.skipped.append(f"PDF: {exc}")
        for name in names:
            os.replace(staging / name, out_dir / name)
            result.files.append(out_dir / name)
    except OSError as exc:
        raise RollupError(f"In den Ordner {out_dir} kann nicht geschrieben werden ({os_reason(exc)}).") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def rollup_download(ctx: AppContext, *, year: int, kind: str, today: dt.date | None = None) -> tuple[bytes, str]:
    """The workbook (``kind`` "xlsx") or the PDF report ("pdf") of ``year`` as bytes and a file name (staff area)."""
    rollup = rollup_of_year(ctx, year=year, today=today)
    name = f"{stem(year)}.{kind}"
    if kind == "xlsx":
        return render_rollup_workbook(rollup), name
    with tempfile.TemporaryDirectory(prefix="fko-rollup-") as folder:
        html = Path(folder) / f"{stem(year)}.html"
        html.write_text(render_report(rollup, ctx.settings.templates_dir), encoding="utf-8")
        print_pdf(html, Path(folder) / name)
        return (Path(folder) / name).read_bytes(), name
