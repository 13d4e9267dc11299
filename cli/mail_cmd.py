"""`fko mail send|outbox`: deliver what waits in the outbox, and show it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.output import console, fail, print_json, say
from storage.database import require_current_schema, session_scope
from storage.outbox import list_messages
from usecases.context import AppContext
from usecases.outbox import DeliveryReport, deliver_pending
from usecases.settings import load_settings

app = typer.Typer(help="Ausgehende E-Mails (Postausgang).", no_args_is_help=True)

STATES = {"pending": "wartet", "sending": "im Versand", "sent": "versandt", "failed": "fehlgeschlagen",
          "refused": "abgelehnt"}


def report_delivery(report: DeliveryReport, smtp_host: str | None, sink: Path) -> None:
    if not report.attempted:
        say("Keine E-Mails zu versenden.")
        return
    where = smtp_host or f"lokale Ablage {sink} (.eml-Dateien; FKO_SMTP_HOST ist nicht gesetzt)"
    say(f"{report.sent} E-Mails versandt über {where}.")
    for address in report.refused_addresses:
        fail(f"Adresse abgelehnt, keine weiteren E-Mails dorthin: {address}")
    if report.refused:
        fail(f"{report.refused} E-Mails konnten an keine Adresse zugestellt werden.")
    if report.failed:
        fail(f"{report.failed} E-Mails vorerst nicht versandt ({report.errors[0]}); "
             "`fko mail send` versucht es erneut.")


@app.command("send")
def send() -> None:
    """Wartende und fehlgeschlagene E-Mails (erneut) versenden; nichts wird doppelt versandt."""
    ctx = AppContext.from_settings(load_settings())
    try:
        require_current_schema(ctx.engine)
        report = asyncio.run(deliver_pending(ctx))
    finally:
        ctx.close()
    report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    if report.failed:
        raise typer.Exit(1)


@app.command("outbox")
def outbox(as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben.")] = False) -> None:
    """Alle E-Mails im Postausgang mit ihrem Stand."""
    ctx = AppContext.from_settings(load_settings())
    try:
        require_current_schema(ctx.engine)
        with session_scope(ctx.engine) as session:
            messages = list_messages(session=session)
    finally:
        ctx.close()
    if as_json:
        print_json([{"key": m.idempotency_key, "kind": m.kind, "to": m.recipient, "cc": m.cc, "state": m.state,
                     "attempts": m.attempts, "error": m.last_error, "sent_at": m.sent_at} for m in messages])
        return
    table = Table(title="Postausgang", title_justify="left")
    for column in ("Art", "An", "Stand", "Versuche", "Fehler"):
        table.add_column(column, overflow="fold")
    for m in messages:
        table.add_row(m.kind, m.recipient, STATES.get(m.state, m.state), str(m.attempts), m.last_error or "")
    console().print(table)
