"""`fko backup --out FILE` and `fko restore FILE --yes`: the whole installation in one archive and back.

The use cases are imported inside the commands: `fko --help` need not load the database layer for them.
"""

from __future__ import annotations

import datetime as dt
import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.output import confirm, fail, progress_bar, say
from core.text import counted

EXIT_REFUSED = 1
EXIT_USAGE = 2

TABLE_LABELS = {"institution": ("Institution", "Institutionen"), "contact": ("Ansprechperson", "Ansprechpersonen"),
                "concept_version": ("Version", "Versionen"), "activity": ("Aktivität", "Aktivitäten"),
                "cycle": ("Abfrage", "Abfragen"), "submission": ("Rückmeldung", "Rückmeldungen"),
                "outbound_message": ("E-Mail", "E-Mails")}


def size_text(size: int) -> str:
    """A file size as staff read it: „1,4 MB“."""
    for unit, factor in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} Bytes"


def counts_text(counts: dict[str, int]) -> str:
    return ", ".join(counted(counts.get(table, 0), one, many) for table, (one, many) in TABLE_LABELS.items())


def backup(
    out: Annotated[Path, typer.Option("--out", help="Die Sicherungsdatei (.tar.gz), oder ein Ordner: dann heißt sie "
                                      "fko-sicherung-JJJJ-MM-TT-HHMMSS.tar.gz.")],
    force: Annotated[bool, typer.Option("--force", help="Eine vorhandene Datei dieses Namens ersetzen.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Wer sichert (für das Protokoll; Standard: "
                                           "Benutzername).")] = None,
) -> None:
    """Alles in eine Datei sichern: Datenbank, gespeicherte Dateien (Rückmeldungen, E-Mails, Dokumente), lokale
    E-Mail-Ablage und den geheimen Schlüssel, mit Prüfsummen.

    Geht im laufenden Betrieb: die Datenbank wird in einem Augenblick kopiert (SQLite: Online-Sicherung;
    PostgreSQL: pg_dump), die Seite und die Abläufe arbeiten weiter. Die Datei enthält personenbezogene Daten
    und den Schlüssel: nur für den Eigentümer lesbar; bitte geschützt aufbewahren.
    """
    from rich.markup import escape

    from usecases.backup import BackupError, write_backup
    from usecases.context import app_context

    now = dt.datetime.now(dt.UTC)
    with app_context() as ctx:
        try:
            with progress_bar("Sichern") as update:
                result = write_backup(ctx, out=out, now=now, by=by or getpass.getuser(), force=force,
                                      progress=update)
        except BackupError as exc:
            fail(escape(str(exc)))
            raise typer.Exit(EXIT_USAGE) from None
    database = "PostgreSQL (pg_dump und SQLite-Kopie)" if result.database == "postgresql" else "SQLite"
    say(f"Sicherung geschrieben: {result.path} ({size_text(result.size)}).")
    say(f"Enthalten: Datenbank {database}, Stand {result.revision}; {counts_text(result.counts)}; "
        f"{counted(result.files, 'gespeicherte Datei', 'gespeicherte Dateien')}; der geheime Schlüssel.")
    say("Prüfen ohne etwas zu ändern: fko restore DATEI --check")


def restore(
    file: Annotated[Path, typer.Argument(help="Die Sicherungsdatei von `fko backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ohne Rückfrage wiederherstellen.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Nur prüfen (vollständig, Prüfsummen, Datenbankstand); "
                                        "nichts wird geschrieben.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Wer wiederherstellt (für das Protokoll; Standard: "
                                           "Benutzername).")] = None,
) -> None:
    """Eine Sicherung in einen leeren Datenordner (FKO_DATA_DIR) und eine leere Datenbank (FKO_DATABASE_URL)
    zurückspielen, auch von SQLite nach PostgreSQL und zurück.

    Abgelehnt (Exit-Code 1, nichts geschrieben): eine beschädigte oder abgeschnittene Sicherung, eine Sicherung
    einer neueren Version von fko-cycle, ein Ziel, das nicht leer ist. Eine Sicherung einer älteren Version wird
    auf den Stand dieses Programms gebracht.
    """
    from rich.markup import escape

    from usecases.restore import RestoreRefused, check_backup, restore_backup
    from usecases.settings import load_settings

    if check:
        try:
            with progress_bar("Prüfen") as update:
                info = check_backup(file, progress=update)
        except RestoreRefused as exc:
            fail(escape(str(exc)))
            raise typer.Exit(EXIT_REFUSED) from None
        say(f"Die Sicherung ist vollständig und unversehrt: erstellt am {_when(info.created_at)} mit fko-cycle "
            f"{info.header.get('fko_cycle', '?')} ({'PostgreSQL' if info.database == 'postgresql' else 'SQLite'}, "
            f"Datenbankstand {info.revision}); {counts_text(info.counts)}; "
            f"{counted(info.files, 'gespeicherte Datei', 'gespeicherte Dateien')}.")
        return
    settings = load_settings()
    if not yes:
        if not sys.stdin.isatty():
            fail("Bestätigung nötig: mit --yes wiederherstellen, oder im Terminal aufrufen.")
            raise typer.Exit(EXIT_USAGE)
        if not confirm(f"Die Sicherung {file} nach {settings.data_dir} wiederherstellen?"):
            fail("Abgebrochen: nichts wiederhergestellt.")
            raise typer.Exit(EXIT_REFUSED)
    try:
        with progress_bar("Wiederherstellen") as update:
            result = restore_backup(settings, archive=file, now=dt.datetime.now(dt.UTC), by=by or getpass.getuser(),
                                    progress=update)
    except RestoreRefused as exc:
        fail(escape(str(exc)))
        raise typer.Exit(EXIT_REFUSED) from None
    info = result.info
    say(f"Wiederhergestellt: die Sicherung vom {_when(info.created_at)} ({counts_text(info.counts)}; "
        f"{counted(info.files, 'gespeicherte Datei', 'gespeicherte Dateien')}).")
    say(f"Datenordner {result.data_dir}; Datenbank {result.database} ({result.via}).")
    if result.upgraded:
        say(f"Die Sicherung hatte den Datenbankstand {info.revision}; er wurde auf den dieses Programms gebracht.")
    say("Links und Tabellen gelten weiter (der geheime Schlüssel kam mit). Prüfen: fko doctor")


def _when(moment: dt.datetime) -> str:
    from core.dates import BERLIN, german_datetime

    return german_datetime(moment.astimezone(BERLIN))
