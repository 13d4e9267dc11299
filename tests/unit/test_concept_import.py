"""Reading an agency's existing concept: activities by institution, every problem by sheet and cell (issue 14)."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from core.activity import Activity
from core.concept_import import ConceptRead, InstitutionRef, assign_keys, read_concept, version_problems
from core.grid import Grid, extract_sheets
from tests.support.factories import templates

HEADER = ["Institution", "Titel", "Handlungsfeld", "Status", "Beginn", "Ende", "Zielgruppen", "Gebiet"]
INSTITUTIONS = [InstitutionRef("IHK", "IHK Aachen"), InstitutionRef("KDN", "Kreis Düren"),
                InstitutionRef("AA-AC", "Agentur für Arbeit Aachen-Düren")]
DUAL = "Duale Ausbildung stärken"
ORIENTATION = "Berufsorientierung und Übergang Schule–Beruf"


def sheet(name: str, rows: list[list[object]], header: list[str] | None = None) -> Grid:
    table = [header or HEADER, *rows]
    return Grid(activity_sheet=name, rows=[list(r) for r in table], total_rows=len(table),
                total_columns=max(len(r) for r in table), sheet_names=[name])


def read(*grids: Grid, institutions: list[InstitutionRef] | None = None) -> ConceptRead:
    spec, catalogs = templates()
    return read_concept(list(grids), spec=spec, catalogs=catalogs,
                        institutions=INSTITUTIONS if institutions is None else institutions)


def lines(result: ConceptRead) -> list[str]:
    return [p.text for p in result.problems]


def test_concept_two_sheets_with_the_same_header_are_read_together() -> None:
    talent = ["KDN", "Talentscouts", ORIENTATION, "geplant", "01.09.2026", 2027, "", "Kreis Düren"]
    result = read(sheet("IHK", [["IHK", "Azubi-Speed-Dating", DUAL, "bestehend", 2024, "", "Auszubildende", ""]]),
                  sheet("Kreis", [talent, ["Kreis Düren", "Jobmesse", ORIENTATION, "bestehend", "", "", "", ""]]))
    assert result.ok, lines(result)
    assert result.sheets == ["IHK", "Kreis"]
    assert result.counts() == {"IHK": 1, "KDN": 2}
    scouts = result.activities[1]
    assert (scouts.key, scouts.title, scouts.start, scouts.end, scouts.area) == (
        None, "Talentscouts", "2026-09-01", "2027", "Kreis Düren")
    assert [(o.sheet, o.row) for o in result.origins] == [("IHK", 2), ("Kreis", 2), ("Kreis", 3)]
    assert result.adjusted == []  # an institution's exact name is not an adjustment


def test_concept_near_miss_catalog_values_are_matched_and_listed() -> None:
    result = read(sheet("Alle", [["ihk", "A", "duale ausbildung  stärken", "Bestehend", "", "",
                                  "Schülerinnen u. Schüler, auszubildende", "gesamte region"],
                                 ["IHK", "B", "Berufsorientierung u. Übergang Schule - Beruf", "entfaellt", "", "",
                                  "Frauen", ""]]))
    assert result.ok, lines(result)
    first, second = result.activities
    assert (first.field_of_action, first.status, first.area) == (DUAL, "bestehend", "gesamte Region")
    assert first.target_groups == "Schülerinnen und Schüler; Auszubildende"
    assert (second.field_of_action, second.status) == (ORIENTATION, "entfällt")
    changes = [(a.cell, a.column, a.old, a.new) for a in result.adjusted]
    assert changes == [
        ("A2", "Institution", "ihk", "IHK (IHK Aachen)"),
        ("C2", "Handlungsfeld", "duale ausbildung  stärken", DUAL),
        ("D2", "Status", "Bestehend", "bestehend"),
        ("G2", "Zielgruppen", "Schülerinnen u. Schüler, auszubildende", "Schülerinnen und Schüler; Auszubildende"),
        ("H2", "Gebiet", "gesamte region", "gesamte Region"),
        ("C3", "Handlungsfeld", "Berufsorientierung u. Übergang Schule - Beruf", ORIENTATION),
        ("D3", "Status", "entfaellt", "entfällt"),
    ]
    assert {a.sheet for a in result.adjusted} == {"Alle"}


def test_concept_every_problem_is_located_by_sheet_and_cell() -> None:
    result = read(
        sheet("IHK", [["IHK", "Azubi-Speed-Dating", DUAL, "bestehend", "", "", "", ""]]),
        sheet("Fehler", [["HWK", "Meisterkurse", DUAL, "bestehend", "", "", "", ""],
                         ["", "Ohne Institution", DUAL, "geplant", "", "", "", ""],
                         ["IHK", "azubi-speed-dating", DUAL, "bestehend", "", "", "", ""],
                         ["KDN", "Berufe-Tag", "Ausbildung", "vielleicht", "31.02.2026", 2130, "Kinder", "Köln"],
                         ["KDN", "", DUAL, "geplant", 2026, 2025, "", ""]]))
    assert [(p.sheet, p.cell, p.column) for p in result.problems] == [
        ("Fehler", "A2", "Institution"), ("Fehler", "A3", "Institution"), ("Fehler", "B4", "Titel"),
        ("Fehler", "C5", "Handlungsfeld"), ("Fehler", "D5", "Status"), ("Fehler", "E5", "Beginn"),
        ("Fehler", "F5", "Ende"), ("Fehler", "G5", "Zielgruppen"), ("Fehler", "H5", "Gebiet"),
        ("Fehler", "B6", "Titel"), ("Fehler", "F6", "Ende")]
    text = lines(result)
    assert text[0] == ("Blatt „Fehler“, Zelle A2 (Institution): „HWK“ ist keine eingelesene Institution. Bitte "
                       "Kürzel oder Namen eintragen; eingelesen sind: AA-AC, IHK, KDN.")
    assert text[1] == ("Blatt „Fehler“, Zelle A3 (Institution): Die Institution fehlt. Bitte ihr Kürzel oder ihren "
                       "Namen eintragen.")
    assert text[2] == ("Blatt „Fehler“, Zelle B4 (Titel): Die Aktivität „azubi-speed-dating“ von IHK steht bereits "
                       "in Blatt „IHK“, Zelle B2. Jede Aktivität darf nur einmal vorkommen.")
    assert text[3].startswith("Blatt „Fehler“, Zelle C5 (Handlungsfeld): „Ausbildung“ ist kein zulässiger Wert.")
    assert text[4] == ("Blatt „Fehler“, Zelle D5 (Status): „vielleicht“ ist kein zulässiger Wert. Zulässig sind: "
                       "bestehend, geplant, abgeschlossen, entfällt.")
    assert text[5].startswith("Blatt „Fehler“, Zelle E5 (Beginn): „31.02.2026“ ist kein gültiges Datum.")
    # Without a round the import takes every plausible year (an existing concept may plan beyond 2027).
    assert text[6] == ("Blatt „Fehler“, Zelle F5 (Ende): 2130 liegt außerhalb der zulässigen Jahre (2000 bis 2100). "
                       "Bitte die Jahreszahl prüfen.")
    assert text[9] == "Blatt „Fehler“, Zelle B6 (Titel): Dieses Pflichtfeld ist leer. Bitte ausfüllen."
    assert text[10] == "Blatt „Fehler“, Zelle F6 (Ende): Das Ende (2025) liegt vor dem Beginn (2026)."


def test_concept_sheets_without_the_header_are_skipped_and_listed() -> None:
    notes = Grid(activity_sheet="Hinweise", rows=[["So füllen Sie die Tabelle aus"], ["Titel"], ["Handlungsfeld"]],
                 total_rows=3, total_columns=1, sheet_names=["Hinweise"])
    empty = Grid(activity_sheet="Tabelle2", sheet_names=["Tabelle2"])
    moved = sheet("Konzept", [["IHK", "A", DUAL, "bestehend"]], header=["Institution", "Titel", "Handlungsfeld",
                                                                       "Status"])
    moved.rows[0:0] = [["Handlungskonzept Fachkräfteoffensive"], []]  # the header two rows further down
    result = read(notes, empty, moved)
    assert result.ok, lines(result)
    assert result.sheets == ["Konzept"]
    assert result.skipped == [("Hinweise", "keine Kopfzeile mit „Titel“ und „Handlungsfeld“"), ("Tabelle2", "leer")]
    assert result.origins[0].row == 4


def test_concept_without_any_matching_sheet_is_one_clear_problem() -> None:
    result = read(sheet("Daten", [["IHK", "A"]], header=["Institution", "Name der Maßnahme"]))
    (problem,) = result.problems
    assert problem.sheet is None
    assert problem.message.startswith("In keinem Blatt der Datei steht eine Kopfzeile mit den Spalten „Titel“, "
                                      "„Handlungsfeld“, „Status“ und „Institution“")
    assert "Übersprungen: „Daten“ (keine Kopfzeile mit „Titel“ und „Handlungsfeld“)" in problem.message


def test_concept_missing_columns_stop_the_sheet_and_name_it() -> None:
    result = read(sheet("Alt", [["A", DUAL]], header=["Titel", "Handlungsfeld"]))
    assert lines(result) == ["Blatt „Alt“: Die Spalte „Status“ fehlt.",
                             "Blatt „Alt“: Die Spalte „Institution“ fehlt, und der Blattname „Alt“ ist keine "
                             "eingelesene Institution. Bitte eine Spalte „Institution“ mit dem Kürzel oder Namen "
                             "der Institution ergänzen."]


def test_concept_sheet_named_after_an_institution_needs_no_institution_column() -> None:
    result = read(sheet("Kreis Düren", [["Talentscouts", ORIENTATION, "geplant"]],
                        header=["Titel", "Handlungsfeld", "Status"]))
    assert result.ok, lines(result)
    assert result.named_by_sheet == {"Kreis Düren": "KDN"}
    assert result.activities[0].institution_code == "KDN"


def test_concept_ids_of_the_institution_are_kept_others_refused() -> None:
    header = ["ID", *HEADER]
    result = read(sheet("A", [["ihk-7", "IHK", "A", DUAL, "bestehend"],
                              ["KDN-0001", "IHK", "B", DUAL, "bestehend"],
                              ["", "IHK", "C", DUAL, "bestehend"],
                              ["IHK-0007", "IHK", "D", DUAL, "bestehend"]], header=header))
    assert [a.key for a in result.activities] == ["IHK-0007", None, None, None]
    assert lines(result) == [
        "Blatt „A“, Zelle A3 (ID): „KDN-0001“ ist keine ID der Institution IHK. IDs vergibt fko beim Einlesen: "
        "bitte die Zelle leeren (übernommen werden nur IDs wie IHK-0007).",
        "Blatt „A“, Zelle A5 (ID): Die ID „IHK-0007“ steht bereits in Blatt „A“, Zelle A2. Jede Aktivität darf "
        "nur einmal vorkommen.",
    ]


def test_concept_without_institutions_says_to_import_them_first() -> None:
    result = read(sheet("A", [["IHK", "A", DUAL, "bestehend"]]), institutions=[])
    assert "Es sind noch keine Institutionen eingelesen" in lines(result)[0]


def test_concept_empty_rows_are_ignored_and_a_header_only_file_is_refused() -> None:
    result = read(sheet("A", [["", "", "", ""], [None, None], ["IHK", "A", DUAL, "bestehend"], ["", "  "]]))
    assert result.ok and [o.row for o in result.origins] == [4]
    assert lines(read(sheet("A", [["", ""]]))) == ["Die Datei enthält keine Aktivitäten, nur Kopfzeilen."]


def test_concept_assign_keys_continues_after_counter_and_kept_ids() -> None:
    def activity(code: str, key: str | None = None) -> Activity:
        return Activity(key=key, institution_code=code, title="t", field_of_action=DUAL, status="bestehend")

    keyed = assign_keys([activity("IHK"), activity("IHK", "IHK-0005"), activity("KDN"), activity("IHK")],
                        {"IHK": 2, "KDN": 0})
    assert [a.key for a in keyed] == ["IHK-0006", "IHK-0005", "KDN-0001", "IHK-0007"]


@pytest.mark.parametrize(("label", "given", "published", "draft", "expected"), [
    ("2025", False, [], None, None),
    ("2025", False, ["2024"], None, "Es gibt bereits eine veröffentlichte Version (2024)"),
    ("2025", True, ["2024"], None, None),
    ("2024", True, ["2024"], None, "Die Version „2024“ ist bereits veröffentlicht"),
    ("2026", True, [], "Entwurf der Abfrage 2026", "Es gibt bereits einen Entwurf „2026“"),
])
def test_concept_version_rules(label: str, given: bool, published: list[str], draft: str | None,
                               expected: str | None) -> None:
    messages = [p.message for p in version_problems(label, label_given=given, published=published, draft=draft)]
    if expected is None:
        assert messages == []
    else:
        assert len(messages) == 1 and messages[0].startswith(expected)


def test_concept_workbook_sheets_are_read_with_hidden_ones_listed() -> None:
    workbook = Workbook()
    first = workbook.active
    first.title = "IHK"
    first.append(HEADER)
    first.append(["IHK", "A", DUAL, "bestehend"])
    second = workbook.create_sheet("KDN")
    second.append(HEADER)
    second.append(["KDN", "B", DUAL, "geplant"])
    workbook.create_sheet("alt").sheet_state = "hidden"
    buffer = io.BytesIO()
    workbook.save(buffer)
    grids = extract_sheets(buffer.getvalue(), max_rows=100)
    assert [g.activity_sheet for g in grids] == ["IHK", "KDN"]
    result = read(*grids)
    assert result.ok and result.counts() == {"IHK": 1, "KDN": 1}
    assert result.skipped == [("alt", "ausgeblendet")]
