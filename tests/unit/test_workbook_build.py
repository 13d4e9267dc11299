"""The personal workbook as institutions open it in Excel or LibreOffice."""

from __future__ import annotations

import dataclasses
import io
import zipfile

from openpyxl import load_workbook

from core.sheet_meta import read_meta
from core.sheet_spec import YearRange
from core.workbook_build import build_workbook
from tests.support.factories import SHEET_SECRET, build_sheet_bytes, demo_activities, sheet_info, templates


def open_built(activities=None):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(build_sheet_bytes(activities)))


def test_sheets_and_their_visibility() -> None:
    workbook = open_built()
    assert workbook.sheetnames == ["Aktivitäten", "Hinweise", "_listen", "_meta"]
    assert workbook["_meta"].sheet_state == "veryHidden"
    assert workbook["_listen"].sheet_state == "hidden"
    assert workbook.active.title == "Aktivitäten"


def test_prefilled_with_the_institutions_activities() -> None:
    sheet = open_built()["Aktivitäten"]
    assert [c.value for c in sheet[1]][:5] == ["ID", "Titel *", "Beschreibung", "Handlungsfeld *", "Status *"]
    ids = [sheet.cell(row=r, column=1).value for r in range(2, 8)]
    assert ids == [f"IHK-000{n}" for n in range(1, 7)]
    assert sheet["B2"].value == demo_activities()[0].title
    assert sheet["F2"].value == int(demo_activities()[0].start)  # a year is a number, not text


def test_id_column_locked_rest_editable_and_protected() -> None:
    sheet = open_built()["Aktivitäten"]
    assert sheet.protection.sheet is True
    assert sheet["A2"].protection.locked is True
    assert sheet["B2"].protection.locked is False
    assert sheet["B40"].protection.locked is False  # the room for new rows is editable too
    assert sheet.protection.insertRows is False      # inserting rows stays allowed


def test_dropdowns_come_from_the_hidden_list_sheet() -> None:
    workbook = open_built()
    validations = workbook["Aktivitäten"].data_validations.dataValidation
    lists = {str(v.sqref): v.formula1 for v in validations if v.type == "list"}
    assert lists["D2:D47"] == "'_listen'!$A$2:$A$10"
    listed = [workbook["_listen"].cell(row=r, column=1).value for r in range(2, 11)]
    assert "Duale Ausbildung stärken" in listed
    # Beginn/Ende of the round 2026 without region settings: up to horizon (2029) + 5.
    assert any(v.type == "custom" and "DATE(2034,12,31)" in v.formula1 for v in validations)


def test_frozen_header_widths_and_wrapped_text() -> None:
    sheet = open_built()["Aktivitäten"]
    assert sheet.freeze_panes == "C2"
    assert sheet.column_dimensions["C"].width == 60
    assert sheet["C2"].alignment.wrap_text is True


def test_text_that_looks_like_a_formula_stays_text() -> None:
    hostile = dataclasses.replace(demo_activities()[0], title="=HYPERLINK(\"http://evil.example\",\"klick\")",
                                  description="+49 241 1234", remarks="@SUM(A1)", partners="-Stadt")
    data = build_sheet_bytes([hostile])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml
    sheet = load_workbook(io.BytesIO(data))["Aktivitäten"]
    assert sheet["B2"].data_type == "s" and sheet["B2"].value.startswith("=HYPERLINK")
    assert sheet["B2"].quotePrefix is True


def test_meta_is_signed_for_region_cycle_and_institution() -> None:
    meta_sheet = open_built()["_meta"]
    values = {r[0].value: r[1].value for r in meta_sheet.iter_rows()}
    meta = read_meta(values, SHEET_SECRET)
    assert (meta.region, meta.cycle_year, meta.institution, meta.base_version) == ("aachen", 2026, "IHK", "2025")


def test_hints_name_deadline_contact_and_allowed_values() -> None:
    hints = [c.value for c in open_built()["Hinweise"]["A"] if c.value]
    text = "\n".join(hints)
    assert "Bitte bis 15.10.2026 hochladen" in text
    assert "Regionalagentur Region Aachen · Telefon 0241 99999-0 · fachkraefte@example.org" in text
    assert "Zielgruppen: Schülerinnen und Schüler · Auszubildende" in text


def test_text_that_looks_like_an_xml_escape_comes_back_literally() -> None:
    from tests.support.factories import check_bytes

    activity = dataclasses.replace(demo_activities()[0], remarks="Code _x0000_ und _x000D_ bleiben Text")
    result = check_bytes(build_sheet_bytes([activity]), base=[activity])
    assert result.activities[0].remarks == "Code _x0000_ und _x000D_ bleiben Text"


def test_date_validation_and_hints_follow_the_rounds_years() -> None:
    spec, catalogs = templates()
    info = dataclasses.replace(sheet_info(year=2027), years=YearRange(first=2000, horizon=2027, last=2032))
    workbook = load_workbook(io.BytesIO(build_workbook(spec=spec, catalogs=catalogs, info=info,
                                                       activities=demo_activities(), secret=SHEET_SECRET)))
    dates = [v for v in workbook["Aktivitäten"].data_validations.dataValidation if v.type == "custom"]
    assert [v.errorTitle for v in dates] == ["Beginn", "Ende"]
    for validation in dates:  # 2028 is typed without a dialog; 2033 gets one
        assert "<=2032" in validation.formula1 and "DATE(2032,12,31)" in validation.formula1
        assert validation.error.endswith("zwischen 2000 und 2032 eintragen.")
    hints = " ".join(str(c.value) for c in workbook["Hinweise"]["A"] if c.value)
    assert "Das Handlungskonzept plant bis 2027; ein späteres Jahr (bis 2032) nehmen wir an" in hints
