"""A problem found in user input: data, not an exception (STYLE: errors)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

_CELL = re.compile(r"[A-Z]{1,3}([1-9][0-9]*)")  # one cell's address; its row


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file, addressed so a non-technical person can find it.

    ``cell`` is a spreadsheet address such as ``C7`` (or ``None`` for a whole-file problem),
    ``column`` the header text of the column concerned, ``message`` a German sentence.
    """

    cell: str | None
    column: str | None
    message: str

    def as_dict(self) -> dict[str, str | None]:
        return asdict(self)


def column_letter(index: int) -> str:
    """Spreadsheet column letters for a 0-based column index (0 → A, 26 → AA)."""
    if index < 0:
        raise ValueError("column index must not be negative")
    letters = ""
    n = index + 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_address(column_index: int, row_number: int) -> str:
    """``cell_address(2, 7)`` → ``C7`` (0-based column, 1-based row as shown in Excel)."""
    return f"{column_letter(column_index)}{row_number}"


def row_prefix(row_number: int, column: str) -> str:
    """How a problem of one cell starts when it stands alone (CLI, staff list): ``Zeile 7, Handlungsfeld: ``."""
    return f"Zeile {row_number}, {column}: "


def problem_row(problem: Problem) -> int | None:
    """The sheet row of a problem addressed to one cell (``D7`` → 7); None for the file, a sheet or a range."""
    if problem.cell is None:
        return None
    match = _CELL.fullmatch(problem.cell)
    return int(match.group(1)) if match else None


@dataclass(frozen=True, slots=True)
class RowProblems:
    """The problems of one row of the sheet, under the title of the activity it holds, so that a person
    finds the row; ``row`` None: problems of the file or table as a whole. ``details`` pairs each problem
    with its message without the ``Zeile 7, Handlungsfeld:`` that the row's heading already says."""

    row: int | None
    title: str
    problems: tuple[Problem, ...]

    @property
    def details(self) -> list[tuple[Problem, str]]:
        return [(p, _without_prefix(p, self.row)) for p in self.problems]


def group_by_row(problems: Sequence[Problem], titles: Mapping[int, str]) -> list[RowProblems]:
    """Problems grouped by the data row they are in (``titles``: row number → title in that row, for every
    data row checked), rows in sheet order; problems outside the data rows come first, as one group."""
    general = [p for p in problems if problem_row(p) not in titles]
    rows: dict[int, list[Problem]] = {}
    for problem in problems:
        row = problem_row(problem)
        if row is not None and row in titles:
            rows.setdefault(row, []).append(problem)
    groups = [RowProblems(None, "", tuple(general))] if general else []
    return groups + [RowProblems(row, titles[row], tuple(found)) for row, found in sorted(rows.items())]


def _without_prefix(problem: Problem, row: int | None) -> str:
    if row is None or problem.column is None:
        return problem.message
    return problem.message.removeprefix(row_prefix(row, problem.column))

