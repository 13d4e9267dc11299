"""Concept versions: rebuild the draft from the base plus every institution's latest answer; publish it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

from sqlmodel import Session, select

from core.activity import Activity, activity_from_dict
from core.diff import ActivityDiff, diff_activities, kept_missing
from core.draft import MISSING, NOT_CONFIRMED, Answer, merge_draft
from storage.concepts import (
    activity_flags,
    add_activities,
    clear_activities,
    create_version,
    find_version,
    latest_published,
    list_activities,
    list_versions,
    publish_version,
)
from storage.cycles import newest_cycle, requests_with_institutions, require_cycle, round_published
from storage.database import require_current_schema, session_scope
from storage.errors import Conflict
from storage.events import record_event
from storage.models import ConceptVersion, Cycle, Institution, Submission
from storage.outbox import cancel_round_mail
from storage.regions import get_region
from storage.requests import latest_answer
from usecases.context import AppContext


class NoDraft(Exception):
    """There is no draft to publish."""


class NoRound(Exception):
    """The draft belongs to no round (only texts written early): publishing it would adopt an empty concept."""


class DraftStale(Exception):
    """An answer came in after the draft was shown: it was rebuilt; staff look again before publishing."""


@dataclass
class DraftResult:
    label: str
    activities: int = 0
    answered: list[str] = field(default_factory=list)
    not_answered: list[str] = field(default_factory=list)
    flagged_missing: list[str] = field(default_factory=list)


def rebuild_draft(ctx: AppContext, *, year: int, now: dt.datetime, only_if_stale: bool = False) -> DraftResult:
    """The draft of the new version from the base and every institution's latest answer (``core.draft``).
    Safe to run again; with ``only_if_stale`` nothing is written when the base and the answers are the ones
    the draft was built from."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = require_cycle(session=session, region_id=region.id or 0, year=year)
        session.refresh(cycle, with_for_update=True)  # one rebuild of a round at a time (PostgreSQL)
        base = session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
        if cycle.base_version_id and base is None:
            raise LookupError("base version missing")
        draft = _draft_of(session, cycle, base, region_id=region.id or 0)
        rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
        latest = {institution.code: latest_answer(session=session, request_id=request.id or 0)
                  for request, institution in rows}
        fingerprint = _fingerprint(base, latest)
        if only_if_stale and draft.built_from == fingerprint:
            return DraftResult(label=draft.label, activities=-1)
        answers = {code: Answer(answer.outcome, [activity_from_dict(a) for a in answer.activities])
                   for code, answer in latest.items() if answer is not None}
        plan = merge_draft(list_activities(session=session, version_id=cycle.base_version_id),
                           [institution.code for _, institution in rows], answers,
                           ending_statuses=ctx.catalogs().ending_statuses)
        clear_activities(session=session, version=draft)
        result = DraftResult(label=draft.label, answered=plan.answered, not_answered=plan.not_answered,
                             flagged_missing=plan.flagged_missing)
        result.activities = add_activities(session=session, version=draft, activities=plan.activities,
                                           flags=plan.flags)
        draft.built_from = fingerprint
        record_event(session=session, region_id=region.id, actor="system", action="draft.rebuilt",
                     subject=draft.label, details={"activities": result.activities, "answered": len(plan.answered),
                                                   "not_answered": len(plan.not_answered)})
        return result


def _fingerprint(base: ConceptVersion | None, latest: dict[str, Submission | None]) -> str:
    """What a draft is built from: the base version and each institution's latest answer."""
    parts = [f"base:{base.id if base else '-'}"] + [f"{code}:{answer.id if answer else '-'}"
                                                    for code, answer in sorted(latest.items())]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def current_drafts(ctx: AppContext, *, now: dt.datetime) -> list[str]:
    """Bring the draft of every round not yet published up to date (rebuilt only where an answer came in
    since); the labels of the drafts rebuilt. Called before anything shows or publishes a draft."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        years = [c.year for c in session.exec(select(Cycle).where(Cycle.region_id == region.id)).all()
                 if not round_published(session, c)]
    rebuilt = []
    for year in sorted(years):
        result = rebuild_draft(ctx, year=year, now=now, only_if_stale=True)
        if result.activities >= 0:
            rebuilt.append(result.label)
    return rebuilt


def _draft_of(session: Session, cycle: Cycle, base: ConceptVersion | None, *, region_id: int) -> ConceptVersion:
    """The cycle's draft version, created (with the base's texts) on first use, or a draft of the cycle's year
    that staff prepared before the round opened (texts written early); never a published one."""
    draft = session.get(ConceptVersion, cycle.draft_version_id) if cycle.draft_version_id else None
    if draft is None:
        draft = draft_of_year(session, region_id=region_id, year=cycle.year, base=base)
        cycle.draft_version_id = draft.id
    if draft.status != "draft":
        raise Conflict(f"Version {draft.label} ist bereits veröffentlicht.")
    return draft


def draft_of_year(session: Session, *, region_id: int, year: int,
                  base: ConceptVersion | None = None) -> ConceptVersion:
    """The draft labelled ``year``, created if missing from ``base`` (default: the newest published version),
    starting with the base's texts. A published version of that label is returned as it is (callers check)."""
    existing = session.exec(select(ConceptVersion).where(ConceptVersion.region_id == region_id,
                                                         ConceptVersion.label == str(year))).first()
    if existing is not None:
        return existing
    base = base or latest_published(session=session, region_id=region_id)
    draft = create_version(session=session, region_id=region_id, label=str(year),
                           parent_id=base.id if base else None, note=f"Entwurf aus der Abfrage {year}")
    draft.sections = dict(base.sections) if base else {}
    return draft


def working_year(session: Session, *, region_id: int, today: dt.date) -> int:
    """The year staff work on when they name none: the open round's, else the newest draft's, else the year
    after the newest published version (at least this year)."""
    cycle = newest_cycle(session=session, region_id=region_id, open_only=True)
    if cycle is not None:
        return cycle.year
    versions = [v for v in list_versions(session=session, region_id=region_id) if v.label.isdigit()]
    drafts = [int(v.label) for v in versions if v.status == "draft"]
    if drafts:
        return max(drafts)
    published = [int(v.label) for v in versions if v.status == "published"]
    return max([today.year, *(year + 1 for year in published)])


def publish_draft(ctx: AppContext, *, approved_by: str, now: dt.datetime, label: str | None = None) -> ConceptVersion:
    """Publish the draft (the newest, or ``label``): from now on it is immutable and the next base."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        if label is not None:
            draft = find_version(session=session, region_id=region.id or 0, label=label)
        else:
            draft = session.exec(select(ConceptVersion).where(ConceptVersion.region_id == region.id,
                                                              ConceptVersion.status == "draft")
                                 .order_by(ConceptVersion.id.desc())).first()  # type: ignore[union-attr]
        if draft is None or draft.status != "draft":
            raise NoDraft(label)
        cycle = session.exec(select(Cycle).where(Cycle.draft_version_id == draft.id)).first()
        if cycle is None:
            raise NoRound(draft.label)
        session.refresh(cycle, with_for_update=True)  # no answer is taken into the round while it is published
        base = session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
        rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
        latest = {i.code: latest_answer(session=session, request_id=r.id or 0) for r, i in rows}
        if draft.built_from != _fingerprint(base, latest):
            raise DraftStale(draft.label)
        publish_version(session=session, version=draft, approved_by=approved_by, at=now)
        if cycle.state == "open":
            cycle.state = "published"  # the round ends with it: no more answers taken, no more reminders
        cancel_round_mail(session=session, cycle_id=cycle.id or 0)
        record_event(session=session, region_id=region.id, actor=f"staff:{approved_by}", action="version.published",
                     subject=draft.label)
        return draft


@dataclass
class PublishGate:
    """Whether the round behind a draft is still taking answers, and who has not answered yet."""

    year: int | None = None
    open_until: dt.date | None = None     # the last day returns are accepted (deadline + late days)
    not_answered: list[str] = field(default_factory=list)

    def waiting(self, today: dt.date) -> bool:
        return self.open_until is not None and today <= self.open_until and bool(self.not_answered)


def publish_gate(ctx: AppContext, *, label: str) -> PublishGate:
    """The round whose draft ``label`` is: until its deadline plus the late-return window is over and while
    institutions have not answered, publishing waits (staff may publish early on purpose)."""
    late = dt.timedelta(days=ctx.policy().accept_late_days)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        version = find_version(session=session, region_id=region.id or 0, label=label)
        cycle = session.exec(select(Cycle).where(Cycle.draft_version_id == version.id)).first()
        if cycle is None or cycle.state != "open":
            return PublishGate()
        rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
        return PublishGate(year=cycle.year, open_until=cycle.deadline + late,
                           not_answered=sorted(i.code for r, i in rows if r.answered_at is None and i.active))


@dataclass
class VersionDiff:
    from_label: str | None                   # None: the region's first concept
    to_label: str
    diff: ActivityDiff
    institutions: dict[str, str]             # code → name
    not_confirmed: list[str]                 # institutions whose entries were carried over unconfirmed
    before: list[Activity] = field(default_factory=list)  # the older version's activities


def version_pair(ctx: AppContext, *, from_label: str | None, to_label: str | None,
                 draft_only: bool = False) -> tuple[str | None, str]:
    """Defaults: from the newest published version to the newest draft (or, unless ``draft_only``, the
    newest version). The first label is None for a region's first concept (nothing to compare with)."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        versions = list_versions(session=session, region_id=region.id or 0)
        if to_label is None:
            drafts = [v for v in versions if v.status == "draft"]
            candidates = drafts if draft_only else (drafts or versions)
            to_label = candidates[-1].label if candidates else None
        if from_label is None:
            target = next((v for v in versions if v.label == to_label), None)
            parent = next((v for v in versions if target and v.id == target.parent_id), None)
            published = latest_published(session=session, region_id=region.id or 0)
            if parent is None and published is not None and published.label != to_label:
                parent = published
            from_label = parent.label if parent else None
    if to_label is None:
        raise NoDraft("no versions to compare")
    return from_label, to_label


def diff_versions(ctx: AppContext, *, from_label: str | None, to_label: str) -> VersionDiff:
    """What changed from ``from_label`` (None: nothing before, the first concept) to ``to_label``."""
    ending = ctx.catalogs().ending_statuses
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        old = find_version(session=session, region_id=region.id or 0, label=from_label) if from_label else None
        new = find_version(session=session, region_id=region.id or 0, label=to_label)
        before = list_activities(session=session, version_id=old.id if old else None)
        after = list_activities(session=session, version_id=new.id or 0)
        flags = activity_flags(session=session, version_id=new.id or 0)
        institutions = {i.code: i.name for i in session.exec(select(Institution)
                                                             .where(Institution.region_id == region.id)).all()}
    not_confirmed = sorted({a.institution_code for a in after if flags.get(a.key or "", (True, None))[1]
                            == NOT_CONFIRMED})
    missing = {a.key or "" for a in after if flags.get(a.key or "", (True, None))[1] == MISSING}
    changes = kept_missing(diff_activities(before, after, ending_statuses=ending), missing)
    return VersionDiff(from_label, to_label, changes, institutions, not_confirmed, before=before)


def version_status(ctx: AppContext, *, label: str) -> str | None:
    """"draft", "published", or None when there is no version with this label."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        version = session.exec(select(ConceptVersion).where(ConceptVersion.region_id == region.id,
                                                            ConceptVersion.label == label)).first()
        return version.status if version else None


def published_already(ctx: AppContext, *, year: int) -> bool:
    """The year's version is adopted: nothing of that round is rebuilt or approved again."""
    return version_status(ctx, label=str(year)) == "published"


def refresh_draft(ctx: AppContext, *, year: int, now: dt.datetime) -> DraftResult | None:
    """Rebuild the year's draft, unless its version is published already (then it stays as adopted)."""
    if published_already(ctx, year=year):
        return None
    return rebuild_draft(ctx, year=year, now=now)
