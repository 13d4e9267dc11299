"""Artifacts for the Prefect dashboard: what staff look at. Stable keys, so the dashboard shows history."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)

from core.dates import german_date
from flows.regions import artifact_key
from usecases.context import AppContext
from usecases.status import STATE_LABELS, CycleStatus, cycle_status

ANSWERS = {"accepted": "Tabelle angenommen", "no_changes": "keine Änderungen"}


async def publish_status(ctx: AppContext, *, year: int, region: str | None = None) -> dict[str, object]:
    """The response table per institution and the response rate (keys with ``region``'s code when given)."""
    status = cycle_status(ctx, year=year)
    gone: dict[str, list[str]] = {}
    for address in status.undeliverable:
        gone.setdefault(address.code, []).append(address.address)
    rows = [{"Kürzel": r.code, "Institution": r.name,
             "Stand": ANSWERS.get(r.answer or "", STATE_LABELS.get(r.state, r.state)),
             "Erinnerungen": r.reminders, "Eskaliert": "ja" if r.escalated else "",
             "Telefonaufgabe": "anrufen" if r.phone_task and not r.answer else "",
             "Letzte Aktion": r.last_action, "Unzustellbar": ", ".join(gone.get(r.code, [])),
             "Datum": r.last_action_at.astimezone(dt.UTC).strftime("%d.%m.%Y") if r.last_action_at else ""}
            for r in status.rows]
    await create_table_artifact(key=artifact_key(f"fko-response-table-{year}", region), table=rows,
                                description=f"Rückmeldungen der Abfrage {year} (Frist {german_date(status.deadline)})")
    totals = status.totals
    await create_progress_artifact(key=artifact_key(f"fko-response-rate-{year}", region),
                                   progress=100.0 * float(totals["response_rate"]),
                                   description=f"Rücklaufquote {year}: {totals['answered']} von "
                                               f"{totals['institutions']}")
    if status.undeliverable or status.unclear_mail:
        await publish_markdown(artifact_key(f"fko-mailbox-{year}", region), mailbox_markdown(status),
                               f"Unzustellbare Adressen und unklare E-Mails der Abfrage {year}")
    return totals


def _cell(text: str) -> str:
    """One table cell of text from outside (a mail's subject): no markup, links or HTML of its own."""
    escaped = re.sub(r"([\\`*_{}\[\]()<>#+!|~])", r"\\\1", text)
    return " ".join(escaped.split())[:300]


def mailbox_markdown(status: CycleStatus) -> str:
    """What needs a person: addresses no mail reaches any more, and mails in fko/unklar."""
    lines: list[str] = []
    if status.undeliverable:
        lines += ["### Unzustellbare Adressen", "", "Keine E-Mails mehr dorthin; Erinnerungen gehen an die nächste "
                  "Ansprechperson.", "", "| Kürzel | Institution | Adresse | Grund |", "|---|---|---|---|"]
        lines += [f"| {_cell(u.code)} | {_cell(u.name)} | {_cell(u.address)} | {_cell(u.reason)} |"
                  for u in status.undeliverable]
        lines.append("")
    if status.unclear_mail:
        lines += ["### E-Mails im Ordner fko/unklar", "", "| Absender | Betreff | Was | ", "|---|---|---|"]
        lines += [f"| {_cell(m.sender)} | {_cell(m.subject)} | {_cell('; '.join(m.lines))} |"
                  for m in status.unclear_mail]
    return "\n".join(lines)


async def publish_markdown(key: str, markdown: str, description: str) -> None:
    await create_markdown_artifact(key=key, markdown=markdown, description=description)


def document_url(base_url: str, *, label: str, name: str) -> str:
    """Where staff open a version's document: the staff area over HTTP (``name`` relative to the version's
    documents folder, e.g. ``word-pdf/Handlungskonzept-2026.pdf``), never a file path on the server."""
    return f"{base_url.rstrip('/')}/intern/dokumente/{quote(label, safe='')}/{quote(name, safe='/')}"


async def publish_documents(names: list[str], *, label: str, base_url: str, region: str | None = None) -> None:
    """One link artifact per document; ``names`` relative to the version's documents folder."""
    for name in names:
        slug = "".join(c if c.isalnum() else "-" for c in name.lower())
        key = f"fko-doc-{region}-{slug}" if region else f"fko-doc-{slug}"
        await create_link_artifact(key=key[:80], link=document_url(base_url, label=label, name=name),
                                   link_text=name, description=f"Dokument der Version {label} (Mitarbeiterbereich)")


async def publish_next_opening(next_opening: dt.datetime | None) -> None:
    """The scheduler only shows runs 100 days ahead; staff always see when the next round opens."""
    text = (f"Die nächste Abfrage wird am **{german_date(next_opening.date())}** automatisch eröffnet."
            if next_opening else "Für die jährliche Eröffnung ist kein Zeitplan eingerichtet.")
    await create_markdown_artifact(key="fko-next-opening", markdown=text, description="Nächste Eröffnung")
