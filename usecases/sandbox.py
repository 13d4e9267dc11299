"""Parse untrusted workbooks in a child process with capped memory, CPU and wall time.

python-calamine may abort its process on crafted files, and any parser can be driven into huge
allocations; neither may take down the page or a flow. A crash, a limit hit or a timeout becomes
one German problem for the institution.

Each file is parsed in a process of its own: forked by a pre-started reader (usecases.reader_pool),
or, the way it was done before the pool (still callable, for comparison), a fresh interpreter.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from core.filetype import FileRefused, Limits, check_size
from core.grid import Grid, GridError, grid_from_json
from core.sheet_spec import SheetSpec
from core.workbook_read import sheet_names
from storage.template_folder import load_spec
from usecases.reader_pool import ReaderFailed, ReaderPool, close_shared_pool, shared_pool

log = logging.getLogger("reader")
Reader = Literal["pool", "one_process_per_file"]

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


_default_reader: Reader = "pool"


def use_reader(reader: Reader) -> None:
    """How this process parses uploads from now on: ``pool`` (the default) or ``one_process_per_file``
    (a fresh interpreter per file, as before the pool: the benchmark's baseline)."""
    global _default_reader
    _default_reader = reader


def start_readers() -> None:
    """Start this process's readers now, so that the first upload does not wait for one (the page's start)."""
    if _default_reader == "pool":
        shared_pool().prestart()


def stop_readers() -> None:
    """Stop this process's readers (the page's shutdown; at exit this happens anyway)."""
    close_shared_pool()


def read_grid_isolated(data: bytes, *, templates_dir: Path, limits: Limits,
                       sandbox: SandboxLimits | None = None, reader: Reader | ReaderPool | None = None) -> Grid:
    """``read_grid`` in a child process; raises FileRefused or GridError with a German message.
    ``reader``: this process's pool unless ``use_reader`` said otherwise; or a pool or a way of one's own."""
    answer = _parse_isolated(data, {"sheets": sheet_names(_spec(templates_dir))}, limits, sandbox, reader)
    return grid_from_json(answer["grid"])


def read_sheets_isolated(data: bytes, *, max_rows: int, limits: Limits,
                         sandbox: SandboxLimits | None = None,
                         reader: Reader | ReaderPool | None = None) -> list[Grid]:
    """Every visible sheet (``core.grid.extract_sheets``) in a child process; raises like ``read_grid_isolated``."""
    answer = _parse_isolated(data, {"all_sheets": {"max_rows": max_rows}}, limits, sandbox, reader)
    return [grid_from_json(g) for g in answer["grids"]]


def _parse_isolated(data: bytes, what: dict[str, object], limits: Limits,
                    sandbox: SandboxLimits | None, reader: Reader | ReaderPool | None) -> dict[str, Any]:
    """Parse ``data`` in a child process (usecases.grid_worker); its answer when it parsed the file."""
    sandbox = sandbox or SandboxLimits()
    check_size(data, limits)  # refused before any parsing, not even piped to the child
    params = {"memory_bytes": sandbox.memory_bytes, "cpu_seconds": sandbox.cpu_seconds,
              "wall_seconds": sandbox.wall_seconds, "limits": dataclasses.asdict(limits), **what}
    chosen = reader or _default_reader
    if chosen == "one_process_per_file":
        exit_code, output = _in_new_process(data, params, sandbox)
    else:
        exit_code, output = _in_pool(chosen if isinstance(chosen, ReaderPool) else shared_pool(), data, params,
                                     sandbox)
    if exit_code != 0:
        # Killed by a signal: the parser aborted (crafted file, failed allocation) or hit the CPU limit.
        raise GridError(CRASHED if exit_code < 0 else UNREADABLE)
    try:
        answer: dict[str, Any] = json.loads(output)
    except ValueError as exc:
        raise GridError(UNREADABLE) from exc
    if answer.get("memory"):
        raise GridError(TOO_BIG)
    if not answer["ok"]:
        raise FileRefused(answer["message"])
    return answer


def _in_pool(pool: ReaderPool, data: bytes, params: dict[str, object], sandbox: SandboxLimits) -> tuple[int, bytes]:
    """A child forked by a pre-started reader: its exit code and output."""
    try:
        result = pool.read(json.dumps(params).encode(), data, sandbox.wall_seconds)
    except ReaderFailed as exc:
        if exc.before_file:  # no reader to be had (e.g. the process is shutting down): the way it was done before
            log.warning("no reader process (%s); this file is read in a fresh one", exc)
            return _in_new_process(data, params, sandbox)
        log.error("the reader process failed while reading a file: %s", exc)
        return -1, b""
    if result.timed_out:
        raise GridError(TOO_BIG)
    return result.exit_code or 0, result.answer


def _in_new_process(data: bytes, params: dict[str, object], sandbox: SandboxLimits) -> tuple[int, bytes]:
    """A fresh interpreter for this one file: its exit code and output."""
    try:
        completed = subprocess.run(  # noqa: S603  (our own interpreter and module, no shell)
            [sys.executable, "-m", "usecases.grid_worker", json.dumps(params)],
            input=data, capture_output=True, timeout=sandbox.wall_seconds, check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GridError(TOO_BIG) from exc
    return completed.returncode, completed.stdout
