"""`fko cycle open`: start the yearly round (requests, personal links, invitations)."""

from __future__ import annotations

import datetime as dt
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from cli import status_cmd
from cli.options import parse_date
from cli.output import confirm, fail, progress_bar, report_delivery, say

if TYPE_CHECKING:
    from usecases.context import AppContext
    from usecases.cycle import OpenResult

app = typer.Typer(help="Die jährliche Abfrage.", no_args_is_help=True)


@app.command("open")
def open_(
    year: Annotated[int, typer.Option("--year", help="Jahr der Abfrage, z. B. 2026.")],
    deadline: Annotated[str | None, typer.Option("--deadline", help="Frist (TT.MM.JJJJ oder JJJJ-MM-TT); "
                                                 "Standard: in sechs Wochen.")] = None,
    send: Annotated[bool, typer.Option("--send/--no-send", help="Einladungen gleich versenden.")] = True,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Eine Frist am Wochenende, an einem Feiertag oder in "
                                      "weniger als 14 Tagen ohne Rückfrage bestätigen.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Auch ein Jahr weiter als ein Jahr von heute "
                                        "eröffnen.")] = False,
    allow_local: Annotated[bool, typer.Option("--allow-local", help="Auch mit Links auf diesen Rechner "
                                              "(FKO_BASE_URL) oder Absender @localhost versenden (nur zum "
                                              "Testen).")] = False,
) -> None:
    """Abfrage eröffnen: persönliche Links anlegen und alle aktiven Institutionen einladen.

    Es läuft immer nur eine Abfrage. Erneut aufgerufen, wird nichts doppelt angelegt oder versandt; neu
    hinzugekommene Institutionen werden eingeladen, und noch nicht zugestellte Einladungen werden erneut
    versucht. Die Frist einer laufenden Abfrage verschiebt `fko cycle deadline`.
    """
    import asyncio

    from core.dates import BERLIN, german_date
    from core.deadline import default_deadline
    from usecases.context import app_context
    from usecases.cycle import DeadlineDiffers, ImplausibleYear, OtherRoundOpen, RoundEnded, open_cycle, open_cycle_year
    from usecases.outbox import deliver_pending
    from usecases.sheets import NoBaseVersion
    due = parse_date(deadline)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(BERLIN).date()
    if due is not None and due < today:
        fail(f"Die Frist {german_date(due)} liegt in der Vergangenheit.")
        raise typer.Exit(2)
    with app_context(allow_local_links=allow_local or None) as ctx:
        if open_cycle_year(ctx) is None:  # a new round: its deadline is checked before anything is sent
            confirm_deadline(ctx, due or default_deadline(today), today=today, yes=yes)
        try:
            with progress_bar("Tabellen und Einladungen vorbereiten") as progress:
                result = open_cycle(ctx, year=year, deadline=due, today=today, now=now, progress=progress,
                                    force=force)
        except NoBaseVersion:
            fail("Es gibt noch kein veröffentlichtes Handlungskonzept, aus dem die Tabellen vorausgefüllt werden "
                 "können.")
            raise typer.Exit(2) from None
        except OtherRoundOpen as exc:
            fail(f"Die Abfrage {exc.year} läuft noch (Frist {german_date(exc.deadline)}); es läuft immer nur eine "
                 f"Abfrage. Erst die Abfrage {exc.year} veröffentlichen (`fko publish`) oder schließen, dann die "
                 f"Abfrage {year} eröffnen. Nichts wurde angelegt oder versandt.")
            raise typer.Exit(2) from None
        except ImplausibleYear:
            fail(f"{year} ist kein plausibles Jahr für eine Abfrage (erwartet: {today.year - 1} bis "
                 f"{today.year + 1}); Tippfehler? Mit --force trotzdem eröffnen. Nichts wurde angelegt oder "
                 "versandt.")
            raise typer.Exit(2) from None
        except RoundEnded:
            fail(f"Die Abfrage {year} ist beendet: das Handlungskonzept {year} (oder ein neueres) ist bereits "
                 f"veröffentlicht. Die nächste Abfrage eröffnet `fko cycle open --year J` mit einem späteren Jahr. "
                 "Nichts wurde angelegt oder versandt.")
            raise typer.Exit(2) from None
        except DeadlineDiffers as exc:
            fail(f"Die Abfrage {year} läuft bereits mit der Frist {german_date(exc.current)}; --deadline ändert sie "
                 f"nicht. Verschieben mit: fko cycle deadline --year {year} {due:%d.%m.%Y}")
            raise typer.Exit(2) from None
        report_opening(result, year)
        if send:
            with progress_bar("E-Mails versenden") as progress:
                report = asyncio.run(deliver_pending(ctx, progress=progress))
            report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
            if report.failed:
                raise typer.Exit(1)


def report_opening(result: OpenResult, year: int) -> None:
    from core.dates import german_date
    if result.created:
        say(f"Abfrage {year} eröffnet, Frist: {german_date(result.deadline)}.")
    else:
        say(f"Abfrage {year} war bereits eröffnet (Frist: {german_date(result.deadline)}).")
    if result.invitations_queued:
        say(f"{result.invitations_queued} Einladungen vorbereitet ({result.requests_created} neue "
            "persönliche Links).")
    elif not result.created:
        say("Keine neuen Einladungen: alle aktiven Institutionen sind bereits eingeladen.")
    for code in result.without_contact:
        fail(f"{code}: keine erreichbare Ansprechperson (alle inaktiv oder Adresse abgelehnt); nicht eingeladen.")


@app.command("new-link")
def new_link(
    institution: Annotated[str, typer.Option("--institution", "-i", help="Kürzel der Institution.")],
    year: Annotated[int, typer.Option("--year", help="Jahr der Abfrage.")],
    send: Annotated[bool, typer.Option("--send/--no-send", help="Neue Einladung mit dem neuen Link senden.")] = True,
    allow_local: Annotated[bool, typer.Option("--allow-local", help="Auch mit Links auf diesen Rechner "
                                              "(FKO_BASE_URL) oder Absender @localhost versenden (nur zum "
                                              "Testen).")] = False,
) -> None:
    """Den persönlichen Link einer Institution sperren und einen neuen erzeugen (z. B. falsch weitergeleitet).

    Der alte Link zeigt ab sofort nur noch die neutrale Seite; Rückmeldungen bleiben erhalten.
    """
    import asyncio

    from usecases.context import app_context
    from usecases.cycle import RoundEnded, renew_link
    from usecases.errors import NotFound
    from usecases.outbox import deliver_pending
    with app_context(allow_local_links=allow_local or None) as ctx:
        try:
            link = renew_link(ctx, year=year, institution_code=institution, now=dt.datetime.now(dt.UTC), send=send)
        except NotFound:
            fail(f"Es gibt keine Institution mit dem Kürzel „{institution}“.")
            raise typer.Exit(2) from None
        except LookupError:
            fail(f"{institution.upper()} hat in der Abfrage {year} keinen Link (Abfrage nicht eröffnet?).")
            raise typer.Exit(2) from None
        except RoundEnded:
            fail(f"Die Abfrage {year} ist beendet (Konzept veröffentlicht oder Abfrage geschlossen); ein neuer Link "
                 "hilft niemandem mehr. Nichts geändert.")
            raise typer.Exit(2) from None
        say(f"Der bisherige Link von {institution.upper()} ist gesperrt. Der neue Link:")
        say(f"  {link}")
        if not send:
            say("Keine E-Mail versandt (--no-send): bitte den neuen Link selbst weitergeben.")
        if send:
            report = asyncio.run(deliver_pending(ctx))
            report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)


def confirm_deadline(ctx: AppContext, deadline: dt.date, *, today: dt.date, yes: bool) -> None:
    """A deadline on a weekend or holiday, or too soon, is confirmed by staff (or --yes); else exit 2."""
    from core.dates import german_date
    from usecases.cycle import check_deadline
    concerns = check_deadline(ctx, deadline, today=today)
    if not concerns or yes:
        return
    text = f"Frist {german_date(deadline)}: " + "; ".join(concerns) + "."
    if sys.stdin.isatty():
        say(text)
        if confirm("Diese Frist trotzdem verwenden?"):
            return
        fail("Abgebrochen: nichts wurde angelegt, geändert oder versandt.")
        raise typer.Exit(1)
    fail(f"{text} Zum Bestätigen --yes angeben, oder eine andere Frist wählen. Nichts wurde angelegt, geändert "
         "oder versandt.")
    raise typer.Exit(2)


@app.command("deadline")
def deadline_(
    new: Annotated[str, typer.Argument(metavar="FRIST", help="Neue Frist (TT.MM.JJJJ oder JJJJ-MM-TT).")],
    year: Annotated[int, typer.Option("--year", help="Jahr der Abfrage.")],
    notice: Annotated[bool, typer.Option("--notice/--no-notice", help="Institutionen ohne Rückmeldung kurz "
                                         "benachrichtigen.")] = True,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Eine Frist am Wochenende, an einem Feiertag oder in "
                                      "weniger als 14 Tagen ohne Rückfrage bestätigen.")] = False,
) -> None:
    """Die Frist einer laufenden Abfrage verschieben.

    Die Erinnerungsstufen zählen ab der neuen Frist (schon versandte bleiben versandt), die persönlichen
    Links gelten entsprechend länger, und Institutionen ohne Rückmeldung erhalten eine kurze Nachricht.
    """
    import asyncio

    from core.dates import BERLIN, german_date
    from core.text import counted
    from usecases.context import app_context
    from usecases.cycle import RoundEnded, move_deadline
    from usecases.outbox import deliver_pending
    due = parse_date(new)
    if due is None:
        raise typer.Exit(2)
    now = dt.datetime.now(dt.UTC)
    today = now.astimezone(BERLIN).date()
    if due < today:
        fail(f"Die Frist {german_date(due)} liegt in der Vergangenheit.")
        raise typer.Exit(2)
    with app_context() as ctx:
        confirm_deadline(ctx, due, today=today, yes=yes)
        try:
            result = move_deadline(ctx, year=year, deadline=due, now=now, notice=notice)
        except LookupError:
            fail(f"Es gibt keine Abfrage {year}.")
            raise typer.Exit(2) from None
        except RoundEnded:
            fail(f"Die Abfrage {year} ist abgeschlossen oder ihr Konzept veröffentlicht; ihre Frist ändert sich "
                 "nicht mehr.")
            raise typer.Exit(2) from None
        if result.old == result.new:
            say(f"Die Frist der Abfrage {year} ist bereits {german_date(due)}; nichts geändert.")
            return
        say(f"Frist der Abfrage {year} verschoben: {german_date(result.old)} → {german_date(result.new)}.")
        if not notice:
            say(f"Keine Nachricht an die Institutionen (--no-notice); ohne Rückmeldung: {len(result.not_answered)}.")
            return
        say(f"Nachricht an {counted(len(result.not_answered), 'Institution', 'Institutionen')} ohne Rückmeldung "
            "vorbereitet.")
        report = asyncio.run(deliver_pending(ctx, kinds=("deadline_moved",)))
        report_delivery(report, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
        if report.failed:
            raise typer.Exit(1)


app.command("status")(status_cmd.status)
