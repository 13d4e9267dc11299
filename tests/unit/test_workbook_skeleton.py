"""The round's sheet builder (core.workbook_skeleton) writes the very workbook openpyxl writes (build_workbook):
compared member by member, byte for byte (all but docProps/core.xml, which holds the moment of building), for
the demo's institutions, texts that start like formulas, a region's first round, and any activities."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl.utils.exceptions import IllegalCharacterError

from core.activity import Activity
from core.sheet_spec import Column
from core.workbook_build import FORMULA_STARTS, SheetInfo, build_workbook, date_cell_value, field_text
from core.workbook_skeleton import SheetBuilder
from tests.support.factories import SHEET_SECRET, demo_activities, sheet_info, templates

SPEC, CATALOGS = templates()
DEMO_CODES = ("IHK", "AA-ACDN", "HWK", "JC-AC", "RWTH", "VUV", "KAOA-HS", "NEU")  # NEU: no activities yet


def members(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return [(info.filename, archive.read(info)) for info in archive.infolist()]


def assert_same_workbook(built: bytes, reference: bytes) -> None:
    ours, theirs = members(built), members(reference)
    assert [name for name, _ in ours] == [name for name, _ in theirs]
    for (name, data), (_, expected) in zip(ours, theirs, strict=True):
        if name != "docProps/core.xml":
            assert data == expected, name


def openpyxl_build(info: SheetInfo, activities: list[Activity]) -> bytes:
    return build_workbook(spec=SPEC, catalogs=CATALOGS, info=info, activities=activities, secret=SHEET_SECRET)


def test_every_demo_institution_gets_the_workbook_openpyxl_builds() -> None:
    builder = SheetBuilder(SPEC, CATALOGS)
    for code in DEMO_CODES:
        info, activities = sheet_info(code), demo_activities(code)
        assert_same_workbook(builder.build(info=info, activities=activities, secret=SHEET_SECRET),
                             openpyxl_build(info, activities))
    assert builder.built_by_openpyxl == 1  # the first; every other sheet was written into its skeleton


def activity(code: str, number: int, **fields: str) -> Activity:
    values = {"title": f"Aktivität {number}", "field_of_action": CATALOGS.fields_of_action[0],
              "status": CATALOGS.statuses[0], **fields}
    return Activity(key=f"{code}-{number:04d}", institution_code=code, **values)


def test_texts_that_start_like_formulas_and_a_first_round() -> None:
    """A quote-prefixed style is numbered where it first occurs; a first round's _meta says "-" (no base)."""
    first_round = dataclasses.replace(sheet_info("IHK"), base_label="")
    builder = SheetBuilder(SPEC, CATALOGS)
    shapes = {  # two institutions of each shape: the second is written into the first one's skeleton
        "title in the first row": [
            [activity("IHK", 1, title="=SUMME(A1)", start="2024"), activity("IHK", 2)],
            [activity("HWK", 1, title="-Punkt", description="+49 241"), *(activity("HWK", n) for n in range(2, 9))]],
        "a date column as text, further down": [
            [activity("IHK", 1, start="2026-03-15"), activity("IHK", 2, start="@home", remarks="=1+2")],
            [activity("VUV", 1, end="2027-06-30"), activity("VUV", 2, start="-2026", remarks="-"),
             activity("VUV", 3, title="=x")]],
    }
    for first, second in shapes.values():
        for number, activities in enumerate((first, second)):
            info = dataclasses.replace(first_round, institution_code=activities[0].institution_code,
                                       institution_name=f"Institution {number}")
            assert_same_workbook(builder.build(info=info, activities=activities, secret=SHEET_SECRET),
                                 openpyxl_build(info, activities))
    assert builder.built_by_openpyxl == len(shapes)


@pytest.mark.parametrize(("text", "error"), [("Zeile\x07", IllegalCharacterError), ("\ufffe", ValueError)])
def test_a_text_openpyxl_refuses_is_refused_alike(text: str, error: type[Exception]) -> None:
    builder = SheetBuilder(SPEC, CATALOGS)
    builder.build(info=sheet_info("IHK"), activities=demo_activities("IHK"), secret=SHEET_SECRET)
    bad = [activity("HWK", 1, description=text)]
    with pytest.raises(error):
        openpyxl_build(sheet_info("HWK"), bad)
    with pytest.raises(error):
        builder.build(info=sheet_info("HWK"), activities=bad, secret=SHEET_SECRET)


# --- any activities ----------------------------------------------------------------------------------------

# Whatever can reach a cell: umlauts, emoji, leading and trailing spaces, line breaks (CR too), escape
# look-alikes, formula starters, markup characters; no control characters (refused alike, see above).
TEXT = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn")), max_size=40),
    st.sampled_from(["", " vorne", "hinten ", "a\r\nb", "_x0041_ und _x005F_", "=1+2", "-", "+49", "@x",
                     "<b>&amp;</b>", "\u00a0", "\U0001f600"]),
)
ONE_LINE = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp")), max_size=40)
PERIOD = st.one_of(st.sampled_from(["", "2016", "2027", "2027-06", "03.2027", "-2026"]),
                   st.dates(dt.date(1899, 12, 1), dt.date(2040, 12, 31)).map(dt.date.isoformat))
TEXT_FIELDS = [c.key for c in SPEC.columns if c.kind not in ("id", "date")]
DATE_FIELDS = [c.key for c in SPEC.columns if c.kind == "date"]


@st.composite
def institution(draw: st.DrawFn, code: str) -> list[Activity]:
    return [Activity(key=f"{code}-{n:04d}", institution_code=code,  # type: ignore[arg-type]
                     **{key: draw(TEXT) for key in TEXT_FIELDS}, **{key: draw(PERIOD) for key in DATE_FIELDS})
            for n in range(1, draw(st.integers(0, 8)) + 1)]


def same_shape(activities: list[Activity], code: str) -> list[Activity]:
    """Other activities whose cells are styled alike (the same ones quote-prefixed), plus one more row."""
    def like(text: str, column: Column) -> str:
        if column.kind == "date" and not isinstance(date_cell_value(text or "x"), str):
            return "2031-12-31" if isinstance(date_cell_value(text), dt.date) else "2031"  # a date stays a date
        return (text[0] + "anders") if text.startswith(FORMULA_STARTS) else ("anders" if text else "")

    others = [Activity(key=f"{code}-{n:04d}", institution_code=code,  # type: ignore[arg-type]
                       **{c.key: like(field_text(a, c), c) for c in SPEC.columns if c.kind != "id"})
              for n, a in enumerate(activities, start=1)]
    return [*others, activity(code, len(others) + 1)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activities=institution("IHK"), name=ONE_LINE, region_name=ONE_LINE, phone=st.sampled_from(["", "0241 1"]),
       deadline=st.one_of(st.none(), st.dates(dt.date(2026, 1, 1), dt.date(2027, 12, 31))),
       base=st.sampled_from(["", "2025"]))
def test_any_sheet_is_the_one_openpyxl_builds(activities: list[Activity], name: str, region_name: str, phone: str,
                                              deadline: dt.date | None, base: str) -> None:
    assert all(c.is_core_field for c in SPEC.columns if c.kind != "id")
    round_info = SheetInfo("aachen", region_name, 2026, "XYZ", "Erste", base, "Regionalagentur", "ra@example.org",
                           phone, deadline)
    builder = SheetBuilder(SPEC, CATALOGS)
    builder.build(info=round_info, activities=same_shape(activities, "XYZ"), secret=SHEET_SECRET)
    info = dataclasses.replace(round_info, institution_code="IHK", institution_name=name)
    try:
        expected = openpyxl_build(info, activities)
    except ValueError as exc:  # openpyxl refuses it (e.g. a stray surrogate): so does the builder
        with pytest.raises(type(exc)):
            builder.build(info=info, activities=activities, secret=SHEET_SECRET)
        return
    assert_same_workbook(builder.build(info=info, activities=activities, secret=SHEET_SECRET), expected)
    assert builder.built_by_openpyxl == 1  # written into the other institution's skeleton, not built anew
