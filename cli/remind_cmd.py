"""`fko remind`: today's reminder steps (mails through the outbox, phone tasks for staff)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

if TYPE_CHECKING:
    from usecases.digest import DigestReport

from cli.options import parse_date
from cli.output import console, fail, report_delivery, say

EXIT_NO_ROUND = 3  # no running round: a daily job that has nothing to do says so (DESIGN §9, README)
STEP_LABELS = {"reminder": "Erinnerung", "reminder_deputy": "Erinnerung mit Vertretung",
               "escalation": "Eskalation an die Leitung", "phone": "Telefonaufgabe"}


def remind(
    today: Annotated[str | None, typer.Option("--today", help="Stichtag (TT.MM.JJJJ oder JJJJ-MM-TT); Standard: "
                                              "heute in Europe/Berlin.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur anzeigen, was fällig ist.")] = False,
) -> None:
    """Fällige Erinnerungen versenden und Telefonaufgaben anlegen (jede Stufe nur einmal); an Arbeitstagen die
    Tagesübersicht für das Team, wenn seit der letzten etwas geschehen ist (höchstens eine am Tag).

    Ohne laufende Abfrage: eine Zeile und Exit-Code 3, damit ein täglicher Auftrag (cron, Prefect) es zeigt.
    """
    import asyncio

    from rich.table import Table

    from core.dates import BERLIN
    from usecases.context import app_context
    from usecases.outbox import deliver_pending
    from usecases.reminders import run_daily
    from usecases.status import call_text
    now = dt.datetime.now(dt.UTC)
    day = parse_date(today) or now.astimezone(BERLIN).date()
    with app_context() as ctx:
        report = run_daily(ctx, today=day, now=now, dry_run=dry_run)
        role_labels = ctx.catalogs().role_labels
        if not report.rounds:
            fail("Keine laufende Abfrage: niemand wird erinnert. (Exit-Code 3: für cron und Prefect sichtbar; "
                 "`fko cycle open` eröffnet die nächste Abfrage.)")
            raise typer.Exit(EXIT_NO_ROUND)
        delivery = asyncio.run(deliver_pending(ctx)) if not dry_run else None
    if not report.planned:
        say(f"Am {day:%d.%m.%Y} ist keine Erinnerung fällig.")
    else:
        table = Table(title=f"Fällig am {day:%d.%m.%Y}" + (" (nur Vorschau)" if dry_run else ""),
                      title_justify="left")
        for column in ("Kürzel", "Institution", "Stufe", "fällig seit", "an"):
            table.add_column(column, overflow="fold")
        for item in report.planned:
            due = item.due
            action = STEP_LABELS.get(due.step.name, due.step.name)
            if due.action == "phone" and due.step.kind == "mail":
                action += f" → Telefonaufgabe ({due.reason})"
            whom = (", ".join(item.recipients) if due.action == "mail"
                    else "anrufen: " + call_text(item.call, role_labels))
            table.add_row(due.institution_code, item.institution_name, action, f"{due.due_on:%d.%m.%Y}",
                          escape(whom))
        console().print(table)
    if report.digest is not None:
        say(digest_line(report.digest, dry_run=dry_run))
    if delivery is not None and (report.planned or delivery.attempted):
        report_delivery(delivery, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    if delivery is not None and delivery.failed:
        raise typer.Exit(1)


def digest_line(digest: DigestReport, *, dry_run: bool) -> str:
    """One line about the staff digest: queued (or would be), already queued today, or why none."""
    from core.text import counted
    if digest.already:
        return (f"Tagesübersicht für das Team: heute schon an {digest.recipient} in den Postausgang gestellt, "
                "nicht noch einmal.")
    if digest.due:
        counts = digest.counts
        parts = [counted(counts[key], one, many) for key, (one, many) in DIGEST_PARTS.items() if counts.get(key)]
        parts += ["Entwurf bereit zur Freigabe"] if counts.get("ready") else []
        verb = "ginge an {to}" if dry_run else "an {to} in den Postausgang gestellt"
        return f"Tagesübersicht für das Team {verb.format(to=digest.recipient)}: {', '.join(parts)}."
    return "Tagesübersicht für das Team: " + DIGEST_NONE.get(digest.why_not, "keine.")


DIGEST_PARTS = {"returns": ("Rückmeldung", "Rückmeldungen"), "refusals": ("abgelehnte Datei", "abgelehnte Dateien"),
                "bounces": ("unzustellbare Adresse", "unzustellbare Adressen"),
                "phone_tasks": ("Telefonaufgabe", "Telefonaufgaben")}
DIGEST_NONE = {"not_working_day": "keine, heute ist kein Arbeitstag (was geschieht, kommt in der nächsten).",
               "nothing_new": "keine, seit der letzten ist nichts geschehen.",
               "no_round": "keine (keine laufende Abfrage)."}
