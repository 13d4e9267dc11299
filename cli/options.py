"""Parsing what staff type into options: dates."""

from __future__ import annotations

import datetime as dt

import typer

from cli.output import fail


def parse_date(text: str | None) -> dt.date | None:
    """A date as JJJJ-MM-TT or TT.MM.JJJJ; anything else is one clear line and exit code 2."""
    if text is None:
        return None
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return dt.datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    fail(f"„{text}“ ist kein Datum; bitte JJJJ-MM-TT oder TT.MM.JJJJ angeben.")
    raise typer.Exit(2)
