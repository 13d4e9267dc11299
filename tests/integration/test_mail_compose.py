"""mail.compose writes MIME by hand (an EmailMessage cost three times as much per invitation): whatever the texts,
names and files, a mail program reads back exactly what was composed."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils

from hypothesis import given, settings
from hypothesis import strategies as st

from mail.compose import Attachment, Envelope, Mailbox, compose
from mail.templates import Rendered

NOW = dt.datetime(2026, 9, 1, 7, 0, tzinfo=dt.UTC)
# Text as templates render it: any printable character (umlauts, ß, emoji, "=", dots and "From " at line
# starts, trailing blanks, tabs), very long lines; line ends are the text's own.
TEXT = st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029\x85"),
                        max_size=120)
               | st.sampled_from(["\n", "\t", "=", ".", "From ", " \n", "ß", "€", "\U0001f600", "x" * 200]),
               max_size=12).map("".join)
NAME = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=40)
FILENAME = st.from_regex(r"[A-Za-z0-9ÄÖÜäöüß ,;'()\-_.]{1,60}\.xlsx", fullmatch=True)


def read(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    assert not message.defects and all(not part.defects for part in message.walk())
    return message


def by_the_standard_library(rendered: Rendered, envelope: Envelope, attachment: Attachment) -> bytes:
    """The same message built through EmailMessage, as mail.compose did before: the reference."""
    message = email.message.EmailMessage(policy=email.policy.SMTP)
    message["From"] = envelope.sender.address()
    message["To"] = [m.address() for m in envelope.to]
    message["Cc"] = [m.address() for m in envelope.cc]
    message["Subject"] = rendered.subject
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    message.add_attachment(attachment.data, maintype="application", subtype="octet-stream",
                           filename=attachment.filename)
    return message.as_bytes()


def normalised(text: str) -> str:
    """What any MIME text part carries: CRLF line ends, and a final line end."""
    lines = text.splitlines()
    return "\r\n".join(lines) + "\r\n"


@settings(max_examples=80, deadline=None)
@given(subject=NAME, text=TEXT, html=TEXT, to_name=NAME, cc_name=NAME,
       filename=FILENAME, data=st.binary(max_size=3000))
def test_compose_reads_back_exactly_what_was_composed(subject: str, text: str, html: str, to_name: str,
                                                      cc_name: str, filename: str, data: bytes) -> None:
    envelope = Envelope(sender=Mailbox("runde@ra-aachen.example.org", "Regionalagentur Region Aachen"),
                        to=[Mailbox("anna.mueller@ihk.example.org", to_name)],
                        cc=[Mailbox("ben@ihk.example.org", cc_name)],
                        reply_to=Mailbox("team@ra-aachen.example.org", "Regionalagentur Region Aachen"))
    rendered = Rendered(subject=" ".join(subject.split()) or "Betreff", text=text, html=html)
    composed = compose(rendered, envelope, key="aachen:2026:IHK:invitation", now=NOW,
                       attachments=[Attachment(filename, data)])
    assert all(len(line) <= 998 for line in composed.data.split(b"\r\n"))
    assert b"\n" not in composed.data.replace(b"\r\n", b"")
    message = read(composed.data)
    reference = read(by_the_standard_library(rendered, envelope, Attachment(filename, data)))
    for name in ("From", "To", "Cc", "Subject"):
        assert str(message[name]) == str(reference[name]), name
    assert message["To"].addresses[0].addr_spec == "anna.mueller@ihk.example.org"
    assert message["Cc"].addresses[0].addr_spec == "ben@ihk.example.org"
    assert message["Reply-To"].addresses[0].display_name == "Regionalagentur Region Aachen"
    assert message["Message-ID"] == composed.message_id
    assert message["Content-Language"] == "de" and message["Auto-Submitted"] == "auto-generated"
    plain, markup = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and markup is not None
    assert plain.get_content() == normalised(text) and markup.get_content() == normalised(html)
    assert plain.get_content() == reference.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    (attachment,) = list(message.iter_attachments())
    (expected,) = list(reference.iter_attachments())
    assert attachment.get_filename() == expected.get_filename() and attachment.get_content() == data
    assert attachment.get_filename() == filename or filename != filename.strip()
    assert attachment.get_content_type() == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_compose_display_names_with_commas_and_quotes_stay_one_address() -> None:
    envelope = Envelope(sender=Mailbox("runde@ra.example.org", 'Regionalagentur "Aachen", Team'),
                        to=[Mailbox("a@x.example.org", "Müller, Anna"), Mailbox("b@x.example.org", 'Ben "B" Bär')])
    message = read(compose(Rendered(subject="Erinnerung", text="Hallo\n", html="<p>Hallo</p>\n"), envelope,
                           key="k", now=NOW).data)
    assert [(a.display_name, a.addr_spec) for a in message["To"].addresses] == [
        ("Müller, Anna", "a@x.example.org"), ('Ben "B" Bär', "b@x.example.org")]
    assert message["From"].addresses[0].display_name == 'Regionalagentur "Aachen", Team'
    assert message.get_content_type() == "multipart/alternative"  # no attachment: no multipart/mixed around it
