"""The agency's mailbox (IMAP): sheets sent as replies are taken in like uploads, bounces mark addresses.

Each message of the folder read (FKO_IMAP_FOLDER, and FKO_IMAP_BOUNCE_FOLDER if set) is
- a return: every spreadsheet attachment goes through the same use case as an upload (the institution is the
  one the signed ``_meta`` sheet names); the institution's contacts and the sender get the receipt or the
  refusal; moved to ``fko/verarbeitet``;
- a bounce: the failed addresses get no more mail (the ladder moves on to the next contact role); moved to
  ``fko/unzustellbar``;
- an automatic reply (out of office): never answered, listed for staff; moved to ``fko/verarbeitet``;
- anything else (no sheet, a sheet of no institution of the round, too large): the sender gets a short German
  answer, staff see it in the digest; moved to ``fko/unklar``.

Exactly once: a message is recorded (with the mail it causes, in one transaction) before it is moved; a
fetcher that dies between the two finds the record on the next run and only moves it. An attachment whose
bytes were taken in by mail this round already (same sha256) is not recorded again.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from core.dates import BERLIN, german_datetime
from core.inbound_mail import Bounce, InboundMail, parse_mail
from mail.compose import Envelope, Mailbox, compose
from mail.imap import ImapSettings, LoginRefused, MailboxError, open_mailbox, watch
from mail.imap import Mailbox as ImapMailbox
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.intake import (
    answered_lately,
    intake_of,
    is_contact,
    last_message_to,
    mailed_submission,
    messages_by_id,
)
from storage.models import Institution, MailIntake, Request
from storage.outbox import mark_address_refused
from usecases.context import AppContext
from usecases.ingest import Misfiled, NotIngestible, ingest_file
from usecases.mail_routing import Round, Router
from usecases.messages import base_context, renderer_for
from usecases.outbox import queue_message
from usecases.settings import Settings

__all__ = ["FetchReport", "LoginRefused", "MailboxError", "MailboxNotSet", "fetch_mail", "imap_settings",
           "watch_mailbox"]

FOLDERS = {"return": "fko/verarbeitet", "autoreply": "fko/verarbeitet", "delayed": "fko/verarbeitet",
           "own": "fko/verarbeitet",
           "unclear": "fko/unklar", "bounce": "fko/unzustellbar"}
KIND_LABELS = {"return": "Rückmeldung", "autoreply": "automatische Antwort", "delayed": "Zustellung verzögert",
               "own": "eigene Nachricht",
               "unclear": "unklar", "bounce": "unzustellbar"}
OUTCOME_LABELS = {"accepted": "angenommen", "refused": "abgelehnt", "held": "nach der Veröffentlichung aufbewahrt",
                  "duplicate": "schon per E-Mail erfasst"}
# A message larger than this is not downloaded: its sender is told to use the page (sheets are far smaller).
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
DIAGNOSTIC = re.compile(rb"^diagnostic-code:\s*(?:smtp;\s*)?([^\r\n]{1,300})", re.IGNORECASE | re.MULTILINE)


def watch_mailbox(settings: Settings, on_new_mail: Callable[[], None], stop: Any,
                  log: Callable[[str], None]) -> bool:
    """Listen for new mail (IDLE) until ``stop`` is set, in the calling thread; False when no mailbox is set."""
    mailbox = imap_settings(settings)
    if mailbox is None:
        return False
    watch(mailbox, on_new_mail, stop, log=log)
    return True


class MailboxNotSet(Exception):
    """No FKO_IMAP_HOST: there is no mailbox to read."""


def imap_settings(settings: Settings) -> ImapSettings | None:
    """The mailbox from FKO_IMAP_*, or None when FKO_IMAP_HOST is unset."""
    if not settings.imap_host:
        return None
    port = settings.imap_port or (993 if settings.imap_tls == "tls" else 143)
    return ImapSettings(host=settings.imap_host, port=port, user=settings.imap_user or "",
                        password=settings.imap_password.get_secret_value() if settings.imap_password else "",
                        tls=settings.imap_tls, folder=settings.imap_folder,
                        ca_file=str(settings.imap_ca_file) if settings.imap_ca_file else None)


@dataclass
class Fetched:
    """What became of one message (German lines for staff)."""

    sender: str
    subject: str
    kind: str                     # return | unclear | bounce | autoreply | delayed | waiting
    lines: list[str] = field(default_factory=list)
    answered: bool = False        # the sender gets an answer (receipt, refusal or the "unclear" note)
    earlier: bool = False         # recorded by an earlier run that did not get to move it

    def as_dict(self) -> dict[str, Any]:
        return {"sender": self.sender, "subject": self.subject, "kind": self.kind, "lines": self.lines,
                "answered": self.answered, "earlier": self.earlier}


@dataclass
class FetchReport:
    dry_run: bool = False
    messages: list[Fetched] = field(default_factory=list)
    error: str | None = None      # the mailbox failed part-way (what is listed was done)
    busy: bool = False            # another fetcher on this machine was reading the mailbox: nothing done

    def count(self, kind: str) -> int:
        return sum(1 for m in self.messages if m.kind == kind)

    def as_dict(self) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "error": self.error, "busy": self.busy,
                "messages": [m.as_dict() for m in self.messages],
                "counts": {k: self.count(k) for k in (*KIND_LABELS, "waiting")}}


def fetch_mail(ctx: AppContext, *, now: dt.datetime, dry_run: bool = False,
               progress: Callable[[int, int], None] | None = None) -> FetchReport:
    """Read every message of the folder(s) and deal with it (see the module). Raises MailboxNotSet, or
    MailboxError when the mailbox cannot be reached at all; a failure part-way is in ``report.error``.

    On a database with several regions and no region chosen, the mailbox is all regions' one: each message
    goes to the region it belongs to (usecases.mail_routing)."""
    settings = imap_settings(ctx.settings)
    if settings is None:
        raise MailboxNotSet
    require_current_schema(ctx.engine)
    router = Router.for_context(ctx)
    report = FetchReport(dry_run=dry_run)
    folders = [settings.folder, *([ctx.settings.imap_bounce_folder] if ctx.settings.imap_bounce_folder else [])]
    with _one_fetcher(ctx.settings.data_dir) as alone:
        if not alone:  # the schedule and a new-mail trigger (or staff) at once: the other one does it
            report.busy = True
            return report
        with open_mailbox(settings) as box:
            try:
                for folder in folders:
                    _fetch_folder(box, folder, router, now, dry_run, report, progress)
            except MailboxError as exc:
                report.error = str(exc)
    return report


@contextmanager
def _one_fetcher(data_dir: Path) -> Iterator[bool]:
    """One fetcher at a time on this machine (a lock file in the data dir); yields False when another runs.
    The database's unique key on (folder, UIDVALIDITY, UID) still guards against one on another machine."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "mailbox.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch_folder(box: ImapMailbox, folder: str, router: Router, now: dt.datetime, dry_run: bool,
                  report: FetchReport, progress: Callable[[int, int], None] | None) -> None:
    uidvalidity = box.select(folder)
    uids = box.uids()
    sizes = box.sizes(uids)
    for number, uid in enumerate(uids, start=1):
        fetched = _one(router, box, folder, uidvalidity, uid, sizes.get(uid, 0), now, dry_run)
        if fetched is not None:
            report.messages.append(fetched)
        if progress:
            progress(number, len(uids))


def _one(router: Router, box: ImapMailbox, folder: str, uidvalidity: int, uid: int, size: int,
         now: dt.datetime, dry_run: bool) -> Fetched | None:
    known = router.known(folder, uidvalidity, uid)
    if known is not None:  # recorded by a run that ended before moving it: only move it now
        ctx, region_id, target, sender, subject, kind = known
        if dry_run:
            return Fetched(sender, subject, kind, [f"schon erfasst, würde nach {target} verschoben"], earlier=True)
        _move(ctx, box, region_id, folder, uidvalidity, uid, target)
        return Fetched(sender, subject, kind, [f"schon erfasst, nach {target} verschoben"], earlier=True)
    too_large = size > MAX_MESSAGE_BYTES
    raw = box.header(uid) if too_large else box.message(uid)
    if raw is None:
        return None  # gone meanwhile (moved by a person or another fetcher)
    mail = parse_mail(raw, headers_only=too_large)
    ctx, state = router.route(mail)
    region_id = state.region.id or 0
    answer_to = _answer_address(ctx, mail)
    fetched = Fetched(mail.sender, mail.subject, "unclear")
    details: dict[str, Any] = {"size": size}
    reasons: list[dict[str, str]] = []  # for the "unclear" answer: file name and what is wrong, German
    if _ours(ctx, mail):  # our own mail in the agency's mailbox (the digest, a Cc to staff): filed, nothing else
        fetched.kind = "own"
        fetched.lines.append("von fko-cycle selbst versandt (z. B. Tagesübersicht), nur abgelegt")
    elif mail.bounce is not None:
        _bounce(ctx, mail.bounce, raw, fetched, details, dry_run, now)
    elif too_large:
        fetched.lines.append(f"zu groß ({size // (1024 * 1024)} MB), nicht geladen")
        reasons.append({"filename": "", "reason": f"Ihre Nachricht ist mit {size // (1024 * 1024)} MB zu groß, um "
                        "sie hier zu lesen. Bitte laden Sie Ihre Tabelle über den Link aus der Einladung hoch."})
    elif mail.sheets and state.year is None:
        fetched.kind = "waiting"
        fetched.lines.append("Tabelle im Anhang, aber keine Abfrage eröffnet: bleibt im Postfach")
        return fetched
    elif mail.sheets:
        _sheets(ctx, mail, state, now, dry_run, answer_to, fetched, details, reasons, router.by_code)
    elif mail.automatic:
        fetched.kind = "autoreply"
        fetched.lines.append(f"automatische Antwort ({mail.automatic}), nicht beantwortet")
    else:
        fetched.lines.append("ohne Tabelle im Anhang" + (f" (Anhänge: {', '.join(mail.others)})" if mail.others
                                                          else ""))
        reasons.append({"filename": "", "reason": ""})
    if fetched.kind == "unclear" and answer_to and reasons and (mail.sheets or mail.headers_only
                                                                 or _known_correspondent(ctx, mail, now)):
        fetched.answered = True
    target = FOLDERS[fetched.kind]
    if dry_run:
        fetched.lines.append(f"würde nach {target} verschoben" + (", Absender erhält eine Antwort"
                                                                   if fetched.answered else ""))
        return fetched
    try:
        _record(ctx, state, mail, fetched, details, reasons, folder=folder, uidvalidity=uidvalidity, uid=uid,
                target=target, now=now, answer_to=answer_to)
    except IntegrityError:  # another fetcher recorded it meanwhile: it moves it
        return None
    _move(ctx, box, region_id, folder, uidvalidity, uid, target)
    return fetched


def _record(ctx: AppContext, state: Round, mail: InboundMail, fetched: Fetched, details: dict[str, Any],
            reasons: list[dict[str, str]], *, folder: str, uidvalidity: int, uid: int, target: str,
            now: dt.datetime, answer_to: str) -> None:
    """The message, its "unclear" answer and its event, in one transaction."""
    region_id = state.region.id or 0
    with session_scope(ctx.engine) as session:
        session.add(MailIntake(region_id=region_id, folder=folder, uidvalidity=uidvalidity, uid=uid,
                               message_id=mail.message_id, sender=mail.sender, subject=mail.subject, kind=fetched.kind,
                               target=target, details={**details, "lines": fetched.lines}, fetched_at=now))
        if fetched.kind == "unclear" and fetched.answered:
            _queue_unclear_answer(ctx, session, state, mail, answer_to, reasons,
                                  key=f"{state.region.code}:mail_unclear:{folder}:{uidvalidity}:{uid}", now=now)
        if fetched.kind in ("unclear", "autoreply"):
            record_event(session=session, region_id=region_id, actor="system", action=f"mail.{fetched.kind}",
                         subject=mail.sender[:200], details={"subject": mail.subject[:200], "lines": fetched.lines,
                                                             "year": state.year, "answered": fetched.answered})


def _move(ctx: AppContext, box: ImapMailbox, region_id: int, folder: str, uidvalidity: int, uid: int,
          target: str) -> None:
    box.move(uid, target)
    with session_scope(ctx.engine) as session:
        known = intake_of(session=session, region_id=region_id, folder=folder, uidvalidity=uidvalidity, uid=uid)
        if known is not None:
            known.moved_at = dt.datetime.now(dt.UTC)


def _ours(ctx: AppContext, mail: InboundMail) -> bool:
    """Sent by fko-cycle itself: from our sender address with one of our Message-IDs (mail.compose)."""
    return mail.sender.lower() == ctx.settings.mail_from.lower() and ".fko@" in mail.message_id


def _known_correspondent(ctx: AppContext, mail: InboundMail, now: dt.datetime) -> bool:
    """Whether a message without a sheet gets the short answer: only when it answers one of our mails or comes
    from a contact in the institution list (spam with a forged sender gets none), and at most one such answer
    per address a day."""
    address = mail.reply_to.lower()
    with session_scope(ctx.engine) as session:
        if answered_lately(session=session, address=address, kind="mail_unclear", since=now - dt.timedelta(days=1)):
            return False
        if any(".fko@" in ref for ref in mail.references) and messages_by_id(session=session,
                                                                             message_ids=set(mail.references)):
            return True
        return is_contact(session=session, address=address) or is_contact(session=session,
                                                                          address=mail.sender.lower())


def _answer_address(ctx: AppContext, mail: InboundMail) -> str:
    """Where an answer may go: never to an automatic message, nor to ourselves (no mail loops)."""
    if mail.automatic or not mail.reply_to:
        return ""
    own = {ctx.settings.mail_from.lower()}
    return "" if mail.reply_to.lower() in own else mail.reply_to


def _sheets(ctx: AppContext, mail: InboundMail, state: Round, now: dt.datetime, dry_run: bool, answer_to: str,
            fetched: Fetched, details: dict[str, Any], reasons: list[dict[str, str]],
            reroute: Callable[[str], tuple[AppContext, Round] | None] | None = None) -> None:
    """Every spreadsheet attachment through the upload use case; the message is unclear when one of them
    names no institution of the round."""
    year = state.year or 0
    files: list[dict[str, Any]] = []
    unclear = False
    for sheet in mail.sheets:
        sha = hashlib.sha256(sheet.data).hexdigest()
        entry: dict[str, Any] = {"filename": sheet.filename, "sha256": sha, "size": len(sheet.data)}
        with session_scope(ctx.engine) as session:
            earlier = mailed_submission(session=session, cycle_id=state.cycle_id or 0, sha256=sha)
            if earlier is not None:
                request = session.get(Request, earlier.request_id)
                owner = session.get(Institution, request.institution_id) if request else None
                entry.update(outcome="duplicate", institution=owner.code if owner else "",
                             submission=earlier.id)
        sheet_ctx, sheet_year = ctx, year
        while earlier is None:
            try:
                result = ingest_file(sheet_ctx, data=sheet.data, filename=sheet.filename, source="mail",
                                     year=sheet_year, now=now, notify=True, dry_run=dry_run, also_to=answer_to)
            except Misfiled as exc:
                # A sheet of another region of the installation (its signed _meta says so): taken in there.
                elsewhere = reroute(exc.region) if reroute is not None and exc.region else None
                if elsewhere is not None and elsewhere[0] is not sheet_ctx and elsewhere[1].year:
                    sheet_ctx, sheet_year = elsewhere[0], elsewhere[1].year
                    continue
                unclear = True
                entry.update(outcome="unclear", reason=str(exc))
                reasons.append({"filename": sheet.filename, "reason": _for_sender(exc, sheet_year)})
            except NotIngestible as exc:
                unclear = True
                entry.update(outcome="unclear", reason=str(exc))
                reasons.append({"filename": sheet.filename, "reason": "Die Tabelle nennt eine Institution, die "
                                f"an der Abfrage {sheet_year} nicht teilnimmt."})
            else:
                entry.update(outcome=result.outcome, institution=result.institution_code,
                             submission=result.submission_id, problems=len(result.problems))
                fetched.answered = fetched.answered or (bool(answer_to) and result.outcome != "held")
            break
        files.append(entry)
        label = OUTCOME_LABELS.get(entry["outcome"], "keiner Institution zuzuordnen")
        who = f"{entry['institution']}: " if entry.get("institution") else ""
        fetched.lines.append(f"{who}{sheet.filename} {label}"
                             + (f" ({entry['problems']} Probleme)" if entry.get("problems") else "")
                             + (f": {entry['reason']}" if entry.get("reason") else ""))
    details["files"] = files
    fetched.kind = "unclear" if unclear else "return"


def _for_sender(exc: Misfiled, year: int) -> str:
    """What the sender of a sheet of no institution of the round reads (not the staff wording of ``exc``)."""
    if exc.problems:
        return exc.problems[0].message
    if exc.year is not None and exc.year != year:
        return (f"Die Tabelle stammt aus der Abfrage {exc.year}. Bitte senden Sie die Tabelle aus der Einladung "
                f"zur Abfrage {year}.")
    return "Die Tabelle gehört nicht zu dieser Abfrage. Bitte senden Sie die Tabelle aus Ihrer Einladung."


def _bounce(ctx: AppContext, bounce: Bounce, raw: bytes, fetched: Fetched, details: dict[str, Any], dry_run: bool,
            now: dt.datetime) -> None:
    """Mark the addresses that failed for good (those we wrote to), tied to our message and its institution."""
    diagnostic = DIAGNOSTIC.search(raw)
    reason = ("Unzustellbar-Meldung: " + diagnostic.group(1).decode("utf-8", "replace").strip()) if diagnostic \
        else "Unzustellbar-Meldung des Mailservers"
    marked: list[dict[str, Any]] = []
    with session_scope(ctx.engine) as session:
        ours = {m.message_id: m for m in messages_by_id(session=session, message_ids=set(bounce.original_ids))}
        for address in sorted(bounce.permanent):
            message = next((m for m in ours.values() if address in {m.recipient.lower(), *map(str.lower, m.cc)}),
                           None) or last_message_to(session=session, address=address)
            if message is None:
                fetched.lines.append(f"{address}: an diese Adresse ging keine E-Mail von uns, nicht markiert")
                continue
            institution = session.get(Institution, message.institution_id) if message.institution_id else None
            marked.append({"address": address, "message": message.idempotency_key,
                           "institution": institution.code if institution else None})
            fetched.lines.append(f"{address} unzustellbar" + (f" ({institution.code})" if institution else "")
                                 + f", keine weiteren E-Mails dorthin; {reason}")
            if dry_run:
                continue
            mark_address_refused(session=session, email=address, reason=reason, at=now)
            message.state = "refused"
            message.last_error = f"{address}: {reason}"[:1000]
            record_event(session=session, region_id=None, actor="system", action="mail.address_refused",
                         subject=address, details={"reason": reason, "message": message.idempotency_key,
                                                   "institution": institution.code if institution else None,
                                                   "via": "bounce"})
    details["bounced"] = marked
    if marked:
        fetched.kind = "bounce"
    elif bounce.temporary:
        fetched.kind = "delayed"
        fetched.lines.append(f"Zustellung verzögert an {', '.join(sorted(bounce.temporary))} (der Mailserver "
                             "versucht es weiter)")
    else:
        fetched.lines.append("Unzustellbar-Meldung ohne erkennbare Adresse von uns")


def _queue_unclear_answer(ctx: AppContext, session: Session, state: Round, mail: InboundMail, to: str,
                          reasons: list[dict[str, str]], *, key: str, now: dt.datetime) -> None:
    """The short German answer to a message that could not be taken in (sent once: the outbox key)."""
    region = state.region
    context: dict[str, Any] = {
        **(base_context(region, year=state.year, deadline=state.deadline) if state.year and state.deadline else {
            "region_name": region.name, "agency_name": region.agency_name, "agency_email": region.agency_email,
            "agency_phone": region.agency_phone, "agency_address": region.agency_address, "year": None,
            "funding_line": region.funding_line, "deadline_text": "", "deadline_short": ""}),
        "original_subject": mail.subject, "received_text": german_datetime(now.astimezone(BERLIN)),
        "files": [r for r in reasons if r["filename"] or r["reason"]],
        "no_sheet": not any(r["filename"] or r["reason"] for r in reasons)}
    rendered = renderer_for(ctx.templates_dir).render("mail_unclear", context)
    envelope = Envelope(sender=Mailbox(ctx.settings.mail_from, region.agency_name), to=[Mailbox(to)],
                        reply_to=Mailbox(region.agency_email, region.agency_name))
    queue_message(ctx, session, key=key, kind="mail_unclear", composed=compose(rendered, envelope, key=key,
                                                                                now=now.astimezone(BERLIN)),
                  to=to, cc=[], cycle_id=state.cycle_id, institution_id=None)
