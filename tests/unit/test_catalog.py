from __future__ import annotations

import pytest

from core.catalog import CatalogError, parse_catalogs
from storage.template_folder import load_catalogs
from usecases.settings import BUNDLED_TEMPLATES


def test_bundled_catalogs_hold_design_values() -> None:
    catalogs = load_catalogs(BUNDLED_TEMPLATES)
    assert catalogs.statuses == ("bestehend", "geplant", "abgeschlossen", "entfällt")
    assert set(catalogs.ending_statuses) == {"abgeschlossen", "entfällt"}
    assert catalogs.areas == ("Stadt Aachen", "StädteRegion Aachen", "Kreis Düren", "Kreis Euskirchen",
                              "Kreis Heinsberg", "gesamte Region")
    assert len(catalogs.fields_of_action) >= 5
    # "Ausbildung" is the invalid value the demo and the browser tests type into a sheet: it must stay invalid.
    assert "Ausbildung" not in catalogs.fields_of_action


@pytest.mark.parametrize(("text", "role"), [("Hauptansprechperson", "primary"), ("  vertretung ", "deputy"),
                                            ("LEITUNG", "head"), ("head", "head"), ("Chef", None)])
def test_role_labels_and_aliases_are_understood(text: str, role: str | None) -> None:
    assert load_catalogs(BUNDLED_TEMPLATES).role_for(text) == role


def test_broken_catalog_names_the_entry() -> None:
    text = (BUNDLED_TEMPLATES / "catalogs.toml").read_text(encoding="utf-8").replace(
        'ending_statuses = ["abgeschlossen", "entfällt"]', 'ending_statuses = ["vorbei"]')
    with pytest.raises(CatalogError, match="ending status"):
        parse_catalogs(text)


def test_catalog_with_duplicate_value_is_refused() -> None:
    text = (BUNDLED_TEMPLATES / "catalogs.toml").read_text(encoding="utf-8").replace(
        '"Kreis Heinsberg",\n  "gesamte Region"', '"Kreis Heinsberg",\n  "Kreis Heinsberg"')
    with pytest.raises(CatalogError, match="areas"):
        parse_catalogs(text)
