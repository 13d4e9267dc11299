"""The sandbox that reads untrusted uploads: a good sheet passes, a hostile one cannot cost this process
memory. (Every hostile file and its German problem: tests/fixtures/hostile, test_hostile_corpus.py.)

The files go through the same isolated child process as real uploads (usecases.sandbox).
"""

from __future__ import annotations

import resource

import pytest

from core.filetype import FileRefused, Limits
from core.grid import GridError
from core.problem import Problem
from core.sheet_check import Expected, SheetResult, check_sheet
from tests.support import hostile
from tests.support.factories import SHEET_SECRET, build_sheet_bytes, demo_activities, templates
from usecases.sandbox import SandboxLimits, read_grid_isolated
from usecases.settings import BUNDLED_TEMPLATES

SANDBOX = SandboxLimits(memory_bytes=768 * 1024 * 1024, cpu_seconds=20, wall_seconds=40)


def check_untrusted(data: bytes, limits: Limits | None = None) -> SheetResult:
    spec, catalogs = templates()
    try:
        grid = read_grid_isolated(data, templates_dir=BUNDLED_TEMPLATES, limits=limits or Limits(), sandbox=SANDBOX)
    except (FileRefused, GridError) as exc:
        return SheetResult(problems=[Problem(None, None, str(exc))])
    return check_sheet(grid, spec=spec, catalogs=catalogs, expected=Expected("aachen", 2026, SHEET_SECRET, "IHK"),
                       base=demo_activities())


def only_message(result: SheetResult) -> str:
    assert not result.ok
    return " | ".join(p.message for p in result.problems)


@pytest.fixture(scope="module")
def built() -> bytes:
    return build_sheet_bytes()


def test_good_sheet_passes_the_sandbox(built: bytes) -> None:
    result = check_untrusted(built)
    assert result.ok and result.activities == demo_activities()


def test_far_corner_cell_cannot_exhaust_memory(built: bytes) -> None:
    data = hostile.inject_rows(built, hostile.cell_row("XFD1048576", 1048576, "Ecke"))
    message = only_message(check_untrusted(data))
    assert "Spalte XFD" in message or "nicht sicher gelesen" in message
    # The parse ran in a child capped at 768 MB; this test process never paid for it.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 < 1024 * 1024 * 1024
