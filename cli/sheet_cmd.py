"""`fko sheet build|check`: an institution's personal workbook, and checking a returned one."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from cli.options import parse_date
from cli.output import confirm, console, fail, os_reason, print_json, print_problems, read_input, say

if TYPE_CHECKING:
    from core.problem import Problem

app = typer.Typer(help="Die Excel-Tabelle der Abfrage.", no_args_is_help=True)

YearOption = Annotated[int | None, typer.Option("--year", help="Jahr der Abfrage (Standard: offene Abfrage, "
                                                               "sonst das laufende Jahr).")]


@app.command("build")
def build(
    institution: Annotated[str, typer.Option("--institution", "-i", help="Kürzel der Institution, z. B. IHK.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Zieldatei (.xlsx; ohne diese Endung wird sie "
                                                          "angehängt) oder Ordner.")],
    year: YearOption = None,
    deadline: Annotated[str | None, typer.Option("--deadline", help="Frist (TT.MM.JJJJ) für das Blatt "
                                                                    "„Hinweise“.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Eine vorhandene Datei ohne Rückfrage "
                                                        "überschreiben.")] = False,
) -> None:
    """Die persönliche, vorausgefüllte Tabelle einer Institution erzeugen."""
    from core.dates import BERLIN
    from usecases.context import app_context
    from usecases.errors import NotFound
    from usecases.sheets import NoBaseVersion, build_sheet, default_cycle_year
    with app_context() as ctx:
        try:
            cycle_year = year or default_cycle_year(ctx, today=dt.datetime.now(BERLIN).date())
            data, filename = build_sheet(ctx, institution_code=institution, cycle_year=cycle_year,
                                         deadline=parse_date(deadline))
        except NotFound:
            fail(f"Es gibt keine Institution mit dem Kürzel „{institution}“. `fko institutions list` zeigt alle.")
            raise typer.Exit(2) from None
        except NoBaseVersion:
            fail("Es gibt noch kein veröffentlichtes Handlungskonzept, aus dem die Tabelle vorausgefüllt werden "
                 "kann.")
            raise typer.Exit(2) from None
    target = out / filename if out.is_dir() else xlsx_path(out)
    if target.exists() and not force and not overwrite_confirmed(target):
        fail(f"{target} existiert bereits; nichts geschrieben. Mit --force wird die Datei überschrieben.")
        raise typer.Exit(1)
    try:
        target.write_bytes(data)
    except OSError as exc:
        fail(f"{target} kann nicht geschrieben werden ({os_reason(exc)}).")
        raise typer.Exit(2) from None
    say(f"Tabelle für {institution.upper()} (Abfrage {cycle_year}) geschrieben: {target}")


def xlsx_path(out: Path) -> Path:
    """The file staff named, with ``.xlsx`` appended unless it ends so: what is written is an .xlsx workbook,
    and a spreadsheet program opens it by that ending."""
    return out if out.suffix.lower() == ".xlsx" else out.with_name(out.name + ".xlsx")


def overwrite_confirmed(target: Path) -> bool:
    """Staff at a terminal are asked; without one (a script, a pipe) the answer is no: that takes --force."""
    return sys.stdin.isatty() and confirm(f"{target} existiert bereits. Überschreiben?")


def print_notices(notices: list[Problem]) -> None:
    """What a sheet says that is taken but worth a second look (a year after the concept's horizon)."""
    if not notices:
        return
    out = console()
    count = f"{len(notices)} Hinweis{'e' if len(notices) != 1 else ''}"
    out.print(f"[bold yellow]Bitte prüfen[/] ({count}; die Angaben werden übernommen):", soft_wrap=True)
    for notice in notices:
        where = f"[dim]{notice.cell}[/] " if notice.cell else ""
        out.print(f"  • {where}{escape(notice.message)}", soft_wrap=True)


@app.command("check")
def check(
    file: Annotated[Path, typer.Argument(help="Zurückgeschickte Tabelle (.xlsx, .xlsm, .ods, .xls).")],
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als JSON ausgeben.")] = False,
    institution: Annotated[str | None, typer.Option("--institution", "-i", help="Kürzel der Institution, "
                                                    "zu der die Datei gehören muss.")] = None,
    year: YearOption = None,
) -> None:
    """Eine zurückgeschickte Tabelle prüfen, ohne etwas zu speichern.

    Exit-Code 0: in Ordnung; 1: abgelehnt (alle Probleme werden genannt); 2: Aufruf- oder Einstellungsfehler.
    """
    from core.dates import BERLIN
    from core.diff import CHANGE_LABELS
    from usecases.context import app_context
    from usecases.sheets import NoBaseVersion, check_returned_sheet, default_cycle_year
    data = read_input(file)
    with app_context() as ctx:
        try:
            cycle_year = year or default_cycle_year(ctx, today=dt.datetime.now(BERLIN).date())
            report = check_returned_sheet(ctx, data=data, cycle_year=cycle_year,
                                          institution_code=institution.upper() if institution else None)
        except NoBaseVersion:
            fail("Es gibt noch kein veröffentlichtes Handlungskonzept, mit dem verglichen werden kann.")
            raise typer.Exit(2) from None
    if as_json:
        print_json(report.as_json())
    elif report.ok and report.diff is not None:
        counts = report.diff.counts()
        say(f"[green]In Ordnung:[/] {file.name} ({report.result.institution_code}), "
            f"{len(report.result.activities)} Aktivitäten.")
        out = console()
        out.print("  " + " · ".join(f"{CHANGE_LABELS[k]}{' (bleiben erhalten, markiert)' if k == 'missing' else ''}: "
                                    f"{n}" for k, n in counts.items()))
        for change in report.diff.changed:
            out.print(f"  {change.new.key} {change.new.title}: " + ", ".join(f.field for f in change.fields),
                      soft_wrap=True)
    else:
        print_problems(report.result.problems, title=f"{file.name} würde abgelehnt")
    if not as_json:
        print_notices(report.result.notices)
    if not report.ok:
        raise typer.Exit(1)
