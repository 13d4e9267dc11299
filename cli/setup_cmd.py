"""`fko init` and `fko demo`: set up the database and region, or the demo region."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from cli import institutions_cmd
from cli.output import confirm, fail, say
from cli.status_cmd import status as show_status


def init(
    region_file: Annotated[Path | None, typer.Option(
        "--region-file", help="Die eigene Region: TOML-Datei mit \\[region] und \\[agency] (Vorlage: "
        "survey_templates/region.toml). Erneut aufgerufen: übernimmt Änderungen und zeigt sie an.")] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Die Demo-Region Aachen mit Beispieldaten laden.")] = False,
    reset: Annotated[bool, typer.Option("--reset", help="Vorher ALLE Daten der Datenbank löschen.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Löschen ohne Rückfrage bestätigen.")] = False,
) -> None:
    """Datenbank einrichten oder auf den neuesten Stand bringen; mit --demo die Demo-Region laden."""
    from core.region import RegionConfigError
    from core.text import counted
    from usecases.context import AppContext
    from usecases.settings import load_settings
    from usecases.setup import NotEmpty, init_database, reset_database
    settings = load_settings()
    ctx = AppContext.from_settings(settings)
    try:
        if reset:
            where = settings.effective_database_url
            if not yes and not (sys.stdin.isatty() and confirm(f"Alle Daten in {where} löschen?")):
                fail("Abgebrochen: nichts gelöscht. Zum Bestätigen ohne Rückfrage --yes angeben.")
                raise typer.Exit(2)
            reset_database(ctx)
            ctx = AppContext.from_settings(settings)
        try:
            result = init_database(ctx, demo=demo, region_file=region_file)
        except RegionConfigError as exc:
            if region_file is None:
                raise
            fail(f"{exc} Nichts geändert.")
            raise typer.Exit(1) from None
        except NotEmpty:
            fail(
                "Die Datenbank enthält bereits Daten; die Demo wird nur in eine leere Datenbank geladen. "
                "Mit --reset wird vorher alles gelöscht, oder FKO_DATA_DIR auf einen anderen Ordner setzen."
            )
            raise typer.Exit(2) from None
    finally:
        ctx.close()
    if result.created and not result.added:
        say(f"Eingerichtet: {settings.where()}.")
    if result.secret_created:
        say(f"Neuer geheimer Schlüssel für die Tabellen-Signatur: {settings.data_dir / 'secret.key'} (mit der "
            "Datensicherung aufbewahren: ohne ihn gelten versandte Tabellen und Links nicht mehr).")
    if not result.created:
        if result.region_file is None:
            say(f"Datenbank für {result.region_name} ist bereits eingerichtet und auf dem neuesten Stand.")
        elif not result.changes:
            say(f"Datenbank für {result.region_name} ist auf dem neuesten Stand; {result.region_file} enthält "
                "keine Änderungen.")
        else:
            say(f"{result.region_name}: Einstellungen aus {result.region_file} übernommen, geändert:")
            for label, old, new in result.changes:
                say(f"  {label}: „{old}“ → „{new}“")
    elif result.added:
        say(f"{result.region_name} ({result.code}) aus {result.region_file} hinzugefügt. Die Datenbank enthält jetzt "
            f"{len(result.regions)} Regionen: {', '.join(result.regions)}. Befehle für eine Region brauchen nun "
            f"--region CODE (oder FKO_REGION). Nächster Schritt: `fko --region {result.code} institutions import "
            "DATEI`.")
    elif demo:
        say(
            f"Demo angelegt: {result.region_name} mit Beispieldaten, "
            f"{counted(result.institutions, 'Institution', 'Institutionen')}, Handlungskonzept "
            f"{result.baseline_label} mit {counted(result.activities, 'Aktivität', 'Aktivitäten')} veröffentlicht."
        )
    elif result.example_region:
        say(f"Datenbank angelegt, mit der Beispiel-Region {result.region_name} aus {result.region_file}. Die eigene "
            "Region mit `fko init --region-file DATEI.toml` einrichten (solange noch keine Daten erfasst sind, "
            "ersetzt sie die Beispiel-Region), dann `fko institutions import DATEI`.")
    else:
        say(f"Datenbank für {result.region_name} angelegt (aus {result.region_file}). Nächster Schritt: "
            "`fko institutions import DATEI`.")


def demo(
    year: Annotated[int | None, typer.Option("--year", help="Jahr der Demo-Abfrage ohne Prefect (Standard: "
                                             "nächstes Jahr).")] = None,
    no_prefect: Annotated[bool, typer.Option("--no-prefect", help="Ohne Prefect-Server, auf simuliertem "
                                             "Kalender (schneller).")] = False,
    state: Annotated[bool, typer.Option("--state", help="Für das Land: neben der Demo-Region Aachen weitere "
                                        "NRW-Regionen mit erfundenen Beispieldaten laden (Versionen, Abfrage, "
                                        "Rücklauf), damit die Landesübersicht (`fko rollup`) Inhalt hat; spielt "
                                        "keine Runde durch.")] = False,
) -> None:
    """Die Demo von vorn: Demo-Region anlegen und eine ganze Jahresrunde durchspielen.

    Mit Prefect (Standard): ein lokaler Prefect-Server, die Seite für die Institutionen und eine lokale
    Mail-Ablage starten; die Flows eröffnen die Abfrage, die Institutionen antworten über ihre Links aus
    den E-Mails (mit Änderungen, eine erst mit Fehlern, „Keine Änderungen“, manche gar nicht), die
    Erinnerungsstufen laufen bis zur Telefonaufgabe, dann Freigabe und Veröffentlichung.
    """
    from core.text import counted
    from usecases.context import AppContext
    from usecases.demo_round import run_demo_round
    from usecases.settings import load_settings
    init(region_file=None, demo=True, reset=True, yes=True)
    if state:
        _state_demo(year)
        return
    institutions_cmd.list_(as_json=False, include_inactive=False)
    settings = load_settings()
    if not no_prefect:
        from cli.demo_run import run_demo

        summary = run_demo(settings, say)
        say("")
        say(f"Fertig: {summary.answered} von {counted(summary.institutions, 'Institution', 'Institutionen')} haben "
            f"geantwortet; {counted(summary.mails, 'E-Mail', 'E-Mails')} (.eml) in {settings.mail_sink_dir}")
        say(f"Änderungsbericht: {summary.change_report}")
        say(f"Dokumente: {settings.data_dir / 'dokumente'}")
        for path in summary.documents:
            say(f"  {path}")
        say("")
        say("Dashboard und Mitarbeiterbereich auf den Demo-Daten ansehen: `make dashboard` startet den Prefect-Server "
            "(mit den Deployments und ihren Zeitplänen) und die Seite; Strg+C beendet beides. Dann im Browser:")
        say(f"  Prefect-Dashboard: {summary.dashboard} (Läufe, Rückmeldetabelle, Änderungsbericht, Dokumente, "
            "Freigabe; Zeitpläne unter „Deployments“)")
        say(f"  Mitarbeiterbereich: {summary.staff_area} (vorher ein Konto anlegen: FKO_DATA_DIR={settings.data_dir} "
            ".venv/bin/fko staff add NAME --email ADRESSE --link)")
        return
    ctx = AppContext.from_settings(settings)
    demo_year = year or dt.date.today().year + 1
    try:
        result = run_demo_round(ctx, year=demo_year, opened=dt.date(demo_year, 9, 1),
                                documents_dir=settings.data_dir / "dokumente", say=say)
        show_status(as_json=False, year=demo_year)
    finally:
        ctx.close()
    say(f"{counted(result.mails, 'E-Mail', 'E-Mails')} als .eml-Dateien in {settings.mail_sink_dir}")
    if result.documents:
        say(f"Dokumente der Version {result.documents.label} in {settings.data_dir / 'dokumente'}:")
        for path in result.documents.files:
            say(f"  {path}")
        for reason in result.documents.skipped:
            fail(f"übersprungen: {reason}")


def _state_demo(year: int | None) -> None:
    """The further regions of the state demo beside Aachen, and how to see the roll-up."""
    from core.text import counted
    from usecases.context import AppContext
    from usecases.settings import load_settings
    from usecases.state_demo import demo_year, load_state_demo

    settings = load_settings()
    ctx = AppContext.from_settings(settings)
    try:
        result = load_state_demo(ctx, year=year or demo_year(ctx))
    finally:
        ctx.close()
    say(f"Demo für das Land: {counted(len(result.regions), 'weitere Region', 'weitere Regionen')} neben Aachen "
        f"({', '.join(result.regions)}), {counted(result.activities, 'Aktivität', 'Aktivitäten')}, Abfrage "
        f"{result.year} mit Rücklauf; Beispieldaten, alle Institutionen und Aktivitäten sind erfunden.")
    if result.without_version:
        say(f"Noch ohne veröffentlichte Version (erste Abfrage läuft): {', '.join(result.without_version)}.")
    say(f"Landesübersicht: fko rollup --year {result.year} --out landesuebersicht")
    say("Im internen Bereich (/aachen/intern/land/) mit einem Konto des Landes: "
        "fko --region aachen staff add NAME --email ADRESSE --role state --link")
