"""The CLI's output layer: the only place that writes to the terminal."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape

from core.text import counted, os_reason  # light; re-exported for the commands

if TYPE_CHECKING:
    from core.problem import Problem
    from usecases.outbox import DeliveryReport


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # Wide enough for tables when output goes to a file or a CI log instead of a terminal.
    return Console(file=stream, width=None if stream.isatty() else 140, highlight=False)


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def say(message: str) -> None:
    """One message for staff; never wrapped by us (the terminal wraps; logs and pipes keep whole lines)."""
    console().print(message, soft_wrap=True)


def fail(message: str) -> None:
    console(stderr=True).print(f"[bold red]Fehler:[/] {message}", soft_wrap=True)


def print_problems(problems: list[Problem], *, title: str) -> None:
    out = console(stderr=True)
    out.print(f"[bold red]{title}[/] ({len(problems)} Problem{'e' if len(problems) != 1 else ''})", soft_wrap=True)
    for problem in problems:
        where = f"[dim]{problem.cell}[/] " if problem.cell else ""
        out.print(f"  • {where}{problem.message}", soft_wrap=True)


YES_ANSWERS = {"j", "ja", "y", "yes"}


def confirm(question: str) -> bool:
    """A yes/no question at the terminal, „[j/N]“: j, ja, y and yes mean yes; anything else, or no answer, no."""
    try:
        answer = console().input(escape(f"{question} [j/N] "))
    except EOFError:
        return False
    return answer.strip().lower() in YES_ANSWERS


def read_input(path: Path) -> bytes:
    """The bytes of a file staff named, or one clear line and exit code 2."""
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"Die Datei {path} kann nicht gelesen werden ({os_reason(exc)}).")
        raise SystemExit(2) from None


@contextmanager
def progress_bar(description: str) -> Iterator[Callable[[int, int], None]]:
    """A transient progress bar; the callback reports (done, total) to it."""
    from rich.progress import Progress
    with Progress(console=console(), transient=True) as progress:
        task = progress.add_task(description, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def report_delivery(report: DeliveryReport, smtp_host: str | None, sink: Path) -> None:
    """What a run of the outbox did: sent where, which addresses refused, what waits for a retry."""
    if not report.attempted:
        say("Keine E-Mails zu versenden.")
        return
    where = smtp_host or f"lokale Ablage {sink} (.eml-Dateien; FKO_SMTP_HOST ist nicht gesetzt)"
    say(f"{counted(report.sent, 'E-Mail', 'E-Mails')} versandt über {where}.")
    for address in report.refused_addresses:
        fail(f"Adresse abgelehnt, keine weiteren E-Mails dorthin: {address}")
    if report.refused:
        fail(f"{counted(report.refused, 'E-Mail konnte', 'E-Mails konnten')} an keine Adresse zugestellt werden.")
    if report.failed:
        fail(f"{counted(report.failed, 'E-Mail', 'E-Mails')} vorerst nicht versandt ({report.errors[0]}); "
             "`fko mail send` versucht es erneut.")
