"""Create the database and the region; load the embedded demo region with its baseline concept."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from core.dates import BERLIN
from storage.concepts import add_activities, create_version, publish_version
from storage.database import is_empty, migrate, session_scope
from storage.events import record_event
from storage.institutions import save_institutions
from storage.regions import create_region
from storage.template_folder import load_demo, load_region
from usecases.context import AppContext


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


def init_database(ctx: AppContext, *, demo: bool = False) -> InitResult:
    """Create or upgrade the schema and the region; with ``demo`` also load the sample region."""
    secret_created = ctx.settings.ensure_secret()
    empty = is_empty(ctx.engine)
    if demo and not empty:
        raise NotEmpty(ctx.settings.effective_database_url)
    migrate(ctx.engine)
    profile = load_region(ctx.templates_dir)
    if not empty:
        return InitResult(created=False, region_name=profile.name, secret_created=secret_created)
    if not demo:
        with session_scope(ctx.engine) as session:
            region = create_region(session=session, profile=profile)
            record_event(session=session, region_id=region.id, actor="staff", action="region.created",
                         subject=region.code)
        return InitResult(created=True, region_name=profile.name, secret_created=secret_created)

    catalogs = ctx.catalogs()
    demo_data = load_demo(ctx.templates_dir, catalogs)
    with session_scope(ctx.engine) as session:
        region = create_region(session=session, profile=profile, sample_data=True)
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
