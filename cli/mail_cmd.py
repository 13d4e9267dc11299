"""`fko mail send|outbox`: deliver what waits in the outbox, and show it."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from cli.output import console, print_json, report_delivery
from usecases.context import app_context
from usecases.outbox import deliver_pending, outbox_messages
from usecases.schema import check_schema

app = typer.Typer(help="Ausgehende E-Mails (Postausgang).", no_args_is_help=True)

STATES = {"pending": "wartet", "sending": "im Versand", "sent": "versandt", "failed": "fehlgeschlagen",
          "refused": "abgelehnt"}


@app.command("send")
def send() -> None:
    """Wartende und fehlgeschlagene E-Mails (erneut) versenden; nichts wird doppelt versandt."""
    with app_context() as ctx:
        check_schema(ctx)
        report = asyncio.run(deliver_pending(ctx))
    report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    if report.failed:
        raise typer.Exit(1)


@app.command("outbox")
def outbox(as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben.")] = False) -> None:
    """Alle E-Mails im Postausgang mit ihrem Stand."""
    with app_context() as ctx:
        messages = outbox_messages(ctx)
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
