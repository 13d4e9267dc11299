"""`fko ingest`: staff record a returned sheet that came by mail or on paper (same use case as the page)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from cli.output import console, fail, print_json, print_problems, read_input, report_delivery, say
from cli.sheet_cmd import print_notices

if TYPE_CHECKING:
    from usecases.ingest import Misfiled
    from usecases.returns import ReturnResult

NOTHING_DONE = "Nichts gespeichert, keine E-Mail"


def ingest(
    file: Annotated[Path, typer.Argument(help="Zurückgeschickte Tabelle (.xlsx, .xlsm, .ods, .xls).")],
    institution: Annotated[str | None, typer.Option("--institution", "-i", help="Kürzel der Institution "
                                                    "(Standard: aus der Datei).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Ergebnis als JSON ausgeben.")] = False,
    year: Annotated[int | None, typer.Option("--year", help="Jahr der Abfrage (Standard: die laufende "
                                                                  "oder zuletzt veröffentlichte).")] = None,
    notify: Annotated[bool, typer.Option("--notify", help="Der Institution die Eingangsbestätigung bzw. die "
                                         "Liste der Probleme per E-Mail schicken.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Nur zeigen, was geschähe: nichts speichern, "
                                          "nichts senden.")] = False,
) -> None:
    """Eine zurückgeschickte Tabelle prüfen und als Rückmeldung der Institution speichern.

    Wie ein Upload über die Seite, aber auch nach der Frist möglich. E-Mails an die Institution nur mit
    --notify. Eine Datei, die nicht die signierte Tabelle der genannten Institution aus dieser Abfrage ist,
    wird nicht abgelegt. Nach der Veröffentlichung der Version wird nichts mehr übernommen; die Datei wird
    für die nächste Abfrage aufbewahrt. Exit-Code 0: angenommen, 1: nicht angenommen (abgelehnt, falsch
    zugeordnet oder aufbewahrt), 2: Aufruf- oder Einstellungsfehler.
    """
    import asyncio

    from core.dates import BERLIN
    from usecases.context import app_context
    from usecases.ingest import Misfiled, NotIngestible, ingest_file, latest_round_year
    from usecases.outbox import deliver_pending
    from usecases.schema import check_schema
    from usecases.sheets import default_cycle_year
    data = read_input(file)
    with app_context() as ctx:
        check_schema(ctx)
        now = dt.datetime.now(dt.UTC)
        cycle_year = year or latest_round_year(ctx) or default_cycle_year(ctx, today=now.astimezone(BERLIN).date())
        try:
            result = ingest_file(ctx, data=data, filename=file.name, source="cli", year=cycle_year, now=now,
                                 institution_code=institution, notify=notify, dry_run=dry_run)
        except NotIngestible as exc:
            fail(str(exc))
            raise typer.Exit(2) from None
        except Misfiled as exc:
            misfiled(exc, file, institution, as_json)
            raise typer.Exit(1) from None
        own_mail = ("receipt", "refusal")  # not the mail staff held back elsewhere (e.g. cycle open --no-send)
        delivery = (asyncio.run(deliver_pending(ctx, kinds=own_mail))
                    if notify and not dry_run and result.recipients else None)
    if as_json:
        print_json(json_report(result, dry_run=dry_run))
    else:
        report(result, file.name, notify=notify, dry_run=dry_run)
        if delivery is not None:
            report_delivery(delivery, ctx.settings.smtp_host, ctx.settings.mail_sink_dir)
    if result.outcome != "accepted":
        raise typer.Exit(1)


def misfiled(exc: Misfiled, file: Path, institution: str | None, as_json: bool) -> None:
    """A file that belongs elsewhere (or nowhere): say whose it is and how to file it there."""
    import shlex
    untouched = f"; der Stand von {institution.upper()} bleibt unverändert" if institution else ""
    hint = None
    if exc.retry is not None:
        how = " und ".join(([] if not institution else ["ohne --institution"])
                           + ([f"mit {' '.join(exc.retry)}"] if exc.retry else []))
        hint = (f"{how[0].upper()}{how[1:]} wird sie {exc.retry_effect}: "
                f"fko ingest {shlex.quote(str(file))}{''.join(' ' + a for a in exc.retry)}")
    if as_json:
        print_json({"ok": False, "institution": institution.upper() if institution else None, "rows": 0,
                    "problems": [{"cell": None, "column": None, "message": str(exc)}], "notices": [], "changes": {},
                    "outcome": "misfiled", "recorded": False, "notified": False,
                    "belongs_to": {"institution": exc.institution, "year": exc.year} if exc.institution else None,
                    "hint": hint or exc.advice or None})
        return
    fail(f"{exc} {NOTHING_DONE}{untouched}.")
    for line in (hint, exc.advice):
        if line:
            console(stderr=True).print(line, soft_wrap=True)


def json_report(result: ReturnResult, *, dry_run: bool) -> dict[str, Any]:
    held = [{"cell": None, "column": None, "message": f"Version {result.year} ist bereits veröffentlicht: die Datei "
             "wird nicht übernommen, sondern für die nächste Abfrage aufbewahrt."}] if result.outcome == "held" else []
    return {"ok": result.outcome == "accepted", "institution": result.institution_code, "rows": result.rows,
            "problems": [p.as_dict() for p in result.problems] + held,
            "notices": [n.as_dict() for n in result.notices],
            "changes": result.diff.counts() if result.diff else {}, "submission": result.submission_id or None,
            "outcome": result.outcome, "year": result.year, "recorded": result.recorded,
            "notified": bool(result.recipients) and not dry_run, "dry_run": dry_run,
            **({"mail_to": result.recipients} if dry_run else {})}


def report(result: ReturnResult, name: str, *, notify: bool, dry_run: bool) -> None:
    code, year = result.institution_code, result.year
    would = "Probelauf (nichts gespeichert, nichts gesendet): " if dry_run else ""
    mail = mail_line(result, notify=notify, dry_run=dry_run)
    if result.outcome == "held":
        console(stderr=True).print(
            f"[bold yellow]Nicht übernommen:[/] {would}Version {year} des Handlungskonzepts ist bereits "
            f"veröffentlicht: {name} ({code}) wird nicht "
             f"mehr in die Abfrage {year} übernommen. Die Datei {'würde' if dry_run else 'ist'} als nach der "
             f"Veröffentlichung eingegangen aufbewahrt{' werden' if dry_run else ''} (für die nächste Abfrage; "
             "`fko cycle status` listet sie). Keine E-Mail an die Institution.", soft_wrap=True)
    elif result.outcome == "accepted":
        counts = result.diff.counts() if result.diff else {}
        verb = "[green]würde angenommen:[/]" if dry_run else "[green]Angenommen:[/]"
        say(f"{would}{verb} {name} für {code} ({len(result.activities)} Aktivitäten; "
            f"neu {counts['new']}, geändert {counts['changed']}, beendet {counts['ended']}, "
            f"fehlend {counts['missing']}).")
        print_notices(result.notices)
        say(mail)
    else:
        state = "würde abgelehnt" if dry_run else "abgelehnt (gespeichert)"
        print_problems(result.problems, title=f"{would}{name} für {code} {state}")
        console(stderr=True).print(mail, soft_wrap=True)


def mail_line(result: ReturnResult, *, notify: bool, dry_run: bool) -> str:
    kind = "Eingangsbestätigung" if result.outcome == "accepted" else "Liste der Probleme"
    if not notify:
        return f"Keine E-Mail an {result.institution_code} ({kind} nur mit --notify)."
    if not result.recipients:
        return f"Keine E-Mail: {result.institution_code} hat keine erreichbare Kontaktperson."
    return f"{kind} {'ginge' if dry_run else 'geht'} an {', '.join(result.recipients)}."
