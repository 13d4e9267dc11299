"""`fko concept import`: the concept an agency already has becomes the published baseline (issue 14, in work)."""

from __future__ import annotations

import typer

from cli.output import fail


def import_() -> None:
    """Ein vorhandenes Handlungskonzept (Excel/ODS) als veröffentlichte Ausgangsversion einlesen."""
    fail("Noch nicht verfügbar.")
    raise typer.Exit(1)
