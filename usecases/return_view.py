"""What the institution sees about one of its returns (the change summary, notices or problems by row) and,
on its landing page, its activities as the agency has them now."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from core.activity import Activity, activity_from_dict
from core.diff import ActivityDiff, diff_activities
from core.problem import Problem, RowProblems, group_by_row, problem_row
from storage.database import session_scope
from storage.models import ConceptVersion, Request, Submission
from storage.requests import latest_answer, request_parts
from usecases.base_version import base_activities, current_activities
from usecases.context import AppContext
from usecases.returns import NOTICE, ROW_TITLE, WRONG_FILE, LinkInvalid


@dataclass
class SubmissionView:
    outcome: str
    filename: str
    received_at: dt.datetime
    base_label: str
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)  # of an accepted return: taken, worth a second look
    diff: ActivityDiff | None = None
    wrong_file: bool = False  # refused as not the institution's sheet of this round: one problem says so
    problem_groups: list[RowProblems] = field(default_factory=list)  # the problems by row, rows titled
    notice_groups: list[RowProblems] = field(default_factory=list)


def submission_view(ctx: AppContext, *, request_id: int, submission_id: int) -> SubmissionView:
    """A submission of this request only: another request's submission id is simply not found."""
    with session_scope(ctx.engine) as session:
        submission = session.get(Submission, submission_id)
        request = session.get(Request, request_id)
        if submission is None or request is None or submission.request_id != request.id:
            raise LinkInvalid
        cycle, institution, _ = request_parts(session=session, request=request)
        base = base_activities(ctx, session, cycle, institution)
        version = session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
        problems = [p for p in submission.problems if not p.get(NOTICE)]
        notices = [p for p in submission.problems if p.get(NOTICE)]
        view = SubmissionView(outcome=submission.outcome, filename=submission.filename,
                              received_at=submission.received_at, base_label=version.label if version else "",
                              problems=_stored(problems), notices=_stored(notices),
                              wrong_file=any(p.get(WRONG_FILE) for p in problems),
                              problem_groups=_grouped(problems), notice_groups=_grouped(notices))
        if submission.outcome in ("accepted", "no_changes"):
            activities: list[Activity] = [activity_from_dict(a) for a in submission.activities]
            view.diff = diff_activities(base, activities, ending_statuses=ctx.catalogs().ending_statuses)
        return view


def _stored(entries: list[dict[str, Any]]) -> list[Problem]:
    return [Problem(p.get("cell"), p.get("column"), str(p.get("message"))) for p in entries]


def _grouped(entries: list[dict[str, Any]]) -> list[RowProblems]:
    """The stored problems by row; a row's title is the one kept with its problems (none before issue 22:
    such a submission's problems stand as one group, as they were shown then)."""
    problems = _stored(entries)
    titles: dict[int, str] = {}
    for problem, entry in zip(problems, entries, strict=True):
        row = problem_row(problem)
        if row is not None and ROW_TITLE in entry:
            titles[row] = str(entry[ROW_TITLE])
    return group_by_row(problems, titles)


@dataclass(frozen=True)
class CurrentEntries:
    """The institution's activities as the agency has them now, and where that state comes from:
    ``answer`` its accepted return this round, ``confirmed`` its "no changes", ``concept`` the published
    concept the round started from, ``none`` nothing yet (a region's first round). ``as_of``: when the
    answer came or the concept was published (None if unknown). ``kept``: activities of the concept the
    answer left out without ending them: kept for now (DESIGN §5), so still listed."""

    activities: list[Activity]
    source: Literal["answer", "confirmed", "concept", "none"]
    as_of: dt.datetime | None
    base_label: str
    kept: list[Activity] = field(default_factory=list)


def current_entries(ctx: AppContext, *, request_id: int) -> CurrentEntries:
    """What the landing page lists: the latest accepted answer of this round, else the published concept
    (the same state the downloaded sheet is filled with)."""
    with session_scope(ctx.engine) as session:
        request = session.get(Request, request_id)
        if request is None:
            raise LinkInvalid
        cycle, institution, _ = request_parts(session=session, request=request)
        version = session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None
        label = version.label if version else ""
        answer = latest_answer(session=session, request_id=request.id or 0)
        base, kept = current_activities(ctx, session, request, cycle, institution)
        if answer is not None and answer.outcome == "accepted":
            return CurrentEntries(base, "answer", answer.received_at, label, kept)
        if answer is not None:
            return CurrentEntries(base, "confirmed", answer.received_at, label)
        if version is None:
            return CurrentEntries(base, "none" if not base else "concept", None, label)
        return CurrentEntries(base, "concept", version.published_at, label)
