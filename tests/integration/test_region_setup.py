"""`fko init --region-file`: the region as the agency writes it, changed later, written wrong, or another one."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest

from tests.support.factories import VALID_ROWS, institutions_xlsx
from tests.support.portal import PortalProcess
from tests.support.smtp import free_port

REGION = """
[region]
code = "koeln"
name = "Region Köln"
logo = "logo.svg"

[agency]
name = "Regionalagentur Region Köln"
email = "fachkraefte@regionalagentur-koeln.example.org"
phone = "0221 12345-0"
"""
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">'
       b'<rect width="40" height="20" fill="#1F4E79"/></svg>')


@pytest.fixture
def region_file(tmp_path: Path) -> Path:
    (tmp_path / "logo.svg").write_bytes(SVG)
    path = tmp_path / "region.toml"
    path.write_text(REGION, encoding="utf-8")
    return path


def region_row(tmp_path: Path) -> tuple[str, str, str, str, str, bytes | None]:
    with sqlite3.connect(tmp_path / "var" / "fko.db") as connection:
        return connection.execute("select code, name, agency_phone, holiday_state, funding_line, logo "
                                  "from region").fetchone()


def test_region_file_creates_the_region_with_defaults_and_logo(run_fko, region_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("init", "--region-file", str(region_file))
    assert result.exit_code == 0, result.stderr
    assert "Datenbank für Region Köln angelegt" in result.stdout
    code, name, phone, holidays, funding, logo = region_row(tmp_path)
    assert (code, name, phone, holidays) == ("koeln", "Region Köln", "0221 12345-0", "NW")
    assert funding == "Mit finanzieller Unterstützung des Landes Nordrhein-Westfalen und der Europäischen Union."
    assert logo == SVG


def test_rerun_with_a_changed_file_lists_what_changed(run_fko, region_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--region-file", str(region_file)).exit_code == 0
    unchanged = run_fko("init", "--region-file", str(region_file))
    assert unchanged.exit_code == 0 and "keine Änderungen" in unchanged.stdout
    region_file.write_text(REGION.replace("0221 12345-0", "0221 777")
                           .replace('logo = "logo.svg"', 'holidays = "BY"\nfunding_line = "Gefördert vom Land."'),
                           encoding="utf-8")
    result = run_fko("init", "--region-file", str(region_file))
    assert result.exit_code == 0, result.stderr
    assert "Telefon: „0221 12345-0“ → „0221 777“" in result.stdout
    assert "Feiertage (Bundesland): „NW“ → „BY“" in result.stdout
    assert "Förderhinweis:" in result.stdout and "→ „Gefördert vom Land.“" in result.stdout
    assert "Logo: „vorhanden“ → „keines“" in result.stdout
    assert region_row(tmp_path)[2:5] == ("0221 777", "BY", "Gefördert vom Land.")


@pytest.mark.parametrize(("edit", "says"), [
    (lambda t: t.replace('code = "koeln"', 'code = "Köln!"'), "region.code: „Köln!“ ist kein gültiges Kürzel"),
    (lambda t: t.replace("[agency]", "[agency]\nmail = \"x@example.org\""), "agency.mail: unbekannter Eintrag"),
    (lambda t: t.replace('name = "Region Köln"\n', ""), "region.name: fehlt (Pflichtangabe)"),
    (lambda t: t.replace('email = "fachkraefte@regionalagentur-koeln.example.org"', 'email = "fachkraefte"'),
     "agency.email: „fachkraefte“ ist keine E-Mail-Adresse"),
    (lambda t: t.replace('[region]', '[region]\nholidays = "XY"'), "region.holidays: „XY“ ist kein Kürzel eines"),
    (lambda t: t.replace('logo = "logo.svg"', 'logo = "fehlt.png"'), "fehlt.png kann nicht gelesen werden "
                                                                      "(nicht gefunden)"),
    (lambda t: t.replace('logo = "logo.svg"', 'logo = "region.toml"'), "ist weder PNG noch SVG"),
    (lambda t: t.replace('name = "Region Köln"', "name = Region Köln"), "Zeile 4, Spalte 8: kein gültiges TOML"),
    (lambda t: t + '[concept]\nhorizon = "2027"\n', "concept.horizon: muss eine Jahreszahl ohne Anführungszeichen"),
    (lambda t: t + "[concept]\nsheet_max_year = 1970\n", "concept.sheet_max_year: 1970 ist keine plausible Jahreszahl"),
    (lambda t: t.replace('logo = "logo.svg"', 'logo = "logo.svg"\ntemplates = "vorlagen"'),
     "ist kein Vorlagenordner (catalogs.toml fehlt)"),
    (lambda t: t.replace('logo = "logo.svg"', 'logo = "logo.svg"\nbase_url = "fko.example.org/koeln"'),
     "region.base_url: „fko.example.org/koeln“ ist keine Adresse der Form https://host/pfad."),
])
def test_a_bad_region_file_is_refused_with_key_and_reason_and_nothing_stored(  # type: ignore[no-untyped-def]
        run_fko, region_file: Path, tmp_path: Path, edit, says: str) -> None:
    region_file.write_text(edit(REGION), encoding="utf-8")
    result = run_fko("init", "--region-file", str(region_file))
    assert result.exit_code == 1
    assert says in result.stderr and "Nichts geändert." in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "var" / "fko.db").exists()


def test_a_second_region_file_adds_the_region_beside_the_first(run_fko, region_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    result = run_fko("init", "--region-file", str(region_file))
    assert result.exit_code == 0, result.stderr
    assert "Region Köln (koeln)" in result.stdout and "hinzugefügt" in result.stdout
    assert "2 Regionen: aachen, koeln" in result.stdout and "--region" in result.stdout
    unnamed = run_fko("institutions", "list")
    assert unnamed.exit_code == 2
    assert "mehrere Regionen (aachen, koeln)" in unnamed.stderr and "--region CODE" in unnamed.stderr
    aachen = run_fko("--region", "aachen", "institutions", "list")
    assert aachen.exit_code == 0 and "Agentur für Arbeit" in aachen.stdout
    koeln = run_fko("--region", "koeln", "institutions", "list")
    assert koeln.exit_code == 0 and "Agentur für Arbeit" not in koeln.stdout
    unknown = run_fko("--region", "bonn", "institutions", "list")
    assert unknown.exit_code == 2 and "keine Region 'bonn'" in unknown.stderr and "aachen, koeln" in unknown.stderr


def test_a_region_the_agency_chose_is_never_replaced_by_the_next_file(  # type: ignore[no-untyped-def]
        run_fko, region_file: Path, tmp_path: Path) -> None:
    own = tmp_path / "own" / "region.toml"
    own.parent.mkdir()
    own.write_text(REGION.replace('"koeln"', '"bonn"').replace("Köln", "Bonn").replace('logo = "logo.svg"\n', ""),
                   encoding="utf-8")
    assert run_fko("init", "--region-file", str(own)).exit_code == 0
    result = run_fko("init", "--region-file", str(region_file))
    assert result.exit_code == 0, result.stderr
    assert "2 Regionen: bonn, koeln" in result.stdout
    with sqlite3.connect(tmp_path / "var" / "fko.db") as connection:
        assert sorted(row[0] for row in connection.execute("select code from region")) == ["bonn", "koeln"]


def test_the_example_region_of_a_plain_init_is_replaced_while_it_holds_no_data(  # type: ignore[no-untyped-def]
        run_fko, region_file: Path, tmp_path: Path) -> None:
    plain = run_fko("init")
    assert "Beispiel-Region Region Aachen" in plain.stdout and "--region-file" in plain.stdout
    result = run_fko("init", "--region-file", str(region_file))
    assert result.exit_code == 0, result.stderr
    assert "Kürzel der Region: „aachen“ → „koeln“" in result.stdout
    assert region_row(tmp_path)[:2] == ("koeln", "Region Köln")
    (tmp_path / "i.xlsx").write_bytes(institutions_xlsx(VALID_ROWS))
    assert run_fko("institutions", "import", str(tmp_path / "i.xlsx")).exit_code == 0
    assert "Region Köln" in run_fko("institutions", "list").stdout
    again = run_fko("init")  # an upgrade later: the agency's own region stays
    assert again.exit_code == 0 and "Datenbank für Region Köln ist bereits eingerichtet" in again.stdout


def test_the_page_shows_the_logo_and_funding_line(run_fko, region_file: Path, fko_env: dict[str, str],  # type: ignore[no-untyped-def]
                                                  tmp_path: Path) -> None:
    assert run_fko("init", "--region-file", str(region_file)).exit_code == 0
    page = PortalProcess(fko_env, free_port(), tmp_path / "portal.log").start()
    try:
        base = page.url
        home = httpx.get(base + "/")
        assert '<img class="logo" src="/logo" alt="Logo Regionalagentur Region Köln">' in home.text
        assert "Mit finanzieller Unterstützung des Landes Nordrhein-Westfalen" in home.text
        logo = httpx.get(base + "/logo")
        assert logo.status_code == 200 and logo.headers["content-type"] == "image/svg+xml"
        assert logo.content == SVG
    finally:
        page.stop()


def test_the_same_keys_through_an_own_templates_folder(run_fko, fko_env: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    templates = tmp_path / "vorlagen"
    shutil.copytree(Path(__file__).resolve().parents[2] / "survey_templates", templates)
    (templates / "region.toml").write_text(REGION.replace('logo = "logo.svg"\n', ""), encoding="utf-8")
    env = {**fko_env, "FKO_TEMPLATES_DIR": str(templates)}
    created = run_fko("init", env=env)
    assert created.exit_code == 0 and "Datenbank für Region Köln angelegt" in created.stdout
    (templates / "region.toml").write_text(REGION.replace('logo = "logo.svg"\n', "")
                                           .replace("0221 12345-0", "0221 888"), encoding="utf-8")
    updated = run_fko("init", env=env)
    assert updated.exit_code == 0 and "Telefon: „0221 12345-0“ → „0221 888“" in updated.stdout


def test_the_regions_holiday_calendar_is_the_one_its_deadlines_are_checked_with(run_fko, region_file: Path,  # type: ignore[no-untyped-def]
                                                                                tmp_path: Path) -> None:
    import datetime as dt

    from core.dates import BERLIN

    today = dt.datetime.now(BERLIN).date()
    epiphany = next(day for day in (dt.date(year, 1, 6) for year in range(today.year, today.year + 3))
                    if day.weekday() < 5 and (day - today).days >= 14)  # a holiday in Bavaria, not in NRW
    region_file.write_text(REGION.replace('logo = "logo.svg"', 'holidays = "BY"'), encoding="utf-8")
    assert run_fko("init", "--region-file", str(region_file)).exit_code == 0
    (tmp_path / "i.xlsx").write_bytes(institutions_xlsx(VALID_ROWS))
    assert run_fko("institutions", "import", str(tmp_path / "i.xlsx")).exit_code == 0
    args = ("cycle", "open", "--year", str(epiphany.year), "--deadline", f"{epiphany:%d.%m.%Y}", "--force")
    bavarian = run_fko(*args)
    assert bavarian.exit_code == 2 and f"der {epiphany:%d.%m.%Y} ist ein Feiertag" in bavarian.stderr
    region_file.write_text(REGION.replace('logo = "logo.svg"', 'holidays = "NW"'), encoding="utf-8")
    assert run_fko("init", "--region-file", str(region_file)).exit_code == 0
    assert run_fko(*args).exit_code == 0  # in NRW it is a working day
