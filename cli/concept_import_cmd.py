"""`fko concept import`: the concept an agency already has becomes the published baseline version."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.options import parse_date
from cli.output import console, print_json, read_input

if TYPE_CHECKING:
    from core.concept_import import Adjusted
    from usecases.concept_import import ConceptImport


def import_(
    file: Annotated[Path, typer.Argument(help="Excel-, ODS- oder XLS-Datei, eine Zeile je Aktivität.")],
    label: Annotated[str | None, typer.Option("--label", help="Name der Version (Standard: das Jahr von "
                                                               "--published-on).")] = None,
    published_on: Annotated[str | None, typer.Option("--published-on", help="Wann das Konzept beschlossen wurde "
                                                                            "(JJJJ-MM-TT; Standard: heute).")] = None,
    approved_by: Annotated[str | None, typer.Option("--approved-by", help="Wer es freigegeben hat (Standard: "
                                                                          "Ihr Benutzername).")] = None,
    check: Annotated[bool, typer.Option("--check", help="Nur prüfen, nichts speichern.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Maschinenlesbar als JSON ausgeben.")] = False,
) -> None:
    """Ein vorhandenes Handlungskonzept (Excel/ODS) als veröffentlichte Ausgangsversion einlesen.

    Spalten wie im Abfrageblatt (Titel, Handlungsfeld, Status, Beginn, Ende, …, erkannt an der
    Überschrift) und eine Spalte „Institution“ (Kürzel oder Name einer eingelesenen Institution).
    Alle Blätter mit dieser Kopfzeile werden zusammen gelesen. Enthält die Datei Fehler, wird nichts
    gespeichert. Gibt es schon eine veröffentlichte Version, nur mit --label NAME (eine neue Version).
    """
    from core.dates import BERLIN
    from usecases.concept_import import import_concept
    from usecases.context import app_context
    data = read_input(file)
    day = parse_date(published_on) or dt.datetime.now(BERLIN).date()
    with app_context() as ctx:
        result = import_concept(ctx, data=data, filename=file.name, published_on=day, label=label,
                                approved_by=approved_by or _user(), check_only=check)
    if as_json:
        print_json(result_json(result, check=check))
    elif not result.ok:
        print_refusal(result, file.name)
    else:
        print_summary(result, file.name, day)
    if not result.ok:
        raise typer.Exit(1)


def _user() -> str:
    import getpass
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a container without a passwd entry
        return "Regionalagentur"


def result_json(result: ConceptImport, *, check: bool) -> dict[str, object]:
    read = result.read
    return {
        "ok": result.ok, "check": check, "stored": result.stored, "label": result.label,
        "activities": len(read.activities),
        "institutions": read.counts(),
        "keys": [a.key for a in result.activities],
        "sheets": read.sheets,
        "skipped": [{"sheet": name, "reason": why} for name, why in read.skipped],
        "adjusted": [a.as_dict() for a in read.adjusted],
        "problems": [p.as_dict() for p in result.problems],
    }


def print_refusal(result: ConceptImport, filename: str) -> None:
    out = console(stderr=True)
    count = len(result.problems)
    out.print(f"[bold red]{filename} wurde nicht eingelesen, nichts wurde gespeichert[/] "
              f"({count} Problem{'e' if count != 1 else ''})", soft_wrap=True)
    for problem in result.problems:
        out.print(f"  • {problem.text}", soft_wrap=True, markup=False)
    _print_sheets(result, stderr=True)


def print_summary(result: ConceptImport, filename: str, day: dt.date) -> None:
    out = console()
    read = result.read
    counts = read.counts()
    what = f"{len(read.activities)} Aktivitäten von {len(counts)} Institutionen"
    if result.stored:
        out.print(f"{filename} eingelesen: {what}, veröffentlicht als Version {result.label} "
                  f"(Stand {day:%d.%m.%Y})" + (", mit den Texten des vorhandenen Entwurfs" if result.adopted_draft
                                               else "") + ".", soft_wrap=True, markup=False)
    else:
        out.print(f"{filename} geprüft: keine Probleme. {what} würden als Version {result.label} veröffentlicht; "
                  "nichts wurde gespeichert (--check).", soft_wrap=True, markup=False)
    _print_sheets(result, stderr=False)
    keys: dict[str, list[str]] = {}
    for activity in result.activities:
        keys.setdefault(activity.institution_code, []).append(activity.key or "")
    for code, count in sorted(counts.items()):
        first, last = min(keys.get(code, [""])), max(keys.get(code, [""]))
        ids = "" if not first else f" ({first})" if first == last else f" ({first} … {last})"
        noun = "Aktivität" if count == 1 else "Aktivitäten"
        out.print(f"  {code:<10} {result.institutions.get(code, ''):<45} {count:>4} {noun}{ids}",
                  soft_wrap=True, markup=False)
    if read.adjusted:
        out.print(f"Angepasst ({len(read.adjusted)} Zellen, an die Schreibweise der Listen angeglichen):")
        for line in adjusted_lines(read.adjusted):
            out.print(f"  • {line}", soft_wrap=True, markup=False)
    if result.newer_published:
        out.print(f"Hinweis: Version {result.newer_published} ist neuer und bleibt die Grundlage der nächsten "
                  "Abfrage.", soft_wrap=True, markup=False)


def adjusted_lines(adjusted: list[Adjusted]) -> list[str]:
    """One line per sheet, column and change, naming every cell it was made in."""
    cells: dict[tuple[str, str, str, str], list[str]] = {}
    for change in adjusted:
        cells.setdefault((change.sheet, change.column, change.old, change.new), []).append(change.cell)
    return [f"Blatt „{sheet}“, {column}: „{old}“ → „{new}“ ({', '.join(where)})"
            for (sheet, column, old, new), where in cells.items()]


def _print_sheets(result: ConceptImport, *, stderr: bool) -> None:
    read = result.read
    if not read.sheets and not read.skipped:
        return
    line = "Gelesen: " + (", ".join(f"„{s}“" for s in read.sheets) or "kein Blatt")
    if read.named_by_sheet:
        line += " (Institution aus dem Blattnamen: " + ", ".join(
            f"„{s}“ → {c}" for s, c in read.named_by_sheet.items()) + ")"
    if read.skipped:
        line += "; übersprungen: " + ", ".join(f"„{s}“ ({why})" for s, why in read.skipped)
    console(stderr=stderr).print(line + ".", soft_wrap=True, markup=False)
