"""`fko concept texts export|import`: the staff-written sections of the concept as a Word file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from cli.output import console, fail, os_reason, print_problems, read_input, say


def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="Die Word-Datei, z. B. Texte-2026.docx.")],
    version: Annotated[str | None, typer.Option("--version", help="Version (Standard: der Entwurf des "
                                                "Arbeitsjahres, sonst die neueste veröffentlichte).")] = None,
    year: Annotated[int | None, typer.Option("--year", help="Jahr des Entwurfs (Standard: die offene "
                                             "Abfrage, sonst der neueste Entwurf).")] = None,
) -> None:
    """Die Abschnitte des Konzepts als Word-Datei ausgeben (eine „Überschrift 1“ je Abschnitt)."""
    from core.dates import BERLIN
    from usecases.concept_texts import export_texts
    from usecases.context import app_context
    from usecases.errors import NotFound

    if out.suffix.lower() != ".docx":
        fail(f"Die Zieldatei {out} muss auf .docx enden (z. B. Texte-2026.docx).")
        raise typer.Exit(2)
    with app_context() as ctx:
        try:
            result = export_texts(ctx, out=out, label=version, year=year, today=dt.datetime.now(BERLIN).date())
        except NotFound as exc:
            fail(f"{exc} `fko render` zeigt die vorhandenen Versionen.")
            raise typer.Exit(2) from None
        except OSError as exc:
            fail(f"Die Datei {out} kann nicht geschrieben werden ({os_reason(exc)}).")
            raise typer.Exit(2) from None
    source = (f"Version {result.label} ({'Entwurf' if result.status == 'draft' else 'veröffentlicht'})"
              if result.label else "noch keine Version (leere Abschnitte)")
    say(f"Texte aus {source} in {result.path} geschrieben:")
    for name, has_text in result.sections:
        say(f"  {name}: {'Text' if has_text else 'leer'}")
    say(f"Bearbeiten in Word oder LibreOffice Writer, dann: fko concept texts import {result.path}")


def import_(
    file: Annotated[Path, typer.Argument(help="Die bearbeitete Word-Datei (.docx).")],
    year: Annotated[int | None, typer.Option("--year", help="In den Entwurf dieses Jahres (Standard: die offene "
                                             "Abfrage, sonst der neueste Entwurf, sonst dieses Jahr).")] = None,
    add_sections: Annotated[bool, typer.Option("--add-sections", help="Unbekannte Überschriften als neue "
                                               "Abschnitte übernehmen.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Nur prüfen und zeigen, was sich ändern würde; nichts "
                                        "speichern.")] = False,
) -> None:
    """Die bearbeitete Word-Datei in den Entwurf übernehmen: Überschriften 1 → Abschnitte, Text → Markdown."""
    import getpass

    from core.dates import BERLIN
    from usecases.concept_texts import PublishedVersion, import_texts
    from usecases.context import app_context
    from usecases.texts_docx import TextsFileRefused

    data = read_input(file)
    with app_context() as ctx:
        try:
            result = import_texts(ctx, data=data, year=year, add_sections=add_sections, check=check,
                                  actor=f"staff:{getpass.getuser()}", today=dt.datetime.now(BERLIN).date())
        except TextsFileRefused as exc:
            fail(f"{file}: {exc} Nichts wurde gespeichert.")
            raise typer.Exit(1) from None
        except PublishedVersion as exc:
            fail(f"Version {exc} ist bereits veröffentlicht; ihre Texte bleiben, wie sie freigegeben wurden. "
                 "Nichts wurde gespeichert. Die Texte gehören in den Entwurf der nächsten Abfrage (--year).")
            raise typer.Exit(1) from None
    plan = result.plan
    if plan.problems:
        print_problems(plan.problems, title=f"{file} wurde nicht übernommen, nichts wurde gespeichert")
        if plan.unknown:
            console(stderr=True).print("Mit --add-sections werden unbekannte Überschriften als neue Abschnitte "
                                       "übernommen.", soft_wrap=True)
        raise typer.Exit(1)
    if result.created_from is not None:
        origin = f"mit den Texten von Version {result.created_from}" if result.created_from else "neu"
        say(f"Entwurf {result.label} {'würde' if check else 'wurde'} angelegt ({origin}).")
    verb = "würden übernommen (--check: nichts gespeichert)" if check else "übernommen"
    say(f"Texte aus {file} in den Entwurf {result.label} {verb}:")
    out = console()
    for name, status in plan.changes:
        colour = {"geändert": "yellow", "neu": "green", "geleert": "magenta"}.get(status)
        out.print(f"  {name}: " + (f"[{colour}]{status}[/]" if colour else status), soft_wrap=True)
