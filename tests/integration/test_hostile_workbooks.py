"""Hostile and broken uploads: each gets a clear German problem, within capped memory and time.

The files go through the same isolated child process as real uploads (fko.usecases.sandbox).
"""

from __future__ import annotations

import os
import resource

import pytest

from fko.core.filetype import FileRefused, Limits
from fko.core.grid import GridError
from fko.core.problem import Problem
from fko.core.sheet_check import Expected, SheetResult, check_sheet
from fko.settings import BUNDLED_TEMPLATES
from fko.usecases.sandbox import SandboxLimits, read_grid_isolated
from tests.factories import SHEET_SECRET, build_sheet_bytes, demo_activities, edit_sheet, templates
from tests.support import hostile

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


def test_file_over_the_size_cap(built: bytes) -> None:
    data = built + b"\0" * (11 * 1024 * 1024)
    assert only_message(check_untrusted(data)) == (
        "Die Datei ist mit 11 MB zu groß; erlaubt sind höchstens 10 MB. Bitte Bilder und leere Blätter entfernen.")


def test_zip_bomb_is_refused_before_inflating(built: bytes) -> None:
    bomb = hostile.zip_bomb(built, inflated_mb=150)
    assert len(bomb) < 1_000_000
    assert "entpackt ungewöhnlich groß" in only_message(check_untrusted(bomb))


def test_entity_expansion_is_refused(built: bytes) -> None:
    message = only_message(check_untrusted(hostile.entity_bomb(built)))
    assert "konnte nicht" in message and "gelesen werden" in message


def test_password_protected_file_is_named_as_such(built: bytes) -> None:
    message = only_message(check_untrusted(hostile.encrypted(built)))
    assert message.startswith("Die Datei ist mit einem Passwort geschützt")


def test_macro_workbook_is_read_and_its_macros_never_run(built: bytes) -> None:
    result = check_untrusted(hostile.with_macro(built))
    assert result.ok and result.activities == demo_activities()


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_upload(built: bytes, cut: float) -> None:
    assert "beschädigt oder unvollständig" in only_message(check_untrusted(built[: int(len(built) * cut)]))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "Die Datei ist leer (0 Byte)."),
        (os.urandom(4096), "keine Excel- oder LibreOffice-Tabelle"),
        (b"ID;Titel\nIHK-0001;Neu\n", "Textdatei (z. B. CSV)"),
        (b"<html><body><table><tr><td>ID</td></tr></table></body></html>", "Webseite (HTML/XML)"),
    ],
)
def test_not_a_workbook(data: bytes, expected: str) -> None:
    assert expected in only_message(check_untrusted(data))


def test_million_row_dimension_with_content_at_the_bottom(built: bytes) -> None:
    data = hostile.inject_rows(built, hostile.cell_row("B1048576", 1048576, "ganz unten"))
    message = only_message(check_untrusted(data))
    assert "Das Blatt enthält Einträge bis Zeile 1.048.576; erlaubt sind höchstens 2.000 Aktivitäten." in message


def test_sixteen_thousand_columns(built: bytes) -> None:
    data = hostile.inject_rows(built, hostile.cell_row("XFD60", 60, "ganz rechts"))
    assert "enthält Einträge bis Spalte XFD" in only_message(check_untrusted(data))


def test_thirty_thousand_character_cell(built: bytes) -> None:
    data = edit_sheet(built, {"C2": "Sehr lang. " * 2728})
    assert "Zeile 2, Beschreibung: Der Text ist 30.007 Zeichen lang; erlaubt sind höchstens 2.000." in (
        only_message(check_untrusted(data)))


def test_far_corner_cell_cannot_exhaust_memory(built: bytes) -> None:
    data = hostile.inject_rows(built, hostile.cell_row("XFD1048576", 1048576, "Ecke"))
    message = only_message(check_untrusted(data))
    assert "Spalte XFD" in message or "nicht sicher gelesen" in message
    # The parse ran in a child capped at 768 MB; this test process never paid for it.
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024 < 1024 * 1024 * 1024


def test_docx_renamed_xlsx_is_named() -> None:
    from tests.support.hostile import replace_member

    fake_docx = replace_member(build_sheet_bytes(), "xl/workbook.xml", None, {"word/document.xml": b"<w/>"})
    assert "Word-Dokument" in only_message(check_untrusted(fake_docx))
