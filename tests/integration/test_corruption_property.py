"""Property test: random byte corruption of a real sheet never ends in an exception or a dead process.

python-calamine can abort its process on crafted bytes (FACTS.md), so this goes through the same
isolated child process as real uploads.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.filetype import FileRefused, Limits
from core.grid import GridError
from core.sheet_check import Expected, check_sheet
from tests.support.factories import build_sheet_bytes, templates
from usecases.sandbox import read_grid_isolated
from usecases.settings import BUNDLED_TEMPLATES

SPEC, CATALOGS = templates()
BUILT = build_sheet_bytes()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(BUILT) - 1), st.integers(0, 255)), min_size=1, max_size=20))
def test_random_byte_corruption_never_raises(flips: list[tuple[int, int]]) -> None:
    data = bytearray(BUILT)
    for position, value in flips:
        data[position] = value
    try:
        grid = read_grid_isolated(bytes(data), templates_dir=BUNDLED_TEMPLATES, limits=Limits())
    except (FileRefused, GridError) as exc:
        assert str(exc).startswith("Die Datei")  # a German sentence for the institution
        return
    result = check_sheet(grid, spec=SPEC, catalogs=CATALOGS, expected=Expected("aachen", 2026, b"x", "IHK"), base=[])
    assert all(p.message for p in result.problems)
