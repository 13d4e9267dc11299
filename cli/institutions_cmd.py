"""`fko institutions import|list`: the institutions of the region and their contacts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.output import console, print_json, print_problems, read_input, say
from storage.database import require_current_schema, session_scope
from storage.institutions import list_institutions
from storage.regions import get_region
from usecases.context import AppContext
from usecases.institutions import import_institutions
from usecases.settings import load_settings

app = typer.Typer(help="Institutionen und Ansprechpersonen der Region.", no_args_is_help=True)

ROLE_LABELS = {"primary": "Haupt", "deputy": "Vertretung", "head": "Leitung"}


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Excel- (.xlsx) oder CSV-Datei, eine Zeile je Ansprechperson.")],
) -> None:
    """Institutionen und Ansprechpersonen einlesen (anlegen oder aktualisieren).

    Kopfzeile: Kürzel, Name, Art, Gebietskörperschaft, Aktiv, Ansprechperson, E-Mail, Rolle
    (Hauptansprechperson, Vertretung oder Leitung). Trennzeichen in CSV: ";" oder ",".
    Enthält die Datei Fehler, wird nichts geändert.
    """
    data = read_input(file)
    ctx = AppContext.from_settings(load_settings())
    try:
        result = import_institutions(ctx, data=data, filename=file.name)
    finally:
        ctx.close()
    if not result.ok or result.summary is None:
        print_problems(result.problems, title=f"{file.name} wurde nicht eingelesen, nichts wurde geändert")
        raise typer.Exit(1)
    summary = result.summary
    say(
        f"{file.name} eingelesen: {len(summary.created)} neu, {len(summary.updated)} geändert, "
        f"{len(summary.unchanged)} unverändert; {summary.contacts_added} Ansprechpersonen neu, "
        f"{summary.contacts_deactivated} deaktiviert."
    )


@app.command("list")
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Maschinenlesbar als JSON ausgeben.")] = False,
    include_inactive: Annotated[bool, typer.Option("--all", help="Auch inaktive Institutionen zeigen.")] = False,
) -> None:
    """Institutionen der Region mit ihren Ansprechpersonen auflisten."""
    ctx = AppContext.from_settings(load_settings())
    try:
        require_current_schema(ctx.engine)
        with session_scope(ctx.engine) as session:
            region = get_region(session=session, code=ctx.settings.region)
            views = list_institutions(session=session, region_id=region.id or 0, active_only=not include_inactive)
    finally:
        ctx.close()
    if as_json:
        print_json(
            {
                "region": region.name,
                "sample_data": region.sample_data,
                "institutions": [
                    {
                        "code": v.institution.code,
                        "name": v.institution.name,
                        "kind": v.institution.kind,
                        "local_authority": v.institution.local_authority,
                        "active": v.institution.active,
                        "contacts": [
                            {"name": c.name, "email": c.email, "role": c.role, "active": c.active,
                             "refused": c.refused_at is not None}
                            for c in v.contacts
                        ],
                    }
                    for v in views
                ],
            }
        )
        return
    title = f"Institutionen – {region.name}" + (" (Beispieldaten)" if region.sample_data else "")
    table = Table(title=title, title_justify="left")
    for column in ("Kürzel", "Name", "Art", "Hauptansprechperson", "E-Mail", "Kontakte"):
        table.add_column(column, overflow="fold")
    for view in views:
        primary = next((c for c in view.contacts if c.role == "primary" and c.active), None)
        active_contacts = [c for c in view.contacts if c.active]
        table.add_row(
            view.institution.code + ("" if view.institution.active else " (inaktiv)"),
            view.institution.name,
            view.institution.kind or "",
            primary.name if primary else "[red]keine[/]",
            primary.email if primary else "",
            ", ".join(ROLE_LABELS.get(c.role, c.role) for c in active_contacts),
        )
    out = console()
    out.print(table)
    out.print(f"{len(views)} Institutionen.")
