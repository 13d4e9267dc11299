"""Build standards-correct MIME messages: multipart/alternative, UTF-8 headers, attachments, IDs."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from mail.templates import Rendered

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class Mailbox:
    email: str
    name: str = ""

    def address(self) -> Address:
        username, _, domain = self.email.rpartition("@")
        return Address(display_name=self.name, username=username, domain=domain)


@dataclass(frozen=True)
class Attachment:
    filename: str
    data: bytes
    content_type: str = ""

    def mime_type(self) -> tuple[str, str]:
        kind = self.content_type or (XLSX if self.filename.endswith(".xlsx") else
                                     mimetypes.guess_type(self.filename)[0] or "application/octet-stream")
        main, _, sub = kind.partition("/")
        return main, sub


@dataclass(frozen=True)
class Composed:
    message_id: str
    subject: str
    sender: str                 # envelope sender
    recipients: list[str]       # envelope recipients: To and Cc
    data: bytes                 # the flattened message, built once


@dataclass(frozen=True)
class Envelope:
    sender: Mailbox
    to: list[Mailbox]
    cc: list[Mailbox] = field(default_factory=list)
    reply_to: Mailbox | None = None


def message_id_for(key: str, domain: str) -> str:
    """A Message-ID derived from the outbox key: a resent copy is recognisably the same message."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}.fko@{domain}>"


def compose(rendered: Rendered, envelope: Envelope, *, key: str, now: dt.datetime,
            attachments: list[Attachment] | None = None) -> Composed:
    message = EmailMessage(policy=SMTP)
    message["From"] = envelope.sender.address()
    message["To"] = [m.address() for m in envelope.to]
    if envelope.cc:
        message["Cc"] = [m.address() for m in envelope.cc]
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to.address()
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    domain = envelope.sender.email.rpartition("@")[2] or "localhost"
    message_id = message_id_for(key, domain)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["Content-Language"] = "de"
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in attachments or []:
        main, sub = attachment.mime_type()
        message.add_attachment(attachment.data, maintype=main, subtype=sub, filename=attachment.filename)
    return Composed(
        message_id=message_id,
        subject=rendered.subject,
        sender=envelope.sender.email,
        recipients=[m.email for m in (*envelope.to, *envelope.cc)],
        data=message.as_bytes(),
    )
