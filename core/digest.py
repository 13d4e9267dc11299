"""The staff digest: what happened in a round since the last digest, and whether that is worth a mail today.

Pure: the usecase loads the events and the round's facts, this module decides whether a digest goes out and
what it holds. Links go to the staff area (``/intern/``) only; an institution's personal link is never given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from core.dates import german_date, short_date
from core.ladder import IsHoliday


def overview_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/intern/"


def institution_url(base_url: str, code: str) -> str:
    return f"{base_url.rstrip('/')}/intern/institutionen/{quote(code, safe='')}"


def documents_url(base_url: str, label: str) -> str:
    return f"{base_url.rstrip('/')}/intern/dokumente/{quote(label, safe='')}/"


@dataclass(frozen=True)
class Returned:
    """An accepted sheet or a "no changes" click."""

    code: str
    name: str
    outcome: str                 # accepted | no_changes
    new: int = 0
    changed: int = 0
    ended: int = 0


@dataclass(frozen=True)
class Refused:
    """An upload that was refused, with the number of problems listed to the institution."""

    code: str
    name: str
    problems: int


@dataclass(frozen=True)
class Bounced:
    """An address the mail server refused for good (no more mail goes there)."""

    address: str
    code: str
    name: str
    reason: str = ""


@dataclass(frozen=True)
class FailedMail:
    """A message the outbox gave up on after its last attempt (not a refused address: the relay kept failing)."""

    code: str
    name: str
    address: str
    error: str = ""


@dataclass(frozen=True)
class MailNote:
    """A message in the agency's mailbox that needs a person: unclear (filed in fko/unklar) or an automatic
    reply such as an out-of-office note (never answered; it may name a new contact)."""

    sender: str
    subject: str
    kind: str                    # unclear | autoreply
    what: str = ""               # what was found, e.g. "ohne Tabelle im Anhang"


@dataclass(frozen=True)
class PhoneTask:
    code: str
    name: str
    reason: str = ""             # why a mail step became a phone task ("" for the ladder's own phone step)


@dataclass(frozen=True)
class RoundFacts:
    """Where the round stands today, and what the last digest said about approval."""

    year: int
    deadline: dt.date
    open_until: dt.date          # the last day returns are accepted (deadline plus late days)
    institutions: int            # active institutions asked
    answered: int
    draft_label: str
    draft_rebuilt: bool = False  # the draft was rebuilt since the last digest
    was_ready: bool = False      # the last digest of the round said "ready for approval" already


@dataclass(frozen=True)
class DigestEvents:
    """Everything that happened since the last digest (loaded by the usecase)."""

    round: RoundFacts
    returns: tuple[Returned, ...] = ()
    refusals: tuple[Refused, ...] = ()
    bounces: tuple[Bounced, ...] = ()
    failed: tuple[FailedMail, ...] = ()
    phone_tasks: tuple[PhoneTask, ...] = ()
    mailbox: tuple[MailNote, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One line of the digest: the institution, what happened, and its page in the staff area."""

    code: str
    name: str
    url: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Digest:
    day: dt.date
    round: RoundFacts
    returns: tuple[Entry, ...]
    refusals: tuple[Entry, ...]
    bounces: tuple[Entry, ...]
    phone_tasks: tuple[Entry, ...]
    ready: str | None            # newly ready for approval: "all_answered" | "late_window_over"
    overview_url: str
    documents_url: str
    mailbox: tuple[Entry, ...] = ()

    @property
    def counts(self) -> dict[str, int]:
        return {"returns": len(self.returns), "refusals": len(self.refusals), "bounces": len(self.bounces),
                "phone_tasks": len(self.phone_tasks), "ready": int(self.ready is not None),
                "mailbox": len(self.mailbox)}


def is_working_day(day: dt.date, is_holiday: IsHoliday) -> bool:
    return day.weekday() < 5 and not is_holiday(day)


def approval_readiness(facts: RoundFacts, today: dt.date) -> str | None:
    """Why the draft can be approved now, or None while the round still waits for answers.

    The same rule as publishing (``PublishGate.waiting``): ready once every institution has answered, or once
    the late-return window after the deadline is over (nothing more can come in).
    """
    if facts.institutions and facts.answered >= facts.institutions:
        return "all_answered"
    if today > facts.open_until:
        return "late_window_over"
    return None


def build_digest(events: DigestEvents, *, today: dt.date, is_holiday: IsHoliday, base_url: str) -> Digest | None:
    """The digest to send today, or None: none on weekends and public holidays (what happened then comes in
    the next working day's digest), none when nothing happened since the last one.

    Something happened: a return (sheet accepted or "no changes"), a refused upload, a refused address or a
    message given up, a new phone task, or the draft became ready for approval. A rebuilt draft alone is not
    news (it follows the returns, which are); it is mentioned when a digest goes out anyway.
    """
    if not is_working_day(today, is_holiday):
        return None
    facts = events.round
    readiness = approval_readiness(facts, today)
    ready = readiness if readiness and not facts.was_ready else None
    answered_later = {r.code for r in events.returns}
    returns = tuple(Entry(r.code, r.name, institution_url(base_url, r.code),
                          {"outcome": r.outcome, "new": r.new, "changed": r.changed, "ended": r.ended})
                    for r in events.returns)
    refusals = tuple(Entry(r.code, r.name, institution_url(base_url, r.code),
                           {"problems": r.problems, "answered_since": r.code in answered_later})
                     for r in events.refusals)
    bounces = tuple(Entry(b.code, b.name, institution_url(base_url, b.code),
                          {"address": b.address, "reason": b.reason, "kind": "refused"}) for b in events.bounces)
    bounces += tuple(Entry(f.code, f.name, institution_url(base_url, f.code),
                           {"address": f.address, "reason": f.error, "kind": "failed"}) for f in events.failed)
    phone_tasks = tuple(Entry(p.code, p.name, institution_url(base_url, p.code), {"reason": p.reason})
                        for p in events.phone_tasks)
    mailbox = tuple(Entry("", m.sender, overview_url(base_url), {"subject": m.subject, "kind": m.kind,
                                                                 "what": m.what}) for m in events.mailbox)
    if not (returns or refusals or bounces or phone_tasks or ready or mailbox):
        return None
    return Digest(day=today, round=facts, returns=returns, refusals=refusals, bounces=bounces,
                  phone_tasks=phone_tasks, ready=ready, overview_url=overview_url(base_url),
                  documents_url=documents_url(base_url, facts.draft_label), mailbox=mailbox)


def digest_context(digest: Digest) -> dict[str, Any]:
    """What the staff_digest templates read (plain values; the German wording is in the templates)."""
    def rows(entries: tuple[Entry, ...]) -> list[dict[str, Any]]:
        return [{"code": e.code, "name": e.name, "url": e.url, **e.details} for e in entries]

    facts = digest.round
    return {
        "returns": rows(digest.returns), "refusals": rows(digest.refusals), "bounces": rows(digest.bounces),
        "phone_tasks": rows(digest.phone_tasks), "mailbox": rows(digest.mailbox), "ready": digest.ready,
        "draft_rebuilt": facts.draft_rebuilt,
        "draft_label": facts.draft_label, "answered": facts.answered, "institutions": facts.institutions,
        "deadline_passed": digest.day > facts.deadline, "late_window_open": digest.day <= facts.open_until,
        "open_until_text": german_date(facts.open_until), "day_text": german_date(digest.day),
        "day_short": short_date(digest.day),
        "overview_url": digest.overview_url, "documents_url": digest.documents_url, "counts": digest.counts,
    }
