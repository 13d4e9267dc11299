"""`fko cleanup [--dry-run]`: retention of raw uploads, mail bodies and .eml sink files of closed rounds.

The use case is imported inside the command: `fko --help` need not load the database layer for it.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer

from cli.backup_cmd import size_text
from cli.output import say
from core.text import counted


def cleanup(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur anzeigen, was entfernt würde.")] = False,
) -> None:
    """Aufbewahrungsfristen anwenden: hochgeladene Dateien, E-Mail-Inhalte und Dateien der lokalen E-Mail-Ablage
    einer Abfrage werden entfernt, wenn die folgende Abfrage veröffentlicht ist und die eingestellte Frist danach
    um ist (FKO_KEEP_UPLOADS_DAYS, FKO_KEEP_MAIL_DAYS, FKO_KEEP_SINK_DAYS; Standard je 365 Tage).

    Nie entfernt: die angenommene Datei jeder Institution, aus der eine veröffentlichte Version entstand (Beleg),
    und E-Mails, die noch versandt werden. Was eine E-Mail war und wann eine Datei einging, bleibt verzeichnet.
    Entfernt außerdem abgelaufene Anmeldungen und Dateien, auf die nichts mehr verweist. Läuft auch täglich als
    Ablauf „cleanup“ (Deployment „daily-cleanup“)."""
    from core.dates import BERLIN, german_date
    from usecases.context import app_context
    from usecases.retention import cleanup as run_cleanup

    with app_context() as ctx:
        report = run_cleanup(ctx, now=dt.datetime.now(dt.UTC), dry_run=dry_run)
    days = report.keep_days
    say(f"Aufbewahrung nach der Veröffentlichung der folgenden Abfrage: hochgeladene Dateien {days['uploads']} Tage, "
        f"E-Mail-Inhalte {days['mail']} Tage, lokale E-Mail-Ablage {days['sink']} Tage.")
    verb = "würde entfernen" if dry_run else "entfernt"
    plans = (report.uploads, report.mail, report.sink, report.inbox)
    keys = sorted({key for plan in plans for key in plan.rounds}, key=lambda key: (key[1], key[0]))
    now = dt.datetime.now(dt.UTC)
    regions = len({key[0] for key in keys})
    for key in keys:
        uploads, mail, sink, inbox = (plan.rounds.get(key) for plan in plans)
        name = f"Abfrage {key[1]}" + (f" (Region {key[0]})" if regions > 1 else "")
        removed = [(uploads, "hochgeladene Datei", "hochgeladene Dateien"), (mail, "E-Mail-Inhalt", "E-Mail-Inhalte"),
                   (sink, "Datei der lokalen E-Mail-Ablage", "Dateien der lokalen E-Mail-Ablage"),
                   (inbox, "Datei im Eingangsordner", "Dateien im Eingangsordner")]
        parts = [counted(s.removed, one, many) + (f" ({size_text(s.size)})" if s.size else "")
                 for s, one, many in removed if s is not None and s.removed]
        kept = uploads.kept_for_audit if uploads is not None else 0
        evidence = (f"; behalten als Beleg der veröffentlichten Version: "
                    f"{counted(kept, 'angenommene Datei', 'angenommene Dateien')}") if kept else ""
        if parts:
            say(f"{name}: {verb} {', '.join(parts)}{evidence}.")
            continue
        due = [s.removable_from for s in (uploads, mail, sink, inbox) if s is not None and s.removable_from is not None]
        if due and min(due) <= now:
            say(f"{name}: nichts mehr zu entfernen{evidence}.")
        elif due:
            say(f"{name}: wird aufbewahrt bis {german_date(min(due).astimezone(BERLIN).date(), weekday=False)}"
                f"{evidence}.")
        else:
            say(f"{name}: wird aufbewahrt, bis die folgende Abfrage veröffentlicht ist{evidence}.")
    extras = [(report.orphans, "Datei ohne Verweis", "Dateien ohne Verweis"),
              (report.temporaries, "halb geschriebene Datei", "halb geschriebene Dateien"),
              (report.sessions, "abgelaufene Anmeldung", "abgelaufene Anmeldungen")]
    extra = [counted(n, one, many) for n, one, many in extras if n]
    if extra:
        say(f"Außerdem {verb}: {', '.join(extra)}.")
    if not report.removed_anything:
        say("Nichts zu entfernen.")
    elif dry_run:
        say("Probelauf: nichts wurde geändert.")
