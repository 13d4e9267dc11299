"""`fko ingest`: staff record a returned sheet that came by mail or on paper (same use case as the page)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli.output import fail, print_json, print_problems, read_input, report_delivery, say
from core.dates import BERLIN
from usecases.context import app_context
from usecases.outbox import deliver_pending
from usecases.returns import NotIngestible, ingest_file
from usecases.schema import check_schema
from usecases.sheets import default_cycle_year


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
    with app_context() as ctx:
        check_schema(ctx)
        now = dt.datetime.now(dt.UTC)
        cycle_year = year or default_cycle_year(ctx, today=now.astimezone(BERLIN).date())
        try:
            result = ingest_file(ctx, data=data, filename=file.name, source="cli", year=cycle_year, now=now,
                                 institution_code=institution)
        except NotIngestible as exc:
            fail(str(exc))
            raise typer.Exit(2) from None
        delivery = asyncio.run(deliver_pending(ctx))
    counts = result.diff.counts() if result.diff else {}
    if as_json:
        print_json({"ok": result.outcome == "accepted", "institution": result.institution_code,
                    "rows": result.rows, "problems": [p.as_dict() for p in result.problems],
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
