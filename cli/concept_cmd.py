"""`fko diff`, `fko render`, `fko publish`: the new version of the concept and what changed."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cli.options import output_folder
from cli.output import confirm, console, fail, print_json, say

if TYPE_CHECKING:
    from usecases.context import AppContext
    from usecases.versions import DraftResult


def counts_text(counts: dict[str, int]) -> str:
    """``neu 1, geändert 2, …, fehlend (beibehalten) 0`` for staff."""
    from core.diff import CHANGE_LABELS
    return ", ".join(f"{CHANGE_LABELS[k]}{' (beibehalten)' if k == 'missing' else ''} {n}" for k, n in counts.items())


def diff(
    from_: Annotated[str | None, typer.Option("--from", help="Ausgangsversion (Standard: veröffentlicht).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Zielversion (Standard: der neueste Entwurf).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Als JSON ausgeben.")] = False,
) -> None:
    """Was sich zwischen zwei Versionen des Handlungskonzepts geändert hat, Feld für Feld."""
    from usecases.context import app_context
    from usecases.errors import NotFound
    from usecases.versions import NoDraft, current_drafts, diff_versions, version_pair
    with app_context() as ctx:
        current_drafts(ctx, now=dt.datetime.now(dt.UTC))
        labels = ctx.spec().field_labels()
        try:
            old, new = version_pair(ctx, from_label=from_, to_label=to, draft_only=to is None)
            result = diff_versions(ctx, from_label=old, to_label=new)
        except NoDraft:
            fail("Es gibt noch nichts zu vergleichen: keine offene Abfrage und kein Entwurf. Eine Abfrage eröffnet "
                 "`fko cycle open`; das vorhandene Konzept liest `fko concept import` ein.")
            raise typer.Exit(2) from None
        except NotFound as exc:
            fail(f"{exc}")
            raise typer.Exit(2) from None
    changes = result.diff
    if as_json:
        print_json({"from": result.from_label, "to": result.to_label, "counts": changes.counts(),
                    "new": [a.key for a in changes.new], "ended": [a.key for a in changes.ended],
                    "missing": [a.key for a in changes.missing], "not_confirmed": result.not_confirmed,
                    "changed": [{"key": c.new.key, "fields": [{"field": f.field, "label": labels.get(f.field, f.field),
                                                                           "old": f.old, "new": f.new}
                                                              for f in c.fields]} for c in changes.changed]})
        return
    versions = (f"Version {result.from_label} → {result.to_label}" if result.from_label
                else f"Version {result.to_label} (erste Fassung, kein veröffentlichtes Konzept davor)")
    say(f"{versions}: {counts_text(changes.counts())}")
    out = console()
    for activity in changes.new:
        out.print(f"  [green]neu[/]       {activity.key} {activity.title}", soft_wrap=True)
    for change in changes.changed:
        out.print(f"  [yellow]geändert[/]  {change.new.key} {change.new.title}: "
                  + "; ".join(f"{labels.get(f.field, f.field)}: „{f.old}“ → „{f.new}“" for f in change.fields),
                  soft_wrap=True)
    for activity in changes.ended:
        out.print(f"  [red]beendet[/]   {activity.key} {activity.title} ({activity.status})", soft_wrap=True)
    for activity in changes.missing:
        out.print(f"  [magenta]fehlend[/]   {activity.key} {activity.title} (beibehalten, zu klären)", soft_wrap=True)
    if result.not_confirmed:
        out.print(f"Ohne Rückmeldung (unverändert übernommen): {', '.join(result.not_confirmed)}", soft_wrap=True)


def rebuild_year(ctx: AppContext, year: int) -> DraftResult:
    """The year's draft rebuilt in full; one German line when there is no such round or it is published."""
    from usecases.errors import Conflict
    from usecases.versions import rebuild_draft
    try:
        return rebuild_draft(ctx, year=year, now=dt.datetime.now(dt.UTC))
    except LookupError:
        fail(f"Es gibt keine Abfrage {year}; --year nennt das Jahr einer eröffneten Abfrage.")
        raise typer.Exit(2) from None
    except Conflict:
        fail(f"Version {year} ist bereits veröffentlicht; ihr Stand bleibt, wie er freigegeben wurde.")
        raise typer.Exit(2) from None


def render(
    out: Annotated[Path, typer.Option("--out", "-o", help="Zielordner für die Dokumente.")],
    version: Annotated[str | None, typer.Option("--version", help="Version (Standard: der neueste Stand).")] = None,
    year: Annotated[int | None, typer.Option("--year", help="Den Entwurf dieser Abfrage vollständig neu aufbauen "
                                             "(sonst nur, wenn seit dem letzten Mal Rückmeldungen kamen).")] = None,
    pdf: Annotated[bool, typer.Option("--pdf/--no-pdf", help="Auch PDF erzeugen (Chromium/LibreOffice).")] = True,
) -> None:
    """Das Handlungskonzept als HTML, Word, Markdown, Excel-Übersicht und Änderungsbericht (und PDF)."""
    from core.text import counted
    from usecases.context import app_context
    from usecases.documents import render_version
    from usecases.errors import NotFound
    from usecases.versions import current_drafts
    output_folder(out)
    with app_context() as ctx:
        current_drafts(ctx, now=dt.datetime.now(dt.UTC))
        if year is not None:
            draft = rebuild_year(ctx, year)
            say(f"Entwurf {draft.label} neu aufgebaut: {counted(draft.activities, 'Aktivität', 'Aktivitäten')}, "
                f"Rückmeldungen von {counted(len(draft.answered), 'Institution', 'Institutionen')}, ohne "
                f"Rückmeldung: {len(draft.not_answered)}.")
        try:
            result = render_version(ctx, out_dir=out, label=version, pdf=pdf)
        except (LookupError, NotFound) as exc:
            fail(str(exc) if str(exc).endswith(".") else f"{exc}.")
            raise typer.Exit(2) from None
    say(f"Version {result.label}: {len(result.files)} Dateien in {out}")
    for path in result.files:
        say(f"  {path}")
    for reason in result.skipped:
        fail(f"übersprungen: {reason}")


def publish(
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Ohne Rückfrage veröffentlichen.")] = False,
    year: Annotated[int | None, typer.Option("--year", help="Den Entwurf dieser Abfrage vollständig neu aufbauen "
                                             "(sonst nur, wenn seit dem letzten Mal Rückmeldungen kamen).")] = None,
    approved_by: Annotated[str | None, typer.Option("--approved-by", help="Wer freigibt (Standard: "
                                                    "Benutzername).")] = None,
    early: Annotated[bool, typer.Option("--early", help="Vor dem Ende der Abfrage veröffentlichen, obwohl noch "
                                        "Institutionen antworten können.")] = False,
) -> None:
    """Den Entwurf freigeben und veröffentlichen: danach unveränderlich und Grundlage der nächsten Abfrage."""
    import getpass

    from core.dates import BERLIN, german_date
    from usecases.context import app_context
    from usecases.documents import render_published
    from usecases.errors import NotFound
    from usecases.versions import (
        DraftStale,
        NoDraft,
        NoRound,
        current_drafts,
        diff_versions,
        publish_draft,
        publish_gate,
        version_pair,
    )
    with app_context() as ctx:
        current_drafts(ctx, now=dt.datetime.now(dt.UTC))
        if year is not None:
            rebuild_year(ctx, year)
        try:
            old, new = version_pair(ctx, from_label=None, to_label=None, draft_only=True)
            result = diff_versions(ctx, from_label=old, to_label=new)
        except (NoDraft, NotFound):
            fail("Es gibt keinen Entwurf zum Veröffentlichen: der Entwurf entsteht mit einer Abfrage "
                 "(`fko cycle open`) und wird mit jeder Rückmeldung fortgeschrieben.")
            raise typer.Exit(2) from None
        gate = publish_gate(ctx, label=new)
        today = dt.datetime.now(BERLIN).date()
        if gate.open_until is not None and gate.waiting(today) and not early:
            fail(f"Die Abfrage {gate.year} nimmt noch bis {german_date(gate.open_until)} Rückmeldungen an (Frist und "
                 f"Nachfrist); ohne Rückmeldung sind noch {len(gate.not_answered)}: {', '.join(gate.not_answered)}. "
                 "Nach der Veröffentlichung wird nichts mehr übernommen. Jetzt trotzdem: fko publish --early. "
                 "Nichts wurde veröffentlicht.")
            raise typer.Exit(2)
        if gate.open_until is not None and gate.waiting(today) and early:
            say(f"Vorzeitig (--early): Die Abfrage {gate.year} lief noch bis {german_date(gate.open_until)}; danach "
                f"wird nichts mehr übernommen, auch keine neue Fassung, die Eingangsbestätigungen bis zur Frist "
                f"zugesagt haben. Ohne Rückmeldung: {', '.join(gate.not_answered)}.")
        counts = result.diff.counts()
        say(f"Veröffentlicht wird Version {new} ({f'gegenüber {old}' if old else 'erste Fassung'}: "
            f"{counts_text(counts)}).")
        if result.not_confirmed:
            say(f"Ohne Rückmeldung, unverändert übernommen: {', '.join(result.not_confirmed)}.")
        if not yes:
            if not sys.stdin.isatty():
                fail("Bestätigung nötig: mit --yes veröffentlichen, oder im Terminal aufrufen.")
                raise typer.Exit(2)
            if not confirm(f"Version {new} jetzt veröffentlichen?"):
                fail("Abgebrochen: nichts veröffentlicht.")
                raise typer.Exit(1)
        try:
            version = publish_draft(ctx, approved_by=approved_by or getpass.getuser(), now=dt.datetime.now(dt.UTC),
                                    label=new)
        except NoDraft:
            fail(f"Version {new} ist kein Entwurf (schon veröffentlicht?).")
            raise typer.Exit(2) from None
        except NoRound:
            fail(f"Der Entwurf {new} gehört zu keiner Abfrage (bisher nur Texte); veröffentlicht wird der Entwurf "
                 f"einer Abfrage, wenn sie vorbei ist. Eröffnen: fko cycle open --year {new}. Nichts veröffentlicht.")
            raise typer.Exit(2) from None
        except DraftStale:
            current_drafts(ctx, now=dt.datetime.now(dt.UTC))
            fail(f"Während der Rückfrage kam eine Rückmeldung; der Entwurf {new} ist jetzt aktualisiert. Bitte mit "
                 "`fko diff` prüfen und erneut veröffentlichen. Nichts veröffentlicht.")
            raise typer.Exit(1) from None
        say(f"Version {version.label} veröffentlicht (freigegeben von {version.approved_by}).")
        try:
            documents = render_published(ctx, label=version.label)
        except Exception as exc:  # published is published: say so, and how to get the documents afterwards
            fail(f"Die Dokumente der veröffentlichten Version konnten nicht erstellt werden ({type(exc).__name__}: "
                 f"{exc}). Erneut: fko render --version {version.label} --out ORDNER")
            raise typer.Exit(1) from None
    say(f"Dokumente der veröffentlichten Version: {len(documents.files)} Dateien in "
        f"{documents.files[0].parent if documents.files else '-'}")
    for reason in documents.skipped:
        fail(f"übersprungen: {reason}")
