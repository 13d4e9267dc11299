"""`fko staff add|link|list|remove`: the accounts that sign in to the staff area (/intern/)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from cli.output import fail, report_delivery, say

if TYPE_CHECKING:
    from usecases.context import AppContext

app = typer.Typer(help="Konten für den internen Bereich (/intern/).", no_args_is_help=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _password(from_stdin: bool) -> str:
    import getpass
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Passwort (mindestens 12 Zeichen): ")
    if getpass.getpass("Wiederholung: ") != first:
        fail("Die beiden Eingaben stimmen nicht überein. Kein Konto angelegt.")
        raise typer.Exit(2)
    return first


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Name zum Anmelden, z. B. „Petra Beispiel“.")],
    email: Annotated[str, typer.Option("--email", help="E-Mail-Adresse der Person.")],
    link: Annotated[bool, typer.Option("--link", help="Kein Passwort jetzt: einen Einmal-Link per E-Mail schicken, "
                                       "mit dem die Person ihr Passwort selbst festlegt (72 Stunden gültig).")] = False,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Das Passwort aus der "
                                                 "Standardeingabe lesen (für Skripte).")] = False,
    role: Annotated[str, typer.Option("--role", metavar="ROLLE", help="region (Standard): Mitarbeitende der Region; "
                                      "state: das Konto des Landes, das im internen Bereich nur die "
                                      "Landesübersicht aller Regionen sieht (/intern/land/).")] = "region",
) -> None:
    """Ein Konto anlegen: Passwort eingeben (im Terminal) oder einen Einmal-Link zum Festlegen per E-Mail schicken."""
    from usecases.context import app_context
    from usecases.staff import StaffError, add_staff
    if role.strip().lower() not in ("region", "state"):
        fail(f"Unbekannte Rolle „{role}“; möglich: region, state. Kein Konto angelegt.")
        raise typer.Exit(2)
    if not link and not password_stdin and not sys.stdin.isatty():
        fail("Ohne Terminal: --link (Einmal-Link) oder --password-stdin angeben. Kein Konto angelegt.")
        raise typer.Exit(2)
    password = None if link else _password(password_stdin)
    with app_context() as ctx:
        try:
            token = add_staff(ctx, name=name, email=email, password=password, now=_now(), role=role.strip().lower())
        except StaffError as exc:
            fail(f"{exc} Kein Konto angelegt.")
            raise typer.Exit(2) from None
        base = ctx.settings.base_url.rstrip("/")
        say(f"Konto „{name}“ angelegt" + (" (Land: sieht die Landesübersicht unter /intern/land/)."
                                          if role.strip().lower() == "state" else "."))
        if token:
            _send_link(ctx, name, token, base)
        else:
            say(f"Anmelden: {base}/intern/anmelden")


@app.command("link")
def link_cmd(name: Annotated[str, typer.Argument(help="Name des Kontos.")]) -> None:
    """Einen neuen Einmal-Link zum Festlegen des Passworts (vergessen); bisherige Anmeldungen enden."""
    from usecases.context import app_context
    from usecases.staff import StaffError, new_setup_link
    with app_context() as ctx:
        try:
            token = new_setup_link(ctx, name=name, now=_now())
        except StaffError as exc:
            fail(str(exc))
            raise typer.Exit(2) from None
        _send_link(ctx, name, token, ctx.settings.base_url.rstrip("/"))


def _send_link(ctx: AppContext, name: str, token: str, base: str) -> None:
    """The one-time link by mail to the person; printed only when the mail cannot go out."""
    import asyncio

    from usecases.outbox import deliver_pending
    from usecases.readiness import UnusableSetup
    from usecases.staff import queue_invitation
    try:
        address = queue_invitation(ctx, name=name, token=token, now=_now())
        report = asyncio.run(deliver_pending(ctx, kinds=("staff_invite",)))
    except UnusableSetup as exc:
        fail(f"Die E-Mail mit dem Link kann so nicht versandt werden: {exc}")
        report, address = None, ""
    if report is not None and report.sent:
        where = ctx.settings.smtp_host or f"lokale Ablage {ctx.settings.mail_sink_dir}"
        say(f"Einmal-Link zum Festlegen des Passworts an {address} geschickt (über {where}; 72 Stunden gültig).")
        return
    if report is not None:
        report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    say("Einmal-Link zum Festlegen des Passworts (72 Stunden gültig), nur an die Person selbst weitergeben:")
    say(f"  {base}/intern/einrichten/{token}")


@app.command("list")
def list_cmd() -> None:
    """Alle Konten mit ihrem Stand."""
    from usecases.context import app_context
    from usecases.staff import staff_list
    with app_context() as ctx:
        accounts = staff_list(ctx)
    if not accounts:
        say("Noch kein Konto. Anlegen: fko staff add NAME --email ADRESSE")
    for account in accounts:
        state = ("entfernt" if not account.active else "Passwort gesetzt" if account.password_hash
                 else "wartet auf das Festlegen des Passworts")
        role = ", Land (Landesübersicht)" if account.role == "state" else ""
        say(f"{account.name} <{account.email}>: {state}{role}")


@app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="Name des Kontos.")]) -> None:
    """Ein Konto sperren: keine Anmeldung mehr, bestehende Anmeldungen enden."""
    from usecases.context import app_context
    from usecases.staff import StaffError, remove_staff
    with app_context() as ctx:
        try:
            remove_staff(ctx, name=name)
        except StaffError as exc:
            fail(str(exc))
            raise typer.Exit(2) from None
    say(f"Konto „{name}“ gesperrt; seine Anmeldungen sind beendet.")
