"""Build standards-correct MIME messages: multipart/alternative, UTF-8 headers, attachments, IDs."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import mimetypes
import re
import secrets
from dataclasses import dataclass, field
from email import quoprimime
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
    """The message as bytes: multipart/alternative (text and HTML, quoted-printable UTF-8), inside
    multipart/mixed when there are attachments (base64). Written part by part rather than through an
    EmailMessage, whose header objects cost three times the rest when a round composes thousands of
    invitations; each header is still parsed and folded by the standard library (RFC 2047/2231), and those
    that repeat (sender, Reply-To, part headers) are folded once per process."""
    domain = envelope.sender.email.rpartition("@")[2] or "localhost"
    message_id = message_id_for(key, domain)
    headers = [_header("From", _addresses([envelope.sender])), _header("To", _addresses(envelope.to))]
    if envelope.cc:
        headers.append(_header("Cc", _addresses(envelope.cc)))
    if envelope.reply_to:
        headers.append(_header("Reply-To", _addresses([envelope.reply_to])))
    headers += [_header("Subject", rendered.subject), _plain("Date", format_datetime(now)),
                _plain("Message-ID", message_id), _FIXED_HEADERS]
    alternative = _multipart("alternative", [
        _part(_TEXT_HEADERS["plain"], _quoted_printable(rendered.text)),
        _part(_TEXT_HEADERS["html"], _quoted_printable(rendered.html)),
    ])
    body = _multipart("mixed", [alternative, *(_attachment(a) for a in attachments)]) if attachments else alternative
    return Composed(
        message_id=message_id,
        subject=rendered.subject,
        sender=envelope.sender.email,
        recipients=[m.email for m in (*envelope.to, *envelope.cc)],
        data=b"".join(headers) + body,
    )


def _plain(name: str, value: str) -> bytes:
    """A header whose value is plain ASCII and short: written as it is (folding would leave it unchanged)."""
    line = f"{name}: {value}"
    if len(line) <= SMTP.max_line_length and line.isascii() and line.isprintable():
        return line.encode("ascii") + b"\r\n"
    return _header(name, value)


@functools.lru_cache(maxsize=2048)
def _header(name: str, value: str) -> bytes:
    """One header line, parsed and folded by the standard library as EmailMessage would (CRLF line ends)."""
    return SMTP.fold_binary(*SMTP.header_store_parse(name, value))


def _addresses(mailboxes: list[Mailbox]) -> str:
    return ", ".join(str(m.address()) for m in mailboxes)


_FIXED_HEADERS = (b"Auto-Submitted: auto-generated\r\nX-Auto-Response-Suppress: All\r\nContent-Language: de\r\n"
                  b"MIME-Version: 1.0\r\n")
_TEXT_HEADERS = {kind: f'Content-Type: text/{kind}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable\r\n'
                 .encode() for kind in ("plain", "html")}


QP_LINE = 76  # RFC 2045 §6.7 (EmailMessage used the policy's 78)


def _quoted_printable(text: str) -> bytes:
    """UTF-8, quoted-printable, lines at most 76 characters, as email.contentmanager encodes text."""
    lines = text.encode("utf-8").splitlines()
    encoded = quoprimime.body_encode((b"\n".join(lines) + b"\n").decode("latin-1"), QP_LINE)
    return encoded.replace("\n", "\r\n").encode("ascii")


def _part(headers: bytes, body: bytes) -> bytes:
    return headers + b"\r\n" + body


def _multipart(subtype: str, parts: list[bytes]) -> bytes:
    """A multipart entity (its Content-Type header, a blank line, the parts) with a boundary no part contains."""
    boundary = "===============" + secrets.token_hex(12) + "=="
    while any(boundary.encode() in part for part in parts):
        boundary = "===============" + secrets.token_hex(12) + "=="
    separator = f"\r\n--{boundary}\r\n".encode()
    head = f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n'.encode("ascii")
    return head + b"\r\n--" + boundary.encode() + b"\r\n" + separator.join(parts) + \
        f"\r\n--{boundary}--\r\n".encode()


def _attachment(attachment: Attachment) -> bytes:
    main, sub = attachment.mime_type()
    headers = (f"Content-Type: {main}/{sub}\r\nContent-Transfer-Encoding: base64\r\n".encode()
               + _disposition_header(attachment.filename))
    return _part(headers, base64.encodebytes(attachment.data).replace(b"\n", b"\r\n"))


def _disposition_header(filename: str) -> bytes:
    """A plain ASCII file name quoted as it is; any other through the standard library (RFC 2231)."""
    if re.fullmatch(r"[A-Za-z0-9._-]{1,60}", filename):
        return f'Content-Disposition: attachment; filename="{filename}"\r\n'.encode("ascii")
    return _header("Content-Disposition", _disposition(filename))


@functools.lru_cache(maxsize=1024)
def _disposition(filename: str) -> str:
    """The Content-Disposition value EmailMessage writes for an attachment (RFC 2231 for a non-ASCII name)."""
    part = EmailMessage(policy=SMTP)
    part.set_content(b"", maintype="application", subtype="octet-stream", disposition="attachment", filename=filename)
    return str(part["Content-Disposition"])
