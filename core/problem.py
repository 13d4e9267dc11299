"""A problem found in user input: data, not an exception (STYLE: errors)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
