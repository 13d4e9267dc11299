"""The CLI's output layer: the only place that writes to the terminal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from core.problem import Problem


def console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    # Wide enough for tables when output goes to a file or a CI log instead of a terminal.
    return Console(file=stream, width=None if stream.isatty() else 140, highlight=False)


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def say(message: str) -> None:
    console().print(message)


def fail(message: str) -> None:
    console(stderr=True).print(f"[bold red]Fehler:[/] {message}", soft_wrap=True)


def print_problems(problems: list[Problem], *, title: str) -> None:
    out = console(stderr=True)
    out.print(f"[bold red]{title}[/] ({len(problems)} Problem{'e' if len(problems) != 1 else ''})")
    for problem in problems:
        where = f"[dim]{problem.cell}[/] " if problem.cell else ""
        out.print(f"  • {where}{problem.message}", soft_wrap=True)


def read_input(path: Path) -> bytes:
    """The bytes of a file staff named, or one clear line and exit code 2."""
    try:
        return path.read_bytes()
    except OSError as exc:
        fail(f"Die Datei {path} kann nicht gelesen werden: {exc.strerror}")
        raise SystemExit(2) from None
