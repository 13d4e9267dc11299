"""`fko ingest`: staff record a returned sheet that came by mail or on paper (same use case as the page)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from sqlmodel import select

from fko.flows.cli.mail_cmd import report_delivery
from fko.flows.cli.output import fail, print_json, print_problems, read_input, say
from fko.settings import load_settings
from fko.storage.database import require_current_schema, session_scope
from fko.storage.institutions import get_institution
from fko.storage.models import Cycle
from fko.storage.regions import get_region
from fko.storage.requests import request_for
from fko.usecases.context import AppContext
from fko.usecases.outbox import deliver_pending
from fko.usecases.returns import accept_return
from fko.usecases.sheets import check_returned_sheet, default_cycle_year

BERLIN = ZoneInfo("Europe/Berlin")


def ingest(
    file: Annotated[Path, typer.Argument(help="Zurückgeschickte Tabelle (.xlsx, .xlsm, .ods, .xls).")],
    institution: Annotated[str | None, typer.Option("--institution", "-i", help="Kürzel der Institution "
                                                    "(Standard: aus der Datei).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als JSON ausgeben.")] = False,
    year: Annotated[int | None, typer.Option("--year", help="Jahr der Abfrage (Standard: die offene).")] = None,
) -> None:
    """Eine zurückgeschickte Tabelle prüfen und als Rückmeldung der Institution speichern.

    Wie ein Upload über die Seite, aber auch nach der Frist möglich. Die Institution bekommt die
    Eingangsbestätigung bzw. die Liste der Probleme per E-Mail. Exit-Code 0: angenommen, 1: abgelehnt
    (gespeichert, Probleme genannt), 2: Aufruf- oder Einstellungsfehler.
    """
    data = read_input(file)
    ctx = AppContext.from_settings(load_settings())
    try:
        require_current_schema(ctx.engine)
        now = dt.datetime.now(dt.UTC)
        cycle_year = year or default_cycle_year(ctx, today=now.astimezone(BERLIN).date())
        code = institution.upper() if institution else None
        if code is None:
            code = check_returned_sheet(ctx, data=data, cycle_year=cycle_year).result.institution_code
        if code is None:
            fail("Die Datei nennt keine Institution (Blatt _meta fehlt oder ist verändert). Bitte --institution "
                 "angeben.")
            raise typer.Exit(2)
        with session_scope(ctx.engine) as session:
            region = get_region(session=session, code=ctx.settings.region)
            cycle = session.exec(select(Cycle).where(Cycle.region_id == region.id, Cycle.year == cycle_year)).first()
            if cycle is None:
                fail(f"Es gibt keine Abfrage {cycle_year}. `fko cycle open --year {cycle_year}` eröffnet sie.")
                raise typer.Exit(2)
            found = get_institution(session=session, region_id=region.id or 0, code=code)
            request = request_for(session=session, cycle_id=cycle.id or 0, institution_id=found.id or 0)
            if request is None:
                fail(f"{code} ist in der Abfrage {cycle_year} nicht eingeladen.")
                raise typer.Exit(2)
        result = accept_return(ctx, request_id=request.id or 0, data=data, filename=file.name, source="cli",
                               now=now, enforce_deadline=False)
        delivery = asyncio.run(deliver_pending(ctx))
    finally:
        ctx.close()
    counts = result.diff.counts() if result.diff else {}
    if as_json:
        print_json({"ok": result.outcome == "accepted", "institution": result.institution_code,
                    "rows": len(result.activities), "problems": [p.as_dict() for p in result.problems],
                    "changes": counts, "submission": result.submission_id})
    elif result.outcome == "accepted":
        say(f"[green]Angenommen:[/] {file.name} für {result.institution_code} ({len(result.activities)} Aktivitäten; "
            f"neu {counts['new']}, geändert {counts['changed']}, beendet {counts['ended']}, "
            f"fehlend {counts['missing']}).")
        report_delivery(delivery, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    else:
        print_problems(result.problems, title=f"{file.name} abgelehnt (gespeichert; die Institution wird informiert)")
    if result.outcome != "accepted":
        raise typer.Exit(1)
