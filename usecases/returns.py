"""Accepting a returned sheet or a "no changes" confirmation: one use case below the page, the CLI and flows.

Order of work (DESIGN §3, §10): keep the raw bytes first, read them in the sandbox, then record the
submission, its activities, the request's state, the receipt or refusal mail and the event in one
transaction: a return is recorded whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import asdict, dataclass, field
from typing import Literal

from sqlalchemy import update
from sqlmodel import Session, col

from core.activity import Activity, activity_key, activity_to_dict
from core.deadline import is_late
from core.diff import ActivityDiff, diff_activities
from core.filetype import FileRefused, Limits
from core.grid import Grid, GridError
from core.ownership import check_return, keys_of_returns
from core.problem import Problem, RowProblems, group_by_row, problem_row
from core.receipt import change_lines, change_summary
from core.sheet_check import Expected, SheetResult
from core.token import looks_like_token, token_hash
from storage.cycles import round_published
from storage.database import session_scope
from storage.events import record_event
from storage.filestore import StoredFile
from storage.models import Cycle, Institution, Region, ReplacedLink, Request, Submission
from storage.requests import (
    find_request_by_token_hash,
    latest_outcome,
    list_submissions,
    request_parts,
)
from usecases.base_version import base_activities, base_version_of, current_activities
from usecases.context import AppContext
from usecases.messages import received_text
from usecases.return_mail import (
    MAILED_PROBLEMS,
    addresses,
    closed,
    mailed_groups,
    open_until,
    queue_institution_mail,
    recipients_of,
)
from usecases.sandbox import read_grid_isolated
from usecases.sheets import personal_sheet, sheet_filename, sheet_years

NOTICE = "notice"    # the key that marks a stored notice among a submission's problems
WRONG_FILE = "wrong_file"  # marks the one stored problem of a file that is not the institution's sheet
ROW_TITLE = "activity"     # a stored problem's row: the title of the activity in it (to find the row)
MAILED_NOTICES = 50  # as many as the refusal mail lists problems


class LinkInvalid(Exception):
    """Unknown, expired or revoked link: every such case looks the same to the visitor."""


class LinkReplaced(LinkInvalid):
    """Staff replaced this link with a newer one (sent to the institution's contacts)."""


class CycleClosed(Exception):
    """The deadline has passed or staff closed the cycle."""


class RoundPublished(CycleClosed):
    """The round's version is adopted: nothing more is taken into it."""


@dataclass(frozen=True)
class LinkView:
    request_id: int
    year: int
    deadline: dt.date
    open: bool                  # returns are taken (not closed, not published)
    late: bool
    published: bool             # the round's version is adopted: the page says so, nothing more is taken
    open_until: dt.date         # the last day of the late period
    institution_code: str
    institution_name: str
    region_name: str
    agency_name: str
    agency_email: str
    agency_phone: str
    state: str
    answered_at: dt.datetime | None
    last_outcome: str | None


@dataclass
class ReturnResult:
    """``held``: came after the round's version was published; kept for staff, not taken into the round.
    ``recorded`` False: a dry run (``submission_id`` 0); ``recipients``: who gets (or would get) the mail."""

    outcome: Literal["accepted", "refused", "no_changes", "held"]
    submission_id: int
    institution_code: str
    year: int = 0
    recorded: bool = True
    recipients: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notices: list[Problem] = field(default_factory=list)  # taken as they are, worth a second look
    diff: ActivityDiff | None = None
    activities: list[Activity] = field(default_factory=list)
    missing: list[Activity] = field(default_factory=list)
    rows: int = 0  # activity rows the sheet held, also when it was refused (the `rows` of `--json`)
    # Refused because it is not the institution's sheet of this round (or no sheet of ours): the one
    # problem says so, the rows were not checked.
    wrong_file: bool = False
    row_titles: dict[int, str] = field(default_factory=dict)  # sheet row → activity title, to find a row

    def problem_groups(self) -> list[RowProblems]:
        """The problems by row of the sheet, each row named by its activity's title."""
        return group_by_row(self.problems, self.row_titles)


def resolve_link(ctx: AppContext, token: str, *, now: dt.datetime) -> LinkView:
    if not looks_like_token(token):
        raise LinkInvalid
    wanted = token_hash(token)
    with session_scope(ctx.engine) as session:
        request = find_request_by_token_hash(session=session, token_hash=wanted)
        if request is None or not hmac.compare_digest(request.token_hash or "", wanted):
            if session.get(ReplacedLink, wanted) is not None:
                raise LinkReplaced
            raise LinkInvalid
        if request.token_revoked_at is not None or (request.token_expires_at and request.token_expires_at < now):
            raise LinkInvalid
        cycle, institution, region = request_parts(session=session, request=request)
        if ctx.settings.region and region.code != ctx.settings.region:
            raise LinkInvalid  # another region's link on this region's page: nothing of it is shown
        outcome = latest_outcome(session=session, request_id=request.id or 0)
        published = round_published(session, cycle)
        return LinkView(
            request_id=request.id or 0, year=cycle.year, deadline=cycle.deadline,
            open=not published and not closed(ctx, cycle, now), late=is_late(cycle.deadline, now),
            published=published, open_until=open_until(ctx, cycle),
            institution_code=institution.code,
            institution_name=institution.name, region_name=region.name, agency_name=region.agency_name,
            agency_email=region.agency_email, agency_phone=region.agency_phone, state=request.state,
            answered_at=request.answered_at, last_outcome=outcome,
        )


def sheet_for_request(ctx: AppContext, *, request_id: int, now: dt.datetime) -> tuple[bytes, str]:
    """The personal workbook behind the link, pre-filled with the institution's latest state."""
    with session_scope(ctx.engine) as session:
        request = session.get(Request, request_id)
        if request is None:
            raise LinkInvalid
        cycle, institution, region = request_parts(session=session, request=request)
        base = base_version_of(session, cycle)
        # The kept ones too: so that the sheet shows what the agency has, and one can mark them „entfällt“.
        answered, kept = current_activities(ctx, session, request, cycle, institution)
        activities = [*answered, *kept]
        if request.state == "invited":
            request.state = "downloaded"
            record_event(session=session, region_id=region.id, actor=f"institution:{institution.code}",
                         action="sheet.downloaded", subject=institution.code, details={"year": cycle.year})
    data = personal_sheet(ctx, region=region, institution=institution, year=cycle.year,
                          base_label=base.label if base else "", deadline=cycle.deadline, activities=activities)
    return data, sheet_filename(region.code, cycle.year, institution.code)


def _returned_keys(session: Session, request: Request) -> set[str]:
    return keys_of_returns(s.activities for s in list_submissions(session=session, request_id=request.id or 0)
                           if s.outcome == "accepted")


def _assign_keys(session: Session, institution: Institution, activities: list[Activity]) -> list[Activity]:
    """New rows get stable IDs now, from the institution's counter, taken atomically."""
    new = [a for a in activities if not a.key]
    if not new:
        return activities
    result = session.execute(
        update(Institution).where(col(Institution.id) == institution.id)
        .values(last_activity_number=Institution.last_activity_number + len(new))
        .returning(Institution.last_activity_number)
    )
    last = int(result.scalar_one())
    numbers = iter(range(last - len(new) + 1, last + 1))
    return [a if a.key else Activity(**{**activity_to_dict(a), "key": activity_key(institution.code, next(numbers))})
            for a in activities]


def _load(session: Session, request_id: int) -> tuple[Request, Cycle, Institution, Region]:
    request = session.get(Request, request_id)
    if request is None or request.token_revoked_at is not None:
        raise LinkInvalid
    cycle, institution, region = request_parts(session=session, request=request)
    return request, cycle, institution, region


@dataclass(frozen=True)
class _Upload:
    """A returned file as received: its name, where its raw bytes are kept, how and when it came.

    ``stored`` None: a dry run, nothing is kept or recorded. ``notify``: the institution gets the receipt or
    the refusal by mail (the page always; `fko ingest` only when staff ask); ``also_to``: the sender of a
    mailed sheet gets it too."""

    filename: str
    stored: StoredFile | None
    source: str
    now: dt.datetime
    notify: bool = True
    also_to: str = ""

    def submission(self, request: Request, **fields: object) -> Submission:
        stored = self.stored
        return Submission(request_id=request.id or 0, received_at=self.now, source=self.source,
                          filename=self.filename[:255], raw_sha256=stored.sha256 if stored else None,
                          raw_path=str(stored.path) if stored else None, size=stored.size if stored else 0,
                          **fields)


def accept_return(ctx: AppContext, *, request_id: int, data: bytes, filename: str, source: str, now: dt.datetime,
                  enforce_deadline: bool = True, limits: Limits | None = None, grid: Grid | None = None,
                  notify: bool = True, dry_run: bool = False, also_to: str = "") -> ReturnResult:
    """Check a returned workbook and record it, accepted or refused; the raw bytes are always kept.

    Once the round's version is published the file is kept and recorded as ``held`` (for staff, for the
    next round), not checked, not taken into the round, and no mail goes out.
    ``grid``: the file already read (in the sandbox) by a caller that had to look into it first.
    ``dry_run``: decide only; nothing is stored, recorded or sent.
    """
    stored = None if dry_run else ctx.files.put(data, kind="upload")  # before parsing can go wrong
    upload = _Upload(filename, stored, source, now, notify, also_to)
    with session_scope(ctx.engine) as session:
        request, cycle, institution, region = _load(session, request_id)
        published = round_published(session, cycle)
        if not published and enforce_deadline and closed(ctx, cycle, now):
            raise CycleClosed
        base = base_activities(ctx, session, cycle, institution)
        returned_keys = _returned_keys(session, request)
        recipients = addresses(recipients_of(session, institution))
    if published:
        if dry_run:
            return ReturnResult("held", 0, institution.code, year=cycle.year, recorded=False)
        with session_scope(ctx.engine) as session:
            return _record_held(session, request_id, upload)
    try:
        if grid is None:
            grid = read_grid_isolated(data, templates_dir=ctx.templates_dir, limits=limits or Limits())
        expected = Expected(region_code=region.code, cycle_year=cycle.year, secret=ctx.settings.secret(),
                            institution_code=institution.code, years=sheet_years(ctx, region, cycle.year))
        result = check_return(grid, spec=ctx.spec(), catalogs=ctx.catalogs(), expected=expected, base=base,
                              returned_keys=returned_keys)
    except (FileRefused, GridError) as exc:
        result = SheetResult(institution_code=institution.code, problems=[Problem(None, None, str(exc))])
    if dry_run:
        return _planned(ctx, result, base, institution.code, cycle.year,
                        ([*recipients, *([also_to] if also_to and also_to not in recipients else [])]
                         if notify else []))
    with session_scope(ctx.engine) as session:
        if round_published(session, _load(session, request_id)[1]):  # published while the file was read
            return _record_held(session, request_id, upload)
        if not result.ok:
            return _record_refused(ctx, session, request_id, upload, result.problems, rows=len(result.activities),
                                   wrong_file=result.wrong_file, row_titles=result.row_titles)
        return _record_accepted(ctx, session, request_id, upload, result, base)


def _planned(ctx: AppContext, result: SheetResult, base: list[Activity], code: str, year: int,
             recipients: list[str]) -> ReturnResult:
    """What recording the checked file would do (a dry run): new rows are shown without their future IDs."""
    if not result.ok:
        return ReturnResult("refused", 0, code, year=year, recorded=False, recipients=recipients,
                            problems=result.problems, rows=len(result.activities), wrong_file=result.wrong_file,
                            row_titles=result.row_titles)
    diff = diff_activities(base, result.activities, ending_statuses=ctx.catalogs().ending_statuses)
    return ReturnResult("accepted", 0, code, year=year, recorded=False, recipients=recipients, diff=diff,
                        activities=result.activities, missing=result.missing, rows=len(result.activities),
                        notices=result.notices, row_titles=result.row_titles)


def _record_held(session: Session, request_id: int, upload: _Upload) -> ReturnResult:
    """After publication: the file is kept and listed for staff; the request, the draft and the mail stay as
    they are (the page tells the institution; staff answer a mailed sheet themselves)."""
    request, cycle, institution, region = _load(session, request_id)
    submission = upload.submission(request, outcome="held")
    session.add(submission)
    session.flush()
    record_event(session=session, region_id=region.id, actor=_actor(upload, institution), action="return.held",
                 subject=institution.code, details={"submission": submission.id, "year": cycle.year,
                                                    "filename": upload.filename})
    return ReturnResult("held", submission.id or 0, institution.code, year=cycle.year)


def stored_problem(problem: Problem, row_titles: dict[int, str], **marks: bool) -> dict[str, object]:
    """A problem (or notice) as a submission keeps it: with the title of its row's activity, if any."""
    row = problem_row(problem)
    entry: dict[str, object] = {**problem.as_dict(), **{k: True for k, v in marks.items() if v}}
    if row is not None and row in row_titles:
        entry[ROW_TITLE] = row_titles[row]
    return entry


def _record_refused(ctx: AppContext, session: Session, request_id: int, upload: _Upload,
                    problems: list[Problem], *, rows: int = 0, wrong_file: bool = False,
                    row_titles: dict[int, str] | None = None) -> ReturnResult:
    request, cycle, institution, region = _load(session, request_id)
    titles = row_titles or {}
    submission = upload.submission(request, outcome="refused", problems=[
        stored_problem(p, titles, **{WRONG_FILE: wrong_file}) for p in problems])
    session.add(submission)
    session.flush()
    if request.answered_at is None:
        request.state = "refused"
    recipients = queue_institution_mail(
        ctx, session, kind="refusal", submission=submission, request=request, cycle=cycle,
        institution=institution, region=region, now=upload.now,
        context={"filename": upload.filename, "received_text": received_text(upload.now),
                 "problems": [p.as_dict() for p in problems[:MAILED_PROBLEMS]], "wrong_file": wrong_file,
                 "problem_count": len(problems), "problem_groups": mailed_groups(group_by_row(problems, titles)),
                 "submission_id": submission.id},
        also_to=upload.also_to) if upload.notify else []
    record_event(session=session, region_id=region.id, actor=_actor(upload, institution), action="return.refused",
                 subject=institution.code, details={"submission": submission.id, "year": cycle.year,
                                                    "problems": len(problems), "notified": bool(recipients)})
    return ReturnResult("refused", submission.id or 0, institution.code, year=cycle.year, recipients=recipients,
                        problems=problems, rows=rows, wrong_file=wrong_file, row_titles=titles)


def _record_accepted(ctx: AppContext, session: Session, request_id: int, upload: _Upload, result: SheetResult,
                     base: list[Activity]) -> ReturnResult:
    request, cycle, institution, region = _load(session, request_id)
    activities = _assign_keys(session, institution, result.activities)
    diff = diff_activities(base, activities, ending_statuses=ctx.catalogs().ending_statuses)
    base_version = base_version_of(session, cycle)
    # An accepted return has no problems: its list keeps the notices, each marked as one (NOTICE).
    submission = upload.submission(request, outcome="accepted", changes=diff.counts(),
                                   problems=[stored_problem(n, result.row_titles, **{NOTICE: True})
                                             for n in result.notices],
                                   activities=[activity_to_dict(a) for a in activities])
    session.add(submission)
    session.flush()
    request.state, request.answered_at = "answered", upload.now
    recipients = queue_institution_mail(
        ctx, session, kind="receipt", submission=submission, request=request, cycle=cycle,
        institution=institution, region=region, now=upload.now, context={
            "filename": upload.filename, "received_text": received_text(upload.now),
            "changes": diff.counts(), "change_lines": change_lines(diff, ctx.spec().field_labels()),
            "summary": [asdict(line) for line in change_summary(diff, ctx.spec().field_labels())],
            "base_label": base_version.label if base_version else "",
            "notices": [n.as_dict() for n in result.notices[:MAILED_NOTICES]]}, also_to=upload.also_to) \
        if upload.notify else []
    record_event(session=session, region_id=region.id, actor=_actor(upload, institution), action="return.accepted",
                 subject=institution.code, details={"submission": submission.id, "year": cycle.year,
                                                    "notified": bool(recipients), **diff.counts()})
    return ReturnResult("accepted", submission.id or 0, institution.code, year=cycle.year, recipients=recipients,
                        diff=diff, activities=activities, missing=result.missing, rows=len(activities),
                        notices=result.notices, row_titles=result.row_titles)


def _actor(upload: _Upload, institution: Institution) -> str:
    """Who handed the file in: the institution through its link or by mail (its signed sheet), else staff."""
    return f"institution:{institution.code}" if upload.source in ("portal", "mail") else "staff"


def confirm_no_changes(ctx: AppContext, *, request_id: int, now: dt.datetime, source: str = "portal",
                       enforce_deadline: bool = True) -> ReturnResult:
    """The one-click answer: this year nothing changed. Replaces an earlier return, like an upload does."""
    with session_scope(ctx.engine) as session:
        request, cycle, institution, region = _load(session, request_id)
        if round_published(session, cycle):
            raise RoundPublished
        if enforce_deadline and closed(ctx, cycle, now):
            raise CycleClosed
        base = base_activities(ctx, session, cycle, institution)
        base_version = base_version_of(session, cycle)
        submission = Submission(request_id=request.id or 0, received_at=now, source=source, outcome="no_changes",
                                changes={"new": 0, "changed": 0, "ended": 0, "unchanged": len(base), "missing": 0},
                                activities=[activity_to_dict(a) for a in base])
        session.add(submission)
        session.flush()
        request.state, request.answered_at = "answered", now
        recipients = queue_institution_mail(
            ctx, session, kind="no_changes", submission=submission, request=request, cycle=cycle,
            institution=institution, region=region, now=now, context={
                "received_text": received_text(now), "base_label": base_version.label if base_version else ""})
        record_event(session=session, region_id=region.id, actor=f"institution:{institution.code}",
                     action="return.no_changes", subject=institution.code,
                     details={"submission": submission.id, "year": cycle.year})
        return ReturnResult("no_changes", submission.id or 0, institution.code, year=cycle.year,
                            recipients=recipients, activities=base, rows=len(base))
