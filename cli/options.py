"""Parsing and checking what staff type into options: dates, output folders."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import typer

from cli.output import fail, os_reason


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


def output_folder(path: Path) -> Path:
    """A folder staff named for output, created if need be; one German line and exit code 2 if it cannot be."""
    if path.exists() and not path.is_dir():
        fail(f"{path} ist eine Datei, kein Ordner; bitte einen Ordner angeben (er wird angelegt, wenn es ihn nicht "
             "gibt).")
        raise typer.Exit(2)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        why = "der Ort lässt keine Ordner zu" if isinstance(exc, FileNotFoundError) else os_reason(exc)
        fail(f"Der Ordner {path} kann nicht angelegt werden ({why}).")
        raise typer.Exit(2) from None
    if not os.access(path, os.W_OK):
        fail(f"In den Ordner {path} darf nicht geschrieben werden (keine Schreibberechtigung).")
        raise typer.Exit(2)
    return path

