"""The staff area under /intern/ of the served page: sign-in, the round, an institution's history, the steps
staff take by hand, raw uploads and documents; and every way in without a session, or with a link's token."""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import re
import time
from pathlib import Path

import httpx
import pytest

from tests.support.factories import edit_sheet
from usecases.documents import render_version
from usecases.staff import add_staff

PASSWORD = "lange-geheime-Phrase-2026"  # noqa: S105 (a test account on a throwaway database)


def staff_client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, follow_redirects=False, timeout=30)


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def signed_in(url: str, name: str = "Petra Beispiel", password: str = PASSWORD) -> httpx.Client:
    client = staff_client(url)
    form = client.get("/intern/anmelden")
    answer = client.post("/intern/anmelden", data={"csrf": csrf_of(form.text), "name": name, "passwort": password})
    assert answer.status_code == 303, answer.text[:500]
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/intern" in cookie
    assert client.cookies["fko_intern"]  # kept by the client: on this machine's address not marked Secure
    return client


@pytest.fixture
def staffed(portal):  # type: ignore[no-untyped-def]
    add_staff(portal.ctx, name="Petra Beispiel", email="petra@regionalagentur.example.org", password=PASSWORD,
              now=portal.clock.now)
    return portal


def test_sign_in_shows_the_round_and_an_institutions_history(staffed) -> None:  # type: ignore[no-untyped-def]
    portal = staffed
    # IHK uploads a sheet with a mistake, then a good one; VUV answers "no changes".
    token = portal.links["IHK"].rsplit("/", 1)[-1]
    with httpx.Client(base_url=portal.url, timeout=30) as web:
        sheet = web.get(f"/r/{token}/tabelle").content
        landing = web.get(f"/r/{token}").text
        web.post(f"/r/{token}/hochladen", data={"csrf": csrf_of(landing)},
                 files={"datei": ("ihk.xlsx", edit_sheet(sheet, {"E2": "irgendwas"}))})
        web.post(f"/r/{token}/hochladen", data={"csrf": csrf_of(web.get(f"/r/{token}").text)},
                 files={"datei": ("ihk-richtig.xlsx", edit_sheet(sheet, {"B2": "Neuer Titel"}))})
    with contextlib.closing(signed_in(portal.url)) as client:
        overview = client.get("/intern/")
        assert overview.status_code == 200 and "Abfrage 2026" in overview.text
        assert overview.headers["cache-control"] == "no-store"  # no proxy or browser keeps a staff page
        assert "Rückmeldungen: 1 von" in overview.text and "IHK Aachen" in overview.text
        assert "Angemeldet: Petra Beispiel" in overview.text
        answered = client.get("/intern/?zeigen=beantwortet").text
        assert "IHK Aachen" in answered and "HWK Aachen" not in answered
        assert "HWK Aachen" in client.get("/intern/?zeigen=offen").text

        page = client.get("/intern/institutionen/IHK").text
        assert "ihk.xlsx" in page and "abgelehnt" in page and "E2" in page  # the refused upload and its cell
        assert "ihk-richtig.xlsx" in page and "angenommen" in page
        assert "Einladung" in page and "versandt" in page  # the mails of the round
        assert token not in page and "/r/" not in page  # never a personal link
        raw = re.search(r'href="(/intern/dateien/\d+)">ihk.xlsx', page)
        assert raw is not None
        download = client.get(raw.group(1))
        assert download.status_code == 200 and download.content[:2] == b"PK"
        assert "attachment" in download.headers["content-disposition"]

        # After its retention period (`fko cleanup`) the file is gone, and the page says so, not "missing".
        from sqlalchemy import update

        from storage.database import session_scope
        from storage.models import Submission

        number = int(raw.group(1).rsplit("/", 1)[1])
        with session_scope(portal.ctx.engine) as session:
            session.execute(update(Submission).where(Submission.id == number)
                            .values(raw_removed_at=dt.datetime(2027, 12, 1, 3, 30, tzinfo=dt.UTC)))
        removed = client.get(raw.group(1))
        assert removed.status_code == 410
        assert ("„ihk.xlsx“ wurde am 01.12.2027 nach Ablauf der Aufbewahrungsfrist gelöscht"
                in " ".join(removed.text.split()))


def test_what_staff_do_by_hand(staffed) -> None:  # type: ignore[no-untyped-def]
    portal = staffed
    old = portal.links["HWK"].rsplit("/", 1)[-1]
    with contextlib.closing(signed_in(portal.url)) as client:
        page = client.get("/intern/institutionen/HWK").text
        done = client.post("/intern/institutionen/HWK/neuer-link", data={"csrf": csrf_of(page)})
        assert done.status_code == 303
        assert "Ein neuer Link ist unterwegs" in client.get(done.headers["location"]).text
        with httpx.Client(base_url=portal.url, timeout=30) as web:
            assert "neuer Link" in web.get(f"/r/{old}").text or "neuen Link" in web.get(f"/r/{old}").text

        page = client.get("/intern/institutionen/DGB").text
        phoned = client.post("/intern/institutionen/DGB/telefonisch-keine-aenderungen", data={"csrf": csrf_of(page)})
        assert phoned.status_code == 303
        after = client.get("/intern/institutionen/DGB").text
        assert "Telefon (im internen Bereich erfasst)" in after and "keine Änderungen" in after
        assert "Petra Beispiel" in after  # who recorded it
        assert "DGB" in client.get("/intern/?zeigen=beantwortet").text


def test_documents_of_every_version_and_no_path_outside(staffed, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    portal = staffed
    render_version(portal.ctx, out_dir=tmp_path / "docs", label="2026", pdf=False, today=dt.date(2026, 9, 2))
    with contextlib.closing(signed_in(portal.url)) as client:
        listing = client.get("/intern/dokumente/").text
        assert "Version 2026" in listing and "Version 2025" in listing
        version = client.get("/intern/dokumente/2026/").text
        assert "Handlungskonzept-2026.md" in version and "Aenderungen-2025-2026.md" in version
        markdown = client.get("/intern/dokumente/2026/Handlungskonzept-2026.md")
        assert markdown.status_code == 200 and markdown.text.startswith("# Handlungskonzept")
        assert markdown.content == (tmp_path / "docs" / "Handlungskonzept-2026.md").read_bytes()
        for attempt in ("../../secret.key", "..%2F..%2Fsecret.key", "%2Fetc%2Fpasswd", "word-pdf/../../x",
                        "Handlungskonzept-2026.md%2F..%2F..%2Fsecret.key", "%2E%2E/%2E%2E/secret.key"):
            refused = client.get(f"/intern/dokumente/2026/{attempt}", follow_redirects=True)
            assert refused.status_code == 404, attempt  # (the client folds "../" itself: then no such version)
            assert b"root:" not in refused.content and "Interner Bereich" in refused.text


def all_staff_routes(portal) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    from portal.staff import create_staff_app
    from usecases.site import site_info

    app = create_staff_app(portal.ctx, site_info(portal.ctx), clock=portal.clock, send_mail=False)
    routes = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", set()) - {"HEAD"}):
            path = re.sub(r"\{code\}", "IHK", route.path)
            path = re.sub(r"\{submission_id\}", "1", path)
            path = re.sub(r"\{label\}", "2026", path)
            path = re.sub(r"\{name:path\}", "Handlungskonzept-2026.md", path)
            path = re.sub(r"\{token\}", "x", path)
            routes.append((method, "/intern" + path))
    return routes


def test_no_staff_page_answers_without_a_session(staffed) -> None:  # type: ignore[no-untyped-def]
    portal = staffed
    routes = all_staff_routes(portal)
    assert len(routes) >= 14
    public = {("GET", "/intern/anmelden"), ("POST", "/intern/anmelden"), ("GET", "/intern/einrichten/x"),
              ("POST", "/intern/einrichten/x")}
    token = portal.links["IHK"].rsplit("/", 1)[-1]
    with staff_client(portal.url) as client:
        for method, path in routes:
            if (method, path) in public:
                continue
            for cookies in ({}, {"fko_intern": token}, {"fko_intern": "erfunden"}):  # a link's token is no session
                client.cookies.clear()
                for name, value in cookies.items():
                    client.cookies.set(name, value, path="/intern")
                answer = client.request(method, path, data={"csrf": "x"})
                assert answer.status_code in (303, 403), (method, path, answer.status_code)
                if method == "GET":
                    assert answer.headers["location"].startswith("/intern/anmelden")
                assert "IHK Aachen" not in answer.text and "Abfrage 2026" not in answer.text
        # The link's own pages never lead into the staff area either.
        assert client.get(f"/intern/r/{token}").status_code == 404
        assert "Interner Bereich" not in client.get(f"/r/{token}").text


def test_a_link_from_the_digest_leads_back_to_its_page_after_sign_in(staffed) -> None:  # type: ignore[no-untyped-def]
    portal = staffed
    with staff_client(portal.url) as client:
        first = client.get("/intern/institutionen/IHK")
        assert first.headers["location"] == "/intern/anmelden?zurueck=/intern/institutionen/IHK"
        form = client.get(first.headers["location"]).text
        answer = client.post("/intern/anmelden", data={"csrf": csrf_of(form), "name": "Petra Beispiel",
                                                        "passwort": PASSWORD, "zurueck": "/intern/institutionen/IHK"})
        assert answer.headers["location"] == "/intern/institutionen/IHK"
        assert "IHK Aachen" in client.get(answer.headers["location"]).text
        for elsewhere in ("https://boese.example.com/", "//boese.example.com/intern/", "/intern/\\boese"):
            form = client.get("/intern/anmelden").text
            moved = client.post("/intern/anmelden", data={"csrf": csrf_of(form), "name": "Petra Beispiel",
                                                           "passwort": PASSWORD, "zurueck": elsewhere})
            assert moved.headers["location"] == "/intern/", elsewhere  # never an open redirect


def test_wrong_passwords_are_throttled_with_one_answer_for_all(staffed) -> None:  # type: ignore[no-untyped-def]
    portal = staffed
    with staff_client(portal.url) as client:
        def attempt(name: str, password: str) -> httpx.Response:
            form = client.get("/intern/anmelden").text
            return client.post("/intern/anmelden", data={"csrf": csrf_of(form), "name": name, "passwort": password})

        unknown = attempt("Niemand", "falsch-falsch-falsch")
        wrong = attempt("Petra Beispiel", "falsch-falsch-falsch")
        assert unknown.status_code == wrong.status_code == 401
        message = re.search(r'role="alert">([^<]+)<', wrong.text)
        assert message and message.group(1) in unknown.text  # nothing tells which names exist
        for _ in range(5):
            attempt("Petra Beispiel", "falsch-falsch-falsch")
        blocked = attempt("Petra Beispiel", PASSWORD)  # now even the right password waits
        assert blocked.status_code == 401 and message.group(1) in blocked.text
        portal.clock.now += dt.timedelta(hours=2)
        assert attempt("Petra Beispiel", PASSWORD).status_code == 303


def test_forms_need_their_token_and_sign_in_gives_a_new_session(staffed) -> None:  # type: ignore[no-untyped-def]
    portal = staffed
    with staff_client(portal.url) as client:
        # Sign-in without the form's token, or from another site: refused.
        assert client.post("/intern/anmelden", data={"name": "Petra Beispiel", "passwort": PASSWORD}
                           ).status_code == 403
        form = client.get("/intern/anmelden").text
        assert client.post("/intern/anmelden", data={"csrf": csrf_of(form), "name": "Petra Beispiel",
                                                      "passwort": PASSWORD},
                           headers={"Origin": "https://boese.example.com"}).status_code == 403
        # Session fixation: a cookie set before the sign-in is not the session after it.
        client.cookies.set("fko_intern", "vom-angreifer-gesetzt", path="/intern")
        answer = client.post("/intern/anmelden", data={"csrf": csrf_of(form), "name": "Petra Beispiel",
                                                        "passwort": PASSWORD})
        assert answer.status_code == 303 and answer.cookies["fko_intern"] != "vom-angreifer-gesetzt"
    with contextlib.closing(signed_in(portal.url)) as client:
        # A staff form without its token (or with the sign-in form's token) changes nothing.
        login_token = csrf_of(client.get("/intern/anmelden").text)
        for data in ({}, {"csrf": login_token}):
            refused = client.post("/intern/institutionen/DGB/telefonisch-keine-aenderungen", data=data)
            assert refused.status_code == 403
        assert "DGB" not in client.get("/intern/?zeigen=beantwortet").text
        # Signing out ends the session on the server, not only in the browser.
        cookie = client.cookies["fko_intern"]
        client.post("/intern/abmelden", data={"csrf": csrf_of(client.get("/intern/").text)})
        client.cookies.set("fko_intern", cookie, path="/intern")
        assert client.get("/intern/").status_code == 303


def test_a_one_time_link_sets_the_password(portal, run_fko) -> None:  # type: ignore[no-untyped-def]
    token = add_staff(portal.ctx, name="Jonas Neu", email="jonas@regionalagentur.example.org", password=None,
                      now=portal.clock.now)
    assert token
    with staff_client(portal.url) as client:
        form = client.get(f"/intern/einrichten/{token}")
        assert form.status_code == 200 and "Jonas Neu" in form.text
        short = client.post(f"/intern/einrichten/{token}", data={"csrf": csrf_of(form.text), "passwort": "kurz",
                                                                  "wiederholung": "kurz"})
        assert short.status_code == 400 and "mindestens 12 Zeichen" in short.text
        done = client.post(f"/intern/einrichten/{token}", data={"csrf": csrf_of(form.text), "passwort": PASSWORD,
                                                                 "wiederholung": PASSWORD})
        assert done.status_code == 200 and "Passwort gespeichert" in done.text
        assert client.get(f"/intern/einrichten/{token}").status_code == 404  # used up
    signed_in(portal.url, name="Jonas Neu").close()


def test_approval_in_the_staff_area_publishes_once(staffed) -> None:  # type: ignore[no-untyped-def]
    from usecases.versions import version_status

    portal = staffed
    with contextlib.closing(signed_in(portal.url)) as client:
        form = client.get("/intern/freigabe").text
        assert "Entwurf <strong>Version 2026</strong> gegenüber Version 2025" in form
        assert "noch bis 22.10.2026 Rückmeldungen" in form or "Rückmeldungen an" in form
        rejected = client.post("/intern/freigabe", data={"csrf": csrf_of(form), "version": "2026",
                                                          "entscheidung": "ablehnen",
                                                          "anmerkung": "Abschnitt Ausgangslage fehlt"})
        assert rejected.status_code == 303 and version_status(portal.ctx, label="2026") == "draft"
        form = client.get("/intern/freigabe").text
        assert "Zuletzt abgelehnt von Petra Beispiel" in form and "Abschnitt Ausgangslage fehlt" in form
        early = client.post("/intern/freigabe", data={"csrf": csrf_of(form), "version": "2026",
                                                       "entscheidung": "freigeben"})
        assert early.status_code == 409 and "vorzeitig" in early.text  # the round still takes answers
        done = client.post("/intern/freigabe", data={"csrf": csrf_of(form), "version": "2026",
                                                      "entscheidung": "freigeben", "vorzeitig": "ja"})
        assert done.status_code == 200 and "Version 2026 veröffentlicht" in done.text
        assert version_status(portal.ctx, label="2026") == "published"
        again = client.post("/intern/freigabe", data={"csrf": csrf_of(form), "version": "2026",
                                                       "entscheidung": "freigeben", "vorzeitig": "ja"})
        assert again.status_code == 409 and "nichts geändert" in again.text  # never twice
        # Meanwhile the documents are made again, now as published, and listed under Dokumente.
        deadline = time.monotonic() + 180
        while "Handlungskonzept-2026.pdf" not in (listing := client.get("/intern/dokumente/2026/").text):
            assert time.monotonic() < deadline, "the published version's documents did not appear"
            time.sleep(1)
        assert "veröffentlicht am" in listing and "freigegeben von Petra Beispiel" in listing
        pdf = client.get("/intern/dokumente/2026/Handlungskonzept-2026.pdf")
        assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_staff_accounts_from_the_command_line(run_fko, fko_env) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from tests.support.german import english_words

    assert run_fko("init", "--demo").exit_code == 0
    added = subprocess.run([sys.executable, "-m", "cli", "staff", "add", "Petra Beispiel", "--email",
                            "petra@regionalagentur.example.org", "--password-stdin"], input=PASSWORD + "\n",
                           capture_output=True, text=True, env=fko_env, timeout=120)
    assert added.returncode == 0 and "Konto „Petra Beispiel“ angelegt." in added.stdout
    assert not english_words(added.stdout + added.stderr)
    short = subprocess.run([sys.executable, "-m", "cli", "staff", "add", "Kurz", "--email", "k@example.org",
                            "--password-stdin"], input="kurz\n", capture_output=True, text=True, env=fko_env,
                           timeout=120)
    assert short.returncode == 2 and "mindestens 12 Zeichen" in short.stderr and "Kein Konto angelegt" in short.stderr
    no_terminal = run_fko("staff", "add", "Jonas Neu", "--email", "jonas@regionalagentur.example.org")
    assert no_terminal.exit_code == 2 and "--link" in no_terminal.stderr
    linked = run_fko("staff", "add", "Jonas Neu", "--email", "jonas@regionalagentur.example.org", "--link")
    assert linked.exit_code == 0 and "an jonas@regionalagentur.example.org geschickt" in linked.stdout
    assert "/intern/einrichten/" not in linked.stdout  # the link goes to the person, not into a terminal log
    mails = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
             for p in Path(fko_env["FKO_DATA_DIR"]).rglob("*.eml")]
    invite = next(m for m in mails if m["To"].addresses[0].addr_spec == "jonas@regionalagentur.example.org")
    assert invite["Subject"] == "Ihr Zugang zum internen Bereich: Handlungskonzept Region Aachen"
    body = invite.get_body(preferencelist=("plain",)).get_content()
    assert "Guten Tag Jonas Neu" in body and "Ihr Anmeldename: Jonas Neu" in body
    assert re.search(r"/intern/einrichten/[\w-]{40,}", body)
    assert run_fko("staff", "add", "Jonas Neu", "--email", "j@example.org", "--link").exit_code == 2  # twice
    listed = run_fko("staff", "list").stdout
    assert "Petra Beispiel <petra@regionalagentur.example.org>: Passwort gesetzt" in listed
    assert "Jonas Neu <jonas@regionalagentur.example.org>: wartet auf das Festlegen des Passworts" in listed
    assert run_fko("staff", "remove", "Petra Beispiel").exit_code == 0
    assert "Petra Beispiel <petra@regionalagentur.example.org>: entfernt" in run_fko("staff", "list").stdout
    assert run_fko("staff", "remove", "Niemand").exit_code == 2
