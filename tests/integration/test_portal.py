"""The institutions' page over real HTTP: the whole return, and what one link can never do to another."""

from __future__ import annotations

import datetime as dt
import io
import logging
import socket
import time

from openpyxl import load_workbook
from sqlmodel import select

from storage.database import session_scope
from storage.models import Request, Submission
from tests.support.factories import edit_sheet
from tests.support.portal import client, csrf_of, main_text


def submissions(portal) -> list[Submission]:  # type: ignore[no-untyped-def]
    with session_scope(portal.ctx.engine) as session:
        return list(session.exec(select(Submission).order_by(Submission.id)).all())


def wait_for_mail(portal, count: int) -> list:  # type: ignore[no-untyped-def, type-arg]
    deadline = time.monotonic() + 15
    while len(portal.smtp.recorder.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return portal.smtp.recorder.messages()


def upload(http, link: str, data: bytes, filename: str = "Abfrage.xlsx", csrf: str | None = None,  # type: ignore[no-untyped-def]
           content_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
    token = csrf if csrf is not None else csrf_of(http.get(link).text)
    return http.post(f"{link}/hochladen", data={"csrf": token}, files={"datei": (filename, data, content_type)})


def test_landing_page_says_who_what_and_until_when(portal) -> None:  # type: ignore[no-untyped-def]
    with client() as http:
        response = http.get(portal.links["IHK"])
    assert response.status_code == 200
    text = main_text(response.text)
    assert "Abfrage 2026 für IHK Aachen · Frist: Donnerstag, 15. Oktober 2026" in text
    assert "Von Ihrer Institution liegt noch keine Rückmeldung vor." in text
    assert "fachkraefte@regionalagentur-aachen.example.org" in response.text  # the agency on every page
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_download_gives_the_personal_prefilled_sheet(portal) -> None:  # type: ignore[no-untyped-def]
    with client() as http:
        response = http.get(f"{portal.links['HWK']}/tabelle")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == 'attachment; filename="Abfrage-2026-aachen-HWK.xlsx"'
    workbook = load_workbook(io.BytesIO(response.content))
    meta = {r[0].value: r[1].value for r in workbook["_meta"].iter_rows()}
    assert (meta["institution"], meta["cycle_year"]) == ("HWK", "2026")
    assert workbook["Aktivitäten"]["A2"].value == "HWK-0001"
    with session_scope(portal.ctx.engine) as session:
        states = {r.institution_id: r.state for r in session.exec(select(Request)).all()}
    assert sorted(states.values()).count("downloaded") == 1
    from usecases.status import cycle_status

    hwk = next(r for r in cycle_status(portal.ctx, year=2026).rows if r.code == "HWK")
    assert (hwk.state, hwk.last_action) == ("downloaded", "Tabelle heruntergeladen")


def test_accepted_upload_shows_changes_and_mails_a_receipt(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        edited = edit_sheet(sheet, {"B2": "Ausbildungsbotschafter:innen", "E3": "entfällt",
                                    "B9": "Azubi-Speed-Dating Düren", "D9": "Duale Ausbildung stärken",
                                    "E9": "geplant"})
        response = upload(http, link, edited)
        assert response.status_code == 200
        text = main_text(response.text)
        assert "wurde angenommen" in text, text
        assert "1 geändert: „Ausbildungsbotschafter:innen“ (Titel)" in text
        assert "1 neu: „Azubi-Speed-Dating Düren“ (neue ID IHK-0007)" in text  # the new row got its stable ID
        assert "1 beendet: „Passgenaue Besetzung von Ausbildungsplätzen“ (entfällt)" in text
        assert "4 unverändert" in text
        assert "Titel: „Ausbildungsbotschafterinnen und -botschafter“ → „Ausbildungsbotschafter:innen“" in text
        landing = main_text(http.get(link).text)
    assert "eingegangen und wurde angenommen" in landing
    (submission,) = submissions(portal)
    assert submission.outcome == "accepted" and submission.source == "portal"
    assert portal.ctx.files.get(submission.raw_sha256, kind="upload") == edited
    (receipt,) = wait_for_mail(portal, 1)
    assert "Eingangsbestätigung" in str(receipt["Subject"]) and "IHK Aachen" in str(receipt["Subject"])
    assert receipt["To"].addresses[0].addr_spec == "leonie.reiners@ihk-aachen.example.org"
    body = receipt.get_body(("plain",)).get_content()
    assert "- 1 neu: „Azubi-Speed-Dating Düren“ (neue ID IHK-0007)" in body.splitlines()  # as on the page
    assert "- 1 geändert: „Ausbildungsbotschafter:innen“ (Titel)" in body.splitlines()


def test_refused_upload_lists_every_problem_and_keeps_the_file(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        broken = edit_sheet(sheet, {"D3": "Ausbildung", "B4": None, "G5": "bald"})
        response = upload(http, link, broken)
        text = main_text(response.text)
    assert "konnte noch nicht angenommen werden" in text
    assert "Zelle D3 (Handlungsfeld): „Ausbildung“ ist kein zulässiger Wert." in text
    assert "Zelle B4 (Titel): Dieses Pflichtfeld ist leer." in text
    assert "Zelle G5 (Ende): „bald“ ist kein gültiges Datum." in text
    assert 'name="datei"' in response.text  # the form to try again
    (submission,) = submissions(portal)
    assert submission.outcome == "refused" and len(submission.problems) == 3
    assert portal.ctx.files.get(submission.raw_sha256, kind="upload") == broken
    (refusal,) = wait_for_mail(portal, 1)
    assert str(refusal["Subject"]).startswith("Bitte korrigieren")
    lines = refusal.get_body(("plain",)).get_content().splitlines()  # by row, as on the page
    row = lines.index("Zeile 3: „Passgenaue Besetzung von Ausbildungsplätzen“")
    assert lines[row + 1].startswith("- [D3, Handlungsfeld] „Ausbildung“ ist kein zulässiger Wert.")
    title_cleared = lines.index("Zeile 4: „Anerkennungsberatung IHK FOSA“")  # its title as we have it
    assert lines[title_cleared + 1] == "- [B4, Titel] Dieses Pflichtfeld ist leer. Bitte ausfüllen."


def test_another_institutions_sheet_gets_one_message_on_the_page_and_in_the_mail(portal) -> None:  # type: ignore[no-untyped-def]
    with client() as http:
        hwk_sheet = http.get(f"{portal.links['HWK']}/tabelle").content
        response = upload(http, portal.links["IHK"], hwk_sheet, filename="Abfrage-2026-aachen-HWK.xlsx")
    text = main_text(response.text)
    assert "Die Datei gehört zu einer anderen Institution (HWK)." in text
    assert "gehört zu keiner Aktivität" not in text and "Zelle" not in text
    (submission,) = submissions(portal)
    assert submission.outcome == "refused" and len(submission.problems) == 1  # one, not one more per row
    (refusal,) = wait_for_mail(portal, 1)
    body = refusal.get_body(("plain",)).get_content()
    assert ("Ihre Datei „Abfrage-2026-aachen-HWK.xlsx“ ist am 01.09.2026 um 10:00 Uhr bei uns eingegangen, konnte "
            "aber nicht angenommen werden: Die Datei gehört zu einer anderen Institution (HWK). Bitte laden Sie Ihre "
            "eigene Tabelle über Ihren persönlichen Link herunter, tragen Sie Ihre Angaben dort ein und laden Sie sie "
            "hoch.") in " ".join(body.split())
    assert f"Ihr persönlicher Link: {portal.links['IHK']}" in body
    assert "[A" not in body and "Zeile" not in body


def test_reupload_replaces_the_previous_return_and_both_are_kept(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["VUV"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        upload(http, link, edit_sheet(sheet, {"B5": "Erste neue", "D5": "Duale Ausbildung stärken", "E5": "geplant"}))
        again = http.get(f"{link}/tabelle").content  # now pre-filled with the accepted return
        assert load_workbook(io.BytesIO(again))["Aktivitäten"]["A5"].value == "VUV-0004"
        second = upload(http, link, edit_sheet(again, {"B5": "Erste neue, umbenannt"}))
        assert "wurde angenommen" in main_text(second.text)
    first_submission, second_submission = submissions(portal)
    assert first_submission.outcome == second_submission.outcome == "accepted"
    assert [a["title"] for a in second_submission.activities][-1] == "Erste neue, umbenannt"
    assert [a["key"] for a in second_submission.activities][-1] == "VUV-0004"


def test_no_changes_in_two_clicks(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["DGB"]
    with client() as http:
        landing = http.get(link)  # click 1: the link in the mail
        response = http.post(f"{link}/keine-aenderungen", data={"csrf": csrf_of(landing.text)})  # click 2
    assert "bestätigt, dass sich die Aktivitäten von DGB NRW Region Süd-West in diesem Jahr nicht geändert haben" in (
        main_text(response.text))
    (submission,) = submissions(portal)
    assert submission.outcome == "no_changes"
    with session_scope(portal.ctx.engine) as session:
        assert {r.state for r in session.exec(select(Request)).all() if r.id == submission.request_id} == {"answered"}
    (mail,) = wait_for_mail(portal, 1)
    assert str(mail["Subject"]).startswith("Bestätigt: keine Änderungen bei DGB NRW Region Süd-West")


def test_after_the_deadline_late_returns_then_a_closed_page(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        portal.clock.now = dt.datetime(2026, 10, 15, 21, 59, tzinfo=dt.UTC)  # 23:59 in Aachen: in time
        assert "Frist ist abgelaufen" not in http.get(link).text
        portal.clock.now = dt.datetime(2026, 10, 15, 22, 0, tzinfo=dt.UTC)   # midnight in Aachen: late
        late_page = main_text(http.get(link).text)
        assert "Die Frist ist abgelaufen. Bitte senden Sie Ihre Rückmeldung trotzdem so bald wie möglich" in late_page
        portal.clock.now = dt.datetime(2026, 11, 5, 22, 59, tzinfo=dt.UTC)  # 21 days late: last day
        csrf = csrf_of(http.get(link).text)  # a form is good for 24 hours of the page's clock
        assert "wurde angenommen" in main_text(upload(http, link, sheet, csrf=csrf).text)
        portal.clock.now = dt.datetime(2026, 11, 5, 23, 0, tzinfo=dt.UTC)   # then the page closes
        closed = http.get(link)
        late = upload(http, link, sheet, csrf=csrf)
        late_no_changes = http.post(f"{link}/keine-aenderungen", data={"csrf": csrf})
    assert "Die Frist für die Abfrage 2026 (IHK Aachen) ist am Donnerstag, 15. Oktober 2026 abgelaufen." in (
        main_text(closed.text))
    assert late.status_code == late_no_changes.status_code == 409
    assert [s.outcome for s in submissions(portal)] == ["accepted"]


def test_unknown_expired_and_revoked_links_look_the_same(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    token = link.rsplit("/", 1)[1]
    with client() as http:
        unknown = http.get(link[:-1] + ("A" if token[-1] != "A" else "B"))
        malformed = http.get(f"{portal.url}/r/../../etc/passwd")
        short = http.get(f"{portal.url}/r/abc")
        with session_scope(portal.ctx.engine) as session:
            for request in session.exec(select(Request)).all():
                request.token_revoked_at = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
        revoked = http.get(link)
    assert unknown.status_code == short.status_code == revoked.status_code == 404
    assert unknown.text == short.text == revoked.text
    assert malformed.status_code == 404
    assert "Dieser Link ist nicht (mehr) gültig." in main_text(revoked.text)


def test_one_link_cannot_read_or_change_another_institutions_data(portal) -> None:  # type: ignore[no-untyped-def]
    ihk, hwk = portal.links["IHK"], portal.links["HWK"]
    with client() as http:
        hwk_sheet = http.get(f"{hwk}/tabelle").content
        ihk_sheet = http.get(f"{ihk}/tabelle").content
        # B's sheet (B's _meta) through A's link
        other = main_text(upload(http, ihk, hwk_sheet).text)
        assert "Die Datei gehört zu einer anderen Institution (HWK)." in other
        # B's activity IDs in A's sheet
        stolen = main_text(upload(http, ihk, edit_sheet(ihk_sheet, {"A2": "HWK-0001", "A3": "HWK-0002"})).text)
        assert "Die ID „HWK-0001“ gehört zu keiner Aktivität Ihrer Institution." in stolen
        # A's form (its CSRF value) replayed against B's link
        ihk_csrf = csrf_of(http.get(ihk).text)
        replay_upload = upload(http, hwk, hwk_sheet, csrf=ihk_csrf)
        replay_no_changes = http.post(f"{hwk}/keine-aenderungen", data={"csrf": ihk_csrf})
        assert replay_upload.status_code == replay_no_changes.status_code == 403
        # A's accepted result, looked at through B's link
        accepted = upload(http, ihk, ihk_sheet)
        submission_id = str(accepted.url).rsplit("/", 1)[1]
        peek = http.get(f"{hwk}/rueckmeldung/{submission_id}")
        assert peek.status_code == 404 and "IHK" not in main_text(peek.text)
    from tests.integration.test_reminder_walk import request_id

    # every recorded submission belongs to IHK's request; HWK's request has none and no answer
    outcomes = [(s.outcome, s.request_id) for s in submissions(portal)]
    assert outcomes == [(o, request_id(portal.ctx, "IHK")) for o in ("refused", "refused", "accepted")]
    with session_scope(portal.ctx.engine) as session:
        hwk_request = session.get(Request, request_id(portal.ctx, "HWK"))
        assert hwk_request is not None
        assert (hwk_request.state, hwk_request.answered_at) == ("downloaded", None)


def test_forms_without_csrf_or_from_another_site_are_refused(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        missing = http.post(f"{link}/keine-aenderungen", data={})
        forged = http.post(f"{link}/keine-aenderungen", data={"csrf": "1.deadbeef"})
        foreign = http.post(f"{link}/keine-aenderungen", data={"csrf": csrf_of(http.get(link).text)},
                            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
        upload_without = upload(http, link, sheet, csrf="")
    assert missing.status_code == forged.status_code == foreign.status_code == upload_without.status_code == 403
    assert "fremden Seite" in main_text(foreign.text)
    assert submissions(portal) == []


def test_upload_cap_is_enforced_while_streaming(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with client() as http:
        csrf = csrf_of(http.get(link).text)

        def body():  # type: ignore[no-untyped-def]
            boundary = b"--x\r\n"
            yield boundary + b'Content-Disposition: form-data; name="csrf"\r\n\r\n' + csrf.encode() + b"\r\n"
            yield boundary + b'Content-Disposition: form-data; name="datei"; filename="gross.xlsx"\r\n\r\n'
            for _ in range(30):  # 30 MB, no Content-Length: the server must stop reading on its own
                yield b"\0" * (1024 * 1024)
            yield b"\r\n--x--\r\n"

        response = http.post(f"{link}/hochladen", content=body(),
                             headers={"content-type": "multipart/form-data; boundary=x"})
    # A client that announces 50 MB is turned away before it sends them.
    with socket.create_connection(("127.0.0.1", int(portal.url.rsplit(":", 1)[1])), timeout=30) as raw:
        raw.sendall((f"POST {link.removeprefix(portal.url)}/hochladen HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: multipart/form-data; boundary=x\r\n"
                     f"Content-Length: {50 * 1024 * 1024}\r\n\r\n").encode() + b"x" * 100)
        declared = raw.recv(4096).decode("latin-1")
    assert response.status_code == 413 and declared.startswith("HTTP/1.1 413")
    assert "höchstens 10 MB" in main_text(response.text)
    assert submissions(portal) == []
    assert not (portal.ctx.settings.files_dir / "upload").exists()


def test_two_files_in_one_form_are_refused(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        response = http.post(f"{link}/hochladen", data={"csrf": csrf_of(http.get(link).text)},
                             files=[("datei", ("a.xlsx", sheet)), ("datei", ("b.xlsx", sheet))])
    assert response.status_code == 400 and "genau eine Datei" in main_text(response.text)
    assert submissions(portal) == []


def test_filename_and_content_type_from_the_client_are_not_trusted(portal) -> None:  # type: ignore[no-untyped-def]
    link = portal.links["IHK"]
    with client() as http:
        sheet = http.get(f"{link}/tabelle").content
        response = upload(http, link, sheet, filename="..\\..\\windows/../../etc/passwd.txt", content_type="text/plain")
    assert "Ihre Tabelle „passwd.txt“ ist am" in main_text(response.text)
    (submission,) = submissions(portal)
    assert submission.outcome == "accepted" and submission.filename == "passwd.txt"
    assert str(portal.ctx.settings.files_dir) in submission.raw_path


def test_tokens_never_reach_the_log(portal, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO, logger="portal.access")
    link = portal.links["IHK"]
    token = link.rsplit("/", 1)[1]
    with client() as http:
        http.get(link)
        http.get(f"{link}/tabelle")

    def access_lines() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "portal.access"]

    # The page's thread writes the access line once the answer is sent, which may be after the client has it.
    deadline = time.monotonic() + 10
    while not any(line.startswith("GET /r/***/tabelle 200") for line in access_lines()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(line.startswith("GET /r/***/tabelle 200") for line in access_lines())
    assert all(token not in line for line in caplog.text.splitlines())


def test_staff_can_replace_a_link_and_the_old_one_stops_working(portal) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import concurrent.futures

    from tests.support.portal import links_from_mail
    from usecases.cycle import renew_link
    from usecases.outbox import deliver_pending

    old = portal.links["IHK"]
    new = renew_link(portal.ctx, year=2026, institution_code="IHK", now=portal.clock.now)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, deliver_pending(portal.ctx)).result()
    with client() as http:
        replaced = http.get(old)
        assert replaced.status_code == 410 and "durch einen neueren ersetzt" in replaced.text
        assert "IHK" not in main_text(replaced.text)
        assert "IHK Aachen" in main_text(http.get(new).text)
    assert links_from_mail(portal.smtp.recorder.messages(), portal.url) == {"IHK": new}


def test_every_return_is_reported_for_the_orchestration(tmp_path, smtp_server) -> None:  # type: ignore[no-untyped-def]
    import asyncio
    import concurrent.futures

    from tests.support.portal import Clock, PortalServer, links_from_mail
    from tests.support.smtp import free_port
    from usecases.context import AppContext
    from usecases.cycle import open_cycle
    from usecases.outbox import deliver_pending
    from usecases.settings import Settings
    from usecases.setup import init_database

    port = free_port()
    ctx = AppContext.from_settings(Settings(data_dir=tmp_path / "var", smtp_host="127.0.0.1", allow_local_links=True,
                                            smtp_port=smtp_server.port, base_url=f"http://127.0.0.1:{port}"))
    init_database(ctx, demo=True)
    clock = Clock()
    open_cycle(ctx, year=2026, deadline=dt.date(2026, 10, 15), today=clock.now.date(), now=clock.now)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, deliver_pending(ctx)).result()
    links = links_from_mail(smtp_server.recorder.messages(), ctx.settings.base_url)
    reported: list[tuple[str, str]] = []
    server = PortalServer(ctx, clock, port=port, on_return=lambda code, outcome: reported.append((code, outcome)))
    server.start()
    try:
        with client() as http:
            http.post(f"{links['DGB']}/keine-aenderungen", data={"csrf": csrf_of(http.get(links["DGB"]).text)})
            sheet = http.get(f"{links['IHK']}/tabelle").content
            upload(http, links["IHK"], edit_sheet(sheet, {"D2": "Ausbildung"}))
        deadline = time.monotonic() + 10
        while len(reported) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
        ctx.close()
    assert sorted(reported) == [("DGB", "no_changes"), ("IHK", "refused")]
