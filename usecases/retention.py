"""`fko cleanup` and the cleanup flow: apply the retention settings (core.retention) to the raw uploads, the mail
bodies and the .eml sink files of closed rounds; also expired staff sign-ins and files no row names any more.

A file is deleted first and its row marked after; should the run stop in between, the next run finds the row
unmarked and finishes it. So a row marked "removed" never points at a file that is still there.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.retention import Plan, Round, StoredItem, plan_removal
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.retention import (
    audit_uploads,
    mark_bodies_removed,
    mark_uploads_removed,
    referenced,
    remove_expired_sessions,
    rounds,
    stored_mail,
    stored_uploads,
    unsent_bodies,
)
from usecases.context import AppContext
from usecases.maintenance import maintenance_lock

_SINK_NAME = re.compile(r"^(\d{8}T\d{12})Z-")  # mail.sink: UTC time with microseconds
TEMPORARY_AGE = 24 * 3600  # a half-written file older than a day belongs to a writer that died


@dataclass
class CleanupReport:
    dry_run: bool
    keep_days: dict[str, int]
    uploads: Plan = field(default_factory=Plan)
    mail: Plan = field(default_factory=Plan)
    sink: Plan = field(default_factory=Plan)
    inbox: Plan = field(default_factory=Plan)   # copies in the drop folder (inbox/done, inbox/unknown)
    orphans: int = 0          # stored files no row names, older than their kind's retention
    temporaries: int = 0      # half-written files of writers that died
    sessions: int = 0         # expired staff sign-ins
    rounds: list[Round] = field(default_factory=list)

    @property
    def removed_anything(self) -> bool:
        return bool(self.uploads.remove or self.mail.remove or self.sink.remove or self.inbox.remove or self.orphans
                    or self.temporaries or self.sessions)

    def counts(self) -> dict[str, int]:
        return {"uploads": len(self.uploads.remove), "mail": len(self.mail.remove), "sink": len(self.sink.remove),
                "inbox": len(self.inbox.remove), "orphans": self.orphans, "temporaries": self.temporaries,
                "sessions": self.sessions}


def _days(days: int) -> dt.timedelta:
    return dt.timedelta(days=days)


def sink_items(sink_dir: Path) -> list[StoredItem]:
    """The .eml files of the local sink, dated by their name (written by mail.sink), else by the file."""
    items = []
    if not sink_dir.is_dir():
        return items
    for path in sorted(sink_dir.glob("*.eml")):
        try:
            stat = path.stat()
        except OSError:
            continue
        match = _SINK_NAME.match(path.name)
        written = (dt.datetime.strptime(match.group(1), "%Y%m%dT%H%M%S%f").replace(tzinfo=dt.UTC) if match
                   else dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC))
        items.append(StoredItem(path.name, "", stat.st_size, at=written))
    return items


def inbox_items(inbox: Path) -> list[StoredItem]:
    """Copies of returns staff dropped into the drop folder (``inbox/done``, ``inbox/unknown``), by their time."""
    items = []
    for folder in ("done", "unknown"):
        for path in sorted((inbox / folder).glob("*")) if (inbox / folder).is_dir() else []:
            try:
                stat = path.stat()
            except OSError:
                continue
            if path.is_file():
                items.append(StoredItem(f"{folder}/{path.name}", "", stat.st_size,
                                        at=dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC)))
    return items


def cleanup(ctx: AppContext, *, now: dt.datetime, dry_run: bool = False) -> CleanupReport:
    """Remove what the retention settings let go (see the module); ``dry_run``: only say what that would be."""
    require_current_schema(ctx.engine)
    settings = ctx.settings
    report = CleanupReport(dry_run=dry_run, keep_days={"uploads": settings.keep_uploads_days,
                                                       "mail": settings.keep_mail_days,
                                                       "sink": settings.keep_sink_days})
    with maintenance_lock(settings.data_dir):
        with session_scope(ctx.engine) as session:
            report.rounds = rounds(session=session)
            report.uploads = plan_removal(report.rounds, stored_uploads(session=session),
                                          keep=_days(settings.keep_uploads_days), now=now,
                                          audit=audit_uploads(session=session))
            unsent = unsent_bodies(session=session)
            mail = plan_removal(report.rounds, stored_mail(session=session), keep=_days(settings.keep_mail_days),
                                now=now)
            mail.remove = [item for item in mail.remove if item.sha256 not in unsent]
            report.mail = mail
            report.sessions = remove_expired_sessions(session=session, now=now, dry_run=dry_run)
        report.sink = plan_removal(report.rounds, sink_items(settings.mail_sink_dir),
                                   keep=_days(settings.keep_sink_days), now=now)
        report.inbox = plan_removal(report.rounds, inbox_items(settings.data_dir / "inbox"),
                                    keep=_days(settings.keep_uploads_days), now=now)
        if dry_run:
            report.orphans = len(_orphans(ctx, now, report))
            return report
        for sha in report.uploads.files:
            ctx.files.remove(sha, kind="upload")
        for sha in report.mail.files:
            ctx.files.remove(sha, kind="mail")
        for item in report.sink.remove:
            (settings.mail_sink_dir / item.key).unlink(missing_ok=True)
        for item in report.inbox.remove:
            (settings.data_dir / "inbox" / item.key).unlink(missing_ok=True)
        with session_scope(ctx.engine) as session:
            mark_uploads_removed(session=session, keys=[i.key for i in report.uploads.remove], at=now)
            mark_bodies_removed(session=session, keys=[i.key for i in report.mail.remove], at=now)
        for kind, sha in _orphans(ctx, now, report):
            if ctx.files.remove(sha, kind=kind):
                report.orphans += 1
        report.temporaries = ctx.files.sweep_temporaries(older_than_seconds=TEMPORARY_AGE, now=time.time())
        if report.removed_anything:
            with session_scope(ctx.engine) as session:
                record_event(session=session, region_id=None, actor="system", action="cleanup.done",
                             subject="Aufbewahrungsfristen", details=report.counts())
    return report


def _orphans(ctx: AppContext, now: dt.datetime, report: CleanupReport) -> list[tuple[str, str]]:
    """Stored uploads and mail bodies that no row names (a process died between storing and recording, or an
    upload came after its round closed), once they are older than their kind's retention period."""
    with session_scope(ctx.engine) as session:
        named = referenced(session=session)
    planned = {"upload": set(report.uploads.files), "mail": set(report.mail.files)}
    found = []
    for kind, days in (("upload", report.keep_days["uploads"]), ("mail", report.keep_days["mail"])):
        folder = ctx.files.root / kind
        if not folder.is_dir():
            continue
        oldest = (now - _days(days)).timestamp()
        for path in folder.glob("*/*/*"):
            name = path.name
            if name.startswith(".tmp-") or name in named[kind] or name in planned[kind]:
                continue
            try:
                if path.stat().st_mtime <= oldest:
                    found.append((kind, name))
            except OSError:
                continue
    return found
