"""`fko cycle status`: per institution, answer, reminders, escalation and phone task of a round."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import console, fail, print_json


def status(
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben.")] = False,
    year: Annotated[int | None, typer.Option("--year", help="Jahr der Abfrage (Standard: die neueste).")] = None,
) -> None:
    """Stand der Abfrage: je Institution Rückmeldung, Erinnerungen, Eskalation, Telefonaufgabe; Summen."""
    from rich.table import Table

    from core.dates import BERLIN, german_date
    from usecases.context import app_context
    from usecases.status import HELD_LABEL, SOURCE_LABELS, STATE_LABELS, NoCycle, call_text, cycle_status
    with app_context() as ctx:
        try:
            result = cycle_status(ctx, year=year)
            role_labels = ctx.catalogs().role_labels
        except NoCycle:
            which = f" {year}" if year else ""
            fail(f"Es gibt noch keine Abfrage{which}. `fko cycle open --year J` eröffnet sie.")
            raise typer.Exit(2) from None
    totals = result.totals
    if as_json:
        print_json({"year": result.year, "deadline": result.deadline.isoformat(), "state": result.state,
                    "totals": totals, "institutions": [r.as_json() for r in result.rows],
                    "held": [h.as_json() for h in result.held],
                    "undeliverable": [u.as_json() for u in result.undeliverable],
                    "unclear_mail": [u.as_json() for u in result.unclear_mail]})
        return
    adopted = f" · Version {result.year} veröffentlicht" if result.state == "published" else ""
    table = Table(title=f"Abfrage {result.year} · Frist {german_date(result.deadline)}{adopted}", title_justify="left")
    for column in ("Kürzel", "Institution", "Stand", "Erinnerungen", "Eskaliert", "Telefon", "Letzte Aktion"):
        table.add_column(column, overflow="fold")
    for row in result.rows:
        answer = {"accepted": "Tabelle angenommen", "no_changes": "keine Änderungen"}.get(row.answer or "")
        when = row.last_action_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") if row.last_action_at else ""
        table.add_row(row.code, row.name, answer or STATE_LABELS.get(row.state, row.state), str(row.reminders),
                      "ja" if row.escalated else "", "[bold red]anrufen[/]" if row.open_phone_task else "",
                      f"{row.last_action} ({when})")
    out = console()
    out.print(table)
    out.print(f"Rückmeldungen: {totals['answered']} von {totals['institutions']} "
              f"({totals['response_rate']:.0%}); offen: {totals['open']}; Telefonaufgaben: {totals['phone_tasks']}.")
    calls = [row for row in result.rows if row.open_phone_task]
    if calls:
        out.print(f"\nTelefonaufgaben ({len(calls)}), bitte anrufen:")
        for row in calls:
            out.print(f"  • {row.code} ({row.name}): {call_text(row.call, role_labels)}", soft_wrap=True,
                      markup=False, highlight=False)
    if result.held:
        out.print(f"\n{HELD_LABEL[0].upper()}{HELD_LABEL[1:]} ({len(result.held)}):")
        for held in result.held:
            when = held.received_at.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
            out.print(f"  • {held.code} ({held.name}): {held.filename or 'ohne Dateiname'}, {when}, "
                      f"über {SOURCE_LABELS.get(held.source, held.source)} (Eingang Nr. {held.submission})",
                      soft_wrap=True)
    if result.undeliverable:
        out.print(f"\nUnzustellbare Adressen ({len(result.undeliverable)}), keine E-Mails mehr dorthin; "
                  "Erinnerungen gehen an die nächste Ansprechperson:", soft_wrap=True)
        for gone in result.undeliverable:
            role = role_labels.get(gone.role, gone.role)
            out.print(f"  • {gone.code} ({gone.name}): {gone.address} ({role}), "
                      f"{gone.at.astimezone(BERLIN).strftime('%d.%m.%Y')}: {gone.reason}", soft_wrap=True,
                      markup=False, highlight=False)
    if result.unclear_mail:
        out.print(f"\nE-Mails im Ordner fko/unklar ({len(result.unclear_mail)}), bitte lesen:")
        for mail in result.unclear_mail:
            out.print(f"  • {mail.sender or 'ohne Absender'}, „{mail.subject or 'ohne Betreff'}“, "
                      f"{mail.at.astimezone(BERLIN).strftime('%d.%m.%Y %H:%M')}: {'; '.join(mail.lines)}",
                      soft_wrap=True, markup=False, highlight=False)
