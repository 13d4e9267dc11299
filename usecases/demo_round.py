"""A whole yearly round on the demo region, on a simulated calendar: what `fko demo` shows staff."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from core.dates import BERLIN
from core.demo import DAYS_AFTER_DEADLINE, ROUND_DAYS, DemoAnswer, DemoDataError, round_year_value
from core.diff import CHANGE_LABELS
from core.sheet_spec import SheetSpec
from core.text import counted
from core.workbook_build import date_cell_value
from mail.templates import KIND_LABELS
from storage.cycles import cycle_of_year, requests_with_institutions
from storage.database import session_scope
from storage.regions import get_region
from storage.template_folder import load_demo, load_demo_answers
from usecases.context import AppContext
from usecases.cycle import open_cycle
from usecases.documents import RenderResult, render_version
from usecases.outbox import deliver_pending
from usecases.reminders import run_daily
from usecases.returns import ReturnResult, accept_return, confirm_no_changes, sheet_for_request
from usecases.versions import DraftResult, publish_draft, rebuild_draft

STEP_LABELS = {**KIND_LABELS, "phone": "Telefonaufgabe"}  # what the demo's log calls each step


@dataclass
class DemoRound:
    year: int
    opened: dt.date
    deadline: dt.date
    log: list[str] = field(default_factory=list)
    documents: RenderResult | None = None        # the published version's documents
    draft_documents: RenderResult | None = None  # the same version as a draft, as staff saw it for approval
    mails: int = 0
    accepted: dict[str, ReturnResult] = field(default_factory=dict)  # institution code → its accepted upload
    refused: dict[str, ReturnResult] = field(default_factory=dict)   # … → its upload refused first
    no_changes: list[str] = field(default_factory=list)              # codes that confirmed "no changes"
    draft: DraftResult | None = None


def demo_answers(ctx: AppContext) -> list[DemoAnswer]:
    """How the demo institutions answer (survey_templates/demo/answers.toml), in the order of their days."""
    catalogs = ctx.catalogs()
    return load_demo_answers(ctx.templates_dir, load_demo(ctx.templates_dir, catalogs), catalogs, ctx.spec())


def answered_sheet(sheet: bytes, answer: DemoAnswer, *, spec: SheetSpec, year: int, mistakes: bool = False) -> bytes:
    """The institution's sheet as its contact person returns it: rows changed, new rows typed below the last
    activity, rows deleted or cleared (``answer``); with ``mistakes`` only the first, faulty attempt's cells."""
    workbook = load_workbook(io.BytesIO(sheet))
    table = workbook[spec.sheet_name]
    letters = {}
    for index, cell in enumerate(table[1], start=1):
        header = str(cell.value or "").removesuffix("*").strip()
        letters.update({c.key: get_column_letter(index) for c in spec.columns if c.header == header})
    title = letters["title"]
    rows = {str(table[f"{title}{r}"].value): r for r in range(2, table.max_row + 1) if table[f"{title}{r}"].value}

    def put(row: int, key: str, value: str) -> None:
        column = spec.column(key)
        if column.kind == "date":
            table[f"{letters[key]}{row}"] = date_cell_value(round_year_value(value, year)) if value else None
        else:
            table[f"{letters[key]}{row}"] = value or None

    for edit in answer.mistakes if mistakes else answer.changes:
        for key, value in edit.values.items():
            put(rows[edit.title], key, value)
    if not mistakes:
        first_free = max(rows.values(), default=1) + 1
        for offset, values in enumerate(answer.new):
            for key, value in values.items():
                put(first_free + offset, key, value)
        for removal in answer.removed:
            if removal.how == "cells_cleared":  # the locked ID stays: a row emptied, not deleted
                for key in letters:
                    if key != spec.id_column.key:
                        table[f"{letters[key]}{rows[removal.title]}"] = None
        for row in sorted((rows[r.title] for r in answer.removed if r.how == "row_deleted"), reverse=True):
            table.delete_rows(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _moment(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), BERLIN).astimezone(dt.UTC)


def run_demo_round(ctx: AppContext, *, year: int, opened: dt.date, documents_dir: Path,
                   say: Callable[[str], None] = lambda text: None) -> DemoRound:
    """Open, collect (survey_templates/demo/answers.toml: changes, a refused and corrected sheet, "no changes",
    silence), remind, rebuild, render, publish."""
    deadline = opened + dt.timedelta(days=ROUND_DAYS)
    round_ = DemoRound(year=year, opened=opened, deadline=deadline)
    plan = demo_answers(ctx)  # read before anything is written: a broken answers file stops the demo here

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
    answers: dict[dt.date, list[DemoAnswer]] = {}
    for answer in plan:
        answers.setdefault(opened + dt.timedelta(days=answer.day), []).append(answer)
    day = opened
    while day <= deadline + dt.timedelta(days=DAYS_AFTER_DEADLINE):
        for answer in answers.get(day, []):
            for line in _answer(ctx, round_, request_id=requests[answer.institution_code], answer=answer, day=day):
                note(line)
        report = run_daily(ctx, today=day, now=_moment(day, 7))  # reminders and the staff digest
        if report.planned:
            steps = sorted({STEP_LABELS.get(p.due.step.name, p.due.step.name) for p in report.planned})
            note(f"{day:%d.%m.%Y}: Erinnerungsstufe {', '.join(steps)} für "
                 f"{counted(len(report.planned), 'Institution', 'Institutionen')}.")
        deliver()
        day += dt.timedelta(days=1)
    draft = rebuild_draft(ctx, year=year, now=_moment(day))
    round_.draft = draft
    note(f"Entwurf {draft.label}: {counted(draft.activities, 'Aktivität', 'Aktivitäten')}; Rückmeldungen von "
         f"{len(draft.answered)}, ohne Rückmeldung {len(draft.not_answered)}"
         + (f"; {_missing_text(draft.flagged_missing)}" if draft.flagged_missing else "") + ".")
    round_.draft_documents = render_version(ctx, out_dir=documents_dir / "entwurf", label=str(year), today=day)
    note(f"Entwurf {draft.label} zur Freigabe: Dokumente in {documents_dir / 'entwurf'}.")
    published = publish_draft(ctx, approved_by="Demo (Regionalagentur)", now=_moment(day, 15), label=str(year))
    round_.documents = render_version(ctx, out_dir=documents_dir, label=str(year))  # now "veröffentlicht am …"
    note(f"Version {published.label} freigegeben und veröffentlicht: Grundlage der nächsten Abfrage.")
    return round_


def _missing_text(keys: list[str]) -> str:
    one = len(keys) == 1
    return (f"{counted(len(keys), 'Aktivität', 'Aktivitäten')} {'fehlt' if one else 'fehlen'} in zurückgesandten "
            f"Tabellen und {'bleibt' if one else 'bleiben'} markiert im Entwurf ({', '.join(keys)})")


def _request_ids(ctx: AppContext, year: int) -> dict[str, int]:
    """Institution code → its request in the year's cycle."""
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        cycle = cycle_of_year(session=session, region_id=region.id or 0, year=year)
        if cycle is None:
            return {}
        return {i.code: r.id or 0 for r, i in requests_with_institutions(session=session, cycle_id=cycle.id or 0)}


def _answer(ctx: AppContext, round_: DemoRound, *, request_id: int, answer: DemoAnswer, day: dt.date) -> list[str]:
    """One demo institution answers as the page would record it; returns the lines for the demo log."""
    now, code = _moment(day), answer.institution_code
    if answer.kind == "no_changes":
        confirm_no_changes(ctx, request_id=request_id, now=now)
        round_.no_changes.append(code)
        return [f"{day:%d.%m.%Y}: {code} bestätigt „Keine Änderungen“."]
    sheet, name = sheet_for_request(ctx, request_id=request_id, now=now)
    lines = []
    if answer.mistakes:
        broken = answered_sheet(sheet, answer, spec=ctx.spec(), year=round_.year, mistakes=True)
        refused = accept_return(ctx, request_id=request_id, data=broken, filename=name, source="portal", now=now)
        if refused.outcome != "refused":
            raise DemoDataError(f"Demo-Antworten: {code}: die Tabelle mit den Fehlern aus [[answer.mistake]] wurde "
                                "angenommen.")
        round_.refused[code] = refused
        lines.append(f"{day:%d.%m.%Y}: {code} lädt eine Tabelle mit {len(refused.problems)} Fehlern hoch: "
                     "abgelehnt, jedes Problem per Zelle gemeldet.")
        now += dt.timedelta(hours=1)
    changed = answered_sheet(sheet, answer, spec=ctx.spec(), year=round_.year)
    accepted = accept_return(ctx, request_id=request_id, data=changed, filename=name, source="portal", now=now)
    if accepted.outcome != "accepted" or accepted.diff is None:
        found = "; ".join(f"{p.cell or ''} {p.column or ''}: {p.message}".strip() for p in accepted.problems)
        raise DemoDataError(f"Demo-Antworten: {code}: die Tabelle wurde nicht angenommen ({accepted.outcome}): {found}")
    round_.accepted[code] = accepted
    counts = accepted.diff.counts()
    lines.append(f"{day:%d.%m.%Y}: {code} lädt die Tabelle hoch: angenommen ("
                 + ", ".join(f"{CHANGE_LABELS[k]} {counts.get(k, 0)}" for k in ("new", "changed", "ended", "missing"))
                 + ").")
    return lines
