"""The ministry's roll-up on the state demo (Aachen and five further regions): the files the ministry reads, the
command line's refusals, and the staff area, where only the state's account sees it."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from openpyxl import load_workbook

from portal.app import create_app
from portal.regions import create_site
from tests.support.portal import Clock, csrf_of
from tests.support.smtp import free_port
from usecases.context import AppContext
from usecases.rollup import write_rollup
from usecases.settings import Settings
from usecases.setup import init_database
from usecases.staff import add_staff
from usecases.state_demo import load_state_demo

PASSWORD = "lange-geheime-Phrase-2026"  # noqa: S105 (test accounts on a throwaway database)
TODAY = dt.date(2026, 11, 30)


@pytest.fixture
def state(tmp_path: Path, database_url: str):  # type: ignore[no-untyped-def]
    """Aachen's demo and the state demo's regions (round 2026), on SQLite or PostgreSQL."""
    ctx = AppContext.from_settings(Settings(data_dir=tmp_path / "var", database_url=database_url,
                                            base_url="http://127.0.0.1:1", allow_local_links=True))
    init_database(ctx, demo=True)
    load_state_demo(ctx, year=2026)
    yield ctx
    ctx.close()


def overview_rows(path: Path) -> dict[str, tuple[object, ...]]:
    book = load_workbook(path)
    return {str(row[0]): row[1:] for row in book["Übersicht"].iter_rows(min_row=5, values_only=True) if row[0]}


def test_rollup_files_show_every_region_its_clusters_and_what_is_not_mapped(state: AppContext, tmp_path: Path,
                                                                            database_url: str) -> None:
    pdf = database_url.startswith("sqlite") and shutil.which("chromium") is not None
    result = write_rollup(state, year=2026, out_dir=tmp_path / "land", pdf=pdf, today=TODAY)
    names = sorted(p.name for p in (tmp_path / "land").iterdir())
    assert names == sorted(["Landesuebersicht-2026.xlsx", "Landesuebersicht-2026.html"]
                           + (["Landesuebersicht-2026.pdf"] if pdf else []))  # no staging folder left behind

    rows = overview_rows(tmp_path / "land" / "Landesuebersicht-2026.xlsx")
    # Köln: 14 activities in 2026, 2 of them ended in the round (12 running), 2 new; 4 of 5 answered.
    assert rows["Region Köln"][:8] == ("2026", dt.datetime(2026, 11, 20), 12, 2, 2, 5, 4, 0.8)
    assert rows["Region Aachen"][:3] == ("2025", dt.datetime(2025, 3, 31), 75)  # no round in 2026: no rate
    assert rows["Region Aachen"][3:] == (None, None, None, None, None)
    assert rows["Bergisches Städtedreieck"][:1] == ("keine",) and rows["Bergisches Städtedreieck"][5:7] == (3, 1)
    assert rows["NRW gesamt"][2] == sum(r[2] for name, r in rows.items() if name != "NRW gesamt" and r[2])

    book = load_workbook(tmp_path / "land" / "Landesuebersicht-2026.xlsx")
    clusters = {row[0]: row for row in book["Cluster"].iter_rows(min_row=4, values_only=True)}
    muenster = clusters["Cluster"].index("Münsterland")
    assert clusters["nicht zugeordnet"][muenster] == 3  # "Mobilität im ländlichen Raum": counted, not dropped
    assert clusters["Berufliche Orientierung und Ausbildung"][clusters["Cluster"].index(
        "Region Düsseldorf/Kreis Mettmann")] == 1  # written "Schule-Beruf" there, mapped all the same
    assert all(sheet._charts for sheet in (book["Übersicht"], book["Cluster"]))

    html = (tmp_path / "land" / "Landesuebersicht-2026.html").read_text(encoding="utf-8")
    assert "Münsterland: Handlungsfeld „Mobilität im ländlichen Raum“ (3 Aktivitäten) steht nicht in der " \
           "Zuordnungstabelle" in html
    assert "Ohne veröffentlichte Version bis 2026:</strong> Bergisches Städtedreieck" in html
    assert result.rollup.to_json()["totals"]["asked"] == 21
    if pdf:
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "land" / "Landesuebersicht-2026.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        assert "Landesübersicht 2026" in text and "Mobilität im ländlichen Raum" in text and "Region Köln" in text
        info = subprocess.run(["pdfinfo", str(tmp_path / "land" / "Landesuebersicht-2026.pdf")],
                              capture_output=True, text=True, check=True).stdout
        assert "Tagged:          yes" in info


def test_rollup_command_writes_the_files_and_refuses_mistakes_in_one_german_line(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("demo", "--state").exit_code == 0
    done = run_fko("rollup", "--year", "2026", "--out", "land", "--no-pdf")
    assert done.exit_code == 0, done.stderr
    assert "6 Regionen" not in done.stdout and "5 Regionen mit veröffentlichter Version" in done.stdout
    assert "Ohne veröffentlichte Version: Bergisches Städtedreieck." in done.stdout
    assert "Hinweis: Münsterland: Handlungsfeld „Mobilität im ländlichen Raum“" in done.stderr
    assert (tmp_path / "land" / "Landesuebersicht-2026.xlsx").is_file()

    figures = run_fko("rollup", "--year", "2026", "--json")
    assert figures.exit_code == 0
    data = json.loads(figures.stdout)
    assert {r["code"] for r in data["regions"]} == {"aachen", "koeln", "duesseldorf-mettmann", "emscher-lippe",
                                                     "muensterland"}
    assert data["without_version"][0]["code"] == "bergisches-staedtedreieck"
    assert data["unmapped"] == [{"region": "muensterland", "field_of_action": "Mobilität im ländlichen Raum",
                                 "activities": 3}]

    (tmp_path / "eine-datei").write_text("x")
    for args, says in ((["--year", "2010", "--out", "leer"], "Für 2010 gibt es in keiner Region"),
                       (["--year", "20266", "--out", "leer"], "20266 ist kein Jahr"),
                       (["--year", "2026", "--out", "eine-datei/land", "--no-pdf"], "kann nicht geschrieben werden"),
                       (["--year", "2026"], "Bitte --out ORDNER angeben")):
        refused = run_fko("rollup", *args)
        assert refused.exit_code == 2, refused
        assert says in refused.stderr and "Traceback" not in refused.stderr and refused.stderr.count("\n") == 1
    assert not (tmp_path / "leer").exists()

    added = run_fko("--region", "aachen", "staff", "add", "Land NRW", "--email", "land@mags.example.org",
                    "--role", "state", "--link")
    assert added.exit_code == 0 and "Landesübersicht" in added.stdout
    assert "Land NRW <land@mags.example.org>: wartet auf das Festlegen des Passworts, Land (Landesübersicht)" in \
        run_fko("--region", "aachen", "staff", "list").stdout
    wrong = run_fko("--region", "aachen", "staff", "add", "X", "--email", "x@example.org", "--role", "chef", "--link")
    assert wrong.exit_code == 2 and "Unbekannte Rolle „chef“" in wrong.stderr


def served_site(ctx: AppContext, clock: Clock) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Every region's page and staff area, as `fko portal` serves them (/aachen/intern/, /koeln/intern/, …)."""
    port = free_port()
    site = create_site(ctx, functools.partial(create_app, clock=clock, send_mail=False))
    server = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=port, access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the page did not start"
        time.sleep(0.05)
    return server, thread, f"http://127.0.0.1:{port}"


def signed_in(url: str, name: str) -> httpx.Client:
    client = httpx.Client(base_url=url, follow_redirects=False, timeout=60)
    form = client.get("/aachen/intern/anmelden")
    answer = client.post("/aachen/intern/anmelden", data={"csrf": csrf_of(form.text), "name": name,
                                                          "passwort": PASSWORD})
    assert answer.status_code == 303, answer.text[:300]
    return client


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_state_area_shows_the_rollup_to_the_state_account_only(state: AppContext) -> None:
    now = dt.datetime(2026, 11, 30, 9, tzinfo=dt.UTC)
    aachen = state.for_region(_region(state, "aachen"), several=True)
    add_staff(aachen, name="Petra Beispiel", email="petra@aachen.example.org", password=PASSWORD, now=now)
    add_staff(aachen, name="Land NRW", email="land@mags.example.org", password=PASSWORD, now=now, role="state")
    server, thread, url = served_site(state, Clock(now))
    try:
        with contextlib.closing(signed_in(url, "Petra Beispiel")) as region_staff:
            refused = region_staff.get("/aachen/intern/land/")
            assert refused.status_code == 403 and "nur Konten des Landes" in refused.text
            assert "Münsterland" not in refused.text and "Region Köln" not in refused.text
            assert region_staff.get("/aachen/intern/land/Landesuebersicht-2026.xlsx").status_code == 403
            assert "/intern/land/" not in region_staff.get("/aachen/intern/").text  # not in the region's menu
        with contextlib.closing(signed_in(url, "Land NRW")) as ministry:
            page = ministry.get("/aachen/intern/land/?jahr=2026")
            assert page.status_code == 200
            for name in ("Region Köln", "Münsterland", "Emscher-Lippe", "Region Düsseldorf/Kreis Mettmann",
                         "Bergisches Städtedreieck", "Mobilität im ländlichen Raum"):
                assert name in page.text
            workbook = ministry.get("/aachen/intern/land/Landesuebersicht-2026.xlsx")
            assert workbook.status_code == 200 and "attachment" in workbook.headers["content-disposition"]
            assert load_workbook(io.BytesIO(workbook.content))["Übersicht"]["A1"].value.startswith("Landesübersicht")
            assert ministry.get("/aachen/intern/land/Landesuebersicht-2026.exe").status_code == 404
            empty = ministry.get("/aachen/intern/land/?jahr=2010")
            assert "Für 2010 gibt es in keiner Region" in empty.text
            # The region's own pages are not the ministry's: it is sent to the roll-up.
            assert ministry.get("/aachen/intern/").headers["location"] == "/aachen/intern/land/"
            assert ministry.get("/aachen/intern/dokumente/").headers["location"] == "/aachen/intern/land/"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def _region(ctx: AppContext, code: str):  # type: ignore[no-untyped-def]
    from storage.database import session_scope
    from storage.regions import get_region

    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=code)
        session.expunge(region)
        return region
