"""Returns and bounces by mail (issue 17): `fko mail fetch` reads a real Dovecot mailbox.

The round is the demo region's 2027 round, opened through the real CLI with its invitations delivered to the
test SMTP server; the replies are built from those invitations as a contact's mail program would (the sheet
from the invitation attached, edited or not) and put into the mailbox with IMAP APPEND.
"""

from __future__ import annotations

import io
import json
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests.support.factories import edit_sheet
from tests.support.imap import PASSWORD, USER, Dovecot, reply, sheet_of

NEW_ROW = {"B9": "Neu per E-Mail", "D9": "Duale Ausbildung stärken", "E9": "geplant"}
VERARBEITET, UNKLAR, UNZUSTELLBAR = "fko.verarbeitet", "fko.unklar", "fko.unzustellbar"  # Dovecot's "." separator


@pytest.fixture
def env(mailbox_env: dict[str, str]) -> dict[str, str]:
    return mailbox_env


def fko(run_fko, env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return run_fko(*args, env=env)


def flat(text: str) -> str:
    return " ".join(text.split())


def opened(run_fko, env: dict[str, str], smtp_server) -> dict[str, EmailMessage]:  # type: ignore[no-untyped-def]
    """Round 2027 open; each institution's invitation (with its sheet attached) by institution code."""
    assert fko(run_fko, env, "init", "--demo").exit_code == 0
    result = fko(run_fko, env, "cycle", "open", "--year", "2027", "--deadline", "15.10.2027")
    assert result.exit_code == 0, result.stderr
    invitations: dict[str, EmailMessage] = {}
    for received in smtp_server.recorder.received:
        message = received.message()
        for part in message.iter_attachments():
            name = part.get_filename() or ""
            if name.endswith(".xlsx"):
                invitations[name.rsplit("-", 1)[-1].removesuffix(".xlsx")] = message
    smtp_server.recorder.received.clear()
    return invitations


def sent(smtp_server) -> list[EmailMessage]:  # type: ignore[no-untyped-def]
    return [r.message() for r in smtp_server.recorder.received]


def recipients(message: EmailMessage) -> set[str]:
    return {a.addr_spec.lower() for h in ("To", "Cc") for a in (message[h].addresses if message[h] else ())}


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return flat(part.get_content())


def status(run_fko, env: dict[str, str]) -> dict:  # type: ignore[no-untyped-def, type-arg]
    result = fko(run_fko, env, "cycle", "status", "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def row(state: dict, code: str) -> dict:  # type: ignore[type-arg]
    return next(r for r in state["institutions"] if r["code"] == code)


def test_replies_with_sheets_are_taken_in_answered_and_filed(run_fko, env, dovecot: Dovecot, smtp_server) -> None:  # type: ignore[no-untyped-def]
    invitations = opened(run_fko, env, smtp_server)
    ihk = edit_sheet(sheet_of(invitations["IHK"]), NEW_ROW)
    wrong = edit_sheet(sheet_of(invitations["VUV"]), {"E2": "vielleicht"})
    # A colleague (not in the institution list) answers for IHK, the file renamed with umlauts (RFC 2231).
    dovecot.deliver(reply(invitations["IHK"], sender="Tom Kollege <tom.kollege@ihk-aachen.example.org>",
                          attachments=[("Rückmeldung IHK – Straßenbahn (ä).xlsx", ihk)]))
    dovecot.deliver(reply(invitations["VUV"], sender="birgit.thelen@vuv-aachen.example.org",
                          attachments=[("VUV.xlsx", wrong)]))
    # One mail with three institutions' sheets (an umbrella organisation collecting them).
    three = [(f"{code}.xlsx", sheet_of(invitations[code])) for code in ("HWK", "RWTH", "DGB")]
    dovecot.deliver(reply(None, sender="sammelstelle@verband.example.org", subject="Drei Rückmeldungen",
                          attachments=three))
    # The same sheet again, a day later: recorded once.
    dovecot.deliver(reply(invitations["IHK"], sender="leonie.reiners@ihk-aachen.example.org",
                          attachments=[("Rückmeldung IHK.xlsx", ihk)]))

    preview = fko(run_fko, env, "mail", "fetch", "--dry-run")
    assert preview.exit_code == 0, preview.stderr
    assert "Probelauf, nichts geändert: 4 Nachrichten" in flat(preview.stdout)
    assert dovecot.folders().get("INBOX") == 4 and sent(smtp_server) == []

    result = fko(run_fko, env, "mail", "fetch")
    assert result.exit_code == 0, result.stderr
    out = flat(result.stdout)
    assert "Rückmeldung: tom.kollege@ihk-aachen.example.org" in out
    assert "IHK: Rückmeldung IHK – Straßenbahn (ä).xlsx angenommen" in out
    assert "VUV: VUV.xlsx abgelehnt" in out
    assert "IHK: Rückmeldung IHK.xlsx schon per E-Mail erfasst" in out
    assert dovecot.folders() == {"INBOX": 0, "fko": 0, VERARBEITET: 4}

    mails = sent(smtp_server)
    subjects = [str(m["Subject"]) for m in mails]
    assert len(mails) == 5, subjects  # IHK, VUV, and the three of the umbrella mail; the second copy none
    receipt = next(m for m in mails if m["Subject"] == "Eingangsbestätigung: Rückmeldung IHK Aachen zum "
                                                       "Handlungskonzept Region Aachen 2027")
    # The institution's contacts and the colleague who sent it.
    assert {"leonie.reiners@ihk-aachen.example.org", "tom.kollege@ihk-aachen.example.org"} <= recipients(receipt)
    assert "1 neu" in body(receipt) or "neu" in body(receipt)
    refusal = next(m for m in mails if str(m["Subject"]).startswith("Bitte korrigieren"))
    assert "(Vereinigte Unternehmerverbände Aachen (VUV))" in str(refusal["Subject"])
    assert "„vielleicht“" in body(refusal) and "birgit.thelen@vuv-aachen.example.org" in recipients(refusal)
    umbrella = [m for m in mails if "sammelstelle@verband.example.org" in recipients(m)]
    assert sorted(str(m["Subject"]).split(": Rückmeldung ")[1].split(" zum")[0] for m in umbrella) == \
        ["DGB NRW Region Süd-West", "HWK Aachen", "RWTH Aachen University"], subjects

    state = status(run_fko, env)
    assert row(state, "IHK")["answer"] == "accepted" and row(state, "VUV")["state"] == "refused"
    assert {row(state, c)["answer"] for c in ("HWK", "RWTH", "DGB")} == {"accepted"}
    again = fko(run_fko, env, "mail", "fetch")
    assert again.exit_code == 0 and "Keine neuen Nachrichten im Postfach." in again.stdout


def test_messages_that_name_no_institution_are_answered_once_and_left_for_staff(run_fko, env, dovecot: Dovecot,  # type: ignore[no-untyped-def]
                                                                              smtp_server, tmp_path: Path) -> None:
    invitations = opened(run_fko, env, smtp_server)
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (300 * 1024 * 1024))
    dovecot.deliver(reply(invitations["IHK"], sender="leonie.reiners@ihk-aachen.example.org",
                          text="Wir melden uns nächste Woche.\n"))
    dovecot.deliver(reply(invitations["HWK"], sender="oliver.kuepper@hwk-aachen.example.org",
                          attachments=[("Tabelle.xlsx", bomb.getvalue())]))
    dovecot.deliver(reply(invitations["DGB"], sender="gross@arbeitsagentur.example.org",
                          attachments=[("Riesig.xlsx", b"x" * (30 * 1024 * 1024))]))
    dovecot.deliver(reply(invitations["RWTH"], sender="rwth@rwth.example.org",
                          attachments=[("RWTH.xlsx", sheet_of(invitations["RWTH"]))]))
    # Spam with a forged sender gets no answer (no backscatter), nor does a contact's second note that day.
    dovecot.deliver(reply(None, sender="gewinn@spam.example.net", subject="Sie haben gewonnen"))
    dovecot.deliver(reply(invitations["IHK"], sender="leonie.reiners@ihk-aachen.example.org",
                          text="Nachtrag: ab Montag.\n"))

    result = fko(run_fko, env, "mail", "fetch")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert dovecot.folders() == {"INBOX": 0, "fko": 0, UNKLAR: 5, VERARBEITET: 1}
    answers = {str(m["To"]): m for m in sent(smtp_server) if str(m["Subject"]).strip().startswith("Ihre Nachricht")}
    assert set(answers) == {"leonie.reiners@ihk-aachen.example.org", "oliver.kuepper@hwk-aachen.example.org",
                            "gross@arbeitsagentur.example.org"}
    assert "Sie enthielt keine Tabelle" in body(answers["leonie.reiners@ihk-aachen.example.org"])
    assert "„Tabelle.xlsx“:" in body(answers["oliver.kuepper@hwk-aachen.example.org"])
    assert "zu groß" in body(answers["gross@arbeitsagentur.example.org"])
    assert row(status(run_fko, env), "RWTH")["answer"] == "accepted"  # the mailbox kept going after them

    again = fko(run_fko, env, "mail", "fetch")
    assert again.exit_code == 0 and len(answers) == len([m for m in sent(smtp_server)
                                                          if str(m["Subject"]).strip().startswith("Ihre Nachricht")])

    # Staff see them: in the round's status and in the day's digest.
    assert "E-Mails im Ordner fko/unklar (5), bitte lesen:" in flat(fko(run_fko, env, "cycle", "status").stdout)
    assert [m["sender"] for m in status(run_fko, env)["unclear_mail"]] == [
        "leonie.reiners@ihk-aachen.example.org", "oliver.kuepper@hwk-aachen.example.org",
        "gross@arbeitsagentur.example.org", "gewinn@spam.example.net", "leonie.reiners@ihk-aachen.example.org"]
    assert fko(run_fko, env, "remind", "--today", "13.01.2027").exit_code == 0  # a working day
    digest = next(m for m in sent(smtp_server) if str(m["Subject"]).startswith("Tagesübersicht"))
    assert "5 E-Mails zu lesen" in str(digest["Subject"])
    assert "IM POSTFACH, BITTE LESEN (5)" in body(digest)
    assert "oliver.kuepper@hwk-aachen.example.org, „AW: Abfrage 2027" in body(digest)


def dsn(original: EmailMessage, address: str) -> bytes:
    """A delivery status notification (RFC 3464) as a relay sends it a day later: the address does not exist."""
    quoted = "".join(f"{k}: {v}\r\n" for k, v in original.items())
    return (
        "From: Mail Delivery System <MAILER-DAEMON@relay.example.org>\r\n"
        f"To: {original['From']}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        f"Message-ID: {make_msgid(domain='relay.example.org')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B1"\r\n\r\n'
        "--B1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered to {address}.\r\n\r\n"
        "--B1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; relay.example.org\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown\r\n\r\n"
        "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{quoted}\r\n--B1--\r\n").encode()


def exim_bounce(address: str) -> bytes:
    """The common non-standard shape: Exim's plain-text bounce with X-Failed-Recipients."""
    message = EmailMessage()
    message["From"] = "Mail Delivery System <Mailer-Daemon@mx.ihk-aachen.example.org>"
    message["To"] = "noreply@regionalagentur.example.org"
    message["Subject"] = "Mail delivery failed: returning message to sender"
    message["X-Failed-Recipients"] = address
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("This message was created automatically by mail delivery software.\n\nA message that you "
                        "sent could not be delivered to one or more of its\nrecipients. This is a permanent error. "
                        f"The following address(es) failed:\n\n  {address}\n    Unrouteable address\n")
    return message.as_bytes()


def test_bounces_stop_mail_to_the_address_and_the_ladder_moves_on_out_of_office_is_never_answered(  # type: ignore[no-untyped-def]
        run_fko, env, dovecot: Dovecot, smtp_server) -> None:
    invitations = opened(run_fko, env, smtp_server)
    dovecot.deliver(dsn(invitations["IHK"], "leonie.reiners@ihk-aachen.example.org"))
    # A server rule files some bounces into a folder of their own (FKO_IMAP_BOUNCE_FOLDER).
    dovecot.deliver(exim_bounce("oliver.kuepper@hwk-aachen.example.org"), folder="Unzustellbar")
    env = {**env, "FKO_IMAP_BOUNCE_FOLDER": "Unzustellbar"}
    dovecot.deliver(reply(invitations["VUV"], sender="birgit.thelen@vuv-aachen.example.org",
                          subject=f"Automatische Antwort: {invitations['VUV']['Subject']}",
                          text="Ich bin bis zum 20.10. nicht im Büro. Vertretung: Sven Renn.\n",
                          headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}))
    # Our own mail in the agency's mailbox (a Cc to staff, the digest): filed, never answered or reported.
    dovecot.deliver(invitations["KDN"].as_bytes())

    result = fko(run_fko, env, "mail", "fetch")
    assert result.exit_code == 0, result.stderr
    out = flat(result.stdout)
    assert ("leonie.reiners@ihk-aachen.example.org unzustellbar (IHK), keine weiteren E-Mails dorthin; "
            "Unzustellbar-Meldung: 550 5.1.1") in out
    assert "oliver.kuepper@hwk-aachen.example.org unzustellbar (HWK)" in out
    assert "automatische Antwort: birgit.thelen@vuv-aachen.example.org" in out
    assert "eigene Nachricht: noreply@regionalagentur.example.org" in out
    assert dovecot.folders() == {"INBOX": 0, "Unzustellbar": 0, "fko": 0, UNZUSTELLBAR: 2, VERARBEITET: 2}
    assert sent(smtp_server) == []  # neither the bounces, the out-of-office note nor our own mail are answered

    state = status(run_fko, env)
    assert {(u["code"], u["address"]) for u in state["undeliverable"]} == {
        ("IHK", "leonie.reiners@ihk-aachen.example.org"), ("HWK", "oliver.kuepper@hwk-aachen.example.org")}
    table = fko(run_fko, env, "cycle", "status")
    assert "Unzustellbare Adressen (2)" in flat(table.stdout)
    # The dashboard's table of them (flows.dashboard), the bounce's wording escaped as Markdown text.
    from flows.dashboard import mailbox_markdown
    from usecases.context import AppContext
    from usecases.settings import Settings
    from usecases.status import cycle_status

    ctx = AppContext.from_settings(Settings(data_dir=Path(env["FKO_DATA_DIR"])))
    try:
        markdown = mailbox_markdown(cycle_status(ctx))
    finally:
        ctx.close()
    assert "### Unzustellbare Adressen" in markdown
    assert "| IHK | IHK Aachen | leonie.reiners@ihk-aachen.example.org | Unzustellbar-Meldung: 550 5.1.1 \\<" \
        in markdown
    outbox = json.loads(fko(run_fko, env, "mail", "outbox", "--json").stdout)
    invitation = next(m for m in outbox if m["to"] == "leonie.reiners@ihk-aachen.example.org")
    assert invitation["state"] == "refused" and "550 5.1.1" in invitation["error"]

    # The staff digest names both addresses and the out-of-office note (it may name a new contact), not our own.
    assert fko(run_fko, env, "remind", "--today", "13.01.2027").exit_code == 0
    digest = next(m for m in sent(smtp_server) if str(m["Subject"]).startswith("Tagesübersicht"))
    assert "UNZUSTELLBARE ADRESSEN (2)" in body(digest) and "IM POSTFACH, BITTE LESEN (1)" in body(digest)
    assert "birgit.thelen@vuv-aachen.example.org, „Automatische Antwort:" in body(digest)
    assert "noreply@regionalagentur.example.org" not in body(digest).split("IM POSTFACH")[1]

    # The first reminder (7 days before the deadline) goes to the deputy, not the dead address.
    reminded = fko(run_fko, env, "remind", "--today", "08.10.2027")
    assert reminded.exit_code == 0, reminded.stderr
    to_ihk = [m for m in sent(smtp_server) if "IHK Aachen" in body(m) or "ihk-aachen" in str(m["To"])]
    assert to_ihk and all("leonie.reiners@ihk-aachen.example.org" not in recipients(m) for m in to_ihk)
    assert any("dirk.kraemer@ihk-aachen.example.org" in str(m["To"]) for m in to_ihk)


def test_a_mailbox_that_cannot_be_reached_or_refuses_the_login_is_one_clear_line(  # type: ignore[no-untyped-def]
        run_fko, env, dovecot: Dovecot, smtp_server) -> None:
    opened(run_fko, env, smtp_server)
    from tests.support.smtp import free_port

    down = fko(run_fko, {**env, "FKO_IMAP_PORT": str(free_port())}, "mail", "fetch")
    assert down.exit_code == 1 and "Traceback" not in down.stderr
    lines = [line for line in down.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Das Postfach 127.0.0.1:" in lines[0] and "ist nicht erreichbar" in lines[0], lines

    refused = fko(run_fko, {**env, "FKO_IMAP_PASSWORD": "falsch"}, "mail", "fetch")
    assert refused.exit_code == 2 and "Traceback" not in refused.stderr
    assert ("hat die Anmeldung als „agentur“ abgelehnt (FKO_IMAP_USER und FKO_IMAP_PASSWORD prüfen)"
            in flat(refused.stderr))

    unset = fko(run_fko, {k: v for k, v in env.items() if k != "FKO_IMAP_HOST"}, "mail", "fetch")
    assert unset.exit_code == 2 and "Kein Postfach eingestellt: FKO_IMAP_HOST" in flat(unset.stderr)


def three_replies(invitations: dict[str, EmailMessage], dovecot: Dovecot) -> None:
    for code, sender in (("IHK", "leonie.reiners@ihk-aachen.example.org"),
                         ("HWK", "oliver.kuepper@hwk-aachen.example.org"),
                         ("VUV", "birgit.thelen@vuv-aachen.example.org")):
        dovecot.deliver(reply(invitations[code], sender=sender, attachments=[(f"{code}.xlsx",
                                                                             sheet_of(invitations[code]))]))


def receipts(smtp_server) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(str(m["Subject"]) for m in sent(smtp_server) if str(m["Subject"]).startswith("Eingangsbest"))


def submissions(tmp_path: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(tmp_path / "var" / "fko.db") as db:
        return db.execute("SELECT s.source, i.code FROM submission s JOIN request r ON r.id = s.request_id "
                          "JOIN institution i ON i.id = r.institution_id ORDER BY s.id").fetchall()


def test_a_connection_dropped_mid_fetch_loses_nothing_and_repeats_nothing(  # type: ignore[no-untyped-def]
        run_fko, env, dovecot: Dovecot, smtp_server, tmp_path: Path) -> None:
    from tests.support.imap import CuttingProxy

    invitations = opened(run_fko, env, smtp_server)
    three_replies(invitations, dovecot)
    proxy = CuttingProxy(dovecot.port)
    proxy.trigger, proxy.after = b"BODY.PEEK[]", 2  # the connection ends while the second message is fetched
    try:
        cut = fko(run_fko, {**env, "FKO_IMAP_PORT": str(proxy.port)}, "mail", "fetch")
    finally:
        proxy.close()
    assert cut.exit_code == 1 and "Traceback" not in cut.stderr
    assert "brach ab" in flat(cut.stderr) and "Der nächste Abruf macht dort weiter; nichts geht verloren." in \
        flat(cut.stderr)
    assert "IHK: IHK.xlsx angenommen" in flat(cut.stdout)
    assert dovecot.folders()["INBOX"] == 2 and len(receipts(smtp_server)) == 1

    after = fko(run_fko, env, "mail", "fetch")
    assert after.exit_code == 0, after.stderr
    assert dovecot.folders() == {"INBOX": 0, "fko": 0, VERARBEITET: 3}
    assert len(receipts(smtp_server)) == 3 and len(set(receipts(smtp_server))) == 3
    assert sorted(submissions(tmp_path)) == [("mail", "HWK"), ("mail", "IHK"), ("mail", "VUV")]
    import sqlite3

    with sqlite3.connect(tmp_path / "var" / "fko.db") as db:  # the event log names who handed each in
        actors = db.execute("SELECT actor FROM event_log WHERE action = 'return.accepted' ORDER BY id").fetchall()
    assert sorted(a for (a,) in actors) == ["institution:HWK", "institution:IHK", "institution:VUV"]


def test_a_fetcher_killed_between_recording_and_moving_records_once_and_answers_once(  # type: ignore[no-untyped-def]
        env, dovecot: Dovecot, smtp_server, tmp_path: Path, run_fko) -> None:
    import os
    import signal
    import subprocess
    import sys

    from tests.support.imap import CuttingProxy

    invitations = opened(run_fko, env, smtp_server)
    three_replies(invitations, dovecot)
    proxy = CuttingProxy(dovecot.port)
    fetcher = subprocess.Popen([sys.executable, "-m", "cli", "mail", "fetch"], cwd=tmp_path,
                               env={**env, "FKO_IMAP_PORT": str(proxy.port)}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    # The first message is recorded (its receipt queued); when the fetcher asks the server to move it, it dies.
    proxy.trigger, proxy.on_trigger = b"MOVE", lambda: os.kill(fetcher.pid, signal.SIGKILL)
    try:
        fetcher.wait(timeout=120)
    finally:
        proxy.close()
    assert fetcher.returncode == -signal.SIGKILL and proxy.triggered.is_set()
    assert dovecot.folders()["INBOX"] == 3 and submissions(tmp_path) == [("mail", "IHK")]
    assert receipts(smtp_server) == []  # queued, not yet sent: the process died first

    again = fko(run_fko, env, "mail", "fetch")
    assert again.exit_code == 0, again.stderr
    assert "schon erfasst, nach fko/verarbeitet verschoben" in flat(again.stdout)
    assert dovecot.folders() == {"INBOX": 0, "fko": 0, VERARBEITET: 3}
    assert sorted(submissions(tmp_path)) == [("mail", "HWK"), ("mail", "IHK"), ("mail", "VUV")]
    assert len(receipts(smtp_server)) == 3 and len(set(receipts(smtp_server))) == 3


def test_new_mail_is_noticed_at_once_where_the_server_offers_idle(dovecot: Dovecot) -> None:
    """`fko serve` listens with IDLE and starts an ingest run on new mail (mail.imap.watch)."""
    import threading

    from mail.imap import ImapSettings, watch

    calls: list[int] = []
    started, arrived, stop = threading.Event(), threading.Event(), threading.Event()

    def on_new_mail() -> None:
        calls.append(1)
        (started if len(calls) == 1 else arrived).set()

    settings = ImapSettings(host="127.0.0.1", port=dovecot.port, user=USER, password=PASSWORD, tls="none")
    thread = threading.Thread(target=watch, args=(settings, on_new_mail, stop), kwargs={"idle_seconds": 2},
                              daemon=True)
    thread.start()
    try:
        assert started.wait(30)  # once at the start: mail that came while nobody listened
        assert not arrived.wait(3)  # nothing new, nothing triggered
        dovecot.deliver(reply(None, sender="anna@beispiel.example.org", subject="Frage"))
        assert arrived.wait(30)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_the_mailbox_over_tls_and_starttls_with_the_agencys_own_certificate(run_fko, fko_env, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    server = Dovecot(certificate=(cert, key)).start()
    try:
        assert fko(run_fko, fko_env, "init", "--demo").exit_code == 0
        base = {**fko_env, "FKO_IMAP_HOST": "127.0.0.1", "FKO_IMAP_USER": USER, "FKO_IMAP_PASSWORD": PASSWORD,
                "FKO_IMAP_CA_FILE": str(cert)}
        for tls, port in (("tls", server.tls_port), ("starttls", server.port)):
            fetched = fko(run_fko, {**base, "FKO_IMAP_TLS": tls, "FKO_IMAP_PORT": str(port)}, "mail", "fetch")
            assert fetched.exit_code == 0, (tls, fetched.stderr)
            assert "Keine neuen Nachrichten im Postfach." in fetched.stdout
        untrusted = {k: v for k, v in base.items() if k != "FKO_IMAP_CA_FILE"}
        refused = fko(run_fko, {**untrusted, "FKO_IMAP_TLS": "tls", "FKO_IMAP_PORT": str(server.tls_port)},
                      "mail", "fetch")
        assert refused.exit_code == 1 and "Traceback" not in refused.stderr
        assert f"Das Postfach 127.0.0.1:{server.tls_port} hat kein gültiges Zertifikat für TLS" in flat(refused.stderr)
    finally:
        server.stop()


def test_doctor_checks_the_mailbox(run_fko, env, dovecot: Dovecot) -> None:  # type: ignore[no-untyped-def]
    assert fko(run_fko, env, "init", "--demo").exit_code == 0
    dovecot.deliver(reply(None, sender="anna@beispiel.example.org", subject="Frage"))
    found = fko(run_fko, env, "doctor", "--timeout", "3").stdout.splitlines()
    assert (f"✓ Postfach: 127.0.0.1:{dovecot.port} (ohne TLS), Ordner „INBOX“ mit 1 Nachrichten; Ablage in "
            "fko/unklar, fko/unzustellbar, fko/verarbeitet") in found, found
    assert {"fko.unklar", "fko.unzustellbar", "fko.verarbeitet"} <= set(dovecot.folders())
    wrong = fko(run_fko, {**env, "FKO_IMAP_PASSWORD": "falsch"}, "doctor", "--timeout", "3").stdout
    assert "✗ Postfach: Das Postfach 127.0.0.1:" in wrong and "„agentur“ abgelehnt" in wrong
    unset = fko(run_fko, {k: v for k, v in env.items() if k != "FKO_IMAP_HOST"}, "doctor", "--timeout", "3").stdout
    assert "! Postfach: FKO_IMAP_HOST ist nicht gesetzt" in unset


def test_a_second_fetcher_at_the_same_time_leaves_the_mailbox_to_the_first(run_fko, env, dovecot: Dovecot,  # type: ignore[no-untyped-def]
                                                                            smtp_server) -> None:
    import fcntl

    invitations = opened(run_fko, env, smtp_server)
    dovecot.deliver(reply(invitations["IHK"], sender="leonie.reiners@ihk-aachen.example.org",
                          attachments=[("IHK.xlsx", sheet_of(invitations["IHK"]))]))
    with (Path(env["FKO_DATA_DIR"]) / "mailbox.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # the scheduled run is reading the mailbox
        second = fko(run_fko, env, "mail", "fetch")
    assert second.exit_code == 0 and "Ein anderer Abruf liest das Postfach gerade" in flat(second.stdout)
    assert dovecot.folders()["INBOX"] == 1 and sent(smtp_server) == []
    first = fko(run_fko, env, "mail", "fetch")
    assert first.exit_code == 0 and "IHK: IHK.xlsx angenommen" in flat(first.stdout)
