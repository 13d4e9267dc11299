"""Read the agency's mailbox over IMAP (IMAPClient): list, fetch without marking read, move to folders.

IMAPClient (maintained, synchronous, on top of the standard library's imaplib) handles UIDs, literals,
MOVE and folder names in modified UTF-7; the intake runs in a flow task or a CLI command, where a blocking
client is the simplest correct thing. Every failure to reach or use the server becomes ``MailboxError``
with one German line for staff.
"""

from __future__ import annotations

import contextlib
import imaplib
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    tls: Literal["none", "starttls", "tls"] = "tls"
    folder: str = "INBOX"
    ca_file: str | None = None
    timeout: float = 60.0

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


class MailboxError(Exception):
    """The mailbox cannot be reached or used; ``str(exc)`` is one German line for staff."""


class LoginRefused(MailboxError):
    pass


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())[:200]


class Mailbox:
    """One connection to the mailbox; folders named with "/" (``fko/verarbeitet``) use the server's own
    hierarchy separator (Dovecot's Maildir uses ".", Exchange "/")."""

    def __init__(self, client: IMAPClient, settings: ImapSettings) -> None:
        self.client, self.settings = client, settings
        self._separator: str | None = None
        self._known: set[str] | None = None

    # -- folders ---------------------------------------------------------------------------------------
    def server_name(self, folder: str) -> str:
        if folder.upper() == "INBOX":
            return "INBOX"
        if self._separator is None:
            listed = self._call(lambda: self.client.list_folders(directory="", pattern="INBOX"))
            separator = listed[0][1] if listed else b"/"
            self._separator = (separator.decode() if isinstance(separator, bytes) else separator) or "/"
        return folder.replace("/", self._separator)

    def ensure_folder(self, folder: str) -> str:
        """The folder's name on the server, created (with its parents) when missing."""
        name = self.server_name(folder)
        if self._known is None:
            self._known = {str(f[2]) for f in self._call(lambda: self.client.list_folders())}
        parts = folder.split("/")
        for depth in range(1, len(parts) + 1):
            partial = self.server_name("/".join(parts[:depth]))
            if partial not in self._known:
                try:
                    self._call(lambda p=partial: self.client.create_folder(p))  # type: ignore[misc]
                except MailboxError:
                    if not self._call(lambda p=partial: self.client.folder_exists(p)):  # type: ignore[misc]
                        raise
                self._known.add(partial)
        return name

    def select(self, folder: str) -> int:
        """Open the folder for reading and moving; returns its UIDVALIDITY."""
        name = self.server_name(folder)
        try:
            info = self.client.select_folder(name)
        except IMAPClientError as exc:
            raise MailboxError(f"Der Ordner „{folder}“ im Postfach {self.settings.where} lässt sich nicht öffnen "
                               f"({_reason(exc)}).") from exc
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise MailboxError(self._dropped(exc)) from exc
        return int(info.get(b"UIDVALIDITY", 0))

    # -- messages --------------------------------------------------------------------------------------
    def uids(self) -> list[int]:
        return sorted(int(u) for u in self._call(lambda: self.client.search("ALL")))

    def sizes(self, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        found = self._call(lambda: self.client.fetch(uids, ["RFC822.SIZE"]))
        return {int(uid): int(data.get(b"RFC822.SIZE", 0)) for uid, data in found.items()}

    def message(self, uid: int) -> bytes | None:
        """The whole message, without setting \\Seen; None when it is gone (moved by someone else)."""
        found = self._call(lambda: self.client.fetch([uid], ["BODY.PEEK[]"]))
        data = found.get(uid, {}).get(b"BODY[]")
        return bytes(data) if data is not None else None

    def header(self, uid: int) -> bytes | None:
        found = self._call(lambda: self.client.fetch([uid], ["BODY.PEEK[HEADER]"]))
        data = found.get(uid, {}).get(b"BODY[HEADER]")
        return bytes(data) if data is not None else None

    def move(self, uid: int, folder: str) -> None:
        target = self.ensure_folder(folder)
        if self.client.has_capability("MOVE"):
            self._call(lambda: self.client.move([uid], target))
            return
        self._call(lambda: self.client.copy([uid], target))
        self._call(lambda: self.client.delete_messages([uid]))
        if self.client.has_capability("UIDPLUS"):
            self._call(lambda: self.client.uid_expunge([uid]))
        else:
            self._call(lambda: self.client.expunge())

    def idle_once(self, seconds: float) -> bool:
        """Wait up to ``seconds`` for the server to announce new mail (IDLE); True when it did."""
        self._call(lambda: self.client.idle())
        try:
            responses = self._call(lambda: self.client.idle_check(timeout=seconds))
        finally:
            self._call(lambda: self.client.idle_done())
        return any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses)

    def supports_idle(self) -> bool:
        return bool(self.client.has_capability("IDLE"))

    # -- errors ----------------------------------------------------------------------------------------
    def _dropped(self, exc: BaseException) -> str:
        return f"Die Verbindung zum Postfach {self.settings.where} brach ab ({_reason(exc)})."

    def _call(self, action):  # type: ignore[no-untyped-def]
        try:
            return action()
        except (OSError, imaplib.IMAP4.abort, EOFError) as exc:
            raise MailboxError(self._dropped(exc)) from exc
        except IMAPClientError as exc:
            raise MailboxError(f"Das Postfach {self.settings.where} lehnte einen Befehl ab ({_reason(exc)}).") from exc


def _tls_context(settings: ImapSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=settings.ca_file) if settings.ca_file \
        else ssl.create_default_context()
    return context


@contextmanager
def open_mailbox(settings: ImapSettings) -> Iterator[Mailbox]:
    """Connect and sign in; raises MailboxError (LoginRefused) with one German line."""
    try:
        client = IMAPClient(settings.host, port=settings.port, ssl=settings.tls == "tls",
                            ssl_context=_tls_context(settings) if settings.tls != "none" else None,
                            timeout=settings.timeout)
    except ssl.SSLError as exc:
        raise MailboxError(f"Das Postfach {settings.where} hat kein gültiges Zertifikat für TLS "
                           f"({_reason(exc)}; ein eigenes Zertifikat der Agentur nennt FKO_IMAP_CA_FILE).") from exc
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailboxError(f"Das Postfach {settings.where} ist nicht erreichbar ({_reason(exc)}).") from exc
    try:
        if settings.tls == "starttls":
            try:
                client.starttls(_tls_context(settings))
            except (ssl.SSLError, IMAPClientError) as exc:
                raise MailboxError(f"Das Postfach {settings.where} bietet kein STARTTLS mit gültigem Zertifikat "
                                   f"({_reason(exc)}; ein eigenes Zertifikat der Agentur nennt FKO_IMAP_CA_FILE)."
                                   ) from exc
        try:
            client.login(settings.user, settings.password)
        except LoginError as exc:
            raise LoginRefused(f"Das Postfach {settings.where} hat die Anmeldung als „{settings.user}“ abgelehnt "
                               "(FKO_IMAP_USER und FKO_IMAP_PASSWORD prüfen).") from exc
        except (OSError, imaplib.IMAP4.abort) as exc:
            raise MailboxError(f"Die Verbindung zum Postfach {settings.where} brach bei der Anmeldung ab "
                               f"({_reason(exc)}).") from exc
        yield Mailbox(client, settings)
    finally:
        try:
            client.logout()
        except Exception:  # the connection may be gone already; nothing to save
            with contextlib.suppress(Exception):
                client.shutdown()


def watch(settings: ImapSettings, on_new_mail: Callable[[], None], stop: threading.Event, *,
          idle_seconds: float = 240.0, retry_seconds: float = 30.0, log: Callable[[str], None] = print) -> None:
    """Wait for new mail with IDLE and call ``on_new_mail`` when some arrives (and once at the start, for mail
    that came while nobody listened). Reconnects after errors; returns when ``stop`` is set or the server
    offers no IDLE (then the polling schedule alone reads the mailbox)."""
    while not stop.is_set():
        try:
            with open_mailbox(settings) as box:
                if not box.supports_idle():
                    log(f"Das Postfach {settings.where} bietet kein IDLE: es wird nur alle 10 Minuten gelesen.")
                    return
                box.select(settings.folder)
                on_new_mail()
                while not stop.is_set():
                    if box.idle_once(idle_seconds):
                        on_new_mail()
        except MailboxError as exc:
            log(f"{exc} Neuer Versuch in {retry_seconds:.0f} s.")
            stop.wait(retry_seconds)
