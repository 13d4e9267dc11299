"""The sheet's years are the region's (issue 24, part 5): next year's round takes a year after the concept's
horizon with a notice, shown where staff and institutions see the result, and refuses only beyond the latest
year, naming the real range."""

from __future__ import annotations

import email
import email.policy
import json
import sqlite3
import time
from pathlib import Path

from tests.support.factories import edit_sheet
from tests.support.portal import client, csrf_of, main_text
from usecases.settings import BUNDLED_TEMPLATES

NOTICE_G5 = ("Zeile 5, Ende: 2028 liegt nach dem Zeitraum des Handlungskonzepts (bis 2027). Bitte prüfen; die "
             "Angabe wird übernommen.")


def flat(text: str) -> str:
    return " ".join(text.split())


def region_file(folder: Path, concept: str) -> Path:
    """The bundled example region (the demo's) with the agency's [concept] years."""
    path = folder / "region.toml"
    text = (BUNDLED_TEMPLATES / "region.toml").read_text(encoding="utf-8")
    path.write_text(text.replace("[concept]\n", f"[concept]\n{concept}\n"), encoding="utf-8")
    return path


def next_round(run_fko, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """The demo region, whose concept plans until 2027, in its round of 2027; IHK's sheet built."""
    assert run_fko("init", "--demo").exit_code == 0
    changed = run_fko("init", "--region-file", str(region_file(tmp_path, "horizon = 2027")))
    assert changed.exit_code == 0, changed.stderr
    assert "Handlungskonzept plant bis (Jahr): „nicht gesetzt (Jahr der Abfrage + 3)“ → „2027“" in changed.stdout
    opened = run_fko("cycle", "open", "--year", "2027", "--deadline", "15.10.2027", "--no-send")
    assert opened.exit_code == 0, opened.stderr
    built = run_fko("sheet", "build", "-i", "IHK", "-o", str(tmp_path), "--year", "2027")
    assert built.exit_code == 0, built.stderr
    return tmp_path / "Abfrage-2027-aachen-IHK.xlsx"


def receipts(tmp_path: Path) -> list[str]:
    """The plain text of every receipt in the .eml sink."""
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                for p in sorted((tmp_path / "var" / "mail").glob("*.eml"))]
    return [m.get_body(("plain",)).get_content() for m in messages  # type: ignore[union-attr]
            if "Eingangsbestätigung" in str(m["Subject"])]


def test_sheet_years_next_round_takes_a_year_after_the_horizon_with_a_notice(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheet = next_round(run_fko, tmp_path)
    sheet.write_bytes(edit_sheet(sheet.read_bytes(), {"G5": 2028}))

    checked = run_fko("sheet", "check", str(sheet), "--year", "2027", "--json")
    assert checked.exit_code == 0, checked.stdout
    report = json.loads(checked.stdout)
    assert (report["ok"], report["problems"]) == (True, [])
    assert report["notices"] == [{"cell": "G5", "column": "Ende", "message": NOTICE_G5}]

    ingested = run_fko("ingest", str(sheet), "--year", "2027", "--notify")
    assert ingested.exit_code == 0, ingested.stderr
    out = flat(ingested.stdout)
    assert f"Angenommen: {sheet.name} für IHK" in out
    assert f"Bitte prüfen (1 Hinweis; die Angaben werden übernommen): • G5 {NOTICE_G5}" in out
    (receipt,) = receipts(tmp_path)
    assert f"[G5] {NOTICE_G5}" in flat(receipt)

    status = json.loads(run_fko("cycle", "status", "--year", "2027", "--json").stdout)
    assert {r["code"]: r["answer"] for r in status["institutions"]}["IHK"] == "accepted"


def test_sheet_years_a_year_after_the_latest_is_refused_with_the_range(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sheet = next_round(run_fko, tmp_path)
    sheet.write_bytes(edit_sheet(sheet.read_bytes(), {"G5": 2033, "G6": 2032}))
    ingested = run_fko("ingest", str(sheet), "--year", "2027", "--json")
    assert ingested.exit_code == 1
    report = json.loads(ingested.stdout)
    assert report["problems"] == [{"cell": "G5", "column": "Ende", "message": "Zeile 5, Ende: 2033 liegt außerhalb "
                                   "der zulässigen Jahre (2000 bis 2032). Bitte die Jahreszahl prüfen."}]

    # The agency widens the range: the same file is taken, both years with a notice.
    widened = run_fko("init", "--region-file", str(region_file(tmp_path, "horizon = 2027\nsheet_max_year = 2035")))
    assert "Spätestes Jahr in der Tabelle: „nicht gesetzt (Handlungskonzept + 5)“ → „2035“" in widened.stdout
    again = run_fko("ingest", str(sheet), "--year", "2027", "--json")
    assert again.exit_code == 0, again.stdout
    assert [n["cell"] for n in json.loads(again.stdout)["notices"]] == ["G5", "G6"]


def test_sheet_years_a_wrong_setting_names_file_and_key(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    path = region_file(tmp_path, "horizon = 2030\nsheet_max_year = 2029")
    refused = run_fko("init", "--region-file", str(path))
    assert refused.exit_code == 1
    assert (f"{path}: concept.sheet_max_year: 2029 liegt vor dem letzten Jahr des Handlungskonzepts "
            "(concept.horizon = 2030)") in flat(refused.stderr)
    assert "Nichts geändert." in refused.stderr and "Traceback" not in refused.stderr
    with sqlite3.connect(tmp_path / "var" / "fko.db") as connection:
        assert connection.execute("select concept_horizon, sheet_max_year from region").fetchone() == (None, None)


def test_sheet_years_the_portal_receipt_shows_the_notice(portal, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from usecases.setup import init_database

    init_database(portal.ctx, region_file=region_file(tmp_path, "horizon = 2027"))
    link = portal.links["IHK"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        edited = edit_sheet(sheet, {"G5": 2028})
        response = http.post(f"{link}/hochladen", data={"csrf": csrf_of(http.get(link).text)},
                             files={"datei": ("Abfrage.xlsx", edited, "application/octet-stream")})
        assert response.status_code == 200
        text = main_text(response.text)
        # The receipt page can be opened again (its address stays in the browser's history).
        again = main_text(http.get(str(response.url)).text)
    assert "wurde angenommen" in text, text
    assert "Bitte prüfen Diese Angabe haben wir übernommen; bitte prüfen Sie sie." in text
    # under its row, named by the activity's title, as the problems of a refused sheet
    detail = NOTICE_G5.removeprefix("Zeile 5, Ende: ")
    notice = f"Zeile 5: „Teilqualifizierung „Eine TQ besser““ Zelle G5 (Ende): {detail}"
    assert notice in text
    assert notice in again
    deadline = time.monotonic() + 15
    while not portal.smtp.recorder.received and time.monotonic() < deadline:
        time.sleep(0.05)
    (receipt,) = portal.smtp.recorder.messages()
    assert f"[G5] {NOTICE_G5}" in flat(receipt.get_body(("plain",)).get_content())
    assert f"<strong>G5</strong>: {NOTICE_G5}" in receipt.get_body(("html",)).get_content()
