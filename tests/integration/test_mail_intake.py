"""Returns and bounces by mail (issue 17): `fko mail fetch` reads a real Dovecot mailbox.

The round is the demo region's 2027 round, opened through the real CLI with its invitations delivered to the
test SMTP server; the replies are built from those invitations as a contact's mail program would (the sheet
from the invitation attached, edited or not) and put into the mailbox with IMAP APPEND.
"""

from __future__ import annotations

import email
import email.policy
import io
import json
import zipfile
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests.support.factories import edit_sheet
from tests.support.imap import PASSWORD, USER, Dovecot

AGENCY = "fachkraefte@regionalagentur.example.org"
NEW_ROW = {"B9": "Neu per E-Mail", "D9": "Duale Ausbildung stärken", "E9": "geplant"}
VERARBEITET, UNKLAR, UNZUSTELLBAR = "fko.verarbeitet", "fko.unklar", "fko.unzustellbar"  # Dovecot's "." separator


@pytest.fixture
def dovecot():  # type: ignore[no-untyped-def]
    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def env(fko_env: dict[str, str], dovecot: Dovecot, smtp_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port),
            "FKO_MAIL_FROM": "noreply@regionalagentur.example.org", "FKO_BASE_URL": "https://fko.example.org",
            "FKO_IMAP_HOST": "127.0.0.1", "FKO_IMAP_PORT": str(dovecot.port), "FKO_IMAP_USER": USER,
            "FKO_IMAP_PASSWORD": PASSWORD, "FKO_IMAP_TLS": "none"}


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


def sheet_of(invitation: EmailMessage) -> bytes:
    part = next(p for p in invitation.iter_attachments() if (p.get_filename() or "").endswith(".xlsx"))
    data = part.get_payload(decode=True)
    assert isinstance(data, bytes)
    return data


def reply(invitation: EmailMessage | None, *, sender: str, attachments: list[tuple[str, bytes]] = (),  # type: ignore[assignment]
          subject: str | None = None, text: str = "Anbei unsere Rückmeldung.\n", headers: dict[str, str] | None = None,
          ) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = AGENCY
    message["Subject"] = subject if subject is not None else f"AW: {invitation['Subject']}" if invitation else "Frage"
    message["Message-ID"] = make_msgid(domain="absender.example.org")
    if invitation is not None:
        message["In-Reply-To"] = invitation["Message-ID"]
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    for filename, data in attachments:
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    return message.as_bytes()


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

    result = fko(run_fko, env, "mail", "fetch")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert dovecot.folders() == {"INBOX": 0, "fko": 0, UNKLAR: 3, VERARBEITET: 1}
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
