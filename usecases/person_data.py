"""A person's data on request: everything stored about an address as one JSON file (GDPR Art. 15), and its
erasure (Art. 17): in the database in one transaction, then the mail bodies and sink copies on disk.

What an erasure keeps: that the erasure happened, when and by whom (``erasure`` row and event, the address only
as a keyed hash); the structure of the record (a mail of this kind went to "[gelöscht]" on that day; the return
came in). Published documents (files) are not rewritten; the activities of every version lose the person's
name and address, so the next draft, sheet and rendering no longer show them.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from core.audit_text import MAIL_STATES, actor_label, describe_event
from core.dates import BERLIN
from core.personal_data import is_address, normalise_address, person_key
from mail.templates import KIND_LABELS
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.filestore import FileStoreError
from storage.models import Erasure, Region
from storage.person_data import (
    PersonRecords,
    bodies_still_needed,
    erase,
    find_erasure,
    find_person,
    institutions_without_primary,
    staff_mail,
)
from storage.regions import all_regions
from usecases.context import AppContext
from usecases.maintenance import maintenance_lock
from usecases.outbox import commit_unrecorded

OUTCOMES = {"accepted": "angenommen", "refused": "abgelehnt", "held": "nach der Veröffentlichung aufbewahrt",
            "no_changes": "keine Änderungen"}
ROLE_LABELS = {"primary": "Hauptansprechperson", "deputy": "Vertretung", "head": "Leitung"}
PURPOSES = [
    {"daten": "Ansprechperson (Name, Anrede, E-Mail, Telefon, Rolle)",
     "zweck": "Einladung, Erinnerung und Rückfragen zur jährlichen Abfrage des Handlungskonzepts",
     "dauer": "solange die Person als Ansprechperson ihrer Institution geführt wird"},
    {"daten": "Versandte E-Mails (Empfänger, Betreff, Inhalt)",
     "zweck": "Nachweis, wer wann eingeladen, erinnert und benachrichtigt wurde",
     "dauer": "Inhalte bis ein Jahr nach Veröffentlichung der folgenden Abfrage (FKO_KEEP_MAIL_DAYS); die Angabe, "
              "dass eine E-Mail ging, bleibt"},
    {"daten": "Eingegangene E-Mails und eingesandte Tabellen",
     "zweck": "Übernahme der Rückmeldung in das Handlungskonzept",
     "dauer": "Dateien bis ein Jahr nach Veröffentlichung der folgenden Abfrage (FKO_KEEP_UPLOADS_DAYS); die "
              "angenommene Datei hinter einer veröffentlichten Fassung bleibt als Beleg"},
    {"daten": "Protokoll (wer hat wann was getan)", "zweck": "Nachvollziehbarkeit des Verfahrens",
     "dauer": "solange die Installation betrieben wird"},
    {"daten": "Aktivitäten (Ansprechperson, E-Mail)", "zweck": "Inhalt des Handlungskonzepts",
     "dauer": "solange die Aktivität im Handlungskonzept steht; veröffentlichte Dokumente bleiben unverändert"},
]


class NotAnAddress(Exception):
    """What staff typed is not an e-mail address."""


class ActiveStaffAccount(Exception):
    """The address belongs to a staff account that can still sign in; it is locked first (`fko staff remove`)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _address(text: str) -> str:
    if not is_address(text):
        raise NotAnAddress(text)
    return normalise_address(text)


def _local(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(BERLIN).isoformat(timespec="seconds") if moment else None


# --- export -------------------------------------------------------------------------------------------


def export_person(ctx: AppContext, *, address: str, now: dt.datetime, by: str) -> dict[str, Any]:
    """Everything stored about ``address``, as a document for the person (German keys); the request is logged."""
    address = _address(address)
    require_current_schema(ctx.engine)
    with session_scope(ctx.engine) as session:
        records = find_person(session=session, address=address)
        regions = all_regions(session=session)
        document = _document(ctx, records, regions, now)
        record_event(session=session, region_id=None, actor=f"staff:{by}", action="person.exported",
                     subject=address[:200], details={"found": not records.empty})
    document["lokale_e_mail_ablage"] = [path.name for path in sink_files(ctx.settings.mail_sink_dir, address)]
    return document


def _document(ctx: AppContext, records: PersonRecords, regions: list[Region], now: dt.datetime) -> dict[str, Any]:
    return {
        "auskunft": "Auskunft nach Art. 15 DSGVO: alle Daten, die fko-cycle zu dieser E-Mail-Adresse speichert.",
        "e_mail_adresse": records.address,
        "erstellt_am": _local(now),
        "verantwortliche_stelle": [{"region": r.name, "stelle": r.agency_name, "e_mail": r.agency_email,
                                    "telefon": r.agency_phone, "anschrift": r.agency_address} for r in regions],
        "zwecke_und_speicherdauer": PURPOSES,
        "daten_gefunden": not records.empty,
        "ansprechperson": [{"institution": i.name, "kuerzel": i.code, "name": c.name, "anrede": c.salutation,
                            "e_mail": c.email, "telefon": c.phone, "rolle": ROLE_LABELS.get(c.role, c.role),
                            "aktiv": c.active, "adresse_abgelehnt_am": _local(c.refused_at),
                            "grund_der_ablehnung": c.refused_reason} for c, i in records.contacts],
        "konto_interner_bereich": [{"name": a.name, "e_mail": a.email, "angelegt_am": _local(a.created_at),
                                    "aktiv": a.active} for a in records.accounts],
        "gesendete_e_mails": [_message(ctx, m) for m in records.messages],
        "eingegangene_e_mails": [{"eingegangen_am": _local(i.fetched_at), "absender": i.sender, "betreff": i.subject,
                                  "ordner": i.target, "ergebnis": i.details.get("lines", [])}
                                 for i in records.intakes],
        "eingesandte_dateien": [_upload(ctx, s, i.code) for s, i in records.submissions],
        "aktivitaeten": [{"version": v.label, "stand": "veröffentlicht" if v.status == "published" else "Entwurf",
                          "institution": i.code, "id": a.key, "titel": a.title, "ansprechperson": a.contact_person,
                          "e_mail": a.email} for a, v, i in records.activities],
        "rueckmeldungen_mit_ihrem_namen": [{"eingegangen_am": _local(s.received_at), "rueckmeldung": s.id}
                                           for s in records.snapshots],
        "protokoll": [{"zeit": _local(e.at), "wer": actor_label(e.actor),
                       "was": describe_event(e.action, e.subject, e.details)} for e in records.events],
    }


def _message(ctx: AppContext, message: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "art": KIND_LABELS.get(message.kind, message.kind), "betreff": message.subject, "an": message.recipient,
        "kopie": message.cc, "erstellt_am": _local(message.created_at), "versandt_am": _local(message.sent_at),
        "stand": MAIL_STATES.get(message.state, message.state), "text": None, "anhaenge": [],
        "inhalt_geloescht_am": _local(message.body_removed_at)}
    if message.body_sha256 and message.body_removed_at is None:
        try:
            parsed = email.message_from_bytes(ctx.files.get(message.body_sha256, kind="mail"),
                                              policy=email.policy.default)
        except FileStoreError:
            return entry
        if isinstance(parsed, EmailMessage):
            body = parsed.get_body(("plain",))
            entry["text"] = body.get_content() if body is not None else None
            entry["anhaenge"] = [part.get_filename() or "" for part in parsed.iter_attachments()]
    return entry


def _upload(ctx: AppContext, submission: Any, code: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"eingegangen_am": _local(submission.received_at), "institution": code,
                             "dateiname": submission.filename,
                             "ergebnis": OUTCOMES.get(submission.outcome, submission.outcome),
                             "sha256": submission.raw_sha256, "inhalt_base64": None,
                             "datei_entfernt_am": _local(submission.raw_removed_at)}
    if submission.raw_sha256 and submission.raw_removed_at is None:
        with contextlib.suppress(FileStoreError):  # gone from the disk: the entry says what was received
            entry["inhalt_base64"] = base64.b64encode(ctx.files.get(submission.raw_sha256, kind="upload")).decode()
    return entry


# --- erasure ------------------------------------------------------------------------------------------


@dataclass
class ErasureReport:
    address: str
    dry_run: bool
    counts: dict[str, int] = field(default_factory=dict)
    institutions: list[str] = field(default_factory=list)
    bodies_removed: int = 0
    sink_removed: int = 0
    earlier: tuple[dt.datetime, str] | None = None   # when and by whom an earlier erasure of this address ran
    erasure_id: int | None = None
    without_primary: list[str] = field(default_factory=list)  # institutions left without a reachable main contact

    @property
    def found(self) -> bool:
        return any(self.counts.values()) or bool(self.bodies_removed or self.sink_removed)


def erase_person(ctx: AppContext, *, address: str, by: str, now: dt.datetime, dry_run: bool = False
                 ) -> ErasureReport:
    """Replace the person everywhere (see the module). Safe to repeat: a second run finds nothing new in the
    database and finishes the removal of files an interrupted run left behind."""
    address = _address(address)
    require_current_schema(ctx.engine)
    key = person_key(ctx.settings.secret(), address)
    report = ErasureReport(address=address, dry_run=dry_run)
    with maintenance_lock(ctx.settings.data_dir):
        if not dry_run:
            commit_unrecorded(ctx)  # a message that went out while the database was away counts as sent
        with session_scope(ctx.engine) as session:
            records = find_person(session=session, address=address)
            known = {m.id for m in records.messages}
            records.messages += [m for m in staff_mail(session=session)
                                 if m.id not in known and _body_names(ctx, m.body_sha256 or "", address)]
            active = next((a for a in records.accounts if a.active), None)
            if active is not None:
                raise ActiveStaffAccount(active.name)
            earlier = find_erasure(session=session, person_hash=key)
            if earlier is not None:
                report.earlier = (earlier.erased_at, earlier.erased_by)
            report.institutions = sorted({i.code for _, i in records.contacts})
            counts = erase(session=session, records=records, now=now)
            report.counts = counts.as_dict()
            report.without_primary = institutions_without_primary(session=session, codes=report.institutions)
            pending = sorted(set(counts.bodies) | set(earlier.details.get("bodies", []) if earlier else []))
            if dry_run:
                session.rollback()
                report.bodies_removed = sum(1 for sha in pending if ctx.files.exists(sha, kind="mail"))
                report.sink_removed = len(sink_files(ctx.settings.mail_sink_dir, address))
                return report
            if not records.empty:
                erasure = earlier or Erasure(person_hash=key, erased_by=by[:200], erased_at=now, details={})
                totals = dict(erasure.details.get("counts", {}))
                for name, value in report.counts.items():
                    totals[name] = int(totals.get(name, 0)) + value
                erasure.details = {"counts": totals, "bodies": pending}
                session.add(erasure)
                session.flush()
                report.erasure_id = erasure.id
                record_event(session=session, region_id=None, actor=f"staff:{by}", action="person.erased",
                             subject=f"Löschung Nr. {erasure.id}", details=report.counts)
            elif earlier is not None:
                report.erasure_id = earlier.id
        # After the commit: the files. A crash here is finished by the next run (the erasure lists them).
        with session_scope(ctx.engine) as session:
            keep = bodies_still_needed(session=session, shas=pending)
        for sha in pending:
            if sha not in keep and ctx.files.remove(sha, kind="mail"):
                report.bodies_removed += 1
        for path in sink_files(ctx.settings.mail_sink_dir, address):
            path.unlink(missing_ok=True)
            report.sink_removed += 1
    return report


def _body_names(ctx: AppContext, sha: str, address: str) -> bool:
    """Whether a stored mail's text (decoded, every part) names the address."""
    try:
        parsed = email.message_from_bytes(ctx.files.get(sha, kind="mail"), policy=email.policy.default)
    except FileStoreError:
        return False
    texts = [part.get_content() for part in parsed.walk() if part.get_content_maintype() == "text"]
    return any(address in str(text).lower() for text in texts)


def sink_files(sink_dir: Path, address: str) -> list[Path]:
    """The .eml files of the local mail sink that went to ``address`` (as To, Cc or envelope recipient)."""
    if not sink_dir.is_dir():
        return []
    found = []
    parser = BytesHeaderParser(policy=email.policy.default)
    for path in sorted(sink_dir.glob("*.eml")):
        try:
            with path.open("rb") as handle:
                headers = parser.parse(handle)
        except OSError:
            continue
        fields = [str(value) for name in ("X-Fko-Envelope-To", "To", "Cc") for value in headers.get_all(name, [])]
        if address in {normalise_address(found_address) for _, found_address in getaddresses(fields)}:
            found.append(path)
    return found
