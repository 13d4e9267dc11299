"""Approving the draft from the staff area (for agencies without the Prefect dashboard): what is to be
approved, approve (publish, then the documents again) or reject with a comment. Never publishes twice."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlmodel import col, select

from core.dates import BERLIN
from core.diff import CHANGE_LABELS
from storage.database import session_scope
from storage.events import record_event
from storage.models import EventLog
from storage.regions import get_region
from usecases.context import AppContext
from usecases.versions import (
    DraftStale,
    NoDraft,
    NoRound,
    current_drafts,
    diff_versions,
    publish_draft,
    publish_gate,
    version_pair,
)


@dataclass
class ApprovalView:
    label: str | None                   # the draft to approve, None when there is none
    against: str = ""                   # "gegenüber Version 2025" or "erste Fassung"
    counts: list[tuple[str, int]] = field(default_factory=list)
    not_answered: list[str] = field(default_factory=list)
    open_until: dt.date | None = None   # the round still takes answers until then (early approval needed)
    rejected: str = ""                  # the last rejection of this draft: who, when, the comment


def approval_view(ctx: AppContext, *, now: dt.datetime) -> ApprovalView:
    current_drafts(ctx, now=now)  # what staff see is the draft as it is now
    try:
        old, new = version_pair(ctx, from_label=None, to_label=None, draft_only=True)
    except NoDraft:
        return ApprovalView(None)
    counts = diff_versions(ctx, from_label=old, to_label=new).diff.counts()
    gate = publish_gate(ctx, label=new)
    waiting = gate.waiting(now.astimezone(BERLIN).date())
    return ApprovalView(new, f"gegenüber Version {old}" if old else "erste Fassung",
                        [(CHANGE_LABELS[k], counts[k]) for k in CHANGE_LABELS], gate.not_answered,
                        gate.open_until if waiting else None, _last_rejection(ctx, new))


def _last_rejection(ctx: AppContext, label: str) -> str:
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        event = session.exec(select(EventLog).where(EventLog.region_id == region.id,
                                                    EventLog.action == "version.rejected", EventLog.subject == label)
                             .order_by(col(EventLog.id).desc())).first()
        if event is None:
            return ""
        return (f"{event.actor.removeprefix('staff:')} am {event.at.astimezone(BERLIN):%d.%m.%Y %H:%M}: "
                f"„{event.details.get('comment') or 'ohne Anmerkung'}“")


class ApprovalRefused(Exception):
    """The approval cannot be carried out; the message is German."""


def approve(ctx: AppContext, *, label: str, staff: str, now: dt.datetime, early: bool) -> str:
    """Publishes draft ``label`` (the one staff looked at); returns the label."""
    view = approval_view(ctx, now=now)
    if view.label != label:
        raise ApprovalRefused(f"Version {label} ist kein Entwurf mehr (schon veröffentlicht?); nichts geändert.")
    if view.open_until is not None and not early:
        raise ApprovalRefused(f"Die Abfrage nimmt noch bis {view.open_until:%d.%m.%Y} Rückmeldungen an. Vorzeitig "
                              "nur mit dem Häkchen „vorzeitig freigeben“.")
    try:
        return publish_draft(ctx, approved_by=staff, now=now, label=label).label
    except NoDraft:
        raise ApprovalRefused(f"Version {label} ist schon veröffentlicht; nichts geändert.") from None
    except NoRound:
        raise ApprovalRefused(f"Der Entwurf {label} gehört zu keiner Abfrage; nichts veröffentlicht.") from None
    except DraftStale:
        current_drafts(ctx, now=now)
        raise ApprovalRefused("Inzwischen kam eine Rückmeldung; der Entwurf ist aktualisiert. Bitte die Änderungen "
                              "ansehen und erneut freigeben. Nichts veröffentlicht.") from None


def reject(ctx: AppContext, *, label: str, staff: str, comment: str) -> None:
    """The draft stays; the comment is recorded (and shown with the version's history)."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        record_event(session=session, region_id=region.id, actor=f"staff:{staff}", action="version.rejected",
                     subject=label, details={"comment": comment.strip()[:2000]})
