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
