"""Parse untrusted workbooks in a child process with capped memory, CPU and wall time.

python-calamine may abort its process on crafted files, and any parser can be driven into huge
allocations; neither may take down the page or a flow. A crash, a limit hit or a timeout becomes
one German problem for the institution.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.filetype import FileRefused, Limits, check_size
from core.grid import Grid, GridError, grid_from_json
from core.sheet_spec import SheetSpec
from core.workbook_read import sheet_names
from storage.template_folder import load_spec

TOO_BIG = ("Die Datei ist zu groß oder zu komplex, um sie sicher zu lesen. Bitte die heruntergeladene Vorlage "
           "verwenden, nur die Tabelle ausfüllen und keine Einträge weit unterhalb oder rechts davon machen.")
UNREADABLE = ("Die Datei konnte nicht gelesen werden; sie ist beschädigt oder in einem unbekannten Format. "
              "Bitte in Excel oder LibreOffice öffnen, als .xlsx speichern und erneut hochladen.")
CRASHED = ("Die Datei konnte nicht sicher gelesen werden: sie ist beschädigt, zu groß oder zu komplex. Bitte in "
           "Excel oder LibreOffice öffnen, als .xlsx speichern und erneut hochladen; dabei nur die Tabelle der "
           "Vorlage ausfüllen.")


@dataclass(frozen=True)
class SandboxLimits:
    memory_bytes: int = 1024 * 1024 * 1024
    cpu_seconds: int = 30
    wall_seconds: float = 60.0


@functools.lru_cache(maxsize=8)
def _spec(templates_dir: Path) -> SheetSpec:
    return load_spec(templates_dir)


def read_grid_isolated(data: bytes, *, templates_dir: Path, limits: Limits,
                       sandbox: SandboxLimits | None = None) -> Grid:
    """``read_grid`` in a child process; raises FileRefused or GridError with a German message."""
    answer = _parse_isolated(data, {"sheets": sheet_names(_spec(templates_dir))}, limits, sandbox)
    return grid_from_json(answer["grid"])


def read_sheets_isolated(data: bytes, *, max_rows: int, limits: Limits,
                         sandbox: SandboxLimits | None = None) -> list[Grid]:
    """Every visible sheet (``core.grid.extract_sheets``) in a child process; raises like ``read_grid_isolated``."""
    answer = _parse_isolated(data, {"all_sheets": {"max_rows": max_rows}}, limits, sandbox)
    return [grid_from_json(g) for g in answer["grids"]]


def _parse_isolated(data: bytes, what: dict[str, object], limits: Limits,
                    sandbox: SandboxLimits | None) -> dict[str, Any]:
    """Run usecases.grid_worker on ``data``; its answer when it parsed the file."""
    sandbox = sandbox or SandboxLimits()
    check_size(data, limits)  # refused before any parsing, not even piped to the child
    params = json.dumps({"memory_bytes": sandbox.memory_bytes, "cpu_seconds": sandbox.cpu_seconds,
                         "limits": dataclasses.asdict(limits), **what})
    try:
        completed = subprocess.run(  # noqa: S603  (our own interpreter and module, no shell)
            [sys.executable, "-m", "usecases.grid_worker", params],
            input=data, capture_output=True, timeout=sandbox.wall_seconds, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GridError(TOO_BIG) from exc
    if completed.returncode != 0:
        # Killed by a signal: the parser aborted (crafted file, failed allocation) or hit the CPU limit.
        raise GridError(CRASHED if completed.returncode < 0 else UNREADABLE)
    try:
        answer: dict[str, Any] = json.loads(completed.stdout)
    except ValueError as exc:
        raise GridError(UNREADABLE) from exc
    if answer.get("memory"):
        raise GridError(TOO_BIG)
    if not answer["ok"]:
        raise FileRefused(answer["message"])
    return answer
