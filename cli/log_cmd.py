"""`fko log [--institution CODE] [--since D] [--json]`: who did what when, in German.

The use case is imported inside the command: `fko --help` need not load the database layer for it.
"""

from __future__ import annotations

from typing import Annotated

import typer

from cli.options import parse_date
from cli.output import fail, print_json, say

EXIT_USAGE = 2


def log(
    institution: Annotated[str | None, typer.Option("--institution", help="Nur was diese Institution betrifft "
                                                    "(Kürzel).")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Erst ab diesem Tag (TT.MM.JJJJ oder "
                                              "JJJJ-MM-TT).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Maschinenlesbar ausgeben.")] = False,
) -> None:
    """Das Protokoll: wer hat wann was getan – jede E-Mail (mit ihrem Stand), jede Rückmeldung und Datei,
    Entscheidungen und Freigaben, neue Links, Erinnerungen, Sicherungen, Auskünfte und Löschungen. Zeiten in
    deutscher Zeit (Europe/Berlin), älteste zuerst."""
    from rich.markup import escape

    from core.dates import BERLIN
    from core.text import counted
    from usecases.audit_log import audit_log
    from usecases.context import app_context
    from usecases.errors import NotFound

    day = parse_date(since)
    with app_context() as ctx:
        try:
            region, lines = audit_log(ctx, institution=institution, since=day)
        except NotFound as exc:
            fail(f"{exc} `fko institutions list` zeigt alle." if institution else str(exc))
            raise typer.Exit(EXIT_USAGE) from None
    if as_json:
        print_json({"region": region, "institution": institution.upper() if institution else None,
                    "since": day.isoformat() if day else None,
                    "entries": [{"at": line.at.astimezone(BERLIN).isoformat(timespec="seconds"), "who": line.who,
                                 "what": line.what, "institution": line.institution, "action": line.action}
                                for line in lines]})
        return
    scope = f" – {institution.upper()}" if institution else ""
    from_day = f" ab {day:%d.%m.%Y}" if day else ""
    if not lines:
        say(f"Protokoll {escape(region)}{scope}{from_day}: keine Einträge.")
        return
    say(f"Protokoll {escape(region)}{scope}{from_day} ({counted(len(lines), 'Eintrag', 'Einträge')}):")
    for line in lines:  # texts from the database (e.g. „[gelöscht]“) are shown as they are, never as markup
        say(f"{line.at.astimezone(BERLIN):%d.%m.%Y %H:%M}  {escape(line.who)}: {escape(line.what)}")
