"""Send flattened messages over SMTP with aiosmtplib: bounded concurrency, retries, SMTP errors mapped once."""

from __future__ import annotations

import asyncio
import errno
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import aiosmtplib


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    tls: Literal["none", "starttls", "tls"] = "none"
    user: str | None = None
    password: str | None = None
    ca_file: str | None = None  # extra CA for a relay with an internal certificate
    timeout: float = 30.0
    concurrency: int = 5
    retries: int = 3          # attempts per message within one run, for 4xx and connection errors
    backoff: float = 2.0      # seconds before the first retry; doubles each time


class MailError(Exception):
    """Base of the errors this adapter raises; aiosmtplib's own never leave it."""


class TransientMailError(MailError):
    """Try again later: 4xx answers, refused or dropped connections, timeouts."""


class RelayUnavailable(TransientMailError):
    """No connection to the relay at all: the rest of the batch waits for the next run."""


class PermanentMailError(MailError):
    """The server refused the message itself for good (5xx to MAIL FROM or DATA): not the recipients' fault."""


class LoginRefused(RelayUnavailable):
    """The relay refused our login: a configuration problem, the rest of the batch waits."""


@dataclass(frozen=True)
class Job:
    id: int
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class Outcome:
    """``sent``: at least one recipient accepted; ``refused``: every recipient refused for good;
    ``failed``: transient errors outlasted the retries (the outbox tries again next run)."""

    state: Literal["sent", "refused", "failed"]
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # address → "550 5.1.1 …"
    error: str = ""
    unreachable: bool = False  # failed because no connection to the relay could be made


def split_deliverable(addresses: list[str]) -> tuple[list[str], dict[str, str]]:
    """Addresses SMTP can carry (ASCII local part; domains IDNA-encoded), and the others with a reason."""
    usable: list[str] = []
    unusable: dict[str, str] = {}
    for address in addresses:
        local, _, domain = address.rpartition("@")
        try:
            local.encode("ascii")
            usable.append(f"{local}@{domain.encode('idna').decode('ascii')}")
        except UnicodeError:
            unusable[address] = "553 address with non-ASCII characters cannot be delivered"
    return usable, unusable


def _describe(code: int, message: str) -> str:
    return f"{code} {message}".strip()


def connection_reason(exc: BaseException) -> str:
    """Why no SMTP session came about, in German (the library's own text is English)."""
    cause = exc.__cause__ or exc
    if isinstance(exc, (aiosmtplib.SMTPConnectTimeoutError, aiosmtplib.SMTPTimeoutError, TimeoutError)):
        return "keine Antwort in der Wartezeit"
    if isinstance(cause, socket.gaierror):
        return "der Name des Mailservers ist unbekannt"
    if isinstance(cause, ConnectionRefusedError):
        return "Verbindung abgelehnt (läuft dort ein Mailserver, stimmt der Port?)"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"das Zertifikat des Mailservers wird nicht anerkannt ({cause.verify_message}; FKO_SMTP_CA_FILE?)"
    if isinstance(cause, ssl.SSLError):
        return "die verschlüsselte Verbindung kam nicht zustande (FKO_SMTP_TLS prüfen)"
    if isinstance(cause, OSError) and cause.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
        return "der Rechner ist nicht erreichbar"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"der Mailserver antwortet {_describe(exc.code, exc.message)}"
    return f"Verbindung fehlgeschlagen ({type(cause).__name__})"


class SmtpConnection:
    """One SMTP session, reused for many messages."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self.client: aiosmtplib.SMTP | None = None

    async def open(self) -> None:
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.ca_file) if settings.tls != "none" else None
        client = aiosmtplib.SMTP(hostname=settings.host, port=settings.port, timeout=settings.timeout,
                                 use_tls=settings.tls == "tls", start_tls=settings.tls == "starttls",
                                 tls_context=context)
        try:
            await client.connect()
            if settings.user:
                await client.login(settings.user, settings.password or "")
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise LoginRefused(f"Anmeldung am Mailserver abgelehnt: {_describe(exc.code, exc.message)}") from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise RelayUnavailable(f"keine Verbindung zum Mailserver {settings.host}:{settings.port}: "
                                   f"{connection_reason(exc)}") from exc
        self.client = client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()

    async def send(self, job: Job) -> Outcome:
        recipients, unusable = split_deliverable(job.recipients)
        if not recipients:
            return Outcome("refused", refused=unusable)
        if self.client is None or not self.client.is_connected:
            await self.open()
        if self.client is None:  # open() either sets it or raises
            raise TransientMailError("keine Verbindung zum Mailserver")
        try:
            errors, _ = await self.client.sendmail(job.sender, recipients, job.data)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = {r.recipient: r for r in exc.recipients}
            if any(r.code < 500 for r in codes.values()):
                raise TransientMailError("Empfänger vorübergehend abgelehnt: " + "; ".join(
                    f"{a}: {_describe(r.code, r.message)}" for a, r in codes.items())) from exc
            return Outcome("refused", refused={a: _describe(r.code, r.message) for a, r in codes.items()})
        except aiosmtplib.SMTPResponseException as exc:
            await self.close()
            if exc.code >= 500:
                raise PermanentMailError(_describe(exc.code, exc.message)) from exc
            raise TransientMailError(_describe(exc.code, exc.message)) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            await self.close()
            raise TransientMailError(f"Verbindung zum Mailserver abgebrochen: {connection_reason(exc)}") from exc
        refused = {a: _describe(r.code, r.message) for a, r in errors.items() if r.code >= 500} | unusable
        deferred = {a: r for a, r in errors.items() if r.code < 500}
        accepted = [a for a in recipients if a not in errors]
        if deferred and not accepted:
            raise TransientMailError("Empfänger vorübergehend abgelehnt")
        return Outcome("sent", accepted=accepted, refused=refused)


async def deliver_all(jobs: Sequence[Job], settings: SmtpSettings, on_outcome: Callable[[Job, Outcome], None],
                      *, sleep: Callable[[float], object] = asyncio.sleep) -> None:
    """Send ``jobs`` over at most ``settings.concurrency`` connections; report each outcome at once.

    ``on_outcome`` runs right after each message's fate is known (the outbox commits it there), so a
    crash later in the batch cannot make an accepted message look unsent.
    """
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for job in jobs:
        queue.put_nowait(job)
    relay_down: list[str] = []  # set once the relay stayed unreachable through all retries

    async def worker() -> None:
        connection = SmtpConnection(settings)
        try:
            while True:
                try:
                    job = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                if relay_down:
                    on_outcome(job, Outcome("failed", error=relay_down[0]))
                    continue
                try:
                    outcome = await _with_retries(connection, job, settings, sleep)
                    if outcome.state == "failed" and outcome.unreachable:
                        relay_down.append(outcome.error)
                except Exception as exc:
                    await connection.close()
                    outcome = Outcome("failed", error=f"{type(exc).__name__}: {exc}")
                on_outcome(job, outcome)
        finally:
            await connection.close()

    workers = max(1, min(settings.concurrency, len(jobs)))
    await asyncio.gather(*(worker() for _ in range(workers)))


async def _with_retries(connection: SmtpConnection, job: Job, settings: SmtpSettings,
                        sleep: Callable[[float], object]) -> Outcome:
    delay = settings.backoff
    for attempt in range(1, settings.retries + 1):
        try:
            return await connection.send(job)
        except PermanentMailError as exc:
            return Outcome("failed", error=str(exc))
        except LoginRefused as exc:
            return Outcome("failed", error=str(exc), unreachable=True)
        except TransientMailError as exc:
            if attempt == settings.retries:
                return Outcome("failed", error=str(exc), unreachable=isinstance(exc, RelayUnavailable))
            result = sleep(delay)
            if asyncio.iscoroutine(result):
                await result
            delay *= 2
    return Outcome("failed", error="no attempt made")
