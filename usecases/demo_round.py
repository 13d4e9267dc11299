"""A whole yearly round on the demo region, on a simulated calendar: what `fko demo` shows staff."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook

from core.dates import BERLIN
from core.diff import CHANGE_LABELS
from core.text import counted
from mail.templates import KIND_LABELS
from storage.cycles import cycle_of_year, requests_with_institutions
from storage.database import session_scope
from storage.regions import get_region
from usecases.context import AppContext
from usecases.cycle import open_cycle
from usecases.documents import RenderResult, render_version
from usecases.outbox import deliver_pending
from usecases.reminders import run_reminders
from usecases.returns import accept_return, confirm_no_changes, sheet_for_request
from usecases.versions import publish_draft, rebuild_draft

# Institutions that answer in the demo, and how: (code, day after opening, kind)
ANSWERS = [("IHK", 3, "changes"), ("HWK", 5, "broken-then-fixed"), ("VUV", 8, "no_changes"),
           ("RWTH", 12, "changes"), ("STAC", 20, "no_changes"), ("KDN", 36, "changes"), ("DGB", 44, "no_changes")]

STEP_LABELS = {**KIND_LABELS, "phone": "Telefonaufgabe"}  # what the demo's log calls each step


@dataclass
class DemoRound:
    year: int
    opened: dt.date
    deadline: dt.date
    log: list[str] = field(default_factory=list)
    documents: RenderResult | None = None
    mails: int = 0


def edited_sheet(sheet: bytes, edits: dict[str, object]) -> bytes:
    """The sheet with some cells changed, as a contact person would (for the demo)."""
    workbook = load_workbook(io.BytesIO(sheet))
    for address, value in edits.items():
        workbook["Aktivitäten"][address].value = value
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _moment(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), BERLIN).astimezone(dt.UTC)


def run_demo_round(ctx: AppContext, *, year: int, opened: dt.date, documents_dir: Path,
                   say: Callable[[str], None] = lambda text: None) -> DemoRound:
    """Open, collect (changes, a refused and corrected sheet, "no changes"), remind, rebuild, render, publish."""
    deadline = opened + dt.timedelta(weeks=6)
    round_ = DemoRound(year=year, opened=opened, deadline=deadline)

    def note(text: str) -> None:
        round_.log.append(text)
        say(text)

    def deliver() -> None:
        round_.mails += asyncio.run(deliver_pending(ctx)).sent

    result = open_cycle(ctx, year=year, deadline=deadline, today=opened, now=_moment(opened, 8))
    deliver()
    note(f"{opened:%d.%m.%Y}: Abfrage {year} eröffnet, {result.invitations_queued} Einladungen versandt "
         f"(Frist {deadline:%d.%m.%Y}).")
    requests = _request_ids(ctx, year)
    answers = {opened + dt.timedelta(days=offset): (code, kind) for code, offset, kind in ANSWERS}
    day = opened
    while day <= deadline + dt.timedelta(days=15):
        if day in answers:
            code, kind = answers[day]
            for line in _answer(ctx, request_id=requests[code], code=code, kind=kind, day=day, year=year):
                note(line)
        report = run_reminders(ctx, today=day, now=_moment(day, 7))
        if report.planned:
            steps = sorted({STEP_LABELS.get(p.due.step.name, p.due.step.name) for p in report.planned})
            note(f"{day:%d.%m.%Y}: Erinnerungsstufe {', '.join(steps)} für "
                 f"{counted(len(report.planned), 'Institution', 'Institutionen')}.")
        deliver()
        day += dt.timedelta(days=1)
    draft = rebuild_draft(ctx, year=year, now=_moment(day))
    note(f"Entwurf {draft.label}: {counted(draft.activities, 'Aktivität', 'Aktivitäten')}; Rückmeldungen von "
         f"{len(draft.answered)}, "
         f"ohne Rückmeldung {len(draft.not_answered)}.")
    round_.documents = render_version(ctx, out_dir=documents_dir, label=str(year), today=day)
    published = publish_draft(ctx, approved_by="Demo (Regionalagentur)", now=_moment(day, 15), label=str(year))
    note(f"Version {published.label} freigegeben und veröffentlicht: Grundlage der nächsten Abfrage.")
    return round_


def _request_ids(ctx: AppContext, year: int) -> dict[str, int]:
    """Institution code → its request in the year's cycle."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year)
        if cycle is None:
            return {}
        return {i.code: r.id or 0 for r, i in requests_with_institutions(session=session, cycle_id=cycle.id or 0)}


def _answer(ctx: AppContext, *, request_id: int, code: str, kind: str, day: dt.date, year: int) -> list[str]:
    """One demo institution answers as the page would record it; returns the lines for the demo log."""
    now = _moment(day)
    if kind == "no_changes":
        confirm_no_changes(ctx, request_id=request_id, now=now)
        return [f"{day:%d.%m.%Y}: {code} bestätigt „Keine Änderungen“."]
    sheet, name = sheet_for_request(ctx, request_id=request_id, now=now)
    lines = []
    if kind == "broken-then-fixed":
        broken = edited_sheet(sheet, {"D2": "Ausbildung", "F3": "irgendwann"})
        refused = accept_return(ctx, request_id=request_id, data=broken, filename=name, source="portal", now=now)
        lines.append(f"{day:%d.%m.%Y}: {code} lädt eine Tabelle mit {len(refused.problems)} Fehlern hoch: "
                     "abgelehnt, jedes Problem per Zelle gemeldet.")
        now += dt.timedelta(hours=1)
    changed = edited_sheet(sheet, {"E2": "abgeschlossen", "B40": f"Neue Aktivität {year} ({code})",
                                  "D40": "Weiterbildung und Qualifizierung", "E40": "geplant",
                                  "F40": year, "I40": "gesamte Region"})
    accepted = accept_return(ctx, request_id=request_id, data=changed, filename=name, source="portal", now=now)
    counts = accepted.diff.counts() if accepted.diff else {}
    lines.append(f"{day:%d.%m.%Y}: {code} lädt die Tabelle hoch: angenommen ("
                 + ", ".join(f"{CHANGE_LABELS[k]} {counts.get(k, 0)}" for k in ("new", "changed", "ended")) + ").")
    return lines
