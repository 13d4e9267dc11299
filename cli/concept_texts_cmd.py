"""`fko concept texts export|import`: the staff-written sections as a Word file (issue 14, in work)."""

from __future__ import annotations

import typer

from cli.output import fail


def export() -> None:
    """Die Abschnitte des Konzepts als Word-Datei ausgeben."""
    fail("Noch nicht verfügbar.")
    raise typer.Exit(1)


def import_() -> None:
    """Die bearbeitete Word-Datei in den Entwurf übernehmen."""
    fail("Noch nicht verfügbar.")
    raise typer.Exit(1)
