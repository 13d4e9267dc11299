"""`fko person export|erase EMAIL`: a person's data on request (DSGVO Art. 15 and 17).

The use cases are imported inside the commands: `fko --help` need not load the database layer for them.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli.output import confirm, fail, say
from core.text import counted, os_reason

EXIT_REFUSED = 1
EXIT_USAGE = 2

app = typer.Typer(help="Daten einer Person auf Anfrage: Auskunft (Art. 15 DSGVO) und Löschung (Art. 17 DSGVO).",
                  no_args_is_help=True)

EMAIL_HELP = "Die E-Mail-Adresse der Person (Groß- und Kleinschreibung egal)."


@app.command("export")
def export(
    address: Annotated[str, typer.Argument(metavar="EMAIL", help=EMAIL_HELP)],
    out: Annotated[Path | None, typer.Option("--out", help="Die Auskunftsdatei (.json); ohne: auf die "
                                             "Standardausgabe.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Eine vorhandene Datei dieses Namens ersetzen.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Wer die Auskunft erstellt (für das Protokoll; Standard: "
                                           "Benutzername).")] = None,
) -> None:
    """Alles, was zu einer E-Mail-Adresse gespeichert ist, als eine JSON-Datei: Einträge als Ansprechperson,
    E-Mails an sie (mit Text), eingegangene E-Mails und eingesandte Dateien, Protokolleinträge, Aktivitäten, die
    sie nennen, dazu Zweck und Speicherdauer. Die Auskunft wird im Protokoll vermerkt."""
    from rich.markup import escape

    from usecases.context import app_context
    from usecases.person_data import NotAnAddress, export_person

    if out is not None and out.exists() and not force:
        fail(f"{out} gibt es schon; nichts überschrieben (anderen Namen wählen oder --force).")
        raise typer.Exit(EXIT_USAGE)
    with app_context() as ctx:
        try:
            document = export_person(ctx, address=address, now=dt.datetime.now(dt.UTC), by=by or getpass.getuser())
        except NotAnAddress:
            fail(f"„{escape(address)}“ ist keine E-Mail-Adresse.")
            raise typer.Exit(EXIT_USAGE) from None
    text = json.dumps(document, ensure_ascii=False, indent=2)
    if out is None:
        sys.stdout.write(text + "\n")
        return
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: for the owner only
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    except OSError as exc:
        fail(f"Die Datei {out} kann nicht geschrieben werden ({os_reason(exc)}).")
        raise typer.Exit(EXIT_USAGE) from None
    if not document["daten_gefunden"]:
        say(escape(f"Zu {document['e_mail_adresse']} ist nichts gespeichert; die Auskunft {out} sagt das."))
        return
    parts = [(len(document["ansprechperson"]), "Eintrag als Ansprechperson", "Einträge als Ansprechperson"),
             (len(document["konto_interner_bereich"]), "Konto", "Konten"),
             (len(document["gesendete_e_mails"]), "gesendete E-Mail", "gesendete E-Mails"),
             (len(document["eingegangene_e_mails"]), "eingegangene E-Mail", "eingegangene E-Mails"),
             (len(document["eingesandte_dateien"]), "eingesandte Datei", "eingesandte Dateien"),
             (len(document["protokoll"]), "Protokolleintrag", "Protokolleinträge"),
             (len(document["aktivitaeten"]), "Aktivität", "Aktivitäten")]
    say(escape(f"Auskunft zu {document['e_mail_adresse']} geschrieben: {out} ("
               + ", ".join(counted(n, one, many) for n, one, many in parts if n) + ")."))


@app.command("erase")
def erase(
    address: Annotated[str, typer.Argument(metavar="EMAIL", help=EMAIL_HELP)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ohne Rückfrage löschen.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur anzeigen, was gelöscht würde.")] = False,
    by: Annotated[str | None, typer.Option("--by", help="Wer löscht (für das Protokoll; Standard: "
                                           "Benutzername).")] = None,
) -> None:
    """Die Daten einer Person löschen: Name, Adresse, Anrede und Telefon werden in der Datenbank durch
    „\\[gelöscht]“ ersetzt, die Inhalte der E-Mails an sie und ihre Kopien in der lokalen Ablage entfernt, ihre
    Adresse aus Protokoll und eingegangenen E-Mails genommen, noch nicht versandte E-Mails an sie gestrichen.

    Das Protokoll behält, dass gelöscht wurde, wann und von wem. Veröffentlichte Dokumente werden nicht
    geändert; der nächste Entwurf, die Tabellen und Dokumente zeigen die Person nicht mehr. Wiederholen schadet
    nicht. Ein aktives Konto für den internen Bereich wird zuerst mit `fko staff remove` gesperrt."""
    from rich.markup import escape

    from usecases.context import app_context
    from usecases.person_data import ActiveStaffAccount, NotAnAddress, erase_person

    by = by or getpass.getuser()
    if not yes and not dry_run:
        if not sys.stdin.isatty():
            fail("Bestätigung nötig: mit --yes löschen (oder erst --dry-run), oder im Terminal aufrufen.")
            raise typer.Exit(EXIT_USAGE)
        if not confirm(f"Alle Daten zu {address} jetzt löschen? Das lässt sich nicht rückgängig machen."):
            fail("Abgebrochen: nichts gelöscht.")
            raise typer.Exit(EXIT_REFUSED)
    with app_context() as ctx:
        try:
            report = erase_person(ctx, address=address, by=by, now=dt.datetime.now(dt.UTC), dry_run=dry_run)
        except NotAnAddress:
            fail(f"„{escape(address)}“ ist keine E-Mail-Adresse. Nichts gelöscht.")
            raise typer.Exit(EXIT_USAGE) from None
        except ActiveStaffAccount as exc:
            fail(escape(f"{address} gehört zum Konto „{exc.name}“ für den internen Bereich. Erst sperren: "
                        f"fko staff remove \"{exc.name}\". Nichts gelöscht."))
            raise typer.Exit(EXIT_REFUSED) from None
    if not report.found:
        when = (f" Gelöscht am {_when(report.earlier[0])} von {report.earlier[1]}." if report.earlier else "")
        say(escape(f"Zu {report.address} ist nichts {'mehr ' if report.earlier else ''}gespeichert.{when}"))
        return
    c = report.counts
    lines = [
        (c["contacts"], "Eintrag als Ansprechperson ersetzt", "Einträge als Ansprechperson ersetzt",
         f" ({', '.join(report.institutions)})" if report.institutions else ""),
        (c["accounts"], "gesperrtes Konto ohne Adresse", "gesperrte Konten ohne Adresse", ""),
        (c["messages"], "E-Mail ohne Empfänger", "E-Mails ohne Empfänger",
         f", davon {c['cancelled']} noch nicht versandt und gestrichen" if c["cancelled"] else ""),
        (report.bodies_removed, "E-Mail-Inhalt entfernt", "E-Mail-Inhalte entfernt", ""),
        (report.sink_removed, "Datei der lokalen E-Mail-Ablage entfernt", "Dateien der lokalen E-Mail-Ablage entfernt",
         ""),
        (c["events"], "Protokolleintrag bereinigt", "Protokolleinträge bereinigt", ""),
        (c["intakes"], "eingegangene E-Mail ohne Absender und Betreff", "eingegangene E-Mails ohne Absender und "
         "Betreff", ""),
        (c["activities"], "Aktivität ohne ihren Namen und ihre Adresse", "Aktivitäten ohne ihren Namen und ihre "
         "Adresse", ""),
        (c["snapshots"], "Rückmeldung ohne ihren Namen", "Rückmeldungen ohne ihren Namen", ""),
    ]
    title = "Würde gelöscht (--dry-run, nichts geändert)" if report.dry_run else \
        f"Gelöscht (Löschung Nr. {report.erasure_id}, im Protokoll vermerkt)"
    say(escape(f"{title}: Daten zu {report.address}"))
    for number, one, many, extra in lines:
        if number:
            say(f"  • {counted(number, one, many)}{extra}")
    if report.dry_run:
        return
    say("Veröffentlichte Dokumente bleiben unverändert; der nächste Entwurf, die Tabellen und Dokumente zeigen die "
        "Person nicht mehr. Steht sie noch in Ihrer Institutionsliste, bitte dort streichen: `fko institutions "
        "import` legte sie sonst wieder an.")
    if report.without_primary:
        fail(f"Ohne aktive Hauptansprechperson: {', '.join(report.without_primary)}. Bitte eine neue in der "
             "Institutionsliste eintragen und einlesen.")


def _when(moment: dt.datetime) -> str:
    from core.dates import BERLIN, german_datetime

    return german_datetime(moment.astimezone(BERLIN))
