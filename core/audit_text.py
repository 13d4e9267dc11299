"""The audit log in German: who did what when, one sentence per recorded event or mail (`fko log`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

STEP_LABELS = {"reminder": "Erinnerung", "reminder_deputy": "Erinnerung mit Vertretung",
               "escalation": "Eskalation an die Leitung", "phone": "Telefonaufgabe"}
MAIL_STATES = {"pending": "wartet auf den Versand", "sending": "im Versand", "sent": "versandt",
               "failed": "noch nicht versandt, wird wiederholt", "refused": "vom Mailserver abgelehnt",
               "cancelled": "verworfen, nicht versandt"}
SECTION_STATES = {"new": "neu", "changed": "geändert", "unchanged": "unverändert", "removed": "entfernt"}


@dataclass(frozen=True)
class AuditLine:
    """One line of the log: when (UTC), who, what (German), for which institution (code), and its kind."""

    at: dt.datetime
    who: str
    what: str
    institution: str | None
    action: str


def actor_label(actor: str) -> str:
    """``staff:Petra`` → ``Petra``, ``institution:IHK`` → ``Institution IHK`` …"""
    kind, _, name = actor.partition(":")
    if kind == "staff":
        return name or "Mitarbeitende (Befehlszeile)"
    if kind == "institution":
        return f"Institution {name}"
    if kind == "system":
        return "fko-cycle (automatisch)"
    return actor


def _date(text: object) -> str:
    try:
        day = dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return str(text)
    return f"{day:%d.%m.%Y}"


def _n(details: Mapping[str, Any], key: str) -> int:
    value = details.get(key, 0)
    if isinstance(value, list):
        return len(value)
    return int(value) if isinstance(value, (int, float)) else 0


def _size(size: int) -> str:
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} Bytes"


def _year(d: Mapping[str, Any]) -> str:
    return f" (Abfrage {d['year']})" if d.get("year") else ""


def _accepted(s: str, d: Mapping[str, Any]) -> str:
    return (f"Rückmeldung von {s} angenommen{_year(d)}: {_n(d, 'new')} neu, {_n(d, 'changed')} geändert, "
            f"{_n(d, 'ended')} beendet, {_n(d, 'unchanged')} unverändert"
            + (", Eingangsbestätigung verschickt" if d.get("notified") else ""))


def _reminder(s: str, d: Mapping[str, Any]) -> str:
    step = STEP_LABELS.get(str(d.get("step", "")), str(d.get("step", "")))
    return f"{step} an {s}{_year(d)}, fällig am {_date(d.get('due_on', ''))}"


def _erased(s: str, d: Mapping[str, Any]) -> str:
    parts = [(_n(d, "contacts"), "Ansprechperson", "Ansprechpersonen"), (_n(d, "accounts"), "Konto", "Konten"),
             (_n(d, "messages"), "E-Mail", "E-Mails"), (_n(d, "events"), "Protokolleintrag", "Protokolleinträge"),
             (_n(d, "intakes"), "eingegangene E-Mail", "eingegangene E-Mails"),
             (_n(d, "activities"), "Aktivität", "Aktivitäten")]
    listed = ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)
    return f"Personenbezogene Daten auf Wunsch gelöscht ({s}): {listed or 'nichts mehr gespeichert'}"


def _cleanup(s: str, d: Mapping[str, Any]) -> str:
    parts = [(_n(d, "uploads"), "hochgeladene Datei", "hochgeladene Dateien"),
             (_n(d, "mail"), "E-Mail-Inhalt", "E-Mail-Inhalte"),
             (_n(d, "sink"), "Datei der lokalen E-Mail-Ablage", "Dateien der lokalen E-Mail-Ablage"),
             (_n(d, "inbox"), "Datei im Eingangsordner", "Dateien im Eingangsordner"),
             (_n(d, "orphans"), "Datei ohne Verweis", "Dateien ohne Verweis"),
             (_n(d, "sessions"), "abgelaufene Anmeldung", "abgelaufene Anmeldungen")]
    listed = ", ".join(f"{n} {one if n == 1 else many}" for n, one, many in parts if n)
    return f"Aufbewahrungsfristen angewandt, entfernt: {listed or 'nichts'}"


def _sections(s: str, d: Mapping[str, Any]) -> str:
    changed = ", ".join(f"{name} ({SECTION_STATES.get(str(state), str(state))})" for name, state in d.items())
    return f"Texte des Konzepts {s} aus Word übernommen" + (f": {changed}" if changed else "")


TEXTS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "invitations.queued": lambda s, d: f"Einladungen zur Abfrage {s} vorbereitet: {_n(d, 'invitations')} E-Mails"
    + (f", ohne erreichbare Ansprechperson: {', '.join(map(str, d['without_contact']))}"
       if d.get("without_contact") else ""),
    "cycle.opened": lambda s, d: f"Abfrage {s} eröffnet, Frist {_date(d.get('deadline', ''))}",
    "cycle.closed": lambda s, d: f"Abfrage {s} beendet; die persönlichen Links gelten nicht mehr",
    "cycle.deadline_moved": lambda s, d: f"Frist der Abfrage {s} verschoben vom {_date(d.get('from', ''))} auf den "
    f"{_date(d.get('to', ''))}" + (", Hinweis an die Institutionen" if d.get("notice") else ""),
    "link.renewed": lambda s, d: f"Neuer persönlicher Link für {s}{_year(d)}; der bisherige gilt nicht mehr",
    "staff.new_link": lambda s, d: f"Neuen Link für {s} im internen Bereich angefordert{_year(d)}",
    "sheet.downloaded": lambda s, d: f"Tabelle von {s} heruntergeladen{_year(d)}",
    "return.accepted": _accepted,
    "return.refused": lambda s, d: f"Datei von {s} abgelehnt{_year(d)}: {_n(d, 'problems')} Probleme"
    + (", Ablehnung verschickt" if d.get("notified") else ""),
    "return.held": lambda s, d: f"Datei von {s} nach der Veröffentlichung eingegangen ({d.get('filename', '')}): "
    "aufbewahrt, nicht übernommen",
    "return.no_changes": lambda s, d: f"{s} hat „Keine Änderungen“ bestätigt{_year(d)}",
    "return.by_phone": lambda s, d: f"Telefonische Rückmeldung von {s} eingetragen{_year(d)}",
    "reminder.sent": _reminder,
    "reminder.phone_task": lambda s, d: f"Telefonaufgabe angelegt: {s} anrufen{_year(d)}",
    "reminder.phone_done": lambda s, d: f"Telefonaufgabe für {s} erledigt{_year(d)}",
    "draft.rebuilt": lambda s, d: f"Entwurf {s} aktualisiert: {_n(d, 'activities')} Aktivitäten, Rückmeldungen "
    f"von {_n(d, 'answered')}, ohne Rückmeldung {_n(d, 'not_answered')}",
    "version.published": lambda s, d: f"Version {s} freigegeben und veröffentlicht",
    "version.rejected": lambda s, d: f"Freigabe der Version {s} abgelehnt"
    + (f": {d['comment']}" if d.get("comment") else ""),
    "concept.imported": lambda s, d: f"Handlungskonzept {s} eingelesen ({_n(d, 'activities')} Aktivitäten)",
    "concept.texts.imported": _sections,
    "institutions.imported": lambda s, d: f"Institutionsliste {s} eingelesen: {_n(d, 'created')} neu, "
    f"{_n(d, 'updated')} geändert, {_n(d, 'contacts_deactivated')} Ansprechpersonen deaktiviert",
    "region.created": lambda s, d: f"Region {s} eingerichtet",
    "region.updated": lambda s, d: f"Region {s} geändert" + (f": {', '.join(map(str, d['changed']))}"
                                                            if d.get("changed") else ""),
    "demo.loaded": lambda s, d: f"Demo-Daten geladen: {_n(d, 'institutions')} Institutionen, "
    f"{_n(d, 'activities')} Aktivitäten",
    "digest.queued": lambda s, d: f"Tagesübersicht für das Team vorbereitet ({_date(d.get('day', ''))})",
    "mail.test": lambda s, d: f"Test-E-Mails an {s}: {_n(d, 'sent')} versandt, {_n(d, 'failed')} fehlgeschlagen",
    "mail.claims_released": lambda s, d: f"Versand eines abgebrochenen Vorgangs übernommen ({_n(d, 'messages')} "
    "E-Mails)",
    "mail.address_refused": lambda s, d: f"Adresse {s} abgelehnt" + (f" ({d['reason']})" if d.get("reason") else "")
    + "; keine weiteren E-Mails dorthin",
    "mail.unclear": lambda s, d: f"E-Mail von {s} ohne zuzuordnende Tabelle"
    + ("; kurze Antwort verschickt" if d.get("answered") else ""),
    "mail.autoreply": lambda s, d: f"Automatische Antwort von {s} (z. B. Abwesenheit), nicht beantwortet",
    "staff.added": lambda s, d: f"Konto „{s}“ angelegt",
    "staff.password_set": lambda s, d: f"Passwort für „{s}“ festgelegt",
    "staff.removed": lambda s, d: f"Konto „{s}“ gesperrt",
    "staff.signed_in": lambda s, d: f"„{s}“ hat sich im internen Bereich angemeldet",
    "staff.sign_in_failed": lambda s, d: f"Anmeldung als „{s}“ fehlgeschlagen",
    "backup.created": lambda s, d: f"Sicherung {s} geschrieben ({_size(_n(d, 'size'))}, {_n(d, 'files')} Dateien)",
    "backup.restored": lambda s, d: f"Aus der Sicherung {s} wiederhergestellt (erstellt am "
    f"{_date(d.get('created_at', ''))})",
    "person.exported": lambda s, d: f"Auskunft über die gespeicherten Daten zu {s} erstellt",
    "person.erased": _erased,
    "cleanup.done": _cleanup,
}


def describe_event(action: str, subject: str, details: Mapping[str, Any]) -> str:
    """One German sentence for a recorded event."""
    text = TEXTS.get(action)
    if text is None:
        return f"Ereignis „{action}“" + (f": {subject}" if subject else "")
    return text(subject, details)


def event_institution(action: str, actor: str, subject: str, details: Mapping[str, Any]) -> str | None:
    """The institution (code) an event concerns, if any."""
    if actor.startswith("institution:"):
        return actor.partition(":")[2]
    if action.startswith(("return.", "reminder.", "link.", "sheet.")) or action == "staff.new_link":
        return subject or None
    institution = details.get("institution")
    return str(institution) if institution else None


def describe_mail(kind_label: str, recipient: str, cc: list[str], state: str, last_error: str | None) -> str:
    """One German sentence for a message of the outbox, with its state."""
    copy = f" (Kopie: {', '.join(cc)})" if cc else ""
    text = f"E-Mail „{kind_label}“ an {recipient}{copy}: {MAIL_STATES.get(state, state)}"
    if state in ("refused", "failed") and last_error:
        text += f" ({last_error[:200]})"
    return text
