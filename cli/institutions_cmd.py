"""`fko institutions import|list`: the institutions of the region and their contacts."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from usecases.institutions import InstitutionOverview

from cli.output import console, print_json, print_problems, read_input, say

app = typer.Typer(help="Institutionen und Ansprechpersonen der Region.", no_args_is_help=True)

ROLE_LABELS = {"primary": "Haupt", "deputy": "Vertretung", "head": "Leitung"}


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="Excel- (.xlsx) oder CSV-Datei, eine Zeile je Ansprechperson.")],
) -> None:
    """Institutionen und Ansprechpersonen einlesen (anlegen oder aktualisieren).

    Kopfzeile: Kürzel, Name, Art, Gebietskörperschaft, Aktiv, Ansprechperson, E-Mail, Rolle
    (Hauptansprechperson, Vertretung oder Leitung); wahlweise Anrede (z. B. „Frau Dr.“, „Herr“: die E-Mails
    grüßen dann „Sehr geehrte Frau Dr. Müller“, sonst „Guten Tag Maria Müller“) und Telefon (steht in den
    Telefonaufgaben). Trennzeichen in CSV: ";" oder ",". Enthält die Datei Fehler, wird nichts geändert.
    """
    from usecases.context import app_context
    from usecases.institutions import import_institutions
    data = read_input(file)
    with app_context() as ctx:
        result = import_institutions(ctx, data=data, filename=file.name)
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
    from usecases.context import app_context
    from usecases.institutions import institution_overview
    with app_context() as ctx:
        overview = institution_overview(ctx, include_inactive=include_inactive)
    if as_json:
        print_json(overview_json(overview))
        return
    print_overview(overview)


def overview_json(overview: InstitutionOverview) -> dict[str, object]:
    return {
        "region": overview.region_name,
        "sample_data": overview.sample_data,
        "institutions": [
            {
                "code": v.institution.code,
                "name": v.institution.name,
                "kind": v.institution.kind,
                "local_authority": v.institution.local_authority,
                "active": v.institution.active,
                "contacts": [
                    {"name": c.name, "email": c.email, "role": c.role, "salutation": c.salutation,
                     "phone": c.phone, "active": c.active, "refused": c.refused_at is not None}
                    for c in v.contacts
                ],
            }
            for v in overview.institutions
        ],
    }


def print_overview(overview: InstitutionOverview) -> None:
    from rich.table import Table
    title = f"Institutionen – {overview.region_name}" + (" (Beispieldaten)" if overview.sample_data else "")
    table = Table(title=title, title_justify="left")
    primaries = {v.institution.code: next((c for c in v.contacts if c.role == "primary" and c.active), None)
                 for v in overview.institutions}
    phones = any(c and c.phone for c in primaries.values())  # the column only once the file gives numbers
    for column in ("Kürzel", "Name", "Art", "Hauptansprechperson", "E-Mail", *(["Telefon"] if phones else []),
                   "Kontakte"):
        table.add_column(column, overflow="fold")
    for view in overview.institutions:
        primary = primaries[view.institution.code]
        active_contacts = [c for c in view.contacts if c.active]
        table.add_row(
            view.institution.code + ("" if view.institution.active else " (inaktiv)"),
            view.institution.name,
            view.institution.kind or "",
            primary.name if primary else "[red]keine[/]",
            primary.email if primary else "",
            *([primary.phone if primary else ""] if phones else []),
            ", ".join(ROLE_LABELS.get(c.role, c.role) for c in active_contacts),
        )
    out = console()
    out.print(table)
    out.print(f"{len(overview.institutions)} Institutionen.")
