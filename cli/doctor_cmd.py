"""`fko doctor`: a German checklist of the installation; exit 1 when something blocks a round."""

from __future__ import annotations

from typing import Annotated

import typer

from cli.output import say

MARKS = {"ok": "[green]✓[/]", "warn": "[yellow]![/]", "block": "[bold red]✗[/]"}


def doctor(timeout: Annotated[float, typer.Option("--timeout", help="Sekunden je Verbindungsversuch.")] = 10.0,
           ) -> None:
    """Die Einrichtung prüfen: Einstellungen, Datenbank, Schlüssel, Links, Mailserver, Seite, PDF, Prefect.

    Zeigt je Punkt ✓ (in Ordnung), ! (geht, aber bitte ansehen) oder ✗ (so kann keine Abfrage laufen) und
    nennt nie ein Passwort oder einen Schlüssel. Exit-Code 1, wenn ein Punkt eine Abfrage verhindert."""
    from core.text import counted
    from usecases.doctor import run_checks
    findings = run_checks(timeout=timeout)
    for finding in findings:
        say(f"{MARKS[finding.level]} {finding.topic}: {finding.text}")
    blocking = [f for f in findings if f.level == "block"]
    if blocking:
        say(f"{counted(len(blocking), 'Punkt verhindert', 'Punkte verhindern')} eine Abfrage: "
            + ", ".join(f.topic for f in blocking) + ".")
        raise typer.Exit(1)
    say("Bereit für eine Abfrage.")
