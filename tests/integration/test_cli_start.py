"""`fko --help` answers at once (issue 18): a command imports what it uses, so the help of all commands
loads none of the page, the workbook library, the documents, Prefect or the database layer."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("fastapi", "openpyxl", "docxtpl", "prefect", "alembic", "sqlalchemy", "sqlmodel", "uvicorn", "playwright",
         "holidays", "imapclient", "python_calamine",
         "markdown_it", "pygments", "rich.pretty")  # what typer's help formatter imports for Markdown and tracebacks
PROBE = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)), file=sys.stderr))
sys.argv = ["fko", *{args!r}]
from cli import main
main()
"""


@pytest.mark.parametrize("args", [["--help"], ["cycle", "--help"], ["mail", "--help"], ["concept", "texts", "--help"]])
def test_help_loads_nothing_heavy(args: list[str], fko_env: dict[str, str]) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE.format(heavy=HEAVY, args=args)], capture_output=True,
                          text=True, env=fko_env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Befehle" in done.stdout or "Optionen" in done.stdout  # the German help was printed
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []


def test_the_deferred_rich_modules_still_work_when_used(fko_env: dict[str, str]) -> None:
    # cli.rich_deferred keeps rich.markdown and rich.traceback out of the start; whoever uses them gets the real ones.
    probe = """
import sys
import cli, rich, rich.markdown
from rich.console import Console
from rich.traceback import Traceback
console = Console(file=sys.stdout, width=60)
console.print(rich.markdown.Markdown("# Titel\\n\\n*kursiv*"))
try:
    1 / 0
except ZeroDivisionError as exc:
    console.print(Traceback.from_exception(type(exc), exc, exc.__traceback__))
print(type(sys.modules["rich.markdown"].Markdown).__name__, sys.modules["rich.traceback"].__file__ is not None)
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=fko_env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Titel" in done.stdout and "ZeroDivisionError" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "type True"  # the real class and module are in place
