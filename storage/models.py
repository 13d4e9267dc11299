"""SQLModel tables for the data model of DESIGN §4. Times are UTC; deadlines are calendar dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime

# Named constraints, so migrations can alter them later (SQLite batch mode needs names).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _utc(nullable: bool = False) -> Any:
    if nullable:
        return Field(sa_column=Column(UTCDateTime(), nullable=True), default=None)
    return Field(sa_column=Column(UTCDateTime(), nullable=False), default_factory=utcnow)


def _json(default: Any) -> Any:
    return Field(sa_column=Column(JSON, nullable=False), default_factory=default)


def _text() -> Any:
    return Field(sa_column=Column(Text, nullable=False), default="")


class Region(SQLModel, table=True):
    """A tenant: one region and the agency that runs its yearly round."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, unique=True)
    name: str = Field(max_length=200)
    agency_name: str = Field(max_length=200)
    agency_email: str = Field(max_length=320)
    agency_phone: str = Field(default="", max_length=100)
    agency_address: str = Field(default="", max_length=300)
    # Whose public holidays move reminder dates (German federal state code).
    holiday_state: str = Field(default="NW", max_length=2)
    # The funding line shown on documents, pages and mails.
    funding_line: str = _text()
    # The region's logo (PNG or SVG) for pages and documents; kept in the database so backups hold it.
    logo: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    logo_type: str = Field(default="", max_length=40)
    # The last year the action concept plans for; a later year in a sheet is a notice (None: survey year + 3).
    concept_horizon: int | None = Field(default=None)
    # The latest year a sheet accepts at all (None: concept horizon + 5).
    sheet_max_year: int | None = Field(default=None)
    # The region's own survey_templates folder (absolute; "": FKO_TEMPLATES_DIR) and its page's address
    # ("": FKO_BASE_URL, with /CODE once the database holds several regions).
    templates_dir: str = Field(default="", max_length=1000)
    base_url: str = Field(default="", max_length=500)
    sample_data: bool = Field(default=False)
    created_at: dt.datetime = _utc()


class Institution(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("region_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    code: str = Field(max_length=16)
    name: str = Field(max_length=300)
    kind: str | None = Field(default=None, max_length=100)
    local_authority: str | None = Field(default=None, max_length=100)
    active: bool = Field(default=True)
    # Highest running number ever given to one of its activities: new keys never reuse a number.
    last_activity_number: int = Field(default=0)
    created_at: dt.datetime = _utc()
    updated_at: dt.datetime = _utc()


class Contact(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320)
    role: str = Field(max_length=10)  # primary | deputy | head
    # Optional "Anrede" (e.g. "Frau Dr.") and "Telefon" columns of the institutions file.
    salutation: str = Field(default="", max_length=100)
    phone: str = Field(default="", max_length=100)
    active: bool = Field(default=True)
    # Set when the mail server refused the address for good (5xx): no more mail to it.
    refused_at: dt.datetime | None = _utc(nullable=True)
    refused_reason: str | None = Field(default=None, max_length=500)

    __table_args__ = (UniqueConstraint("institution_id", "email"),)  # an address once per institution


class ConceptVersion(SQLModel, table=True):
    __tablename__ = "concept_version"
    __table_args__ = (UniqueConstraint("region_id", "label"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    label: str = Field(max_length=40)
    status: str = Field(default="draft", max_length=10)  # draft | published
    parent_id: int | None = Field(default=None, foreign_key="concept_version.id")
    note: str = _text()
    created_at: dt.datetime = _utc()
    published_at: dt.datetime | None = _utc(nullable=True)
    approved_by: str | None = Field(default=None, max_length=200)
    # Staff-written Markdown sections, name → text (DESIGN §6), carried into the next draft.
    sections: dict[str, str] = _json(dict)
    # For a draft: a fingerprint of the base and the answers it was built from (a changed one means stale).
    built_from: str = Field(default="", max_length=64)
    # The last rendering kept in the file store: {"status": draft|published, "complete": bool,
    # "files": {relative name: {"sha256": ..., "size": ...}}}; a complete published set stays.
    documents: dict[str, Any] = _json(dict)


class Activity(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("version_id", "key"),
        Index("ix_activity_version_institution", "version_id", "institution_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="concept_version.id")
    institution_id: int = Field(foreign_key="institution.id", index=True)
    key: str = Field(max_length=40)
    position: int = Field(default=0)
    title: str = Field(max_length=200)
    description: str = _text()
    field_of_action: str = Field(max_length=200)
    status: str = Field(max_length=40)
    start: str = Field(default="", max_length=10)
    end: str = Field(default="", max_length=10)
    target_groups: str = _text()
    area: str = Field(default="", max_length=100)
    partners: str = _text()
    funding: str = _text()
    contact_person: str = Field(default="", max_length=200)
    email: str = Field(default="", max_length=320)
    link: str = Field(default="", max_length=2000)
    remarks: str = _text()
    # Columns a region added to its sheet beyond the built-in fields (DESIGN §5: the spec is data).
    extra: dict[str, str] = _json(dict)
    # False when the institution did not answer this year and the base entry was carried over.
    confirmed: bool = Field(default=True)
    # e.g. "missing": vanished from a returned sheet without status "entfällt" (kept, flagged).
    flag: str | None = Field(default=None, max_length=40)


class Cycle(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("region_id", "year"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    year: int
    opened_at: dt.datetime = _utc()
    deadline: dt.date
    # The published version the round starts from; None for a region's first round (no concept yet).
    base_version_id: int | None = Field(default=None, foreign_key="concept_version.id")
    draft_version_id: int | None = Field(default=None, foreign_key="concept_version.id")
    # open | published (its version adopted: no more answers, no reminders) | closed (links stopped too)
    state: str = Field(default="open", max_length=10)
    closed_at: dt.datetime | None = _utc(nullable=True)


class Request(SQLModel, table=True):
    """One institution's part in one cycle, reached through its personal link."""

    __table_args__ = (UniqueConstraint("cycle_id", "institution_id"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    institution_id: int = Field(foreign_key="institution.id", index=True)
    # sha256 of the personal token; the token itself is never stored (core.token derives it from
    # the server secret and this nonce; a new nonce revokes the old link).
    token_hash: str | None = Field(default=None, max_length=64, unique=True)
    token_nonce: str = Field(default="", max_length=64)
    token_expires_at: dt.datetime | None = _utc(nullable=True)
    token_revoked_at: dt.datetime | None = _utc(nullable=True)
    state: str = Field(default="invited", max_length=20)
    answered_at: dt.datetime | None = _utc(nullable=True)
    reminders_sent: int = Field(default=0)
    last_step: str | None = Field(default=None, max_length=40)


class Submission(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    received_at: dt.datetime = _utc()
    source: str = Field(max_length=10)  # portal | mail | cli | inbox
    filename: str = Field(default="", max_length=255)
    raw_sha256: str | None = Field(default=None, max_length=64)
    raw_path: str | None = Field(default=None, max_length=500)
    size: int = Field(default=0)
    outcome: str = Field(max_length=12)  # accepted | refused | no_changes
    problems: list[dict[str, Any]] = _json(list)
    changes: dict[str, Any] = _json(dict)
    # The institution's activities as accepted (keys assigned to new rows), a snapshot for history.
    activities: list[dict[str, Any]] = _json(list)
    # When the raw file was removed from the file store (retention, `fko cleanup`); the sha256 stays as proof.
    raw_removed_at: dt.datetime | None = _utc(nullable=True)


class OutboundMessage(SQLModel, table=True):
    """The outbox: written before sending, so a retry or crash never sends a message twice."""

    __tablename__ = "outbound_message"

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    cycle_id: int | None = Field(default=None, foreign_key="cycle.id", index=True)
    institution_id: int | None = Field(default=None, foreign_key="institution.id", index=True)
    kind: str = Field(max_length=40)
    recipient: str = Field(max_length=320)
    cc: list[str] = _json(list)
    subject: str = Field(default="", max_length=500)
    message_id: str = Field(default="", max_length=300)
    state: str = Field(default="pending", max_length=12)  # pending | sent | failed | refused
    attempts: int = Field(default=0)
    last_error: str | None = Field(default=None, max_length=1000)
    body_sha256: str | None = Field(default=None, max_length=64)
    # A sender owns a message it is sending until then; a crashed sender's claim runs out.
    claimed_until: dt.datetime | None = _utc(nullable=True)
    claimed_by: str | None = Field(default=None, max_length=200)  # "host:pid:start" of the sending process
    created_at: dt.datetime = _utc()
    sent_at: dt.datetime | None = _utc(nullable=True)
    # When the body was removed from the file store (retention, or a person's data erased).
    body_removed_at: dt.datetime | None = _utc(nullable=True)


class EventLog(SQLModel, table=True):
    __tablename__ = "event_log"

    id: int | None = Field(default=None, primary_key=True)
    at: dt.datetime = _utc()
    region_id: int | None = Field(default=None, foreign_key="region.id", index=True)
    actor: str = Field(max_length=100)  # "staff:<name>", "system", "institution:<code>"
    action: str = Field(max_length=100)
    subject: str = Field(default="", max_length=200)
    details: dict[str, Any] = _json(dict)


class ReplacedLink(SQLModel, table=True):
    """The hash of a personal link staff replaced (`fko cycle new-link`): its page says a newer one was sent."""

    __tablename__ = "replaced_link"

    token_hash: str = Field(primary_key=True, max_length=64)
    request_id: int = Field(foreign_key="request.id", index=True)
    replaced_at: dt.datetime = _utc()


class StaffAccount(SQLModel, table=True):
    """A staff member who signs in to the staff area (`fko staff add`)."""

    __tablename__ = "staff_account"
    __table_args__ = (UniqueConstraint("region_id", "name"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    name: str = Field(max_length=100)
    email: str = Field(max_length=320)
    password_hash: str | None = Field(default=None, max_length=200)  # argon2id; None until set
    setup_hash: str | None = Field(default=None, max_length=64, unique=True)  # one-time link to set it
    setup_expires_at: dt.datetime | None = _utc(nullable=True)
    failed_logins: int = Field(default=0)
    blocked_until: dt.datetime | None = _utc(nullable=True)
    active: bool = Field(default=True)
    # "region": the region's own staff (its round, documents, approval); "state": the ministry's account, which
    # sees the roll-up of all regions (/intern/land/) and none of the region's own pages.
    role: str = Field(default="region", max_length=10, sa_column_kwargs={"server_default": "region"})
    created_at: dt.datetime = _utc()


class StaffSession(SQLModel, table=True):
    """A signed-in browser: only the sha256 of its cookie value is stored."""

    __tablename__ = "staff_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff_account.id", index=True)
    created_at: dt.datetime = _utc()
    expires_at: dt.datetime = _utc()


class MailIntake(SQLModel, table=True):
    """A message read from the agency's mailbox (IMAP), recorded before it is moved out of the folder read:
    a fetcher that dies between recording and moving finds the record and only moves the message."""

    __tablename__ = "mail_intake"
    __table_args__ = (UniqueConstraint("region_id", "folder", "uidvalidity", "uid"),)

    id: int | None = Field(default=None, primary_key=True)
    region_id: int = Field(foreign_key="region.id", index=True)
    folder: str = Field(max_length=200)           # the folder it was read from (FKO_IMAP_FOLDER)
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    message_id: str = Field(default="", max_length=300)
    sender: str = Field(default="", max_length=320)  # shown to staff, never trusted for identity
    subject: str = Field(default="", max_length=500)
    kind: str = Field(max_length=12)              # return | unclear | bounce | autoreply | delayed
    target: str = Field(max_length=40)            # verarbeitet | unklar | unzustellbar (under fko/)
    # Per attachment: filename, sha256, outcome, institution, reason; for a bounce: the refused addresses.
    details: dict[str, Any] = _json(dict)
    fetched_at: dt.datetime = _utc()
    moved_at: dt.datetime | None = _utc(nullable=True)


class Erasure(SQLModel, table=True):
    """A person's data erased on request (`fko person erase`): which person only as a keyed hash of the address,
    so a repeated request is recognised and finishes what a crash left (the files listed in ``details``)."""

    __tablename__ = "erasure"

    id: int | None = Field(default=None, primary_key=True)
    person_hash: str = Field(max_length=64, unique=True)  # HMAC-SHA256 of the lower-cased address
    erased_at: dt.datetime = _utc()
    erased_by: str = Field(max_length=200)
    # What was erased (counts) and the mail bodies and sink files to remove from disk after the commit.
    details: dict[str, Any] = _json(dict)
