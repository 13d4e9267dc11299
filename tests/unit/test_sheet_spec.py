"""The sheet spec is data: a region adds a column by editing survey_templates, not code."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.sheet_check import Expected
from core.sheet_spec import SpecError, YearRange, parse_spec
from core.workbook_build import build_workbook
from core.workbook_read import read_workbook
from storage.template_folder import load_catalogs, load_spec
from tests.support.factories import SHEET_SECRET, demo_activities, edit_sheet, sheet_info
from usecases.settings import BUNDLED_TEMPLATES

BUDGET_COLUMN = """
[[column]]
key = "budget"
header = "Budget (EUR)"
max_length = 20
width = 14
help = "Jährliches Budget in Euro, wenn bekannt."
"""


def test_bundled_spec_matches_design_section_5() -> None:
    spec = load_spec(BUNDLED_TEMPLATES)
    assert [c.header for c in spec.columns] == [
        "ID", "Titel", "Beschreibung", "Handlungsfeld", "Status", "Beginn", "Ende", "Zielgruppen", "Gebiet",
        "Partner", "Finanzierung", "Ansprechperson", "E-Mail", "Link", "Bemerkungen"]
    assert [c.header for c in spec.columns if c.required] == ["Titel", "Handlungsfeld", "Status"]
    assert (spec.column("title").max_length, spec.column("description").max_length) == (200, 2000)
    assert spec.min_year == 2000  # the later bounds are the region's, per round (test_sheet_years_*)


def test_adding_a_column_in_the_template_reaches_sheet_and_reader(tmp_path: Path) -> None:
    templates = tmp_path / "templates"
    shutil.copytree(BUNDLED_TEMPLATES, templates)
    with (templates / "sheet" / "spec.toml").open("a", encoding="utf-8") as spec_file:
        spec_file.write(BUDGET_COLUMN)
    spec, catalogs = load_spec(templates), load_catalogs(templates)
    data = build_workbook(spec=spec, catalogs=catalogs, info=sheet_info(), activities=demo_activities(),
                          secret=SHEET_SECRET)
    data = edit_sheet(data, {"P2": "12.500"})
    assert any("Budget (EUR): Jährliches Budget" in line for line in _hints(data))
    result = read_workbook(data, spec=spec, catalogs=catalogs, expected=Expected("aachen", 2026, SHEET_SECRET, "IHK"),
                           base=demo_activities())
    assert result.ok
    assert result.activities[0].extra == {"budget": "12.500"}
    assert result.activities[1].extra == {}


def _hints(data: bytes) -> list[str]:
    import io

    from openpyxl import load_workbook

    return [str(c.value) for c in load_workbook(io.BytesIO(data))["Hinweise"]["A"] if c.value]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (('kind = "choice"\ncatalog = "fields_of_action"', 'kind = "choice"\ncatalog = "farben"'), "needs a catalog"),
        (('header = "Beschreibung"', 'header = "Titel"'), "share a header"),
        (('key = "key"\nheader = "ID"\nkind = "id"', 'key = "key"\nheader = "ID"'), "exactly one column of kind 'id'"),
    ],
)
def test_broken_spec_is_refused_with_a_reason(change: tuple[str, str], message: str) -> None:
    text = (BUNDLED_TEMPLATES / "sheet" / "spec.toml").read_text(encoding="utf-8")
    assert change[0] in text
    with pytest.raises(SpecError, match=message):
        parse_spec(text.replace(change[0], change[1], 1), "")


def test_sheet_years_default_moves_on_with_the_round() -> None:
    spec = load_spec(BUNDLED_TEMPLATES)
    assert spec.round_years(2026) == YearRange(first=2000, horizon=2029, last=2034)
    assert spec.round_years(2027) == YearRange(first=2000, horizon=2030, last=2035)


def test_sheet_years_follow_the_region_settings() -> None:
    spec = load_spec(BUNDLED_TEMPLATES)
    assert spec.round_years(2027, horizon=2027) == YearRange(2000, 2027, 2032)
    assert spec.round_years(2027, horizon=2027, last=2040) == YearRange(2000, 2027, 2040)
    # Only the latest year set, below the default horizon: the horizon is not later than it.
    assert spec.round_years(2027, last=2028) == YearRange(2000, 2028, 2028)


def test_an_older_spec_with_max_year_is_refused_with_where_the_setting_went() -> None:
    text = (BUNDLED_TEMPLATES / "sheet" / "spec.toml").read_text(encoding="utf-8")
    with pytest.raises(SpecError, match=r"max_year is a region setting now.*region\.toml"):
        parse_spec(text.replace("min_year = 2000", "min_year = 2000\nmax_year = 2027", 1), "")
