from __future__ import annotations

import pytest

from core.problem import Problem, cell_address, column_letter


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (16383, "XFD")])
def test_column_letter_matches_spreadsheet_names(index: int, letters: str) -> None:
    assert column_letter(index) == letters


def test_cell_address_is_what_excel_shows() -> None:
    assert cell_address(2, 7) == "C7"


def test_problem_as_dict_has_the_json_shape_of_design_9() -> None:
    assert Problem("C7", "Handlungsfeld", "x").as_dict() == {"cell": "C7", "column": "Handlungsfeld", "message": "x"}
