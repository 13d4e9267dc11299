"""What Excel and LibreOffice rely on in the built sheet's XML: protection flags, unlocked editable ranges,
number formats that show a typed date as a date and a year as a year, and validations on every free row.

LibreOffice's behaviour with this sheet is measured in tests/integration/test_sheet_editing.py; Excel's is
given by the file format's rules (ECMA-376 §18.3.1.85 sheetProtection: an attribute set to 1 forbids the
action; §18.8.30 numFmt), asserted here on the XML itself.
"""

from __future__ import annotations

import dataclasses
import io
import re
import zipfile

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from core.workbook_build import PERIOD_FORMAT
from tests.support.factories import build_sheet_bytes, check_bytes, demo_activities, templates

ROWS = 6  # IHK's demo activities


def built() -> bytes:
    activities = demo_activities()
    activities[0] = dataclasses.replace(activities[0], start="2016-03-15", end="2027-06")
    return build_sheet_bytes(activities)


def sheet_xml(data: bytes) -> str:
    return zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()


def test_workbook_format_protection_flags_as_excel_reads_them() -> None:
    tag = re.search(r"<sheetProtection [^>]*>", sheet_xml(built()))
    assert tag is not None
    flags = dict(re.findall(r'(\w+)="(\w+)"', tag.group(0)))
    assert flags["sheet"] == "1"
    # 1 = forbidden while protected. Sorting is forbidden: sorting the unlocked columns alone would part the
    # rows from their IDs. Filtering, formatting, links and inserting rows stay allowed.
    assert flags["sort"] == "1"
    for allowed in ("autoFilter", "formatCells", "formatColumns", "formatRows", "insertRows", "insertHyperlinks",
                    "selectLockedCells", "selectUnlockedCells"):
        assert flags.get(allowed, "0") == "0", allowed
    assert "password" not in flags and "hashValue" not in flags  # nobody needs a password to read it


def test_workbook_format_editable_ranges_unlocked_with_formats() -> None:
    spec, _ = templates()
    sheet = load_workbook(io.BytesIO(built()))["Aktivitäten"]
    last_row = 1 + ROWS + spec.new_rows
    for index, column in enumerate(spec.columns, start=1):
        for row in range(2, last_row + 1):
            cell = sheet.cell(row=row, column=index)
            if column.kind == "id":
                assert cell.protection.locked, cell.coordinate
                continue
            assert not cell.protection.locked, cell.coordinate
            expected = PERIOD_FORMAT if column.kind == "date" else "@"
            assert cell.number_format == expected, (cell.coordinate, cell.number_format)
    assert sheet.cell(row=last_row + 1, column=2).protection.locked  # below the prepared rows: the default


def test_workbook_format_period_cells_keep_their_values() -> None:
    data = built()
    sheet = load_workbook(io.BytesIO(data))["Aktivitäten"]
    assert sheet["F2"].value == 42444                           # 15.03.2016 as a serial number (shown as a date)
    assert sheet["G2"].value == "06.2027"                       # a month stays text
    assert sheet["F3"].value == int(demo_activities()[1].start)  # a year is a number below 10000
    activities = demo_activities()
    activities[0] = dataclasses.replace(activities[0], start="2016-03-15", end="2027-06")
    result = check_bytes(data, base=activities)
    assert result.ok and result.activities == activities  # read back unchanged


def test_workbook_format_code_in_the_file() -> None:
    styles = zipfile.ZipFile(io.BytesIO(built())).read("xl/styles.xml").decode()
    # "\." is a literal dot in every locale; a bare "." could be taken for the decimal separator.
    assert 'formatCode="[&lt;10000]0;DD\\.MM\\.YYYY"' in styles
    assert 'formatCode="0"' not in styles  # the old year format that showed typed dates as 46461


def test_workbook_format_validations_cover_every_prepared_row() -> None:
    spec, _ = templates()
    sheet = load_workbook(io.BytesIO(built()))["Aktivitäten"]
    last_row = 1 + ROWS + spec.new_rows
    areas = {str(v.sqref): v for v in sheet.data_validations.dataValidation}
    for index, column in enumerate(spec.columns, start=1):
        letter = get_column_letter(index)
        validation = areas.get(f"{letter}2:{letter}{last_row}")
        if column.kind == "choice":
            assert validation is not None and validation.type == "list", column.header
        elif column.kind == "date":
            assert validation is not None and validation.type == "custom"
            assert validation.errorStyle == "warning"  # a month typed as text is allowed after the warning
            assert "MM.JJJJ" in (validation.error or "") and "ISTEXT" in (validation.formula1 or "")


def test_workbook_format_hints_say_what_works_under_protection() -> None:
    spec, _ = templates()
    hints = " ".join(str(c.value) for c in load_workbook(io.BytesIO(built()))["Hinweise"]["A"] if c.value)
    assert f"freien Zeilen ein ({spec.new_rows} sind vorbereitet" in hints
    assert "Status „abgeschlossen“ wählen" in hints and "Status „entfällt“ wählen" in hints
    assert "Bitte nicht sortieren" in hints
    assert "Zeilen einfügen" not in hints  # LibreOffice refuses it in the protected sheet


def test_workbook_format_long_hint_lines_get_room() -> None:
    hints = load_workbook(io.BytesIO(built()))["Hinweise"]
    long_rows = [c.row for c in hints["A"] if c.value and len(str(c.value)) > 95 and not c.font.bold]
    assert long_rows  # "So geht es" has several
    for row in long_rows:  # LibreOffice does not grow them on opening: without a height the lines overlap
        assert (hints.row_dimensions[row].height or 0) >= 30, row
