"""region.toml: the region, its agency and whose public holidays count."""

from __future__ import annotations

import pytest

from core.region import RegionConfigError, parse_region, profile_changes

BASE = '[region]\ncode = "aachen"\nname = "Region Aachen"\n{extra}[agency]\nname = "RA"\nemail = "ra@example.org"\n'


def test_holidays_default_to_nrw_and_follow_the_region_file() -> None:
    assert parse_region(BASE.format(extra="")).holiday_state == "NW"
    assert parse_region(BASE.format(extra='holidays = "by"\n')).holiday_state == "BY"


def test_an_unknown_state_is_refused_with_the_key() -> None:
    with pytest.raises(RegionConfigError, match=r"region\.holidays"):
        parse_region(BASE.format(extra='holidays = "XX"\n'))


def test_concept_years_are_optional_and_read_as_numbers() -> None:
    unset = parse_region(BASE.format(extra=""))
    assert (unset.concept_horizon, unset.sheet_max_year) == (None, None)
    both = parse_region(BASE.format(extra="") + "[concept]\nhorizon = 2027\nsheet_max_year = 2030\n")
    assert (both.concept_horizon, both.sheet_max_year) == (2027, 2030)


@pytest.mark.parametrize(("concept", "says"), [
    ('horizon = "2027"', r"^region\.toml: concept\.horizon: muss eine Jahreszahl ohne Anführungszeichen sein"),
    ("horizon = 27", r"^region\.toml: concept\.horizon: 27 ist keine plausible Jahreszahl \(erlaubt: 2000 bis 2100\)"),
    ("sheet_max_year = 20300", r"^region\.toml: concept\.sheet_max_year: 20300 ist keine plausible Jahreszahl"),
    ("horizon = 2030\nsheet_max_year = 2028", r"^region\.toml: concept\.sheet_max_year: 2028 liegt vor dem letzten "
                                              r"Jahr des Handlungskonzepts \(concept\.horizon = 2030\)"),
    ("max_year = 2030", r"^region\.toml: concept\.max_year: unbekannter Eintrag; erlaubt sind horizon, "
                        r"sheet_max_year\."),
])
def test_wrong_concept_years_are_refused_with_file_and_key(concept: str, says: str) -> None:
    with pytest.raises(RegionConfigError, match=says):
        parse_region(BASE.format(extra="") + f"[concept]\n{concept}\n")


def test_changed_years_are_listed_with_what_unset_means() -> None:
    old = parse_region(BASE.format(extra=""))
    new = parse_region(BASE.format(extra="") + "[concept]\nhorizon = 2027\n")
    assert profile_changes(old, new) == [
        ("Handlungskonzept plant bis (Jahr)", "nicht gesetzt (Jahr der Abfrage + 3)", "2027")]
    assert profile_changes(new, old) == [
        ("Handlungskonzept plant bis (Jahr)", "2027", "nicht gesetzt (Jahr der Abfrage + 3)")]


@pytest.mark.parametrize("code", ["intern", "r", "static"])
def test_a_code_the_page_needs_itself_is_refused(code: str) -> None:
    with pytest.raises(RegionConfigError, match=rf"region\.code: „{code}“ ist als Kürzel nicht möglich"):
        parse_region(BASE.format(extra="").replace('"aachen"', f'"{code}"'))


def test_templates_folder_and_page_address_are_read_and_the_address_checked() -> None:
    profile = parse_region(BASE.format(extra='templates = "vorlagen"\nbase_url = "https://fko.example.org/koeln/"\n'))
    assert (profile.templates, profile.base_url) == ("vorlagen", "https://fko.example.org/koeln")
    with pytest.raises(RegionConfigError, match=r"region\.base_url"):
        parse_region(BASE.format(extra='base_url = "fko.example.org"\n'))
