from __future__ import annotations

import pytest

from core.problem import Problem, cell_address, column_letter, group_by_row, problem_row, row_prefix


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (701, "ZZ"), (16383, "XFD")])
def test_column_letter_matches_spreadsheet_names(index: int, letters: str) -> None:
    assert column_letter(index) == letters


def test_cell_address_is_what_excel_shows() -> None:
    assert cell_address(2, 7) == "C7"


def test_problem_as_dict_has_the_json_shape_of_design_9() -> None:
    assert Problem("C7", "Handlungsfeld", "x").as_dict() == {"cell": "C7", "column": "Handlungsfeld", "message": "x"}


def test_problem_row_is_the_row_of_a_single_cell() -> None:
    assert problem_row(Problem("D12", "Handlungsfeld", "x")) == 12
    assert problem_row(Problem(None, None, "Die Datei …")) is None
    assert problem_row(Problem("A3:A5", None, "verbunden")) is None  # a range belongs to no one row


def test_group_by_row_puts_the_files_problems_first_and_rows_in_sheet_order() -> None:
    problems = [Problem("D7", "Handlungsfeld", f"{row_prefix(7, 'Handlungsfeld')}kein zulässiger Wert."),
                Problem("B3", "Titel", f"{row_prefix(3, 'Titel')}Dieses Pflichtfeld ist leer."),
                Problem(None, None, "Das Blatt enthält Einträge bis Zeile 1.048.576."),
                Problem("G7", "Ende", f"{row_prefix(7, 'Ende')}„bald“ ist kein gültiges Datum.")]
    groups = group_by_row(problems, {3: "", 7: "Azubi-Speed-Dating"})
    assert [(g.row, g.title, len(g.problems)) for g in groups] == [(None, "", 1), (3, "", 1),
                                                                   (7, "Azubi-Speed-Dating", 2)]
    assert [text for _, text in groups[2].details] == ["kein zulässiger Wert.", "„bald“ ist kein gültiges Datum."]
    assert groups[0].details[0][1] == "Das Blatt enthält Einträge bis Zeile 1.048.576."
