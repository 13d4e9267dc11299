"""Several regions in one installation (DESIGN §12): three rounds opened at once, and nothing of one region in
another's mail, page, staff area or `--json` output."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.support.factories import VALID_ROWS, institutions_xlsx
from tests.support.portal import csrf_of
from tests.support.smtp import free_port

REGION = """
[region]
code = "{code}"
name = "Region {name}"
{extra}

[agency]
name = "Regionalagentur {name}"
email = "team@ra-{code}.example.org"
"""
# Each region's institutions write from their own domain, so every mail can be traced to its region.
NAMES = {"aachen": "Aachen", "koeln": "Köln", "bonn": "Bonn/Rhein-Sieg"}
AGENCIES = {"aachen": "Regionalagentur Region Aachen", "koeln": "Regionalagentur Köln",
            "bonn": "Regionalagentur Bonn/Rhein-Sieg"}


def rows_of(code: str) -> list[list[object]]:
    """The factory's institutions, named and addressed as this region's own (IHK Köln, kdn@koeln-…)."""
    return [[row[0], str(row[1]).replace("IHK Aachen", f"IHK {NAMES[code]}").replace("Kreis Düren", f"Kreis {code}"),
             *row[2:6], str(row[6]).replace("@", f"@{code}-"), row[7]] for row in VALID_ROWS]


@dataclass
class State:
    tmp: Path
    env: dict[str, str]
    base_url: str
    port: int

    def fko(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "cli", *args], env=self.env, capture_output=True, text=True,
                                timeout=180, check=False)
        if check:
            assert result.returncode == 0, result.stderr
        return result


@pytest.fixture
def three_regions(tmp_path: Path, fko_env: dict[str, str], smtp_server) -> Iterator[State]:  # type: ignore[no-untyped-def]
    """Aachen (the demo, with its published concept), Köln (its own templates folder: another field of action and
    its own invitation subject) and Bonn/Rhein-Sieg (the bundled templates), one SQLite file, one relay."""
    port = free_port()
    env = {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port),
           "FKO_BASE_URL": f"http://127.0.0.1:{port}", "FKO_MAIL_FROM": "runde@land.example.org"}
    state = State(tmp_path, env, f"http://127.0.0.1:{port}", port)
    state.fko("init", "--demo")
    bundled = Path(__file__).resolve().parents[2] / "survey_templates"
    own = tmp_path / "koeln" / "vorlagen"
    shutil.copytree(bundled, own)
    catalogs = own / "catalogs.toml"
    catalogs.write_text(catalogs.read_text(encoding="utf-8").replace(
        '"Duale Ausbildung stärken"', '"Ausbildung im Rheinland"'), encoding="utf-8")
    (own / "mail" / "invitation.subject.j2").write_text(
        "Kölner Abfrage {{ year }}: {{ institution_name }}\n", encoding="utf-8")
    for code, extra in (("koeln", 'templates = "vorlagen"'), ("bonn", "")):
        folder = tmp_path / code
        folder.mkdir(exist_ok=True)
        (folder / "region.toml").write_text(REGION.format(code=code, name=NAMES[code], extra=extra), encoding="utf-8")
        state.fko("init", "--region-file", str(folder / "region.toml"))
        (folder / "institutionen.xlsx").write_bytes(institutions_xlsx(rows_of(code)))
        state.fko("--region", code, "institutions", "import", str(folder / "institutionen.xlsx"))
    yield state


def open_three_rounds_at_once(state: State) -> None:
    processes = [subprocess.Popen([sys.executable, "-m", "cli", "--region", code, "cycle", "open", "--year", "2027",
                                   "--deadline", "2027-10-15", "--yes", "--force"],
                                  env=state.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for code in NAMES]
    for process in processes:
        _out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err


def region_of(message: EmailMessage) -> str:
    """The region a mail's recipients belong to, by their domains (never two regions in one mail)."""
    recipients = str(message["To"]) + str(message["Cc"] or "")
    codes = {code for code in ("koeln", "bonn") if f"@{code}-" in recipients} or {"aachen"}
    assert len(codes) == 1, recipients
    return codes.pop()


class Served:
    def __init__(self, state: State) -> None:
        from portal.app import create_app
        from portal.regions import create_site
        from usecases.context import AppContext
        from usecases.settings import Settings

        settings = Settings(data_dir=state.tmp / "var", base_url=state.base_url, smtp_host="127.0.0.1",
                            smtp_port=int(state.env["FKO_SMTP_PORT"]), mail_from=state.env["FKO_MAIL_FROM"],
                            allow_local_links=True)
        self.ctx = AppContext.from_settings(settings)
        site = create_site(self.ctx, create_app)
        self.server = uvicorn.Server(uvicorn.Config(site, host="127.0.0.1", port=state.port, access_log=False,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert time.monotonic() < deadline, "the page did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.ctx.close()


def test_regions_three_rounds_at_once_keep_every_mail_page_and_output_apart(three_regions: State, smtp_server) -> None:  # type: ignore[no-untyped-def]
    state = three_regions
    open_three_rounds_at_once(state)
    invitations = [m for m in smtp_server.recorder.messages() if "Abfrage 2027" in str(m["Subject"])]
    # Aachen's demo has its institutions, Köln and Bonn three each (IHK with three people, Kreis Düren).
    by_region: dict[str, list[EmailMessage]] = {code: [] for code in NAMES}
    for message in invitations:
        by_region[region_of(message)].append(message)
    assert {code: bool(found) for code, found in by_region.items()} == dict.fromkeys(NAMES, True)
    links: dict[str, list[str]] = {code: [] for code in NAMES}
    for code, messages in by_region.items():
        for message in messages:
            body = message.get_body(("plain",))
            assert body is not None
            text = body.get_content()
            # The sender names this region's agency, replies go to it, links lead to this region's page.
            assert AGENCIES[code] in str(message["From"]) and AGENCIES[code] in str(message["Reply-To"])
            assert not any(f"Region {name}" in text or AGENCIES[other] in text
                           for other, name in NAMES.items() if other != code)
            found = re.findall(re.escape(state.base_url) + r"/[a-z-]+/r/[A-Za-z0-9_-]+", text)
            assert found and all(link.startswith(f"{state.base_url}/{code}/r/") for link in found), text
            attachment = next(iter(message.iter_attachments()))
            assert f"-{code}-" in (attachment.get_filename() or "")
            # The IHK's link first (three people get one each), the district's after it.
            links[code].insert(0 if (attachment.get_filename() or "").endswith("-IHK.xlsx") else len(links[code]),
                               found[0])
        # Köln's own templates folder: its own subject line; the others keep the bundled one.
        assert all(str(m["Subject"]).startswith("Kölner Abfrage 2027") == (code == "koeln") for m in messages)

    with Served(state), httpx.Client(follow_redirects=False, timeout=30) as client:
        for code, found in links.items():
            page = client.get(found[0])
            assert page.status_code == 200
            assert f"Region {NAMES[code]}" in page.text
            assert not any(f"Region {name}" in page.text for other, name in NAMES.items() if other != code)
            assert f'href="/{code}/r/' in page.text and 'href="/r/' not in page.text
        # Another region's link on this region's page: the neutral answer, nothing of the institution.
        token = links["koeln"][0].rsplit("/", 1)[1]
        crossed = client.get(f"{state.base_url}/bonn/r/{token}")
        assert crossed.status_code == 404 and "Köln" not in crossed.text and "IHK" not in crossed.text
        # A link from before the database held several regions (no region in its path) finds its region.
        old = client.get(f"{state.base_url}/r/{token}")
        assert old.status_code == 307 and old.headers["location"] == f"/koeln/r/{token}"
        assert client.get(f"{state.base_url}/r/{'x' * 43}").status_code == 404
        # Köln's IHK answers "Keine Änderungen": tomorrow's digest of Köln names it, Bonn's does not.
        landing = client.get(links["koeln"][0])
        assert "IHK Köln" in landing.text
        answered = client.post(f"{links['koeln'][0]}/keine-aenderungen", data={"csrf": csrf_of(landing.text)})
        assert answered.status_code in (200, 303)
        index = client.get(state.base_url + "/")
        assert all(f"Region {name}" in index.text for name in NAMES.values())
        assert 'href="/aachen/static/portal.css"' in index.text  # in the regions' look, not bare HTML

        # A staff account of Köln: set up through its link, signed in on Köln's staff area only.
        added = state.fko("--region", "koeln", "staff", "add", "Kim Köln", "--email", "kim@ra-koeln.example.org",
                          "--link")
        assert "Kim Köln" in added.stdout
        invite = next(m for m in smtp_server.recorder.messages() if "kim@ra-koeln" in str(m["To"]))
        invite_body = invite.get_body(("plain",))
        assert invite_body is not None
        setup = re.search(re.escape(state.base_url) + r"/koeln/intern/einrichten/[A-Za-z0-9_-]+",
                          invite_body.get_content())
        assert setup is not None, invite_body.get_content()
        setup_token = setup.group(0).rsplit("/", 1)[1]
        assert client.get(f"{state.base_url}/aachen/intern/einrichten/{setup_token}").status_code in (404, 410)
        form = client.get(setup.group(0))
        assert form.status_code == 200
        chosen = "Rheinufer-Kranhaus-2027"
        done = client.post(setup.group(0), data={"csrf": csrf_of(form.text), "passwort": chosen,
                                                 "wiederholung": chosen})
        assert done.status_code in (200, 303)
        sign_in = client.get(f"{state.base_url}/koeln/intern/anmelden")
        signed = client.post(f"{state.base_url}/koeln/intern/anmelden",
                             data={"csrf": csrf_of(sign_in.text), "name": "Kim Köln", "passwort": chosen})
        assert signed.status_code == 303 and signed.headers["location"] == "/koeln/intern/"
        cookie = signed.headers["set-cookie"]
        assert "Path=/koeln/intern" in cookie
        session = cookie.split(";", 1)[0]
        overview = client.get(f"{state.base_url}/koeln/intern/", headers={"Cookie": session})
        assert overview.status_code == 200 and "IHK" in overview.text and "Region Köln" in overview.text
        assert 'href="/koeln/intern/institutionen/' in overview.text
        # The same session cookie, carried over by hand to Aachen's staff area, is not a sign-in there.
        elsewhere = client.get(f"{state.base_url}/aachen/intern/", headers={"Cookie": session})
        assert elsewhere.status_code == 303 and elsewhere.headers["location"].startswith("/aachen/intern/anmelden")

    before = len(smtp_server.recorder.messages())
    for code in NAMES:
        state.fko("--region", code, "remind", "--today", "2026-12-01")
    digests = [m for m in smtp_server.recorder.messages()[before:] if "team@ra-" in str(m["To"])]
    assert [str(m["To"]).rsplit("@", 1)[1].rstrip(">") for m in digests] == ["ra-koeln.example.org"]
    digest_body = digests[0].get_body(("plain",))
    assert digest_body is not None
    assert "IHK Köln" in digest_body.get_content() and f"{state.base_url}/koeln/intern/" in digest_body.get_content()
    assert not any(name in digest_body.get_content() for name in ("Aachen", "Bonn"))

    # Documents: Köln's draft (its first round: no activities yet) names Köln and its agency only.
    out = state.tmp / "dokumente-koeln"
    state.fko("--region", "koeln", "render", "--out", str(out), "--no-pdf")
    html = "".join(path.read_text(encoding="utf-8") for path in out.glob("*.html"))
    assert "Region Köln" in html and "Regionalagentur Köln" in html
    assert not any(name in html for name in ("Aachen", "Bonn", "Agentur für Arbeit"))

    statuses = {code: json.loads(state.fko("--region", code, "cycle", "status", "--json").stdout) for code in NAMES}
    for code, status in statuses.items():
        text = json.dumps(status, ensure_ascii=False)
        assert not any(f"@{other}-" in text for other in NAMES if other != code)
    koeln_codes = {row["code"] for row in statuses["koeln"]["institutions"]}
    assert koeln_codes == {"IHK", "KDN"}
    assert len(statuses["aachen"]["institutions"]) > len(koeln_codes)
    # The log: Köln's staff invitation and Köln's addresses only in Köln's.
    assert "kim@ra-koeln.example.org" in state.fko("--region", "koeln", "log").stdout
    bonn_log = state.fko("--region", "bonn", "log").stdout
    assert "@bonn-" in bonn_log and "koeln" not in bonn_log and "Kim" not in bonn_log
    unnamed = state.fko("cycle", "status", "--json", check=False)
    assert unnamed.returncode == 2 and "aachen, koeln, bonn" in unnamed.stderr


def test_regions_doctor_lists_each_region_and_names_a_broken_templates_folder(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("init", "--demo").exit_code == 0
    folder = tmp_path / "koeln"
    shutil.copytree(Path(__file__).resolve().parents[2] / "survey_templates", folder / "vorlagen")
    (folder / "region.toml").write_text(REGION.format(code="koeln", name="Köln", extra='templates = "vorlagen"'),
                                        encoding="utf-8")
    assert run_fko("init", "--region-file", str(folder / "region.toml")).exit_code == 0
    fine = run_fko("doctor")
    line = next(x for x in fine.stdout.splitlines() if "Regionen" in x)
    assert line.startswith("✓") and "aachen (Region Aachen): Seite http://127.0.0.1:8000/aachen/" in line
    assert f"koeln (Region Köln): Seite http://127.0.0.1:8000/koeln/, eigene Vorlagen in {folder / 'vorlagen'}" in line
    (folder / "vorlagen" / "reminders.toml").write_text("[[steps]]\nafter = 'bald'\n", encoding="utf-8")
    broken = run_fko("doctor")
    line = next(x for x in broken.stdout.splitlines() if "Regionen" in x)
    assert line.startswith("✗") and "koeln: Vorlagenordner" in line and "unbrauchbar" in line
    assert "Regionen" in broken.stdout.splitlines()[-1]
