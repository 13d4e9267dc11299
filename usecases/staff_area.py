"""What the staff area shows and does: one institution's history, the raw uploads, the versions' documents,
and the steps staff take by hand (a new link, an answer by phone, a phone task done)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlmodel import Session, col, select

from core.dates import BERLIN, short_date
from storage.concepts import find_version, list_versions
from storage.cycles import newest_cycle
from storage.database import session_scope
from storage.errors import NotFound as StorageNotFound
from storage.events import record_event
from storage.institutions import get_institution
from storage.models import EventLog, OutboundMessage, Request, Submission
from storage.regions import get_region
from storage.requests import request_for, request_parts
from usecases.context import AppContext
from usecases.cycle import renew_link
from usecases.outbox import KIND_LABELS
from usecases.returns import confirm_no_changes
from usecases.status import ACTION_LABELS, SOURCE_LABELS

OUTCOME_LABELS = {"accepted": "angenommen", "refused": "abgelehnt", "no_changes": "keine Änderungen",
                  "held": "nach der Veröffentlichung, aufbewahrt"}
MAIL_STATES = {"pending": "wartet auf Versand", "sent": "versandt", "failed": "Versand fehlgeschlagen",
               "refused": "Adresse abgewiesen", "cancelled": "nicht mehr nötig"}
STAFF_ACTIONS = {**ACTION_LABELS, "reminder.phone_done": "Telefonat erledigt",
                 "return.by_phone": "Rückmeldung per Telefon: keine Änderungen"}


class NotFound(LookupError):
    """No such institution, upload, version or document (the page answers 404)."""


def _when(moment: dt.datetime | None) -> str:
    return moment.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") if moment else ""


@dataclass
class InstitutionHistory:
    code: str
    name: str
    year: int | None
    submissions: list[dict[str, object]] = field(default_factory=list)
    events: list[dict[str, str]] = field(default_factory=list)
    mails: list[dict[str, str]] = field(default_factory=list)


def institution_history(ctx: AppContext, *, code: str) -> InstitutionHistory:
    """Uploads (with their problems), what happened, and the mails of the newest round, newest first."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        try:
            institution = get_institution(session=session, region_id=region.id or 0, code=code)
        except StorageNotFound as exc:
            raise NotFound(code) from exc
        cycle = newest_cycle(session=session, region_id=region.id or 0)
        history = InstitutionHistory(institution.code, institution.name, cycle.year if cycle else None)
        request = request_for(session=session, cycle_id=cycle.id or 0, institution_id=institution.id or 0) \
            if cycle else None
        if request is not None:
            for s in session.exec(select(Submission).where(Submission.request_id == request.id)
                                  .order_by(col(Submission.received_at).desc())).all():
                history.submissions.append({
                    "id": s.id, "at": _when(s.received_at), "source": SOURCE_LABELS.get(s.source, s.source),
                    "outcome": OUTCOME_LABELS.get(s.outcome, s.outcome), "filename": s.filename,
                    "has_file": bool(s.raw_sha256),
                    "problems": [" ".join(x for x in (p.get("cell"), p.get("message")) if x) for p in s.problems]})
        for event in session.exec(select(EventLog).where(EventLog.region_id == region.id,
                                                         EventLog.subject == institution.code)
                                  .order_by(col(EventLog.id).desc()).limit(200)).all():
            actor = event.actor.removeprefix("staff:") if event.actor.startswith("staff:") else {
                "system": "fko", "staff": "Verwaltung"}.get(event.actor, event.actor)
            history.events.append({"at": _when(event.at), "what": STAFF_ACTIONS.get(event.action, event.action),
                                   "actor": actor})
        if cycle is not None:
            for m in session.exec(select(OutboundMessage).where(OutboundMessage.institution_id == institution.id,
                                                                OutboundMessage.cycle_id == cycle.id)
                                  .order_by(col(OutboundMessage.id).desc())).all():
                history.mails.append({"at": _when(m.created_at), "kind": KIND_LABELS.get(m.kind, m.kind),
                                      "to": m.recipient, "state": MAIL_STATES.get(m.state, m.state)})
        return history


def _request_of(ctx: AppContext, session, code: str):  # type: ignore[no-untyped-def]
    region = get_region(session=session, code=ctx.settings.region)
    try:
        institution = get_institution(session=session, region_id=region.id or 0, code=code)
    except StorageNotFound as exc:
        raise NotFound(code) from exc
    cycle = newest_cycle(session=session, region_id=region.id or 0)
    request = request_for(session=session, cycle_id=cycle.id or 0, institution_id=institution.id or 0) \
        if cycle else None
    if cycle is None or request is None:
        raise NotFound(code)
    return region, cycle, institution, request


def send_new_link(ctx: AppContext, *, code: str, staff: str, now: dt.datetime) -> None:
    """The old personal link stops working; the contacts get a new invitation (through the outbox)."""
    with session_scope(ctx.engine) as session:
        region, cycle, _, _ = _request_of(ctx, session, code)
        year = cycle.year
        record_event(session=session, region_id=region.id, actor=f"staff:{staff}", action="staff.new_link",
                     subject=code, details={"year": year})
    renew_link(ctx, year=year, institution_code=code, now=now)


def answer_by_phone(ctx: AppContext, *, code: str, staff: str, now: dt.datetime) -> None:
    """"Keine Änderungen" said on the phone: recorded as the institution's answer (also after the deadline)."""
    with session_scope(ctx.engine) as session:
        region, cycle, _, request = _request_of(ctx, session, code)
        request_id = request.id or 0
        record_event(session=session, region_id=region.id, actor=f"staff:{staff}", action="return.by_phone",
                     subject=code, details={"year": cycle.year})
    confirm_no_changes(ctx, request_id=request_id, now=now, source="phone", enforce_deadline=False)


def phone_task_done(ctx: AppContext, *, code: str, staff: str) -> None:
    with session_scope(ctx.engine) as session:
        region, cycle, _, _ = _request_of(ctx, session, code)
        record_event(session=session, region_id=region.id, actor=f"staff:{staff}", action="reminder.phone_done",
                     subject=code, details={"year": cycle.year})


class UploadRemoved(Exception):
    """The file was removed after its retention period (`fko cleanup`); ``str(exc)`` says when, in German."""


def raw_upload(ctx: AppContext, *, submission_id: int) -> tuple[bytes, str]:
    """The file an institution sent, exactly as it came (kept in the file store until its retention ends)."""
    with session_scope(ctx.engine) as session:
        submission = session.get(Submission, submission_id)
        if submission is None or not submission.raw_sha256 or not _of_region(session, ctx, submission):
            raise NotFound(str(submission_id))
        if submission.raw_removed_at is not None:
            raise UploadRemoved(f"Die Datei „{submission.filename}“ wurde am "
                                f"{short_date(submission.raw_removed_at.astimezone(BERLIN).date())} nach Ablauf der "
                                "Aufbewahrungsfrist gelöscht (`fko cleanup`); dass sie einging und was daraus "
                                "wurde, bleibt hier vermerkt.")
        sha, name = submission.raw_sha256, submission.filename or f"Rueckmeldung-{submission_id}.xlsx"
    return ctx.files.get(sha, kind="upload"), name


def _of_region(session: Session, ctx: AppContext, submission: Submission) -> bool:
    """The upload belongs to the staff member's region (ids count across regions; another's is "not found")."""
    request = session.get(Request, submission.request_id)
    if request is None:
        return False
    _cycle, _institution, region = request_parts(session=session, request=request)
    return region.id == get_region(session=session, code=ctx.settings.region).id


@dataclass(frozen=True)
class VersionFiles:
    label: str
    status: str
    files: dict[str, dict[str, object]]


def versions_with_documents(ctx: AppContext) -> list[VersionFiles]:
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        return [_version_files(v) for v in reversed(list_versions(session=session, region_id=region.id or 0))]


def version_files(ctx: AppContext, *, label: str) -> VersionFiles:
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        try:
            return _version_files(find_version(session=session, region_id=region.id or 0, label=label))
        except StorageNotFound as exc:
            raise NotFound(label) from exc


def document(ctx: AppContext, *, label: str, name: str) -> tuple[bytes, str]:
    """A document of a version by its listed name: only names the version lists, so no path goes anywhere."""
    files = version_files(ctx, label=label).files
    entry = files.get(name)
    if entry is None:
        raise NotFound(name)
    return ctx.files.get(str(entry["sha256"]), kind="document"), PurePosixPath(name).name


def _version_files(version) -> VersionFiles:  # type: ignore[no-untyped-def]
    kept = version.documents or {}
    status = ("veröffentlicht am " + _when(version.published_at) + f", freigegeben von {version.approved_by}"
              if version.status == "published" else "Entwurf")
    return VersionFiles(version.label, status, dict(sorted(kept.get("files", {}).items())))
