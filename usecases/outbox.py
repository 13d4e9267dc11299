"""The outbox: a message is stored before it is sent, and its fate is committed right after.

Exactly once: a message is queued under an idempotency key (institution × cycle × step), so a re-run
queues nothing twice; a message is marked sent the moment the server accepts it, so a re-run after a
failure or a dropped connection sends only what was not accepted. When the database cannot take "sent" down
at that moment (restarted, unreachable), the outcome waits in a file on disk (storage.sent_journal) that every
sender commits before it claims anything, so it is not sent again either. The one window no SMTP client can
close (the server accepted, the process died before the commit) is milliseconds wide; a copy resent
then carries the same Message-ID, which mail programs use to collapse duplicates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from mail.compose import Composed
from mail.sink import EmlSink
from mail.templates import KIND_LABELS  # noqa: F401  (German names of mail kinds, for the entry points)
from mail.transport import Job, Outcome, SmtpSettings, deliver_all
from storage.database import require_current_schema, session_scope
from storage.errors import is_unavailable
from storage.events import record_event
from storage.filestore import StoredFile
from storage.models import OutboundMessage, utcnow
from storage.outbox import (
    add_message,
    claim_due_messages,
    current_claimers,
    list_messages,
    mark_address_refused,
    refused_addresses,
    release_claims,
)
from storage.sent_journal import SentJournal, Unrecorded
from usecases.context import AppContext
from usecases.readiness import ensure_mail_can_leave
from usecases.sender_identity import is_gone, this_process
from usecases.settings import Settings

MAX_ATTEMPTS = 10  # over all runs; then the message stays "failed" for staff to look at
# Longer than any batch takes. A sender that died on this machine is noticed at once (its process is
# gone); the lease only matters for one that died on another machine.
CLAIM_LEASE = dt.timedelta(minutes=15)


def smtp_settings(settings: Settings) -> SmtpSettings | None:
    """The relay from FKO_SMTP_*, or None for the local .eml sink."""
    if not settings.smtp_host:
        return None
    return SmtpSettings(
        host=settings.smtp_host, port=settings.smtp_port, tls=settings.smtp_tls, user=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None, concurrency=settings.smtp_concurrency,
    )


def queue_message(ctx: AppContext, session: Session, *, key: str, kind: str, composed: Composed, to: str,
                  cc: list[str], cycle_id: int | None, institution_id: int | None,
                  stored: StoredFile | None = None) -> tuple[OutboundMessage, bool]:
    """Store the message (body in the file store, unless ``stored`` says it is there) unless the key is queued
    already."""
    stored = stored or ctx.files.put(composed.data, kind="mail")
    return add_message(session=session, message=OutboundMessage(
        idempotency_key=key, cycle_id=cycle_id, institution_id=institution_id, kind=kind, recipient=to, cc=cc,
        subject=composed.subject[:500], message_id=composed.message_id, body_sha256=stored.sha256,
    ))


@dataclass
class DeliveryReport:
    sent: int = 0
    refused: int = 0
    failed: int = 0
    refused_addresses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    unrecorded: int = 0  # sent, but "sent" waits on disk for the database (committed by the next sender)

    @property
    def attempted(self) -> int:
        return self.sent + self.refused + self.failed

    def add(self, other: DeliveryReport) -> None:
        self.sent, self.refused, self.failed = (self.sent + other.sent, self.refused + other.refused,
                                                self.failed + other.failed)
        self.refused_addresses += other.refused_addresses
        self.errors += other.errors
        self.unrecorded += other.unrecorded


async def deliver_pending(ctx: AppContext, *, smtp: SmtpSettings | None = None, use_settings: bool = True,
                          kinds: tuple[str, ...] | None = None,
                          progress: Callable[[int, int], None] | None = None) -> DeliveryReport:
    """Send every queued message that is not sent yet. Without a relay, to the .eml sink in the data dir."""
    smtp = smtp or (smtp_settings(ctx.settings) if use_settings else None)
    if smtp is not None and use_settings:
        ensure_mail_can_leave(ctx.settings)
    report = DeliveryReport()
    jobs = _claim_jobs(ctx, report, kinds)
    if not jobs:
        return report
    done = 0
    trouble: list[Exception] = []
    me = this_process()

    def record(job: Job, outcome: Outcome) -> None:
        nonlocal done
        counted = DeliveryReport()
        try:
            if trouble and outcome.state == "sent":  # the database was away a moment ago: no new wait for it
                raise trouble[0]
            with session_scope(ctx.engine) as session:
                _record_outcome(session, job.id, outcome, counted)
            report.add(counted)  # only once committed
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            if outcome.state == "sent":  # accepted by the relay: never claimed and sent again
                sent_journal(ctx).append(me, Unrecorded(job.id, outcome.accepted, outcome.refused,
                                                        utcnow().isoformat()))
                report.sent += 1
                report.unrecorded += 1
            else:  # its claim lapses and a later sender tries it again
                report.failed += 1
            if not trouble:
                trouble.append(exc)
        done += 1
        if progress:
            progress(done, len(jobs))

    if smtp is None:
        with EmlSink(ctx.settings.mail_sink_dir) as (host, port):
            await deliver_all(jobs, SmtpSettings(host=host, port=port), record)
    else:
        await deliver_all(jobs, smtp, record)
    if trouble:
        try:  # the database may be back by now
            commit_unrecorded(ctx)
            report.unrecorded = 0
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            raise trouble[0] from None
    return report


def sent_journal(ctx: AppContext) -> SentJournal:
    return SentJournal(ctx.settings.data_dir / "mail-unrecorded")


def commit_unrecorded(ctx: AppContext) -> int:
    """Commit "sent" for the messages a sender could not record at the time; how many there were."""
    journal = sent_journal(ctx)
    if not journal.pending():
        return 0
    with journal.taken() as entries, session_scope(ctx.engine) as session:
        _apply_unrecorded(session, entries)
        return len(entries)


def _apply_unrecorded(session: Session, entries: list[Unrecorded]) -> None:
    for entry in entries:
        message = session.get(OutboundMessage, entry.message_id)
        if message is None or message.state not in ("pending", "sending", "failed"):
            continue
        try:
            at = dt.datetime.fromisoformat(entry.at)
        except ValueError:
            at = utcnow()
        _record_outcome(session, entry.message_id, Outcome("sent", accepted=entry.accepted, refused=entry.refused),
                        DeliveryReport(), at=at)


def _claim_jobs(ctx: AppContext, report: DeliveryReport, kinds: tuple[str, ...] | None = None) -> list[Job]:
    """Claim the due messages for this process (releasing those of senders that died); a message whose every
    recipient was refused before is marked refused instead of sent again."""
    jobs: list[Job] = []
    # What a sender could not write down is committed in the same transaction as the claims, with the files
    # held: nothing it names can be claimed and sent again in between.
    with sent_journal(ctx).taken() as unrecorded, session_scope(ctx.engine) as session:
        _apply_unrecorded(session, unrecorded)
        blocked = refused_addresses(session=session)
        now = utcnow()
        gone = {c for c in current_claimers(session=session, now=now) if is_gone(c)}
        if gone:
            released = release_claims(session=session, claimers=gone)
            record_event(session=session, region_id=None, actor="system", action="mail.claims_released",
                         subject=", ".join(sorted(gone))[:200], details={"messages": released})
        claimed = claim_due_messages(session=session, now=now, lease=CLAIM_LEASE, max_attempts=MAX_ATTEMPTS,
                                     claimer=this_process(), kinds=kinds)
        for message in claimed:
            recipients = [a for a in [message.recipient, *message.cc] if a.lower() not in blocked]
            if not recipients:
                message.state, message.last_error = "refused", "all recipients refused earlier"
                message.claimed_until = message.claimed_by = None
                report.refused += 1
                continue
            data = ctx.files.get(message.body_sha256 or "", kind="mail")
            jobs.append(Job(id=message.id or 0, sender=ctx.settings.mail_from, recipients=recipients, data=data))
    return jobs


def _record_outcome(session: Session, message_id: int, outcome: Outcome, report: DeliveryReport,
                    at: dt.datetime | None = None) -> None:
    """What the relay answered, on the message (sent, refused, failed) and on refused addresses."""
    message = session.get(OutboundMessage, message_id)
    if message is None:
        return
    now = at or utcnow()
    for address, reason in outcome.refused.items():
        mark_address_refused(session=session, email=address, reason=reason, at=now)
        record_event(session=session, region_id=None, actor="system", action="mail.address_refused",
                     subject=address, details={"reason": reason, "message": message.idempotency_key})
        report.refused_addresses.append(address)
    message.state = outcome.state
    message.claimed_until = message.claimed_by = None
    if outcome.state == "sent":
        message.sent_at = now
        message.last_error = "; ".join(f"{a}: {r}" for a, r in outcome.refused.items()) or None
        report.sent += 1
    elif outcome.state == "refused":
        message.last_error = "; ".join(f"{a}: {r}" for a, r in outcome.refused.items())[:1000]
        report.refused += 1
    else:
        message.last_error = outcome.error[:1000]
        report.failed += 1
        report.errors.append(outcome.error)


def outbox_messages(ctx: AppContext) -> list[OutboundMessage]:
    """Every message in the outbox with its state, oldest first."""
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        return list_messages(session=session)
