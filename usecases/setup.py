"""Create the database and the region; load the embedded demo region with its baseline concept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel, select

from core.dates import BERLIN
from core.region import RegionConfigError, RegionProfile, profile_changes
from storage.concepts import add_activities, create_version, publish_version
from storage.database import is_empty, make_room, migrate, session_scope
from storage.events import record_event
from storage.institutions import save_institutions
from storage.models import ConceptVersion, Cycle, Institution, Region
from storage.regions import all_regions, create_region, profile_of, update_region
from storage.template_folder import load_demo, load_region_file
from usecases.context import AppContext
from usecases.settings import BUNDLED_TEMPLATES


class NotEmpty(Exception):
    """The database holds data already; the demo is only loaded into an empty one."""


@dataclass(frozen=True)
class InitResult:
    created: bool
    region_name: str
    secret_created: bool
    institutions: int = 0
    activities: int = 0
    baseline_label: str | None = None
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # (German label, old, new)
    region_file: Path | None = None     # where the region's settings came from
    example_region: bool = False        # from the bundled example file, not the agency's own
    code: str = ""                      # the region's code
    added: bool = False                 # a further region beside those the database had
    regions: list[str] = field(default_factory=list)  # every region's code afterwards (when one was added)


def reset_database(ctx: AppContext) -> None:
    """Delete every table (and for a SQLite file the file itself). Staff confirm this in the CLI."""
    url = make_url(ctx.settings.effective_database_url)
    ctx.engine.dispose()
    if url.drivername.startswith("sqlite") and url.database and url.database != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        return
    import storage.models  # noqa: F401  (the tables to drop)

    with ctx.engine.begin() as connection:
        SQLModel.metadata.drop_all(connection)
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def _region_source(ctx: AppContext, region_file: Path | None) -> tuple[Path, bool]:
    """The region file to apply and whether staff chose it (``--region-file`` or their own templates folder)."""
    if region_file is not None:
        return region_file, True
    return ctx.templates_dir / "region.toml", ctx.templates_dir.resolve() != BUNDLED_TEMPLATES.resolve()


def _holds_data(session: Session, region_id: int) -> bool:
    return any(session.exec(select(table.id).where(table.region_id == region_id)).first() is not None
               for table in (Institution, ConceptVersion, Cycle))


def _is_example(region: Region) -> bool:
    """The region is still the bundled example region, unchanged (what a plain `fko init` creates)."""
    try:
        example, _logo = load_region_file(BUNDLED_TEMPLATES / "region.toml")
    except RegionConfigError:
        return False
    return profile_of(region) == example and not region.sample_data


def _add_region(session: Session, regions: list[Region], profile: RegionProfile, logo: tuple[bytes, str] | None,
                *, source: Path, secret_created: bool) -> InitResult:
    """A further region beside the database's regions (one installation for several regions, DESIGN §12)."""
    region = create_region(session=session, profile=profile, logo=logo)
    record_event(session=session, region_id=region.id, actor="staff", action="region.created",
                 subject=region.code, details={"file": str(source), "beside": [r.code for r in regions]})
    return InitResult(created=True, region_name=profile.name, secret_created=secret_created, region_file=source,
                      code=region.code, added=True, regions=sorted([*(r.code for r in regions), region.code]))


def init_database(ctx: AppContext, *, demo: bool = False, region_file: Path | None = None) -> InitResult:
    """Create or upgrade the schema and the region (from ``region_file``, else the templates folder's
    region.toml); with ``demo`` also load the sample region. On a database that has its region already, a
    file staff chose updates it and the result lists what changed."""
    source, chosen = _region_source(ctx, region_file)
    profile, logo = load_region_file(source)
    secret_created = ctx.settings.ensure_secret()
    make_room(ctx.engine)
    empty = is_empty(ctx.engine)
    if demo and not empty:
        raise NotEmpty(ctx.settings.effective_database_url)
    migrate(ctx.engine)
    if not empty and not demo:
        with session_scope(ctx.engine) as session:
            regions = all_regions(session=session)
            if regions:
                return _update_region(session, regions, profile, logo, chosen=chosen, source=source,
                                      secret_created=secret_created)
    if not demo:
        with session_scope(ctx.engine) as session:
            region = create_region(session=session, profile=profile, logo=logo)
            record_event(session=session, region_id=region.id, actor="staff", action="region.created",
                         subject=region.code, details={"file": str(source)})
        return InitResult(created=True, region_name=profile.name, secret_created=secret_created,
                          region_file=source, example_region=not chosen)

    catalogs = ctx.catalogs()
    demo_data = load_demo(ctx.templates_dir, catalogs)
    with session_scope(ctx.engine) as session:
        region = create_region(session=session, profile=profile, sample_data=True, logo=logo)
        if region.id is None:
            raise RuntimeError("region was not flushed")
        save_institutions(session=session, region_id=region.id, records=demo_data.institutions)
        version = create_version(
            session=session, region_id=region.id, label=demo_data.baseline_label, note=demo_data.notice
        )
        count = add_activities(session=session, version=version, activities=demo_data.activities)
        version.sections = dict(demo_data.sections)
        published_at = dt.datetime.combine(demo_data.baseline_published_at, dt.time(12), BERLIN)
        publish_version(
            session=session, version=version, approved_by=demo_data.baseline_approved_by, at=published_at
        )
        record_event(session=session, region_id=region.id, actor="staff", action="demo.loaded",
                     subject=region.code,
                     details={"institutions": len(demo_data.institutions), "activities": count})
    return InitResult(
        created=True,
        region_name=profile.name,
        secret_created=secret_created,
        institutions=len(demo_data.institutions),
        activities=count,
        baseline_label=demo_data.baseline_label,
    )


def _update_region(session: Session, regions: list[Region], profile: RegionProfile, logo: tuple[bytes, str] | None,
                   *, chosen: bool, source: Path, secret_created: bool) -> InitResult:
    """Apply a region file staff chose to the database's region; an unchosen example file changes nothing."""
    region = next((r for r in regions if r.code == profile.code), None)
    if not chosen:
        shown = region or regions[0]
        name = shown.name if len(regions) == 1 else f"{len(regions)} Regionen ({', '.join(r.code for r in regions)})"
        return InitResult(created=False, region_name=name, secret_created=secret_created)
    if region is None:
        other = regions[0]
        if len(regions) > 1 or _holds_data(session, other.id or 0) or not _is_example(other):
            return _add_region(session, regions, profile, logo, source=source, secret_created=secret_created)
        # The example region of a plain `fko init`, still without any data: the agency's own file replaces it.
        changes = [("Kürzel der Region", other.code, profile.code), *profile_changes(profile_of(other), profile)]
        other.code = profile.code
        region = other
    else:
        changes = profile_changes(profile_of(region), profile)
    if (region.logo or b"") != (logo[0] if logo else b""):
        changes.append(("Logo", "vorhanden" if region.logo else "keines",
                        f"{profile.logo_file} ({len(logo[0]) // 1024 + 1} KB)" if logo else "keines"))
    update_region(session=session, region=region, profile=profile, logo=logo)
    if changes:
        record_event(session=session, region_id=region.id, actor="staff", action="region.updated",
                     subject=region.code, details={"file": str(source), "changed": [c[0] for c in changes]})
    return InitResult(created=False, region_name=region.name, secret_created=secret_created, changes=changes,
                      region_file=source)
