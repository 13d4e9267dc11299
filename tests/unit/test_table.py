from __future__ import annotations

import pytest

from core.table import TableError, read_table
from tests.support.factories import VALID_ROWS, institutions_csv, institutions_xlsx


@pytest.mark.parametrize("delimiter", [";", ","])
def test_csv_with_either_delimiter(delimiter: str) -> None:
    table = read_table(institutions_csv(VALID_ROWS, delimiter=delimiter))
    assert table.header[0] == "Kürzel"
    assert table.rows[0] == (2, VALID_ROWS[0])


def test_csv_saved_by_german_excel_in_windows_1252() -> None:
    table = read_table(institutions_csv(VALID_ROWS, encoding="cp1252"))
    assert table.header[0] == "Kürzel"
    assert table.rows[3][1][1] == "Kreis Düren"


def test_xlsx_keeps_row_numbers_and_ignores_trailing_empty_rows() -> None:
    rows = [VALID_ROWS[0], [None] * 8, VALID_ROWS[3]]
    table = read_table(institutions_xlsx(rows, trailing_empty_rows=2000))
    assert [number for number, _ in table.rows] == [2, 4]


def test_xlsx_numbers_and_dates_read_as_people_see_them() -> None:
    import datetime as dt

    table = read_table(institutions_xlsx([[12.0, dt.datetime(2026, 3, 15), 7]], header=["a", "b", "c"]))
    assert table.rows[0][1] == ["12", "2026-03-15", "7"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "leer"),
        (b"   \n", "leer"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "alte Excel-Format"),
        (b"PK\x03\x04broken zip", "beschädigt"),
        (b"\x00\x01\x02\xff\xfe" * 10, "weder"),
    ],
)
def test_unreadable_files_get_a_german_reason(data: bytes, message: str) -> None:
    with pytest.raises(TableError, match=message):
        read_table(data)
