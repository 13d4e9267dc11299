"""The `fko` command line for agency staff (DESIGN §9). Messages are German, like everything staff read."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import typer

import cli.rich_deferred  # noqa: F401  (before typer's help formatter is imported: its rarely used imports wait)
from cli import (
    backup_cmd,
    cleanup_cmd,
    concept_app,
    concept_cmd,
    cycle_cmd,
    doctor_cmd,
    german,
    ingest_cmd,
    institutions_cmd,
    log_cmd,
    mail_cmd,
    person_cmd,
    portal_cmd,
    remind_cmd,
    rollup_cmd,
    serve_cmd,
    setup_cmd,
    sheet_cmd,
    staff_cmd,
)
from cli.output import fail

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3  # the database is away for the moment: try again later

app = typer.Typer(
    name="fko",
    help="fko-cycle: die jährliche Abfrage zum Handlungskonzept der Fachkräfteoffensive NRW.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.callback()
def _global_options(
    region: Annotated[str | None, typer.Option(
        "--region", metavar="CODE",
        help="Die Region, für die der Befehl gilt (wie FKO_REGION); nötig, sobald die Datenbank mehrere "
             "enthält.")] = None,
) -> None:
    if region is not None:
        os.environ["FKO_REGION"] = region.strip()


app.command("init")(setup_cmd.init)
app.command("demo")(setup_cmd.demo)
app.add_typer(institutions_cmd.app, name="institutions")
app.add_typer(sheet_cmd.app, name="sheet")
app.add_typer(cycle_cmd.app, name="cycle")
app.add_typer(mail_cmd.app, name="mail")
app.command("portal")(portal_cmd.portal)
app.command("ingest")(ingest_cmd.ingest)
app.command("remind")(remind_cmd.remind)
app.command("diff")(concept_cmd.diff)
app.command("render")(concept_cmd.render)
app.command("publish")(concept_cmd.publish)
app.add_typer(concept_app.app, name="concept")
app.command("serve")(serve_cmd.serve)
app.command("doctor")(doctor_cmd.doctor)
app.add_typer(staff_cmd.app, name="staff")
app.command("backup")(backup_cmd.backup)
app.command("restore")(backup_cmd.restore)
app.add_typer(person_cmd.app, name="person")
app.command("cleanup")(cleanup_cmd.cleanup)
app.command("log")(log_cmd.log)
app.command("rollup")(rollup_cmd.rollup)


def _where() -> str:
    """Which data folder, database and config files a command looked at."""
    from usecases.settings import SettingsError, load_settings

    try:
        return load_settings().where()
    except SettingsError:
        return "Einstellungen nicht lesbar"


def main() -> None:
    """Console-script entry: expected failures become one German line and exit code 2 (3: database away
    for now), never a traceback."""
    # Nothing leaves this machine: no Prefect telemetry, whether or not a command touches Prefect.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    try:
        code = german.run(app, prog_name="fko", say_error=fail)
    except Exception as exc:  # the classes are imported only when a command failed (a fast `fko --help`)
        _failed(exc)
    sys.exit(code)


def _failed(exc: Exception) -> None:
    """Expected failures: one German line and exit code 2 (3: database away for now); anything else re-raised."""
    from core.catalog import CatalogError
    from core.demo import DemoDataError
    from core.ladder import PolicyError
    from core.region import RegionConfigError
    from core.sheet_spec import SpecError
    from usecases.errors import SchemaOutdated, StorageError, is_database_unreachable, unavailable_reason
    from usecases.readiness import UnusableSetup
    from usecases.settings import SettingsError

    try:
        raise exc
    except UnusableSetup as exc:
        fail("Nicht versandt, nichts Neues im Postausgang: " + "; ".join(exc.reasons) + ". Zum Testen auf diesem "
             "Rechner: --allow-local (bei `fko cycle open`, `fko cycle new-link`, `fko mail send`) oder "
             "FKO_ALLOW_LOCAL_LINKS=true.")
        sys.exit(EXIT_USAGE)
    except SchemaOutdated as exc:
        where = _where()
        if exc.current is None:
            fail(f"Nicht eingerichtet: {where}. Bitte zuerst `fko init` ausführen, oder FKO_DATA_DIR bzw. "
                 "FKO_DATABASE_URL auf die vorhandenen Daten zeigen lassen.")
        else:
            fail(f"Die Datenbank hat einen älteren Stand ({exc.current}): {where}. Bitte `fko init` ausführen.")
        sys.exit(EXIT_USAGE)
    except Exception as exc:
        if is_database_unreachable(exc):
            fail(f"Die Datenbank ist nicht erreichbar oder gesperrt ({unavailable_reason(exc)}). Der Befehl wurde "
                 "abgebrochen; was bis dahin gespeichert war, bleibt gültig, nichts wird doppelt versandt. Bitte "
                 "später erneut ausführen.")
            sys.exit(EXIT_UNAVAILABLE)
        if not isinstance(exc, (SettingsError, CatalogError, DemoDataError, RegionConfigError, PolicyError, SpecError,
                                StorageError)):
            raise
        fail(f"{exc}")
        sys.exit(EXIT_USAGE)
