"""Repository functions for concept versions and their activities."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import insert
from sqlmodel import Session, col, select

from core.activity import CONTENT_FIELDS
from core.activity import Activity as ActivityRecord
from storage.errors import Conflict, NotFound
from storage.models import Activity, ConceptVersion, Institution


def create_version(
    *, session: Session, region_id: int, label: str, parent_id: int | None = None, note: str = ""
) -> ConceptVersion:
    if session.exec(
        select(ConceptVersion).where(ConceptVersion.region_id == region_id, ConceptVersion.label == label)
    ).first():
        raise Conflict(f"Die Version {label!r} gibt es bereits.")
    version = ConceptVersion(region_id=region_id, label=label, parent_id=parent_id, note=note)
    session.add(version)
    session.flush()
    return version


def add_activities(*, session: Session, version: ConceptVersion, activities: list[ActivityRecord],
                   flags: dict[str, tuple[bool, str | None]] | None = None) -> int:
    """Add activities to a draft version in one statement; their institutions must exist in its region."""
    if version.status != "draft":
        raise Conflict(f"Version {version.label} ist veröffentlicht und kann nicht mehr geändert werden.")
    institutions = {
        i.code: i
        for i in session.exec(select(Institution).where(Institution.region_id == version.region_id)).all()
    }
    rows = []
    numbers: dict[str, int] = {}
    for position, activity in enumerate(activities):
        institution = institutions.get(activity.institution_code)
        if institution is None:
            raise NotFound(f"activity {activity.key}: no institution {activity.institution_code!r}")
        if not activity.key:
            raise ValueError("activities stored in a version need a key")
        rows.append(
            {
                "version_id": version.id,
                "institution_id": institution.id,
                "key": activity.key,
                "position": position,
                **{name: getattr(activity, name) for name in CONTENT_FIELDS},
                "extra": dict(activity.extra),
                "confirmed": (flags or {}).get(activity.key, (True, None))[0],
                "flag": (flags or {}).get(activity.key, (True, None))[1],
            }
        )
        number = int(activity.key.rsplit("-", 1)[1])
        numbers[activity.institution_code] = max(numbers.get(activity.institution_code, 0), number)
    if rows:
        session.execute(insert(Activity), rows)
    for code, number in numbers.items():
        institution = institutions[code]
        institution.last_activity_number = max(institution.last_activity_number, number)
    session.flush()
    return len(rows)


def clear_activities(*, session: Session, version: ConceptVersion) -> None:
    """Empty a draft before it is rebuilt; published versions never change."""
    if version.status != "draft":
        raise Conflict(f"Version {version.label} ist veröffentlicht und kann nicht mehr geändert werden.")
    for activity in session.exec(select(Activity).where(Activity.version_id == version.id)).all():
        session.delete(activity)
    session.flush()


def find_version(*, session: Session, region_id: int, label: str) -> ConceptVersion:
    version = session.exec(select(ConceptVersion).where(ConceptVersion.region_id == region_id,
                                                        ConceptVersion.label == label)).first()
    if version is None:
        raise NotFound(f"Es gibt keine Version {label!r} des Handlungskonzepts.")
    return version


def activity_flags(*, session: Session, version_id: int) -> dict[str, tuple[bool, str | None]]:
    """key → (confirmed this year, flag) for a version's activities."""
    rows = session.exec(select(Activity.key, Activity.confirmed, Activity.flag)
                        .where(Activity.version_id == version_id))
    return {key: (confirmed, flag) for key, confirmed, flag in rows.all()}


def publish_version(
    *, session: Session, version: ConceptVersion, approved_by: str, at: dt.datetime
) -> ConceptVersion:
    if version.status == "published":
        raise Conflict(f"Version {version.label} ist bereits veröffentlicht.")
    version.status = "published"
    version.approved_by = approved_by
    version.published_at = at
    session.flush()
    return version


def latest_published(*, session: Session, region_id: int) -> ConceptVersion | None:
    return session.exec(
        select(ConceptVersion)
        .where(ConceptVersion.region_id == region_id, ConceptVersion.status == "published")
        .order_by(col(ConceptVersion.published_at).desc(), col(ConceptVersion.id).desc()).limit(1)
    ).first()


def list_versions(*, session: Session, region_id: int) -> list[ConceptVersion]:
    return list(
        session.exec(
            select(ConceptVersion).where(ConceptVersion.region_id == region_id).order_by(col(ConceptVersion.id))
        ).all()
    )


def list_activities(*, session: Session, version_id: int | None,
                    institution_id: int | None = None) -> list[ActivityRecord]:
    """A version's activities in their order; only one institution's when ``institution_id`` is given. No
    version (a region's first round has no base) has none."""
    if version_id is None:
        return []
    query = (select(Activity, Institution.code)
             .join(Institution, col(Institution.id) == Activity.institution_id)
             .where(Activity.version_id == version_id))
    if institution_id is not None:
        query = query.where(Activity.institution_id == institution_id)
    rows = session.exec(query.order_by(col(Activity.position), col(Activity.id))).all()
    names = [f.name for f in dataclasses.fields(ActivityRecord)]
    return [
        ActivityRecord(
            **{n: getattr(row, n) for n in names if n not in ("institution_code",)},
            institution_code=code,
        )
        for row, code in rows
    ]
