"""The .ods reader (core.ods): what real programs write reads back cell for cell; hostile XML is refused."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.grid import MAX_COLUMNS, GridError, extract_grid, extract_sheets
from core.ods import MAX_CELL_TEXT, OdsError, OdsSheet, read_ods
from tests.support.ods import content_xml, ods, package, pretty, table, text_cell


def read(data: bytes, keep: int = 100) -> list[OdsSheet]:
    return read_ods(data, keep_rows=lambda _name, _visible: keep, max_columns=MAX_COLUMNS)


def cell(xml: str) -> object:
    """The value of the one cell of a one-cell sheet."""
    (sheet,) = read(ods(table("S", [[xml]])))
    return sheet.rows[0][0] if sheet.rows else ""


HEADER = [text_cell("ID"), text_cell("Titel")]
ROWS = [HEADER, [text_cell("IHK-0001"), text_cell("Erste")], [text_cell("IHK-0002"), text_cell("Zweite")]]


def test_ods_cells_on_lines_of_their_own_read_like_compact_ones() -> None:
    compact = content_xml(table("Aktivitäten", ROWS))
    assert "\n" not in compact
    expected = [["ID", "Titel"], ["IHK-0001", "Erste"], ["IHK-0002", "Zweite"]]
    for data in (package(compact), package(pretty(compact))):
        (sheet,) = read(data)
        assert (sheet.name, sheet.rows, sheet.total_rows, sheet.total_columns) == ("Aktivitäten", expected, 3, 2)


@pytest.mark.parametrize(("xml", "value"), [
    ('<table:table-cell office:value-type="float" office:value="2016"><text:p>2016</text:p></table:table-cell>',
     2016.0),
    ('<table:table-cell office:value-type="percentage" office:value="0.5"><text:p>50 %</text:p></table:table-cell>',
     0.5),
    ('<table:table-cell office:value-type="currency" office:currency="EUR" office:value="12.5"><text:p>12,50 €'
     "</text:p></table:table-cell>", 12.5),
    ('<table:table-cell table:formula="of:=10+2" office:value-type="float" office:value="12"><text:p>12</text:p>'
     "</table:table-cell>", 12.0),   # a formula: its value
    ('<table:table-cell office:value-type="date" office:date-value="2026-03-15"><text:p>15.03.26</text:p>'
     "</table:table-cell>", dt.date(2026, 3, 15)),
    ('<table:table-cell office:value-type="date" office:date-value="2026-03-15T10:30:00"><text:p>x</text:p>'
     "</table:table-cell>", dt.datetime(2026, 3, 15, 10, 30)),
    ('<table:table-cell office:value-type="time" office:time-value="PT10H30M00S"><text:p>10:30</text:p>'
     "</table:table-cell>", dt.time(10, 30)),
    ('<table:table-cell office:value-type="time" office:time-value="PT36H00M00S"><text:p>36:00</text:p>'
     "</table:table-cell>", dt.timedelta(hours=36)),
    ('<table:table-cell office:value-type="boolean" office:boolean-value="true"><text:p>WAHR</text:p>'
     "</table:table-cell>", True),
    ('<table:table-cell office:value-type="string" office:string-value="gespeichert"><text:p>angezeigt</text:p>'
     "</table:table-cell>", "gespeichert"),
    ('<table:table-cell office:value-type="float" office:value="kaputt"><text:p>12</text:p></table:table-cell>',
     "12"),          # a typed value that is none: the text the cell shows
    ('<table:table-cell office:value-type="date" office:date-value="2026-13-45"><text:p>bald</text:p>'
     "</table:table-cell>", "bald"),
    ("<table:table-cell><text:p>ohne Typ</text:p></table:table-cell>", "ohne Typ"),
    ('<table:table-cell office:value-type="string"><text:p/></table:table-cell>', ""),
])
def test_ods_values_come_typed_as_from_the_other_formats(xml: str, value: object) -> None:
    assert cell(xml) == value
    assert type(cell(xml)) is type(value)


@pytest.mark.parametrize(("paragraphs", "text"), [
    ("<text:p>Zeile eins<text:line-break/>Zeile zwei</text:p>", "Zeile eins\nZeile zwei"),  # Gnumeric
    ("<text:p>Zeile eins</text:p><text:p>Zeile zwei</text:p>", "Zeile eins\nZeile zwei"),  # LibreOffice
    ('<text:p>a <text:s text:c="2"/>b<text:tab/>c</text:p>', "a   b\tc"),
    ("<text:p>  viele   \n  Leerzeichen  </text:p>", "viele Leerzeichen "),  # layout blanks collapse (ODF)
    ('<text:p>mit <text:span text:style-name="T1">Format</text:span> und <text:a xlink:href="https://x.example">'
     "Link</text:a></text:p>", "mit Format und Link"),
    ("<office:annotation><text:p>Kommentar</text:p></office:annotation><text:p>Wert</text:p>", "Wert"),
    ('<draw:frame svg:width="1cm"><draw:text-box><text:p>Form</text:p></draw:text-box></draw:frame>'
     "<text:p>Wert</text:p>", "Wert"),
    ("<text:p>Umlaute äöüß – ≤ €</text:p>", "Umlaute äöüß – ≤ €"),
])
def test_ods_text_is_what_the_cell_shows(paragraphs: str, text: str) -> None:
    assert cell(f'<table:table-cell office:value-type="string">{paragraphs}</table:table-cell>') == text


def test_ods_very_long_text_is_cut_at_the_cell_limit_not_read_whole() -> None:
    value = cell(text_cell("x" * (MAX_CELL_TEXT * 3)))
    assert isinstance(value, str) and len(value) == MAX_CELL_TEXT + 1  # still refused as too long by the check


def test_ods_repeated_rows_and_cells_are_counted_not_expanded() -> None:
    far = [
        HEADER,
        ['<table:table-cell table:number-columns-repeated="16384"/>'],        # empty: not counted
        [text_cell("IHK-0001"), text_cell("Erste")],
    ]
    body = table("S", far).replace("<table:table-row><table:table-cell table:number-columns-repeated",
                                   '<table:table-row table:number-rows-repeated="1048000">'
                                   "<table:table-cell table:number-columns-repeated")
    (sheet,) = read(ods(body), keep=5)
    assert (sheet.total_rows, sheet.total_columns) == (1_048_002, 2)
    assert len(sheet.rows) == 5 and sheet.rows[0] == ["ID", "Titel"] and sheet.rows[1] == ["", ""]

    many = table("S", [[text_cell("x")]]).replace("<table:table-row>",
                                                  '<table:table-row table:number-rows-repeated="1000000">')
    (sheet,) = read(ods(many), keep=5)
    assert (sheet.total_rows, sheet.rows) == (1_000_000, [["x"]] * 5)

    wide = table("S", [[text_cell("x", ' table:number-columns-repeated="16384"')]])
    (sheet,) = read(ods(wide))
    assert sheet.total_columns == 16_384
    assert len(sheet.rows[0]) == MAX_COLUMNS  # never wider than what is read


def test_ods_trailing_empty_rows_and_columns_are_not_counted() -> None:
    body = table("S", [HEADER, ['<table:table-cell table:number-columns-repeated="1022"/>']]).replace(
        "<table:table-row><table:table-cell table:number-columns-repeated",
        '<table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated')
    (sheet,) = read(ods(pretty(body)))
    assert (sheet.total_rows, sheet.total_columns, sheet.rows) == (1, 2, [["ID", "Titel"]])


def test_ods_merged_cells_are_ranges_with_the_covered_cells_in_place() -> None:
    rows = [
        HEADER,
        [text_cell("IHK-0001", ' table:number-rows-spanned="3"'), text_cell("Erste")],
        ["<table:covered-table-cell/>", text_cell("Zweite")],
        ["<table:covered-table-cell/>", text_cell("Dritte")],
        [text_cell("über zwei Spalten", ' table:number-columns-spanned="2"'), "<table:covered-table-cell/>"],
    ]
    (sheet,) = read(ods(pretty(table("S", rows))))
    assert sheet.merged == [(1, 0, 3, 0), (4, 0, 4, 1)]
    assert [row[1] for row in sheet.rows] == ["Titel", "Erste", "Zweite", "Dritte", ""]  # nothing shifted


def test_ods_hidden_sheets_are_known_by_their_style() -> None:
    styles = ('<style:style style:name="ta1" style:family="table"><style:table-properties table:display="true"/>'
              '</style:style><style:style style:name="ta2" style:family="table">'
              '<style:table-properties table:display="false"/></style:style>')
    tables = (table("Aktivitäten", ROWS, ' table:style-name="ta1"') + table("_meta", [[text_cell("x")]],
                                                                            ' table:style-name="ta2"'))
    assert [(s.name, s.visible) for s in read(ods(tables, styles=styles))] == [("Aktivitäten", True),
                                                                              ("_meta", False)]


def test_ods_rows_of_sheets_not_asked_for_are_not_kept() -> None:
    data = ods(table("Hinweise", ROWS) + table("Aktivitäten", ROWS))
    sheets = read_ods(data, keep_rows=lambda name, _visible: 10 if name == "Aktivitäten" else 0,
                      max_columns=MAX_COLUMNS)
    assert [(s.name, len(s.rows), s.total_rows) for s in sheets] == [("Hinweise", 0, 3), ("Aktivitäten", 3, 3)]


def corrupt_deflate(data: bytes) -> bytes:
    """content.xml's compressed bytes garbled (its header and size intact)."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo("content.xml")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 5
    return data[:start] + bytes(b ^ 0x5A for b in data[start:start + 40]) + data[start + 40:]


BOMB = ('<!DOCTYPE office:document-content [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>')


@pytest.mark.parametrize("data", [
    pytest.param(package(content_xml(table("S", [[text_cell("&d;")]]), prolog=BOMB)), id="entity-expansion"),
    pytest.param(package(content_xml(table("S", [[text_cell("&x;")]]),
                                     prolog='<!DOCTYPE x [<!ENTITY x SYSTEM "file:///etc/passwd">]>')),
                 id="external-entity"),
    pytest.param(package(content_xml(table("S", [[text_cell("x")]]), prolog="<!DOCTYPE x>")), id="any-dtd"),
    pytest.param(package(content_xml(table("S", [[text_cell("x")]]))[:-40]), id="cut-off-xml"),
    pytest.param(package(content_xml(table("S", [[text_cell("x", ' table:number-columns-repeated="viele"')]]))),
                 id="count-not-a-number"),
    pytest.param(ods(table("S", [[text_cell("x")]]))[:300], id="truncated-zip"),
    pytest.param(corrupt_deflate(ods(table("S", [[text_cell("x" * 2000 + "abc" * 500)]]))), id="garbled-deflate"),
])
def test_ods_damaged_or_hostile_xml_is_refused(data: bytes) -> None:
    with pytest.raises(OdsError):
        read(data)


SHEET = {"sheet_name": "Aktivitäten", "meta_sheet_name": "_meta", "skip_sheets": ("Hinweise", "_listen"),
         "max_rows": 10}


def test_ods_grid_takes_the_activity_sheet_meta_and_merged_ranges() -> None:
    styles = ('<style:style style:name="hidden" style:family="table">'
              '<style:table-properties table:display="false"/></style:style>')
    rows = [HEADER, [text_cell("IHK-0001", ' table:number-rows-spanned="2"'), text_cell("Erste")],
            ["<table:covered-table-cell/>", text_cell("Zweite")]]
    year = '<table:table-cell office:value-type="float" office:value="2026"/>'
    meta = table("_meta", [[text_cell("institution"), text_cell("IHK")], [text_cell("cycle_year"), year]],
                 ' table:style-name="hidden"')
    data = ods(pretty(table("Hinweise", [[text_cell("Bitte ausfüllen")]]) + table("Aktivitäten", rows) + meta),
               styles=styles)
    grid = extract_grid(data, **SHEET)  # type: ignore[arg-type]
    assert grid.activity_sheet == "Aktivitäten" and grid.sheet_names == ["Hinweise", "Aktivitäten", "_meta"]
    assert grid.rows[2] == ["", "Zweite"] and grid.merged == [(1, 0, 2, 0)]
    assert grid.meta == {"institution": "IHK", "cycle_year": "2026"}
    assert [g.activity_sheet for g in extract_sheets(data, max_rows=10)] == ["Hinweise", "Aktivitäten"]


def test_ods_grid_of_a_damaged_file_is_the_german_damaged_answer() -> None:
    with pytest.raises(GridError, match="beschädigt"):
        extract_grid(package(content_xml(table("S", ROWS), prolog=BOMB)), **SHEET)  # type: ignore[arg-type]


GOOD_CONTENT = pretty(content_xml(
    table("Aktivitäten", [*ROWS, [text_cell("IHK-0003", ' table:number-rows-spanned="2"'),
                                  '<table:table-cell office:value-type="date" office:date-value="2026-03-15"/>']])
    + table("_meta", [[text_cell("institution"), text_cell("IHK")]]))).encode()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(GOOD_CONTENT) - 1), st.binary(min_size=1, max_size=12)),
                min_size=1, max_size=6))
def test_ods_reader_on_spliced_xml_reads_or_refuses_never_raises_else(splices: list[tuple[int, bytes]]) -> None:
    content = bytearray(GOOD_CONTENT)
    for position, chunk in splices:
        content[position:position + len(chunk)] = chunk
    try:
        sheets = read(package(bytes(content)), keep=5)
    except OdsError:
        return
    for sheet in sheets:
        assert len(sheet.rows) <= 5 and all(len(row) <= MAX_COLUMNS for row in sheet.rows)


def test_ods_merged_ranges_are_capped_however_many_a_file_declares() -> None:
    spanning = text_cell("x", ' table:number-rows-spanned="2" table:number-columns-repeated="5000"') * 300
    repeated = '<table:table-row table:number-rows-repeated="100000">'
    rows = table("S", [[spanning]]).replace("<table:table-row>", repeated)
    (sheet,) = read(ods(rows), keep=5)
    assert (len(sheet.merged), sheet.merged[0], sheet.total_rows) == (1000, (0, 0, 1, 0), 100_000)
