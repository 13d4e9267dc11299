"""`fko mail send|outbox|test`: deliver what waits in the outbox, show it, and send staff a sample of each mail."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import typer

from cli.output import console, fail, print_json, progress_bar, report_delivery, say

# What staff read for each kind of message taken from the mailbox.
FETCHED = {"return": "Rückmeldung", "unclear": "unklar", "bounce": "unzustellbar", "autoreply": "automatische Antwort",
           "delayed": "Zustellung verzögert", "own": "eigene Nachricht", "waiting": "wartet"}

app = typer.Typer(help="E-Mails: Postausgang senden und zeigen, Testnachrichten, das Postfach der Agentur lesen.",
                  no_args_is_help=True)

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
STATES = {"pending": "wartet", "sending": "im Versand", "sent": "versandt", "failed": "fehlgeschlagen",
          "refused": "abgelehnt", "cancelled": "verworfen (Abfrage beendet)"}


@app.command("send")
def send(
    allow_local: Annotated[bool, typer.Option("--allow-local", help="Auch mit Links auf diesen Rechner "
                                              "(FKO_BASE_URL) oder Absender @localhost versenden (nur zum "
                                              "Testen).")] = False,
) -> None:
    """Wartende und fehlgeschlagene E-Mails (erneut) versenden; nichts wird doppelt versandt."""
    import asyncio

    from usecases.context import app_context
    from usecases.outbox import deliver_pending
    from usecases.schema import check_schema
    with app_context(allow_local_links=allow_local or None) as ctx:
        check_schema(ctx)
        report = asyncio.run(deliver_pending(ctx))
    report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    if report.failed:
        raise typer.Exit(1)


@app.command("outbox")
def outbox(as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben.")] = False) -> None:
    """Alle E-Mails im Postausgang mit ihrem Stand."""
    from rich.table import Table

    from usecases.context import app_context
    from usecases.outbox import KIND_LABELS, outbox_messages
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
        table.add_row(KIND_LABELS.get(m.kind, m.kind), m.recipient, STATES.get(m.state, m.state), str(m.attempts),
                      m.last_error or "")
    console().print(table)


@app.command("test")
def test(to: Annotated[str, typer.Option("--to", help="Empfangsadresse für die Testnachrichten (z. B. die "
                                                      "eigene).")]) -> None:
    """Je eine Beispiel-E-Mail jeder Art (Einladung, Erinnerungen, Eingangsbestätigung, …) an eine Adresse
    senden, als Test gekennzeichnet und mit erfundenen Angaben: so sehen Sie, was die Institutionen bekommen."""
    import asyncio

    from core.dates import BERLIN
    from usecases.context import app_context
    from usecases.mail_test import send_test_mails
    from usecases.schema import check_schema
    if not EMAIL.fullmatch(to.strip()):
        fail(f"„{to}“ ist keine E-Mail-Adresse.")
        raise typer.Exit(2)
    now = dt.datetime.now(dt.UTC)
    with app_context() as ctx:
        check_schema(ctx)
        report = asyncio.run(send_test_mails(ctx, to=to.strip(), today=now.astimezone(BERLIN).date(), now=now))
        where = (f"über {ctx.settings.smtp_host}" if ctx.settings.smtp_host
                 else f"als .eml-Dateien in {ctx.settings.mail_sink_dir} (kein FKO_SMTP_HOST gesetzt)")
    if report.sent:
        say(f"{len(report.sent)} Testnachrichten an {to.strip()} {where}: {', '.join(report.sent)}.")
    for kind, reason in report.failed.items():
        fail(f"{kind}: nicht versandt ({reason})")
    if report.failed:
        raise typer.Exit(1)


@app.command("fetch")
def fetch(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur zeigen, was mit jeder Nachricht geschähe: nichts "
                                          "wird gespeichert, verschoben oder versandt.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben.")] = False,
) -> None:
    """Das Postfach der Agentur lesen (FKO_IMAP_*): Tabellen im Anhang wie Uploads annehmen (Eingangsbestätigung
    bzw. Ablehnung an die Institution und den Absender), Unzustellbar-Meldungen die Adresse sperren lassen,
    alles andere in den Ordner fko/unklar legen (für das Team). Jede Nachricht wird genau einmal verarbeitet."""
    import asyncio

    from usecases.context import app_context
    from usecases.mail_intake import LoginRefused, MailboxError, MailboxNotSet, fetch_mail
    from usecases.outbox import deliver_pending
    from usecases.schema import check_schema

    now = dt.datetime.now(dt.UTC)
    with app_context() as ctx:
        check_schema(ctx)
        try:
            if as_json:
                report = fetch_mail(ctx, now=now, dry_run=dry_run)
            else:
                with progress_bar("Postfach lesen") as progress:
                    report = fetch_mail(ctx, now=now, dry_run=dry_run, progress=progress)
        except MailboxNotSet:
            fail("Kein Postfach eingestellt: FKO_IMAP_HOST (und FKO_IMAP_USER, FKO_IMAP_PASSWORD) setzen, "
                 "siehe README, Abschnitt „Replies by mail“.")
            raise typer.Exit(2) from None
        except MailboxError as exc:
            fail(str(exc))
            raise typer.Exit(2 if isinstance(exc, LoginRefused) else 1) from None
        # The answers this (or an interrupted earlier) run queued; not mail staff held back elsewhere.
        delivery = None if dry_run else asyncio.run(deliver_pending(ctx, kinds=("receipt", "refusal",
                                                                                "mail_unclear")))
    if as_json:
        print_json(report.as_dict())
    else:
        _say_fetched(report)
        if delivery is not None and delivery.attempted:
            report_delivery(delivery, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    if report.error:
        if not as_json:
            fail(f"{report.error} Der nächste Abruf macht dort weiter; nichts geht verloren.")
        raise typer.Exit(1)


def _say_fetched(report) -> None:  # type: ignore[no-untyped-def]
    if report.busy:
        say("Ein anderer Abruf liest das Postfach gerade (Zeitplan oder neue E-Mail); er erledigt es.")
        return
    if not report.messages:
        say("Keine neuen Nachrichten im Postfach.")
        return
    for message in report.messages:
        who = message.sender or "(ohne Absender)"
        say(f"{FETCHED.get(message.kind, message.kind)}: {who} „{message.subject or '(ohne Betreff)'}“")
        for line in message.lines:
            say(f"  - {line}")
        if message.answered and not report.dry_run:
            say("  - Antwort an den Absender im Postausgang")
    counts = [f"{report.count(kind)} {label}" for kind, label in FETCHED.items() if report.count(kind)]
    prefix = "Probelauf, nichts geändert: " if report.dry_run else ""
    say(f"{prefix}{len(report.messages)} Nachrichten: {', '.join(counts)}.")
