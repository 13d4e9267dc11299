"""Checking an institutions list: every problem at once, named by row and cell, in German."""

from __future__ import annotations

import pytest

from core.catalog import Catalogs
from core.institution import parse_institutions
from core.table import read_table
from storage.template_folder import load_catalogs
from tests.support.factories import INSTITUTION_HEADER, VALID_ROWS, institutions_csv
from usecases.settings import BUNDLED_TEMPLATES


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return load_catalogs(BUNDLED_TEMPLATES)


def parse(rows: list[list[str]], catalogs: Catalogs, header: list[str] | None = None):  # type: ignore[no-untyped-def]
    return parse_institutions(read_table(institutions_csv(rows, header=header)), catalogs)


def test_rows_are_grouped_into_institutions_with_roles(catalogs: Catalogs) -> None:
    records, problems = parse(VALID_ROWS, catalogs)
    assert problems == []
    ihk, kdn = records
    assert (ihk.code, ihk.name, ihk.kind) == ("IHK", "IHK Aachen", "Kammer")
    assert [c.role for c in ihk.contacts] == ["primary", "deputy", "head"]
    assert (kdn.local_authority, kdn.active, kdn.contacts[0].role) == ("Kreis Düren", True, "primary")


def test_code_is_normalised_to_upper_case(catalogs: Catalogs) -> None:
    rows = [["ihk", *VALID_ROWS[0][1:]]]
    records, problems = parse(rows, catalogs)
    assert problems == [] and records[0].code == "IHK"


def test_missing_email_is_named_by_row_and_cell(catalogs: Catalogs) -> None:
    rows = [VALID_ROWS[0], [*VALID_ROWS[1][:6], "", "Vertretung"]]
    _, problems = parse(rows, catalogs)
    assert [(p.cell, p.column, p.message) for p in problems] == [
        ("G3", "E-Mail", "Zeile 3, E-Mail: Die E-Mail-Adresse fehlt.")]


def test_duplicate_code_for_two_institutions(catalogs: Catalogs) -> None:
    rows = [VALID_ROWS[0], ["IHK", "HWK Aachen", "Kammer", "", "ja", "Hans Hand", "hans@hwk.example.org", "Leitung"]]
    _, problems = parse(rows, catalogs)
    assert len(problems) == 1
    assert problems[0].cell == "A3"
    assert "Das Kürzel „IHK“ ist doppelt vergeben: in Zeile 2 für „IHK Aachen“ und hier für „HWK Aachen“" in (
        problems[0].message)


def test_unknown_role_lists_the_allowed_ones(catalogs: Catalogs) -> None:
    rows = [[*VALID_ROWS[0][:7], "Chefin"]]
    _, problems = parse(rows, catalogs)
    assert problems[0].cell == "H2"
    assert problems[0].message == ("Zeile 2, Rolle: „Chefin“ ist keine bekannte Rolle. Zulässig sind: "
                                   "Hauptansprechperson, Vertretung, Leitung.")


def test_all_problems_are_reported_at_once(catalogs: Catalogs) -> None:
    rows = [
        ["IHK", "IHK Aachen", "Kammerr", "", "vielleicht", "", "kein-mail", "Chef"],
        ["1X", "", "", "Köln", "", "X", "x@example.org", "Leitung"],
    ]
    _, problems = parse(rows, catalogs)
    cells = [p.cell for p in problems]
    assert cells == ["C2", "E2", "F2", "G2", "H2", "A3", "B3", "D3"]
    assert all(p.message.startswith("Zeile ") for p in problems)


def test_institution_without_primary_contact_is_refused(catalogs: Catalogs) -> None:
    _, problems = parse([VALID_ROWS[1], VALID_ROWS[2]], catalogs)
    assert len(problems) == 1 and "keine Hauptansprechperson" in problems[0].message


def test_same_address_twice_for_one_institution(catalogs: Catalogs) -> None:
    _, problems = parse([VALID_ROWS[0], [*VALID_ROWS[1][:6], VALID_ROWS[0][6], "Vertretung"]], catalogs)
    assert problems[0].cell == "G3" and "schon in Zeile 2" in problems[0].message


def test_missing_required_columns_are_named(catalogs: Catalogs) -> None:
    header = [h for h in INSTITUTION_HEADER if h not in ("E-Mail", "Rolle")]
    _, problems = parse([r[:6] for r in VALID_ROWS], catalogs, header=header)
    assert [p.column for p in problems] == ["E-Mail", "Rolle"]
    assert "Die Spalte „E-Mail“ fehlt" in problems[0].message


def test_headers_match_regardless_of_case_and_spacing(catalogs: Catalogs) -> None:
    header = [" kürzel ", "NAME", "art", "Gebietskörperschaft", "aktiv", "Ansprechperson", "e-mail", "ROLLE"]
    records, problems = parse(VALID_ROWS, catalogs, header=header)
    assert problems == [] and len(records) == 2


def test_header_only_file_is_a_problem(catalogs: Catalogs) -> None:
    _, problems = parse([], catalogs)
    assert [p.message for p in problems] == ["Die Datei enthält keine Institutionen, nur eine Kopfzeile."]


CONTACT_DETAILS_HEADER = [*INSTITUTION_HEADER, "Anrede", "Telefon"]


def test_optional_salutation_and_phone_columns_are_read(catalogs: Catalogs) -> None:
    rows = [[*VALID_ROWS[0], "Frau Dr.", "0241 4460-123"], [*VALID_ROWS[1], "", ""],
            [*VALID_ROWS[2], "herr", "+49 241 4460-0"]]
    records, problems = parse(rows, catalogs, header=CONTACT_DETAILS_HEADER)
    assert problems == []
    assert [(c.name, c.salutation, c.phone) for c in records[0].contacts] == [
        ("Anna Schmitz", "Frau Dr.", "0241 4460-123"), ("Ben Berg", "", ""), ("Carla Chef", "herr", "+49 241 4460-0")]


def test_a_file_without_salutation_and_phone_still_imports_and_leaves_them_open(catalogs: Catalogs) -> None:
    records, problems = parse(VALID_ROWS, catalogs)
    assert problems == []
    # None: the file says nothing about them (a re-import keeps what an earlier file gave).
    assert {(c.salutation, c.phone) for r in records for c in r.contacts} == {(None, None)}


def test_a_phone_number_that_lost_its_leading_zero_is_refused_with_the_reason(catalogs: Catalogs) -> None:
    rows = [[*VALID_ROWS[0], "Frau", "2414460123"], [*VALID_ROWS[1], "", "unbekannt"]]
    _, problems = parse(rows, catalogs, header=CONTACT_DETAILS_HEADER)
    assert [(p.cell, p.column) for p in problems] == [("J2", "Telefon"), ("J3", "Telefon")]
    assert "beginnt nicht mit 0 oder +; vermutlich hat das Tabellenprogramm die führende Null entfernt" in (
        problems[0].message)
    assert problems[1].message.startswith("Zeile 3, Telefon: „unbekannt“ ist keine Telefonnummer.")


def test_salutation_and_phone_columns_have_the_usual_spellings(catalogs: Catalogs) -> None:
    header = [*INSTITUTION_HEADER[:6], "Anrede", *INSTITUTION_HEADER[6:], "Tel."]
    rows = [[*VALID_ROWS[0][:6], "Herr", *VALID_ROWS[0][6:], "(0241) 4460-0"]]
    records, problems = parse(rows, catalogs, header=header)
    assert problems == [] and (records[0].contacts[0].salutation, records[0].contacts[0].phone) == (
        "Herr", "(0241) 4460-0")
