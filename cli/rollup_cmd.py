"""`fko rollup`: the ministry's roll-up over all regions of the database (workbook, HTML and PDF report)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.output import console, fail, print_json, say


def rollup(
    year: Annotated[int, typer.Option("--year", help="Das Jahr der Übersicht: je Region die zuletzt veröffentlichte "
                                      "Version bis zu diesem Jahr und die Abfrage dieses Jahres.")],
    out: Annotated[Path | None, typer.Option("--out", metavar="ORDNER", help="Hierhin schreiben: "
                                             "Landesuebersicht-JAHR.xlsx, .html und .pdf.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Die Zahlen als JSON ausgeben (mit --out auch die "
                                          "geschriebenen Dateien).")] = False,
    no_pdf: Annotated[bool, typer.Option("--no-pdf", help="Ohne PDF (schneller; braucht kein Chromium).")] = False,
) -> None:
    """Landesübersicht aller Regionen: Aktivitäten je Cluster des Landes, neu/beendet, Rücklauf, Regionen ohne
    veröffentlichte Version. Die Handlungsfelder der Regionen ordnet survey_templates/rollup/clusters.toml zu."""
    from rich.markup import escape

    from core.rollup import RollupError
    from core.text import counted
    from usecases.context import app_context
    from usecases.rollup import rollup_of_year, write_rollup

    if out is None and not as_json:
        fail("Bitte --out ORDNER angeben (oder --json für die Zahlen allein). Nichts geschrieben.")
        raise typer.Exit(2)
    with app_context() as ctx:
        try:
            if out is None:
                print_json(rollup_of_year(ctx, year=year).to_json())
                return
            result = write_rollup(ctx, year=year, out_dir=out, pdf=not no_pdf)
        except RollupError as exc:
            fail(f"{exc} Nichts geschrieben.")
            raise typer.Exit(2) from None
    figures = result.rollup
    if as_json:
        print_json({**figures.to_json(), "files": [str(path) for path in result.files], "skipped": result.skipped})
        return
    asked, answered = figures.response
    say(f"Landesübersicht {year}: {counted(len(figures.regions), 'Region', 'Regionen')} mit veröffentlichter Version, "
        f"{counted(figures.total_activities, 'Aktivität', 'Aktivitäten')} (neu {figures.total_new}, beendet "
        f"{figures.total_ended})" + (f", Rücklauf {answered} von {asked}." if asked else "."))
    if figures.without_version:
        say("Ohne veröffentlichte Version: " + ", ".join(r.name for r in figures.without_version) + ".")
    for warning in figures.unmapped:  # a name of the region's own choosing: no rich markup in it
        console(stderr=True).print(f"[bold yellow]Hinweis:[/] {escape(warning.text())}", soft_wrap=True)
    for path in result.files:
        say(f"  {path}")
    for reason in result.skipped:
        fail(f"übersprungen: {reason}")
