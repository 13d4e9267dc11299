"""Reading back a returned sheet: every problem at once, by cell and column, in German (DESIGN §5)."""

from __future__ import annotations

import io

from openpyxl import load_workbook

from core.activity import Activity
from core.sheet_check import Expected
from core.sheet_spec import YearRange
from core.workbook_read import read_workbook
from tests.support.factories import (
    SHEET_SECRET,
    build_sheet_bytes,
    check_bytes,
    demo_activities,
    edit_sheet,
    templates,
)


def messages(result) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.message for p in result.problems]


def test_unchanged_sheet_reads_back_exactly() -> None:
    result = check_bytes(build_sheet_bytes())
    assert result.ok, messages(result)
    assert result.activities == demo_activities()
    assert result.row_numbers == [2, 3, 4, 5, 6, 7]


def test_invalid_field_of_action_message_names_row_column_and_allowed_values() -> None:
    data = edit_sheet(build_sheet_bytes(), {"D12": "Ausbildung", "B12": "Neue Aktivität", "E12": "geplant"})
    result = check_bytes(data)
    (problem,) = result.problems
    assert (problem.cell, problem.column) == ("D12", "Handlungsfeld")
    assert problem.message.startswith("Zeile 12, Handlungsfeld: „Ausbildung“ ist kein zulässiger Wert. "
                                      "Zulässig sind: Berufsorientierung und Übergang Schule–Beruf, ")


def test_catalog_values_match_regardless_of_case_and_dash() -> None:
    data = edit_sheet(build_sheet_bytes(), {"D2": "berufsorientierung und übergang schule-beruf ",
                                            "E2": "Geplant", "H2": "auszubildende, UNTERNEHMEN"})
    result = check_bytes(data)
    assert result.ok, messages(result)
    first = result.activities[0]
    assert (first.field_of_action, first.status) == ("Berufsorientierung und Übergang Schule–Beruf", "geplant")
    assert first.target_groups == "Auszubildende; Unternehmen"


def test_all_problems_are_reported_at_once() -> None:
    data = edit_sheet(build_sheet_bytes(), {
        "B2": None,                          # required title emptied
        "C3": "x" * 2001,                    # too long
        "F4": "irgendwann",                  # not a date
        "F5": 2026, "G5": 2024,              # ends before it starts
        "G6": 2040,                          # beyond the latest year a sheet of 2026 takes
        "H7": "Jugendliche; Auszubildende",  # unknown target group
        "M7": "keine-mail",
        "N7": "javascript:alert(1)",
    })
    result = check_bytes(data)
    assert [(p.cell, p.column) for p in result.problems] == [
        ("B2", "Titel"), ("C3", "Beschreibung"), ("F4", "Beginn"), ("G5", "Ende"), ("G6", "Ende"),
        ("H7", "Zielgruppen"), ("M7", "E-Mail"), ("N7", "Link")]
    text = messages(result)
    assert text[0] == "Zeile 2, Titel: Dieses Pflichtfeld ist leer. Bitte ausfüllen."
    assert text[1] == ("Zeile 3, Beschreibung: Der Text ist 2.001 Zeichen lang; erlaubt sind höchstens 2.000. "
                       "Bitte kürzen.")
    assert "„irgendwann“ ist kein gültiges Datum" in text[2]
    assert text[3] == "Zeile 5, Ende: Das Ende (2024) liegt vor dem Beginn (2026)."
    assert text[4] == "Zeile 6, Ende: 2040 liegt außerhalb der zulässigen Jahre (2000 bis 2034). Bitte die " \
                      "Jahreszahl prüfen."
    assert result.notices == []
    assert "„Jugendliche“ ist kein zulässiger Wert" in text[5]


def test_new_row_without_id_is_a_new_activity() -> None:
    data = edit_sheet(build_sheet_bytes(), {"B9": "Azubi-Speed-Dating Düren", "D9": "Duale Ausbildung stärken",
                                            "E9": "geplant", "F9": "01.09.2026", "G9": "2027"})
    result = check_bytes(data)
    assert result.ok, messages(result)
    new = result.activities[-1]
    assert (new.key, new.title, new.start, new.end) == (None, "Azubi-Speed-Dating Düren", "2026-09-01", "2027")


def test_id_of_another_institution_is_refused() -> None:
    result = check_bytes(edit_sheet(build_sheet_bytes(), {"A3": "HWK-0001"}))
    assert [(p.cell, p.message) for p in result.problems] == [
        ("A3", "Zeile 3, ID: Die ID „HWK-0001“ gehört zu keiner Aktivität Ihrer Institution. Bitte die ID nicht "
               "ändern; neue Aktivitäten ohne ID eintragen.")]


def test_duplicated_id_is_refused() -> None:
    result = check_bytes(edit_sheet(build_sheet_bytes(), {"A9": "IHK-0002", "B9": "Kopie", "D9":
                                                          "Duale Ausbildung stärken", "E9": "geplant"}))
    assert [p.cell for p in result.problems] == ["A9"]
    assert "steht bereits in Zeile 3" in result.problems[0].message


def test_vanished_activity_is_kept_and_flagged_not_deleted() -> None:
    data = edit_sheet(build_sheet_bytes(), {f"{c}4": None for c in "ABCDEFGHIJKLMNO"})
    result = check_bytes(data)
    assert result.ok
    assert [a.key for a in result.missing] == ["IHK-0003"]


def test_cleared_row_with_id_left_is_flagged_like_a_vanished_one() -> None:
    data = edit_sheet(build_sheet_bytes(), {f"{c}4": None for c in "BCDEFGHIJKLMNO"})
    result = check_bytes(data)
    assert result.ok and [a.key for a in result.missing] == ["IHK-0003"]


def test_vanished_activity_already_ended_is_not_flagged() -> None:
    base = demo_activities()
    ended = [Activity(**{**a.__dict__, "status": "entfällt"}) if a.key == "IHK-0003" else a for a in base]
    data = edit_sheet(build_sheet_bytes(ended), {f"{c}4": None for c in "ABCDEFGHIJKLMNO"})
    assert check_bytes(data, base=ended).missing == []


def test_tampered_meta_is_refused() -> None:
    data = edit_sheet(build_sheet_bytes(), {"B4": "HWK"}, sheet="_meta")
    result = check_bytes(data)
    assert "Zuordnungsdaten der Datei (Blatt „_meta“) sind beschädigt oder wurden verändert" in messages(result)[0]


def test_sheet_of_another_institution_is_refused() -> None:
    result = check_bytes(build_sheet_bytes(code="HWK", activities=[]), code="IHK")
    assert messages(result)[0].startswith("Die Datei gehört zu einer anderen Institution (HWK).")


def test_sheet_of_another_institution_gets_one_message_not_one_per_row() -> None:
    # HWK's sheet with its six activities through IHK's link: their IDs are not IHK's, but saying so six
    # times would bury the one thing to do.
    result = check_bytes(build_sheet_bytes(code="HWK"), code="IHK")
    assert messages(result) == ["Die Datei gehört zu einer anderen Institution (HWK). Bitte laden Sie Ihre eigene "
                                "Tabelle über Ihren persönlichen Link herunter, tragen Sie Ihre Angaben dort ein "
                                "und laden Sie sie hoch."]
    assert result.wrong_file and result.activities == []


def test_sheet_of_another_institution_and_year_is_one_message() -> None:
    result = check_bytes(build_sheet_bytes(code="HWK", activities=[], year=2025), code="IHK", year=2026)
    assert messages(result) == ["Die Datei gehört zu einer anderen Institution (HWK) aus der Abfrage 2025. Bitte "
                                "laden Sie Ihre eigene Tabelle über Ihren persönlichen Link herunter, tragen Sie "
                                "Ihre Angaben dort ein und laden Sie sie hoch."]


def test_problems_are_grouped_by_row_under_the_activitys_title() -> None:
    from core.problem import group_by_row

    data = edit_sheet(build_sheet_bytes(), {"D2": "Ausbildung", "G2": "bald", "A3": "HWK-0001",
                                            "B9": "", "D9": "Duale Ausbildung stärken", "E9": "geplant"})
    result = check_bytes(data)
    assert not result.wrong_file
    groups = group_by_row(result.problems, result.row_titles)
    assert [(g.row, g.title) for g in groups] == [
        (2, "Ausbildungsbotschafterinnen und -botschafter"), (3, "Passgenaue Besetzung von Ausbildungsplätzen"),
        (9, "")]
    (d2, d2_text), (g2, g2_text) = groups[0].details  # the row's heading names it; each says what is wrong
    assert (d2.cell, g2.cell) == ("D2", "G2")
    assert d2_text.startswith("„Ausbildung“ ist kein zulässiger Wert. Zulässig sind: ")
    assert g2_text == ("„bald“ ist kein gültiges Datum. Bitte ein Datum (TT.MM.JJJJ), einen Monat (MM.JJJJ) oder "
                       "eine Jahreszahl (JJJJ) eintragen.")
    assert groups[2].details[0][1] == "Dieses Pflichtfeld ist leer. Bitte ausfüllen."


def test_sheet_from_another_cycle_is_refused() -> None:
    result = check_bytes(build_sheet_bytes(year=2025), year=2026)
    assert messages(result) == ["Die Datei stammt aus der Abfrage 2025. Bitte die Tabelle der Abfrage 2026 über "
                                "Ihren Link herunterladen."]


def test_sheet_signed_with_another_secret_is_refused() -> None:
    result = check_bytes(build_sheet_bytes(secret=b"other installation"))
    assert "wurden verändert" in messages(result)[0]


def test_missing_required_column_is_refused() -> None:
    result = check_bytes(edit_sheet(build_sheet_bytes(), {"D1": "Thema"}))
    assert messages(result) == ["Die Spalte „Handlungsfeld“ fehlt. Bitte die Spaltenüberschriften nicht ändern "
                                "oder löschen."]


def test_missing_optional_column_keeps_the_base_values() -> None:
    result = check_bytes(edit_sheet(build_sheet_bytes(), {"J1": "Notizen"}))
    assert result.ok and result.activities == demo_activities()


def test_header_row_moved_down_and_columns_reordered_still_read() -> None:
    workbook = load_workbook(io.BytesIO(build_sheet_bytes()))
    sheet = workbook["Aktivitäten"]
    sheet.protection.sheet = False
    sheet.insert_rows(1, amount=2)
    sheet["A1"].value = "Rückmeldung der IHK"
    sheet.move_range("B3:B9", cols=20)  # Titel moved far to the right
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = check_bytes(buffer.getvalue())
    assert result.ok, messages(result)
    assert [a.title for a in result.activities] == [a.title for a in demo_activities()]
    assert result.row_numbers[0] == 4


def test_duplicate_header_is_named() -> None:
    result = check_bytes(edit_sheet(build_sheet_bytes(), {"P1": "Titel"}))
    assert messages(result) == ["Die Spalte „Titel“ kommt zweimal vor (Spalten B und P)."]


def test_not_our_sheet_at_all() -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["Name", "Wert"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = check_bytes(buffer.getvalue())
    (text,) = messages(result)  # one message: what happened and what to do, nothing about its columns
    assert text.startswith("Die Datei ist nicht die persönliche Tabelle aus unserer Abfrage")
    assert text.endswith("Bitte laden Sie Ihre eigene Tabelle über Ihren persönlichen Link herunter, tragen Sie "
                         "Ihre Angaben dort ein und laden Sie sie hoch.")
    assert result.wrong_file


def check_with_years(data: bytes, years: YearRange, year: int = 2026):  # type: ignore[no-untyped-def]
    spec, catalogs = templates()
    return read_workbook(data, spec=spec, catalogs=catalogs, base=demo_activities(),
                         expected=Expected("aachen", year, SHEET_SECRET, "IHK", years=years))


def test_year_after_the_concepts_horizon_is_taken_with_a_notice_naming_the_cell() -> None:
    # Next year's round of a concept that plans until 2027: an activity ending 2028 is real, not a typo.
    data = edit_sheet(build_sheet_bytes(year=2027), {"G5": 2028, "F3": "03.2029", "G3": None})
    result = check_with_years(data, YearRange(first=2000, horizon=2027, last=2032), year=2027)
    assert result.ok, messages(result)
    assert [(n.cell, n.column, n.message) for n in result.notices] == [
        ("F3", "Beginn", "Zeile 3, Beginn: 03.2029 liegt nach dem Zeitraum des Handlungskonzepts (bis 2027). "
                         "Bitte prüfen; die Angabe wird übernommen."),
        ("G5", "Ende", "Zeile 5, Ende: 2028 liegt nach dem Zeitraum des Handlungskonzepts (bis 2027). Bitte prüfen; "
                       "die Angabe wird übernommen.")]
    assert result.activities[3].end == "2028" and result.activities[1].start == "2029-03"


def test_year_after_the_latest_year_is_refused_with_the_real_range() -> None:
    data = edit_sheet(build_sheet_bytes(year=2027), {"G5": 2033, "G6": 2032, "F7": 1999})
    result = check_with_years(data, YearRange(first=2000, horizon=2027, last=2032), year=2027)
    assert [(p.cell, p.message) for p in result.problems] == [
        ("G5", "Zeile 5, Ende: 2033 liegt außerhalb der zulässigen Jahre (2000 bis 2032). Bitte die Jahreszahl "
               "prüfen."),
        ("F7", "Zeile 7, Beginn: 1999 liegt außerhalb der zulässigen Jahre (2000 bis 2032). Bitte die Jahreszahl "
               "prüfen.")]
    assert [n.cell for n in result.notices] == ["G6"]  # the latest year itself is taken, with a notice
