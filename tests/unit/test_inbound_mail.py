"""What a message in the agency's mailbox is (core.inbound_mail): a person's mail is never mistaken for a
bounce or an automatic reply, and an automatic reply is never answered."""

from __future__ import annotations

from email.message import EmailMessage

from core.inbound_mail import parse_mail


def mail(subject: str = "AW: Abfrage 2027", sender: str = "Anna Berg <anna.berg@ihk.example.org>",
         headers: dict[str, str] | None = None, attachments: list[tuple[str, bytes, str]] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "fachkraefte@agentur.example.org"
    message["Subject"] = subject
    message["Message-ID"] = "<abc@ihk.example.org>"
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content("Guten Tag,\nanbei unsere Tabelle.\n")
    for filename, data, kind in attachments or []:
        main, _, sub = kind.partition("/")
        message.add_attachment(data, maintype=main, subtype=sub, filename=filename)
    return message.as_bytes()


def test_a_persons_reply_with_sheets_keeps_every_spreadsheet_and_ignores_the_rest() -> None:
    parsed = parse_mail(mail(attachments=[("Rückmeldung IHK (ä).xlsx", b"PK1", "application/octet-stream"),
                                          ("alt.ODS", b"PK2", "application/vnd.oasis.opendocument.spreadsheet"),
                                          ("Logo.png", b"\x89PNG", "image/png"),
                                          ("../../etc/Anschreiben.pdf", b"%PDF", "application/pdf")]))
    assert [(s.filename, s.data) for s in parsed.sheets] == [("Rückmeldung IHK (ä).xlsx", b"PK1"),
                                                             ("alt.ODS", b"PK2")]
    assert parsed.others == ["Logo.png", ".._.._etc_Anschreiben.pdf"]
    assert (parsed.sender, parsed.reply_to, parsed.automatic, parsed.bounce) == (
        "anna.berg@ihk.example.org", "anna.berg@ihk.example.org", None, None)


def test_answers_go_to_reply_to_when_the_sender_names_one() -> None:
    parsed = parse_mail(mail(headers={"Reply-To": "Team <team@ihk.example.org>"}))
    assert parsed.reply_to == "team@ihk.example.org" and parsed.sender == "anna.berg@ihk.example.org"


def test_automatic_replies_are_recognised_by_header_or_subject() -> None:
    for headers, subject in (({"Auto-Submitted": "auto-replied"}, "Re: Abfrage"),
                             ({"X-Autoreply": "yes"}, "Re: Abfrage"),
                             ({"Precedence": "bulk"}, "Newsletter"),
                             ({"List-Id": "<liste.example.org>"}, "Verteiler"),
                             ({}, "Automatische Antwort: Abfrage 2027"),
                             ({}, "Abwesenheitsnotiz: Abfrage 2027"),
                             ({}, "Out of Office: survey")):
        assert parse_mail(mail(subject=subject, headers=headers)).automatic, (headers, subject)
    assert parse_mail(mail(headers={"Auto-Submitted": "no"})).automatic is None


def test_a_person_writing_about_an_undeliverable_mail_is_no_bounce() -> None:
    parsed = parse_mail(mail(subject="Ihre Mail war unzustellbar?"))
    assert parsed.bounce is None and parsed.automatic is None


def test_a_bounce_names_the_failed_address_and_the_original_message() -> None:
    raw = (b"From: MAILER-DAEMON@relay.example.org\r\nTo: noreply@agentur.example.org\r\n"
           b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
           b'Content-Type: multipart/report; report-type=delivery-status; boundary="X"\r\n\r\n'
           b"--X\r\nContent-Type: text/plain\r\n\r\nsorry\r\n"
           b"--X\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example.org\r\n\r\n"
           b"Final-Recipient: rfc822; Weg@IHK.example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
           b"--X\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.example.org\r\n\r\n"
           b"Final-Recipient: rfc822; langsam@hwk.example.org\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n"
           b"--X\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: <1234.fko@agentur.example.org>\r\n"
           b"Subject: Abfrage\r\n\r\n--X--\r\n")
    parsed = parse_mail(raw)
    assert parsed.bounce is not None and parsed.automatic
    assert parsed.bounce.permanent == {"weg@ihk.example.org"}
    assert "<1234.fko@agentur.example.org>" in parsed.bounce.original_ids


def test_a_malformed_message_is_read_without_an_error() -> None:
    for raw in (b"", b"\xff\xfe\x00garbage", b"From: \r\nSubject: =?utf-8?q?=FF?=\r\n\r\n",
                b"Content-Type: multipart/mixed; boundary=\r\n\r\n--\r\n"):
        parsed = parse_mail(raw)
        assert parsed.sheets == [] and parsed.sender == ""


def test_a_forwarded_copy_of_our_invitation_does_not_bring_its_unedited_sheet() -> None:
    """A contact forwards the invitation (with the sheet it carried) and attaches the edited sheet: only the
    edited one counts, whatever the order of the parts."""
    ours = EmailMessage()
    ours["From"] = "noreply@agentur.example.org"
    ours["Subject"] = "Abfrage 2027"
    ours["Message-ID"] = "<0123456789abcdef.fko@agentur.example.org>"
    ours.set_content("Ihre Tabelle im Anhang.\n")
    ours.add_attachment(b"PK-unedited", maintype="application", subtype="octet-stream", filename="IHK.xlsx")
    theirs = EmailMessage()
    theirs["From"] = "Anna Berg <anna.berg@ihk.example.org>"
    theirs["Subject"] = "WG: Abfrage 2027"
    theirs.set_content("Anbei.\n")
    theirs.add_attachment(b"PK-edited", maintype="application", subtype="octet-stream", filename="IHK neu.xlsx")
    theirs.add_attachment(ours)  # the invitation as a forwarded message (message/rfc822)
    forwarded = EmailMessage()  # someone else's mail forwarded with its sheet still counts
    forwarded["From"] = "verband@example.org"
    forwarded["Message-ID"] = "<x1@example.org>"
    forwarded.set_content("Unsere Tabelle.\n")
    forwarded.add_attachment(b"PK-member", maintype="application", subtype="octet-stream", filename="HWK.xlsx")
    theirs.add_attachment(forwarded)
    parsed = parse_mail(theirs.as_bytes())
    assert [(s.filename, s.data) for s in parsed.sheets] == [("IHK neu.xlsx", b"PK-edited"),
                                                             ("HWK.xlsx", b"PK-member")]
