"""The institutions' page in a real headless Chromium (Debian's), as a contact person uses it.

Each page is checked with axe-core for serious or critical WCAG 2.1 AA problems (BITV 2.0), and
a screenshot of each is kept in the test's tmp dir.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.support.browser import CHROMIUM, FLAGS, axe_violations
from tests.support.factories import edit_sheet


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(accept_downloads=True, bypass_csp=True, locale="de-DE")
    page = context.new_page()
    yield page
    context.close()


def look(page: Page, shots: Path, name: str) -> str:
    """Screenshot, accessibility check; returns the visible text of <main>."""
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert axe_violations(page) == [], f"accessibility problems on {name}"
    return " ".join(page.inner_text("main").split())


def test_download_edit_upload_and_read_the_summary(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(portal.links["IHK"])
    text = look(page, tmp_path, "1-landing")
    assert page.title() == "Ihre Rückmeldung 2026 – Regionalagentur Region Aachen"
    assert "Abfrage 2026 für IHK Aachen · Frist: Donnerstag, 15. Oktober 2026" in text

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tabelle herunterladen (Excel)").click()
    download = download_info.value
    assert download.suggested_filename == "Abfrage-2026-aachen-IHK.xlsx"
    sheet = tmp_path / download.suggested_filename
    download.save_as(sheet)
    corrected = tmp_path / "korrigiert.xlsx"
    corrected.write_bytes(edit_sheet(sheet.read_bytes(), {
        "E2": "abgeschlossen", "B9": "Azubi-Werkstatt Energiewende", "D9": "Transformation und Digitalisierung "
        "der Arbeitswelt", "E9": "geplant", "F9": "01.02.2027"}))

    upload(page, corrected)
    text = look(page, tmp_path, "2-accepted")
    assert "Ihre Tabelle „korrigiert.xlsx“ ist am 01.09.2026 um 10:00 Uhr eingegangen und wurde angenommen." in text
    assert "neu 1 geändert 0 beendet 1 unverändert 5" in text
    assert "IHK-0007 · Azubi-Werkstatt Energiewende" in text
    assert "IHK-0001 · Ausbildungsbotschafterinnen und -botschafter (abgeschlossen)" in text

    page.get_by_role("link", name="zurück zur Übersicht").click()
    assert "eingegangen und wurde angenommen" in look(page, tmp_path, "3-landing-answered")


def upload(page: Page, path: Path) -> None:
    """Choose the file and send it, as a person would; wait for the answer page."""
    page.get_by_label("Datei auswählen").set_input_files(str(path))
    page.get_by_role("button", name="Hochladen und prüfen").click()
    page.wait_for_url("**/rueckmeldung/*")


def test_broken_sheet_shows_every_problem_and_the_form_again(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(portal.links["HWK"])
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tabelle herunterladen (Excel)").click()
    sheet = tmp_path / "hwk.xlsx"
    download_info.value.save_as(sheet)
    broken = tmp_path / "hwk-fehler.xlsx"
    broken.write_bytes(edit_sheet(sheet.read_bytes(), {"D2": "Ausbildung", "A3": "IHK-0001"}))
    upload(page, broken)
    text = look(page, tmp_path, "4-refused")
    assert "Ihre Tabelle „hwk-fehler.xlsx“ konnte noch nicht angenommen werden." in text
    assert "Zelle D2: Zeile 2, Handlungsfeld: „Ausbildung“ ist kein zulässiger Wert." in text
    assert "Zelle A3: Zeile 3, ID: Die ID „IHK-0001“ gehört zu keiner Aktivität Ihrer Institution." in text
    assert page.get_by_label("Datei auswählen").is_visible()


def test_no_changes_takes_one_click_on_the_page(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(portal.links["RWTH"])
    page.get_by_role("button", name="Keine Änderungen in diesem Jahr").click()
    page.wait_for_url("**/rueckmeldung/*")
    text = look(page, tmp_path, "5-no-changes")
    assert "bestätigt, dass sich die Aktivitäten von RWTH Aachen University in diesem Jahr nicht geändert haben" in text


def test_neutral_closed_and_home_pages(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{portal.url}/r/unbekannter-link-0000000000000000")
    assert "Dieser Link ist nicht (mehr) gültig." in look(page, tmp_path, "6-neutral")
    page.goto(portal.url)
    assert "persönlichen Link aus der E-Mail" in look(page, tmp_path, "7-home")
    portal.clock.now = dt.datetime(2026, 11, 6, 8, 0, tzinfo=dt.UTC)  # deadline + late period over
    page.goto(portal.links["IHK"])
    assert "ist am Donnerstag, 15. Oktober 2026 abgelaufen" in look(page, tmp_path, "8-closed")


def test_staff_area_in_chromium_signed_in_clicked_through(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Staff sign in, filter the round, open an institution, record an answer by phone, sign out; every page
    without JavaScript and without serious accessibility problems."""
    from usecases.staff import add_staff

    add_staff(portal.ctx, name="Petra Beispiel", email="petra@regionalagentur.example.org",
              password="lange-geheime-Phrase-2026", now=portal.clock.now)  # noqa: S106 (test account)
    page.goto(f"{portal.url}/intern/")
    assert page.url.endswith("/intern/anmelden")
    look(page, tmp_path, "intern-anmelden")
    page.fill("#name", "Petra Beispiel")
    page.fill("#passwort", "lange-geheime-Phrase-2026")
    page.click("button[type=submit]")
    text = look(page, tmp_path, "intern-uebersicht")
    assert "Abfrage 2026" in text and "Rückmeldungen: 0 von" in text
    page.click("text=ohne Rückmeldung")
    page.click("text=DGB NRW Region Süd-West")
    look(page, tmp_path, "intern-institution")
    page.click("text=Rückmeldung per Telefon: keine Änderungen")
    text = look(page, tmp_path, "intern-telefon")
    assert "Als Rückmeldung erfasst: keine Änderungen (per Telefon)." in text
    page.click("nav >> text=Dokumente")
    assert "Version 2025" in look(page, tmp_path, "intern-dokumente")
    page.click("text=Abmelden")
    page.wait_for_url("**/intern/anmelden")
    page.goto(f"{portal.url}/intern/")
    assert page.url.endswith("/intern/anmelden"), page.inner_text("main")[:300]
