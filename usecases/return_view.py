"""What the institution sees about one of its returns: the change summary (and notices) or the problems."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from core.activity import Activity, activity_from_dict
from core.diff import ActivityDiff, diff_activities
from core.problem import Problem
from storage.database import session_scope
from storage.models import ConceptVersion, Request, Submission
from storage.requests import request_parts
from usecases.context import AppContext
from usecases.returns import NOTICE, LinkInvalid, base_activities


@dataclass
class SubmissionView:
    outcome: str
    filename: str
    received_at: dt.datetime
    base_label: str
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)  # of an accepted return: taken, worth a second look
    diff: ActivityDiff | None = None


def submission_view(ctx: AppContext, *, request_id: int, submission_id: int) -> SubmissionView:
    """A submission of this request only: another request's submission id is simply not found."""
    with session_scope(ctx.engine) as session:
        submission = session.get(Submission, submission_id)
        request = session.get(Request, request_id)
        if submission is None or request is None or submission.request_id != request.id:
            raise LinkInvalid
        cycle, institution, _ = request_parts(session=session, request=request)
        base = base_activities(session, cycle, institution)
        version = session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
        view = SubmissionView(outcome=submission.outcome, filename=submission.filename,
                              received_at=submission.received_at, base_label=version.label if version else "",
                              problems=_stored(submission.problems, notices=False),
                              notices=_stored(submission.problems, notices=True))
        if submission.outcome in ("accepted", "no_changes"):
            activities: list[Activity] = [activity_from_dict(a) for a in submission.activities]
            view.diff = diff_activities(base, activities, ending_statuses=ctx.catalogs().ending_statuses)
        return view


def _stored(entries: list[dict[str, Any]], *, notices: bool) -> list[Problem]:
    """The stored problems, or the stored notices (marked NOTICE) of an accepted return."""
    return [Problem(p.get("cell"), p.get("column"), str(p.get("message")))
            for p in entries if bool(p.get(NOTICE)) is notices]
