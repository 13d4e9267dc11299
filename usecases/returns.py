"""Accepting a returned sheet or a "no changes" confirmation: one use case below the page, the CLI and flows.

Order of work (DESIGN §3, §10): keep the raw bytes first, read them in the sandbox, then record the
submission, its activities, the request's state, the receipt or refusal mail and the event in one
transaction: a return is recorded whole or not at all.
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import update
from sqlmodel import Session, col

from core.activity import Activity, activity_from_dict, activity_key, activity_to_dict
from core.deadline import is_late, returns_closed
from core.diff import ActivityDiff, diff_activities
from core.filetype import FileRefused, Limits
from core.grid import Grid, GridError
from core.ownership import check_return, keys_of_returns
from core.problem import Problem
from core.receipt import change_lines
from core.sheet_check import Expected, SheetResult, check_meta
from core.token import looks_like_token, token_hash
from storage.concepts import list_activities
from storage.cycles import cycle_of_year
from storage.database import session_scope
from storage.errors import NotFound
from storage.events import record_event
from storage.filestore import StoredFile
from storage.institutions import contacts_of, get_institution
from storage.models import ConceptVersion, Cycle, Institution, Region, Request, Submission
from storage.regions import get_region
from storage.requests import (
    find_request_by_token_hash,
    latest_answer,
    list_submissions,
    request_for,
    request_parts,
)
from usecases.context import AppContext
from usecases.cycle import personal_link
from usecases.messages import base_context, institution_mail, pick_recipients, received_text
from usecases.outbox import queue_message
from usecases.sandbox import read_grid_isolated
from usecases.sheets import personal_sheet, sheet_filename


class LinkInvalid(Exception):
    """Unknown, expired or revoked link: every such case looks the same to the visitor."""


class CycleClosed(Exception):
    """The deadline has passed or staff closed the cycle."""


@dataclass(frozen=True)
class LinkView:
    request_id: int
    year: int
    deadline: dt.date
    open: bool
    late: bool
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
    outcome: Literal["accepted", "refused", "no_changes"]
    submission_id: int
    institution_code: str
    problems: list[Problem] = field(default_factory=list)
    diff: ActivityDiff | None = None
    activities: list[Activity] = field(default_factory=list)
    missing: list[Activity] = field(default_factory=list)
    rows: int = 0  # activity rows the sheet held, also when it was refused (the `rows` of `--json`)


def _closed(ctx: AppContext, cycle: Cycle, now: dt.datetime) -> bool:
    return returns_closed(cycle_open=cycle.state == "open", deadline=cycle.deadline, now=now,
                          late_days=ctx.policy().accept_late_days)


def resolve_link(ctx: AppContext, token: str, *, now: dt.datetime) -> LinkView:
    if not looks_like_token(token):
        raise LinkInvalid
    wanted = token_hash(token)
    with session_scope(ctx.engine) as session:
        request = find_request_by_token_hash(session=session, token_hash=wanted)
        if request is None or not hmac.compare_digest(request.token_hash or "", wanted):
            raise LinkInvalid
        if request.token_revoked_at is not None or (request.token_expires_at and request.token_expires_at < now):
            raise LinkInvalid
        cycle, institution, region = request_parts(session=session, request=request)
        answer = latest_answer(session=session, request_id=request.id or 0)
        return LinkView(
            request_id=request.id or 0, year=cycle.year, deadline=cycle.deadline,
            open=not _closed(ctx, cycle, now), late=is_late(cycle.deadline, now),
            institution_code=institution.code,
            institution_name=institution.name, region_name=region.name, agency_name=region.agency_name,
            agency_email=region.agency_email, agency_phone=region.agency_phone, state=request.state,
            answered_at=request.answered_at, last_outcome=answer.outcome if answer else None,
        )


def _base_version(session: Session, cycle: Cycle) -> ConceptVersion | None:
    """The version the round started from; None in a region's first round."""
    return session.get(ConceptVersion, cycle.base_version_id) if cycle.base_version_id else None


def base_activities(session: Session, cycle: Cycle, institution: Institution) -> list[Activity]:
    return list_activities(session=session, version_id=cycle.base_version_id, institution_id=institution.id)


def _current_activities(session: Session, request: Request, cycle: Cycle, institution: Institution) -> list[Activity]:
    """What the institution last told us: its latest accepted return, else the base version."""
    answer = latest_answer(session=session, request_id=request.id or 0)
    if answer is not None and answer.outcome == "accepted":
        return [activity_from_dict(a) for a in answer.activities]
    return base_activities(session, cycle, institution)


def sheet_for_request(ctx: AppContext, *, request_id: int, now: dt.datetime) -> tuple[bytes, str]:
    """The personal workbook behind the link, pre-filled with the institution's latest state."""
    with session_scope(ctx.engine) as session:
        request = session.get(Request, request_id)
        if request is None:
            raise LinkInvalid
        cycle, institution, region = request_parts(session=session, request=request)
        base = _base_version(session, cycle)
        activities = _current_activities(session, request, cycle, institution)
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


def _queue_institution_mail(ctx: AppContext, session: Session, *, kind: str, submission: Submission,
                            request: Request, cycle: Cycle, institution: Institution, region: Region,
                            context: dict[str, object], now: dt.datetime) -> None:
    contacts = contacts_of(session=session, institution_id=institution.id or 0)
    recipients = pick_recipients(contacts, ("primary", "deputy", "head"), ("deputy",))
    if recipients is None:
        return  # nobody reachable: staff see it in the institution list
    key = f"{region.code}:{cycle.year}:{institution.code}:{kind}:{submission.id}"
    composed = institution_mail(ctx, kind=kind, key=key, region=region, institution=institution,
                                recipients=recipients, now=now, context={
                                    **base_context(region, year=cycle.year, deadline=cycle.deadline),
                                    "link": personal_link(ctx, request), **context})
    to, cc = recipients.addresses
    queue_message(ctx, session, key=key, kind=kind, composed=composed, to=to, cc=cc, cycle_id=cycle.id,
                  institution_id=institution.id)


@dataclass(frozen=True)
class _Upload:
    """A returned file as received: its name, where its raw bytes are kept, how and when it came."""

    filename: str
    stored: StoredFile
    source: str
    now: dt.datetime

    def submission(self, request: Request, **fields: object) -> Submission:
        return Submission(request_id=request.id or 0, received_at=self.now, source=self.source,
                          filename=self.filename[:255], raw_sha256=self.stored.sha256, raw_path=str(self.stored.path),
                          size=self.stored.size, **fields)


def accept_return(ctx: AppContext, *, request_id: int, data: bytes, filename: str, source: str, now: dt.datetime,
                  enforce_deadline: bool = True, limits: Limits | None = None, grid: Grid | None = None,
                  ) -> ReturnResult:
    """Check a returned workbook and record it, accepted or refused; the raw bytes are always kept.

    ``grid``: the file already read (in the sandbox) by a caller that had to look into it first.
    """
    upload = _Upload(filename, ctx.files.put(data, kind="upload"), source, now)  # before parsing can go wrong
    with session_scope(ctx.engine) as session:
        request, cycle, institution, region = _load(session, request_id)
        if enforce_deadline and _closed(ctx, cycle, now):
            raise CycleClosed
        base = base_activities(session, cycle, institution)
        returned_keys = _returned_keys(session, request)
    try:
        if grid is None:
            grid = read_grid_isolated(data, templates_dir=ctx.templates_dir, limits=limits or Limits())
        expected = Expected(region_code=region.code, cycle_year=cycle.year, secret=ctx.settings.secret(),
                            institution_code=institution.code)
        result = check_return(grid, spec=ctx.spec(), catalogs=ctx.catalogs(), expected=expected, base=base,
                              returned_keys=returned_keys)
    except (FileRefused, GridError) as exc:
        result = SheetResult(institution_code=institution.code, problems=[Problem(None, None, str(exc))])
    with session_scope(ctx.engine) as session:
        if not result.ok:
            return _record_refused(ctx, session, request_id, upload, result.problems, rows=len(result.activities))
        return _record_accepted(ctx, session, request_id, upload, result, base)


def _record_refused(ctx: AppContext, session: Session, request_id: int, upload: _Upload,
                    problems: list[Problem], *, rows: int = 0) -> ReturnResult:
    request, cycle, institution, region = _load(session, request_id)
    submission = upload.submission(request, outcome="refused", problems=[p.as_dict() for p in problems])
    session.add(submission)
    session.flush()
    if request.answered_at is None:
        request.state = "refused"
    _queue_institution_mail(ctx, session, kind="refusal", submission=submission, request=request, cycle=cycle,
                            institution=institution, region=region, now=upload.now,
                            context={"filename": upload.filename, "received_text": received_text(upload.now),
                                     "problems": [p.as_dict() for p in problems[:50]]})
    record_event(session=session, region_id=region.id, actor=_actor(upload, institution), action="return.refused",
                 subject=institution.code, details={"submission": submission.id, "year": cycle.year,
                                                    "problems": len(problems)})
    return ReturnResult("refused", submission.id or 0, institution.code, problems=problems, rows=rows)


def _record_accepted(ctx: AppContext, session: Session, request_id: int, upload: _Upload, result: SheetResult,
                     base: list[Activity]) -> ReturnResult:
    request, cycle, institution, region = _load(session, request_id)
    activities = _assign_keys(session, institution, result.activities)
    diff = diff_activities(base, activities, ending_statuses=ctx.catalogs().ending_statuses)
    base_version = _base_version(session, cycle)
    submission = upload.submission(request, outcome="accepted", changes=diff.counts(),
                                   activities=[activity_to_dict(a) for a in activities])
    session.add(submission)
    session.flush()
    request.state, request.answered_at = "answered", upload.now
    _queue_institution_mail(ctx, session, kind="receipt", submission=submission, request=request, cycle=cycle,
                            institution=institution, region=region, now=upload.now, context={
                                "filename": upload.filename, "received_text": received_text(upload.now),
                                "changes": diff.counts(), "change_lines": change_lines(diff, ctx.spec().field_labels()),
                                "base_label": base_version.label if base_version else ""})
    record_event(session=session, region_id=region.id, actor=_actor(upload, institution), action="return.accepted",
                 subject=institution.code, details={"submission": submission.id, "year": cycle.year, **diff.counts()})
    return ReturnResult("accepted", submission.id or 0, institution.code, diff=diff, activities=activities,
                        missing=result.missing, rows=len(activities))


def _actor(upload: _Upload, institution: Institution) -> str:
    return f"institution:{institution.code}" if upload.source == "portal" else "staff"


def confirm_no_changes(ctx: AppContext, *, request_id: int, now: dt.datetime, source: str = "portal",
                       enforce_deadline: bool = True) -> ReturnResult:
    """The one-click answer: this year nothing changed. Replaces an earlier return, like an upload does."""
    with session_scope(ctx.engine) as session:
        request, cycle, institution, region = _load(session, request_id)
        if enforce_deadline and _closed(ctx, cycle, now):
            raise CycleClosed
        base = base_activities(session, cycle, institution)
        base_version = _base_version(session, cycle)
        submission = Submission(request_id=request.id or 0, received_at=now, source=source, outcome="no_changes",
                                changes={"new": 0, "changed": 0, "ended": 0, "unchanged": len(base), "missing": 0},
                                activities=[activity_to_dict(a) for a in base])
        session.add(submission)
        session.flush()
        request.state, request.answered_at = "answered", now
        _queue_institution_mail(ctx, session, kind="no_changes", submission=submission, request=request, cycle=cycle,
                                institution=institution, region=region, now=now, context={
                                    "received_text": received_text(now),
                                    "base_label": base_version.label if base_version else ""})
        record_event(session=session, region_id=region.id, actor=f"institution:{institution.code}",
                     action="return.no_changes", subject=institution.code,
                     details={"submission": submission.id, "year": cycle.year})
        return ReturnResult("no_changes", submission.id or 0, institution.code, activities=base, rows=len(base))


class NotIngestible(Exception):
    """A file that cannot be assigned to an invited institution; ``str(exc)`` says why, in German."""


def ingest_file(ctx: AppContext, *, data: bytes, filename: str, source: str, year: int, now: dt.datetime,
                institution_code: str | None = None, limits: Limits | None = None) -> ReturnResult:
    """A return that came without a personal link (by mail, into the drop folder, through the CLI).

    Its institution is ``institution_code`` or the one the signed ``_meta`` sheet names; the file is read
    once, then recorded like an upload (also after the deadline: staff accept late returns).
    """
    grid: Grid | None = None
    try:
        grid = read_grid_isolated(data, templates_dir=ctx.templates_dir, limits=limits or Limits())
    except (FileRefused, GridError):
        grid = None  # recorded as refused below, if we know whose file it is
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        code = institution_code.upper() if institution_code else None
        if code is None and grid is not None:
            meta, _ = check_meta(grid, ctx.spec(), Expected(region.code, year, ctx.settings.secret()))
            code = meta.institution if meta else None
        if code is None:
            raise NotIngestible("Die Datei nennt keine Institution (Blatt _meta fehlt oder ist verändert). "
                                "Bitte die Institution angeben.")
        cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year)
        if cycle is None:
            raise NotIngestible(f"Es gibt keine Abfrage {year}. `fko cycle open --year {year}` eröffnet sie.")
        try:
            institution = get_institution(session=session, region_id=region.id or 0, code=code)
        except NotFound:
            raise NotIngestible(f"Es gibt keine Institution mit dem Kürzel „{code}“.") from None
        request = request_for(session=session, cycle_id=cycle.id or 0, institution_id=institution.id or 0)
        if request is None:
            raise NotIngestible(f"{code} ist in der Abfrage {year} nicht eingeladen.")
        request_id = request.id or 0
    return accept_return(ctx, request_id=request_id, data=data, filename=filename, source=source, now=now,
                         enforce_deadline=False, limits=limits, grid=grid)
