"""`fko cycle open`: start the yearly round (requests, personal links, invitations)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import typer

from cli import status_cmd
from cli.options import parse_date
from cli.output import fail, progress_bar, report_delivery, say
from core.dates import BERLIN, german_date
from usecases.context import app_context
from usecases.cycle import OpenResult, open_cycle, renew_link
from usecases.errors import NotFound
from usecases.outbox import deliver_pending
from usecases.sheets import NoBaseVersion

app = typer.Typer(help="Die jährliche Abfrage.", no_args_is_help=True)


@app.command("open")
def open_(
    year: Annotated[int, typer.Option("--year", help="Jahr der Abfrage, z. B. 2026.")],
    deadline: Annotated[str | None, typer.Option("--deadline", help="Frist (TT.MM.JJJJ oder JJJJ-MM-TT); "
                                                 "Standard: in sechs Wochen.")] = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Einladungen gleich versenden.")] = True,
) -> None:
    """Abfrage eröffnen: persönliche Links anlegen und alle aktiven Institutionen einladen.

    Erneut aufgerufen, wird nichts doppelt angelegt oder versandt; neu hinzugekommene Institutionen
    werden eingeladen, und noch nicht zugestellte Einladungen werden erneut versucht.
    """
    due = parse_date(deadline)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(BERLIN).date()
    if due is not None and due < today:
        fail(f"Die Frist {german_date(due)} liegt in der Vergangenheit.")
        raise typer.Exit(2)
    with app_context() as ctx:
        try:
            with progress_bar("Tabellen und Einladungen vorbereiten") as progress:
                result = open_cycle(ctx, year=year, deadline=due, today=today, now=now, progress=progress)
        except NoBaseVersion:
            fail("Es gibt noch kein veröffentlichtes Handlungskonzept, aus dem die Tabellen vorausgefüllt werden "
                 "können.")
            raise typer.Exit(2) from None
        report_opening(result, year)
        if send:
            with progress_bar("E-Mails versenden") as progress:
                report = asyncio.run(deliver_pending(ctx, progress=progress))
            report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
            if report.failed:
                raise typer.Exit(1)


def report_opening(result: OpenResult, year: int) -> None:
    if result.created:
        say(f"Abfrage {year} eröffnet, Frist: {german_date(result.deadline)}.")
    else:
        say(f"Abfrage {year} war bereits eröffnet (Frist: {german_date(result.deadline)}).")
    if result.invitations_queued:
        say(f"{result.invitations_queued} Einladungen vorbereitet ({result.requests_created} neue "
            "persönliche Links).")
    elif not result.created:
        say("Keine neuen Einladungen: alle aktiven Institutionen sind bereits eingeladen.")
    for code in result.without_contact:
        fail(f"{code}: keine erreichbare Ansprechperson (alle inaktiv oder Adresse abgelehnt); nicht eingeladen.")


@app.command("new-link")
def new_link(
    institution: Annotated[str, typer.Option("--institution", "-i", help="Kürzel der Institution.")],
    year: Annotated[int, typer.Option("--year", help="Jahr der Abfrage.")],
    send: Annotated[bool, typer.Option("--send/--no-send", help="Neue Einladung mit dem neuen Link senden.")] = True,
) -> None:
    """Den persönlichen Link einer Institution sperren und einen neuen erzeugen (z. B. falsch weitergeleitet).

    Der alte Link zeigt ab sofort nur noch die neutrale Seite; Rückmeldungen bleiben erhalten.
    """
    with app_context() as ctx:
        try:
            renew_link(ctx, year=year, institution_code=institution, now=dt.datetime.now(dt.UTC), send=send)
        except NotFound:
            fail(f"Es gibt keine Institution mit dem Kürzel „{institution}“.")
            raise typer.Exit(2) from None
        except LookupError:
            fail(f"{institution.upper()} hat in der Abfrage {year} keinen Link (Abfrage nicht eröffnet?).")
            raise typer.Exit(2) from None
        say(f"Der bisherige Link von {institution.upper()} ist gesperrt; ein neuer ist erzeugt.")
        if send:
            report = asyncio.run(deliver_pending(ctx))
            report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)


app.command("status")(status_cmd.status)
