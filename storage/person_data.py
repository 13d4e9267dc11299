"""Finding everything stored about one person (by address and name) and replacing it: `fko person`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Text, cast, delete, func, or_
from sqlmodel import Session, col, select

from core.personal_data import (
    ERASED,
    erased_address,
    normalise_address,
    normalise_name,
    redact_activity,
    scrub,
)
from storage.models import (
    Activity,
    ConceptVersion,
    Contact,
    Erasure,
    EventLog,
    Institution,
    MailIntake,
    OutboundMessage,
    Request,
    StaffAccount,
    StaffSession,
    Submission,
)

UNSENT = ("pending", "failed", "sending")


@dataclass
class PersonRecords:
    """The rows that name a person (loaded in one session, changed in place by ``erase``)."""

    address: str
    names: frozenset[str]
    contacts: list[tuple[Contact, Institution]] = field(default_factory=list)
    accounts: list[StaffAccount] = field(default_factory=list)
    messages: list[OutboundMessage] = field(default_factory=list)
    events: list[EventLog] = field(default_factory=list)
    intakes: list[MailIntake] = field(default_factory=list)
    submissions: list[tuple[Submission, Institution]] = field(default_factory=list)  # files they mailed in
    activities: list[tuple[Activity, ConceptVersion, Institution]] = field(default_factory=list)
    snapshots: list[Submission] = field(default_factory=list)  # returns whose activity lists name them

    @property
    def empty(self) -> bool:
        return not (self.contacts or self.accounts or self.messages or self.events or self.intakes
                    or self.submissions or self.activities or self.snapshots)


def _text_contains(column: object, address: str):  # type: ignore[no-untyped-def]
    return func.lower(cast(column, Text)).contains(address, autoescape=True)


def find_person(*, session: Session, address: str) -> PersonRecords:
    """Every row that names the address (any case) or, where a person is named by name (activities, events),
    the name of one of their contact entries."""
    address = normalise_address(address)
    contacts = list(session.exec(select(Contact, Institution).join(Institution, col(Institution.id) ==
                                                                  Contact.institution_id)
                                 .where(func.lower(Contact.email) == address).order_by(col(Contact.id))).all())
    names = frozenset(normalise_name(c.name) for c, _ in contacts if c.name.strip() and c.name != ERASED)
    records = PersonRecords(address=address, names=names, contacts=[(c, i) for c, i in contacts])
    records.accounts = list(session.exec(select(StaffAccount).where(func.lower(StaffAccount.email) == address)
                                         .order_by(col(StaffAccount.id))).all())
    records.messages = [m for m in session.exec(select(OutboundMessage).where(or_(
        func.lower(OutboundMessage.recipient) == address, _text_contains(OutboundMessage.cc, address),
        _text_contains(OutboundMessage.last_error, address))).order_by(col(OutboundMessage.id))).all()]
    staff_actors = [f"staff:{account.name}" for account in records.accounts]
    events = session.exec(select(EventLog).where(or_(
        _text_contains(EventLog.actor, address), _text_contains(EventLog.subject, address),
        _text_contains(EventLog.details, address), col(EventLog.actor).in_(staff_actors),
        *([func.lower(EventLog.subject).in_(names)] if names else []))).order_by(col(EventLog.id))).all()
    records.events = list(events)
    records.intakes = list(session.exec(select(MailIntake).where(or_(
        func.lower(MailIntake.sender) == address, _text_contains(MailIntake.details, address)))
        .order_by(col(MailIntake.id))).all())
    mailed = {int(entry["submission"]) for intake in records.intakes if normalise_address(intake.sender) == address
              for entry in intake.details.get("files", []) if isinstance(entry, dict) and entry.get("submission")}
    if mailed:
        records.submissions = list(session.exec(
            select(Submission, Institution).join(Request, col(Request.id) == Submission.request_id)
            .join(Institution, col(Institution.id) == Request.institution_id)
            .where(col(Submission.id).in_(mailed)).order_by(col(Submission.id))).all())
    institutions = {i.id for _, i in contacts}
    by_name = [func.lower(Activity.contact_person).in_(names) & col(Activity.institution_id).in_(institutions)] \
        if names else []
    records.activities = list(session.exec(
        select(Activity, ConceptVersion, Institution)
        .join(ConceptVersion, col(ConceptVersion.id) == Activity.version_id)
        .join(Institution, col(Institution.id) == Activity.institution_id)
        .where(or_(func.lower(Activity.email) == address, *by_name,
                   *[_text_contains(getattr(Activity, f), address) for f in TEXT_FIELDS]))
        .order_by(col(Activity.id))).all())
    records.activities = [(a, v, i) for a, v, i in records.activities
                          if _activity_names(a, address, names if a.institution_id in institutions else frozenset())]
    candidates = session.exec(select(Submission).join(Request, col(Request.id) == Submission.request_id).where(or_(
        col(Request.institution_id).in_(institutions), _text_contains(Submission.activities, address)))
        .order_by(col(Submission.id))).all()
    records.snapshots = [s for s in candidates if _snapshot_names(s, address, names)]
    return records


TEXT_FIELDS = ("title", "description", "target_groups", "partners", "funding", "remarks", "link")


def _activity_names(activity: Activity, address: str, names: frozenset[str]) -> bool:
    fields = {"email": activity.email, "contact_person": activity.contact_person,
              **{f: getattr(activity, f) for f in TEXT_FIELDS}, "extra": activity.extra}
    return redact_activity(fields, address, names) != fields


def _snapshot_names(submission: Submission, address: str, names: frozenset[str]) -> bool:
    return any(redact_activity(item, address, names) != item for item in submission.activities)


@dataclass
class ErasureCounts:
    contacts: int = 0
    accounts: int = 0
    messages: int = 0
    cancelled: int = 0
    events: int = 0
    intakes: int = 0
    activities: int = 0
    snapshots: int = 0
    bodies: list[str] = field(default_factory=list)  # sha256 of mail bodies to remove from the file store

    def as_dict(self) -> dict[str, int]:
        return {"contacts": self.contacts, "accounts": self.accounts, "messages": self.messages,
                "cancelled": self.cancelled, "events": self.events, "intakes": self.intakes,
                "activities": self.activities, "snapshots": self.snapshots}


def erase(*, session: Session, records: PersonRecords, now: dt.datetime) -> ErasureCounts:
    """Replace the person in every row found (in the caller's transaction). Mail bodies are only listed: the
    caller removes the files after the commit."""
    address, names = records.address, records.names
    counts = ErasureCounts()
    for contact, _institution in records.contacts:
        contact.name, contact.email = ERASED, erased_address("kontakt", contact.id or 0)
        contact.salutation = contact.phone = ""
        contact.active = False
        contact.refused_reason = None
        counts.contacts += 1
    for account in records.accounts:
        account.email = erased_address("konto", account.id or 0)
        account.setup_hash = account.setup_expires_at = None
        session.execute(delete(StaffSession).where(col(StaffSession.staff_id) == account.id))
        counts.accounts += 1
    for message in records.messages:
        if normalise_address(message.recipient) == address:
            message.recipient = ERASED
        message.cc = [ERASED if normalise_address(a) == address else a for a in message.cc]
        message.subject = scrub(message.subject, address)
        message.last_error = scrub(message.last_error, address) if message.last_error else message.last_error
        if message.state in UNSENT:
            message.state, message.claimed_until, message.claimed_by = "cancelled", None, None
            message.last_error = "Empfänger auf Wunsch gelöscht (DSGVO); nicht versandt"
            counts.cancelled += 1
        if message.body_sha256 and message.body_removed_at is None:
            message.body_removed_at = now
            counts.bodies.append(message.body_sha256)
        counts.messages += 1
    for event in records.events:  # a staff member's own entries keep their name: who did what stays on record
        actor, subject, details = scrub(event.actor, address), scrub(event.subject, address, names), \
            scrub(event.details, address, names)
        if (actor, subject, details) != (event.actor, event.subject, event.details):
            event.actor, event.subject, event.details = actor, subject, details
            counts.events += 1
    for intake in records.intakes:
        if normalise_address(intake.sender) == address:
            intake.sender, intake.subject = ERASED, ERASED
        intake.details = scrub(intake.details, address)
        counts.intakes += 1
    contact_institutions = {i.id for _, i in records.contacts}
    for activity, _version, _institution in records.activities:
        own = names if activity.institution_id in contact_institutions else frozenset()
        fields = redact_activity({"email": activity.email, "contact_person": activity.contact_person,
                                  **{f: getattr(activity, f) for f in TEXT_FIELDS}, "extra": activity.extra},
                                 address, own)
        for key, value in fields.items():
            setattr(activity, key, value)
        counts.activities += 1
    for submission in records.snapshots:
        submission.activities = [redact_activity(item, address, names) for item in submission.activities]
        counts.snapshots += 1
    session.flush()
    return counts


def find_erasure(*, session: Session, person_hash: str) -> Erasure | None:
    return session.exec(select(Erasure).where(Erasure.person_hash == person_hash)).first()


def bodies_still_needed(*, session: Session, shas: list[str]) -> set[str]:
    """Of these mail bodies, those another message (one not erased) still points at."""
    if not shas:
        return set()
    rows = session.exec(select(OutboundMessage.body_sha256).where(
        col(OutboundMessage.body_sha256).in_(shas), col(OutboundMessage.body_removed_at).is_(None))).all()
    return {r for r in rows if r}


def institutions_without_primary(*, session: Session, codes: list[str]) -> list[str]:
    """Of these institutions, those with no active main contact left (they get no invitation until one is
    imported)."""
    if not codes:
        return []
    with_primary = set(session.exec(select(Institution.code).join(Contact, col(Contact.institution_id) ==
                                                                  Institution.id)
                                    .where(col(Institution.code).in_(codes), Contact.role == "primary",
                                           col(Contact.active).is_(True))).all())
    return sorted(set(codes) - with_primary)


def staff_mail(*, session: Session) -> list[OutboundMessage]:
    """Mail to staff that may name anyone (the daily digest lists senders and refused addresses), body kept."""
    return list(session.exec(select(OutboundMessage).where(OutboundMessage.kind == "staff_digest",
                                                           col(OutboundMessage.body_removed_at).is_(None),
                                                           col(OutboundMessage.body_sha256).is_not(None))).all())


def latest_erasure(*, session: Session) -> int | None:
    """The newest erasure's id: it changes whenever a person's data was erased anywhere (caches key on it)."""
    return session.exec(select(func.max(Erasure.id))).one()
