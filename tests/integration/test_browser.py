"""The institutions' page in a real headless Chromium (Debian's), as a contact person uses it.

Each page is checked with axe-core for serious or critical WCAG 2.1 AA problems (BITV 2.0) at desktop and
phone width, must not scroll sideways on a phone, and a screenshot of each width is kept in the test's
tmp dir (``--basetemp`` keeps them where one can look at them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
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


WIDTHS = {"desktop": 1280, "phone": 390}


def look(page: Page, shots: Path, name: str, *, fits_phone: bool = True) -> str:
    """Screenshots at desktop and phone width, accessibility check at each, nothing wider than a phone's
    screen (``fits_phone``: the institutions' pages; the staff area's round table is wider, staff work at
    a desk); returns the visible text of <main>."""
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 844})
        page.screenshot(path=str(shots / f"{name}-{label}.png"), full_page=True)
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width or not fits_phone, f"{name} scrolls sideways ({label})"
        assert axe_violations(page) == [], f"accessibility problems on {name} ({label})"
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 844})
    return " ".join(page.inner_text("main").split())


def table_of(page: Page) -> tuple[str, list[str], list[list[str]]]:
    """The activity table as a screen reader announces it: caption, column headers, rows (header cell first)."""
    table = page.get_by_role("table")
    caption = " ".join(table.locator("caption").inner_text().split())
    headers = [" ".join(h.split()) for h in table.get_by_role("columnheader").all_inner_texts()]
    rows = [[" ".join(c.split()) for c in row.get_by_role("rowheader").all_inner_texts()
             + row.get_by_role("cell").all_inner_texts()] for row in table.locator("tbody").get_by_role("row").all()]
    return caption, headers, rows


IHK_TITLES = ["Ausbildungsbotschafterinnen und -botschafter", "Passgenaue Besetzung von Ausbildungsplätzen",
              "Anerkennungsberatung IHK FOSA", "Teilqualifizierung „Eine TQ besser“",
              "Nachhaltigkeits- und Energiescouts", "Azubi-Speed-Dating"]


def test_landing_lists_the_entries_and_says_what_no_changes_confirms(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(portal.links["IHK"])
    text = look(page, tmp_path, "1-landing")
    assert page.title() == "Ihre Rückmeldung 2026 – Regionalagentur Region Aachen"
    assert "Abfrage 2026 für IHK Aachen · Frist: Donnerstag, 15. Oktober 2026" in text
    caption, headers, rows = table_of(page)
    assert caption == "Die 6 Aktivitäten von IHK Aachen, Stand: Handlungskonzept 2025, veröffentlicht am 31.03.2025"
    assert headers == ["Titel", "Handlungsfeld", "Status", "Zeitraum"]
    assert [r[0] for r in rows] == IHK_TITLES
    assert rows[0] == ["Ausbildungsbotschafterinnen und -botschafter", "Berufsorientierung und Übergang Schule–Beruf",
                       "bestehend", "2016 – 2027"]
    # the one-click answer right under the table, saying what it confirms
    assert "Stimmt alles noch? Dann genügt ein Klick. Sie bestätigen diese 6 Aktivitäten für 2026." in text
    button = page.get_by_role("button", name="Keine Änderungen in diesem Jahr")
    assert button.get_attribute("aria-describedby") == "bestaetigung"
    assert page.locator("table + form").count() == 1


def test_download_edit_upload_and_read_the_summary(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(portal.links["IHK"])
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tabelle herunterladen (Excel)").click()
    download = download_info.value
    assert download.suggested_filename == "Abfrage-2026-aachen-IHK.xlsx"
    sheet = tmp_path / download.suggested_filename
    download.save_as(sheet)
    corrected = tmp_path / "korrigiert.xlsx"
    corrected.write_bytes(edit_sheet(sheet.read_bytes(), {
        "B2": "Ausbildungsbotschafter an Schulen", "E2": "geplant",  # changed: Titel, Status
        "G3": "2026",                                                # changed: Ende
        **{f"{c}4": None for c in "ABCDEFGHIJKLMNO"},                # row deleted, not marked „entfällt“
        "B9": "Azubi-Werkstatt Energiewende", "D9": "Transformation und Digitalisierung der Arbeitswelt",
        "E9": "geplant", "F9": "01.02.2027"}))

    upload(page, corrected)
    text = look(page, tmp_path, "2-accepted")
    assert "Ihre Tabelle „korrigiert.xlsx“ ist am 01.09.2026 um 10:00 Uhr eingegangen und wurde angenommen." in text
    summary = page.locator("ul.summary > li").all_inner_texts()
    assert [" ".join(line.split()) for line in summary] == [
        "2 geändert: „Ausbildungsbotschafter an Schulen“ (Titel, Status); "
        "„Passgenaue Besetzung von Ausbildungsplätzen“ (Ende)",
        "1 neu: „Azubi-Werkstatt Energiewende“ (neue ID IHK-0007)",
        "1 fehlt in Ihrer Tabelle und bleibt vorerst erhalten: „Anerkennungsberatung IHK FOSA“",
        "3 unverändert"]
    assert "Ende: „2027“ → „2026“" in text
    assert ("Bis zur Frist (Donnerstag, 15. Oktober 2026) können Sie jederzeit eine korrigierte Tabelle hochladen; "
            "sie ersetzt diese Rückmeldung.") in text
    assert ("Soll sie entfallen, laden Sie die Tabelle erneut herunter (sie steht dort wieder) und tragen Sie beim "
            "Status „entfällt“ ein.") in text
    with page.expect_download() as again:
        page.get_by_role("link", name="Tabelle mit Ihrem Stand herunterladen (Excel)").click()
    again.value.save_as(tmp_path / "wieder.xlsx")
    again_sheet = load_workbook(tmp_path / "wieder.xlsx")["Aktivitäten"]
    sheet_rows = again_sheet.iter_rows(min_row=2, max_col=2, values_only=True)
    assert [r for r in sheet_rows if r[0]] == [("IHK-0001", "Ausbildungsbotschafter an Schulen"),
                                               ("IHK-0002", IHK_TITLES[1]),
                                               ("IHK-0004", IHK_TITLES[3]), ("IHK-0005", IHK_TITLES[4]),
                                               ("IHK-0006", IHK_TITLES[5]),
                                               ("IHK-0007", "Azubi-Werkstatt Energiewende"),
                                               ("IHK-0003", IHK_TITLES[2])]  # the kept one, to be marked „entfällt“

    page.get_by_role("link", name="zurück zur Übersicht").click()
    text = look(page, tmp_path, "3-landing-answered")
    assert "eingegangen und wurde angenommen" in text
    caption, _, rows = table_of(page)
    assert caption == "Die 7 Aktivitäten von IHK Aachen, Stand: Ihre Rückmeldung vom 01.09.2026 um 10:00 Uhr"
    assert [r[0] for r in rows] == ["Ausbildungsbotschafter an Schulen", *IHK_TITLES[1:2], *IHK_TITLES[3:],
                                    "Azubi-Werkstatt Energiewende", "Anerkennungsberatung IHK FOSA"]
    assert rows[-1][2] == "bestehend (fehlt in Ihrer Tabelle, bleibt vorerst erhalten)"
    assert rows[-2][3] == "ab 01.02.2027"
    assert ("Das sind die Angaben aus Ihrer angenommenen Tabelle und die Aktivität, die darin fehlt und vorerst "
            "erhalten bleibt. Sie müssen nichts weiter tun.") in text
    assert page.get_by_role("button", name="Keine Änderungen in diesem Jahr").count() == 0


def upload(page: Page, path: Path) -> None:
    """Choose the file and send it, as a person would; wait for the answer page."""
    page.get_by_label("Datei auswählen").set_input_files(str(path))
    page.get_by_role("button", name="Hochladen und prüfen").click()
    page.wait_for_url("**/rueckmeldung/*")


def test_broken_sheet_lists_problems_by_row_named_by_title(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(portal.links["HWK"])
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tabelle herunterladen (Excel)").click()
    sheet = tmp_path / "hwk.xlsx"
    download_info.value.save_as(sheet)
    broken = tmp_path / "hwk-fehler.xlsx"
    broken.write_bytes(edit_sheet(sheet.read_bytes(), {"D2": "Ausbildung", "G2": "bald", "A3": "IHK-0001"}))
    upload(page, broken)
    text = look(page, tmp_path, "4-refused")
    assert ("Ihre Tabelle „hwk-fehler.xlsx“ konnte noch nicht angenommen werden. Bitte korrigieren Sie diese 3 Punkte "
            "in 2 Zeilen und laden Sie die Tabelle dann erneut hoch.") in text
    rows = page.get_by_role("heading", level=3).all_inner_texts()
    assert rows == ["Zeile 2: „Berufsorientierung im Handwerk (BOP-Werkstatttage)“",
                    "Zeile 3: „Meisterprämie und Gründungsberatung“"]
    problems = [" ".join(p.split()) for p in page.locator("ul.problems").all_inner_texts()]
    assert problems[0].startswith("Zelle D2 (Handlungsfeld): „Ausbildung“ ist kein zulässiger Wert. Zulässig sind:")
    assert "Zelle G2 (Ende): „bald“ ist kein gültiges Datum." in problems[0]
    assert problems[1] == ("Zelle A3 (ID): Die ID „IHK-0001“ gehört zu keiner Aktivität Ihrer Institution. Bitte die "
                           "ID nicht ändern; neue Aktivitäten ohne ID eintragen.")
    assert page.get_by_label("Datei auswählen").is_visible()


def test_another_institutions_sheet_gets_one_message(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(portal.links["HWK"])
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Tabelle herunterladen (Excel)").click()
    hwk_sheet = tmp_path / "Abfrage-2026-aachen-HWK.xlsx"
    download_info.value.save_as(hwk_sheet)

    page.goto(portal.links["IHK"])
    upload(page, hwk_sheet)
    text = look(page, tmp_path, "5-wrong-institution")
    assert page.get_by_role("heading", level=1).inner_text() == "Bitte die richtige Tabelle hochladen"
    alert = " ".join(page.get_by_role("alert").inner_text().split())
    assert alert == ("Ihre Datei „Abfrage-2026-aachen-HWK.xlsx“ konnte nicht angenommen werden: Die Datei gehört zu "
                     "einer anderen Institution (HWK). Bitte laden Sie Ihre eigene Tabelle über Ihren persönlichen "
                     "Link herunter, tragen Sie Ihre Angaben dort ein und laden Sie sie hoch.")
    assert "Zelle" not in text and "gehört zu keiner Aktivität" not in text  # nothing per row
    with page.expect_download() as own:
        page.get_by_role("link", name="Ihre Tabelle herunterladen (Excel)").click()
    assert own.value.suggested_filename == "Abfrage-2026-aachen-IHK.xlsx"
    assert page.get_by_label("Datei auswählen").is_visible()

    other = tmp_path / "Liste.xlsx"  # a spreadsheet, but none of ours
    workbook = Workbook()
    workbook.active.append(["Name", "Wert"])
    workbook.save(other)
    upload(page, other)
    text = look(page, tmp_path, "6-not-our-sheet")
    assert " ".join(page.get_by_role("alert").inner_text().split()).startswith(
        "Ihre Datei „Liste.xlsx“ konnte nicht angenommen werden: Die Datei ist nicht die persönliche Tabelle aus "
        "unserer Abfrage (das Blatt mit den Zuordnungsdaten fehlt).")
    assert "Kopfzeile" not in text and "Zelle" not in text


def test_no_changes_takes_one_click_without_javascript(portal, browser: Any, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Clicked in a browser with JavaScript off; the pages it led to are then looked at (axe needs JavaScript)."""
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    plain = context.new_page()
    try:
        plain.goto(portal.links["RWTH"])
        caption, _, rows = table_of(plain)
        assert caption.startswith(f"Die {len(rows)} Aktivitäten von RWTH Aachen University, Stand: Handlungskonzept")
        assert f"Sie bestätigen diese {len(rows)} Aktivitäten für 2026." in plain.inner_text("main")
        plain.get_by_role("button", name="Keine Änderungen in diesem Jahr").click()
        plain.wait_for_url("**/rueckmeldung/*")
        confirmed_url = plain.url
        plain.get_by_role("link", name="die Übersicht").click()
        plain.wait_for_url(portal.links["RWTH"])
        caption, _, _ = table_of(plain)
        assert "von Ihnen bestätigt am 01.09.2026 um 10:00 Uhr" in caption
    finally:
        context.close()
    page.goto(confirmed_url)
    text = look(page, tmp_path, "7-no-changes")
    assert "bestätigt, dass sich die Aktivitäten von RWTH Aachen University in diesem Jahr nicht geändert haben" in text
    page.goto(portal.links["RWTH"])
    text = look(page, tmp_path, "8-landing-confirmed")
    assert "Diese Angaben haben Sie bestätigt. Sie müssen nichts weiter tun." in text
    assert page.get_by_role("button", name="Keine Änderungen in diesem Jahr").count() == 0


def test_neutral_closed_and_home_pages(portal, page: Page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{portal.url}/r/unbekannter-link-0000000000000000")
    assert "Dieser Link ist nicht (mehr) gültig." in look(page, tmp_path, "9-neutral")
    page.goto(portal.url)
    assert "persönlichen Link aus der E-Mail" in look(page, tmp_path, "10-home")
    portal.clock.now = dt.datetime(2026, 11, 6, 8, 0, tzinfo=dt.UTC)  # deadline + late period over
    page.goto(portal.links["IHK"])
    assert "ist am Donnerstag, 15. Oktober 2026 abgelaufen" in look(page, tmp_path, "11-closed")


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
    text = look(page, tmp_path, "intern-uebersicht", fits_phone=False)
    assert "Abfrage 2026" in text and "Rückmeldungen: 0 von" in text
    page.click("text=ohne Rückmeldung")
    page.click("text=DGB NRW Region Süd-West")
    look(page, tmp_path, "intern-institution", fits_phone=False)
    page.click("text=Rückmeldung per Telefon: keine Änderungen")
    text = look(page, tmp_path, "intern-telefon", fits_phone=False)
    assert "Als Rückmeldung erfasst: keine Änderungen (per Telefon)." in text
    page.click("nav >> text=Dokumente")
    assert "Version 2025" in look(page, tmp_path, "intern-dokumente")
    page.click("text=Abmelden")
    page.wait_for_url("**/intern/anmelden")
    page.goto(f"{portal.url}/intern/")
    assert page.url.endswith("/intern/anmelden"), page.inner_text("main")[:300]
