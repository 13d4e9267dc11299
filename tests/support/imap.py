"""A real Dovecot IMAP server (Debian's dovecot-imapd) for the tests: started as an unprivileged process on
127.0.0.1 with a throwaway configuration and Maildir, one user ``agentur`` with a plain password.

Run as root (CI), the whole server runs as the ``dovecot`` system user the package creates; run as a normal
user, as that user. The mailbox is filled with APPEND (as a delivery would leave it) and read back with
imaplib, so the tests check the server's state, not ours.
"""

from __future__ import annotations

import contextlib
import getpass
import grp
import imaplib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from tests.support.smtp import free_port

DOVECOT = "/usr/sbin/dovecot"
AGENCY = "fachkraefte@regionalagentur.example.org"  # where institutions reply to
USER, PASSWORD = "agentur", "postfach-geheim"


def _owner() -> tuple[str, str]:
    if os.geteuid() == 0:
        return "dovecot", grp.getgrgid(pwd.getpwnam("dovecot").pw_gid).gr_name
    return getpass.getuser(), grp.getgrgid(os.getegid()).gr_name


class Dovecot:
    def __init__(self, *, port: int | None = None, separator: str | None = None,
                 certificate: tuple[Path, Path] | None = None) -> None:
        # Its own directory under /tmp: pytest's tmp_path is private to root, the server runs as "dovecot".
        self.root, self.port = Path(tempfile.mkdtemp(prefix="fko-dovecot-")), port or free_port()
        self.separator = separator  # None: Dovecot's Maildir default "."
        # With a (certificate, key): STARTTLS on ``port`` and implicit TLS on ``tls_port``.
        self.certificate = certificate
        self.tls_port = free_port() if certificate else 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def _write_config(self) -> None:
        user, group = _owner()
        for name in ("base", "state", "mail", "log"):
            (self.root / name).mkdir(parents=True, exist_ok=True)
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        tls = "ssl = no\n"
        if self.certificate:
            for source, name in zip(self.certificate, ("cert.pem", "key.pem"), strict=True):
                shutil.copy(source, self.root / name)
            tls = f"ssl = yes\nssl_cert = <{self.root}/cert.pem\nssl_key = <{self.root}/key.pem\n"
        namespace = (f"namespace inbox {{\n  inbox = yes\n  separator = {self.separator}\n}}\n"
                     if self.separator else "")
        self.config.write_text(f"""
protocols = imap
listen = 127.0.0.1
base_dir = {self.root}/base
state_dir = {self.root}/state
log_path = {self.root}/log/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
first_valid_gid = 1
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
login_trusted_networks = 127.0.0.0/8
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {self.root}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={self.root}/mail/%u
}}
mail_location = maildir:~/Maildir
{namespace}service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.tls_port}
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
""")
        if os.geteuid() == 0:
            shutil.chown(self.root, user, group)
            for path in self.root.rglob("*"):
                shutil.chown(path, user, group)

    def start(self) -> Dovecot:
        self._write_config()
        command = [DOVECOT, "-F", "-c", str(self.config)]
        if os.geteuid() == 0:
            user, group = _owner()
            command = ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", *command]
        # A session of its own: stop() kills the master and its children together (one signal, no shutdown wait).
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot did not start: {self.process.stderr.read().decode()}"  # type: ignore[union-attr]
                                   f"{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                    if sock.recv(100).startswith(b"* OK"):
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer on {self.port}: {self.log()}")

    def stop(self) -> None:
        """Gone at once, as a crashed server is (a graceful stop waits ~1 s for Dovecot's children)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
            if self.process.stderr is not None:
                self.process.stderr.close()
        self.process = None
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        path = self.root / "log" / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # -- the mailbox as a person (or a delivery) sees it -------------------------------------------------
    def client(self) -> imaplib.IMAP4:
        client = imaplib.IMAP4("127.0.0.1", self.port)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, message: bytes, folder: str = "INBOX") -> None:
        client = self.client()
        try:
            if folder != "INBOX":
                client.create(folder)
            status, detail = client.append(folder, "", imaplib.Time2Internaldate(time.time()), message)
            assert status == "OK", detail
        finally:
            client.logout()

    def folders(self) -> dict[str, int]:
        """Every folder and how many messages it holds (names as the server spells them)."""
        client = self.client()
        try:
            counts: dict[str, int] = {}
            for line in client.list()[1]:
                name = line.decode().rsplit(' "', 1)[-1].rstrip('"') if line.decode().endswith('"') \
                    else line.decode().rsplit(" ", 1)[-1]
                status, data = client.status(f'"{name}"', "(MESSAGES)")
                if status == "OK":
                    counts[name] = int(data[0].decode().rsplit("MESSAGES ", 1)[1].rstrip(")"))
            return counts
        finally:
            client.logout()

    def messages(self, folder: str) -> list[bytes]:
        client = self.client()
        try:
            client.select(f'"{folder}"', readonly=True)
            _, data = client.uid("SEARCH", "ALL")
            out: list[bytes] = []
            for uid in data[0].split():
                _, parts = client.uid("FETCH", uid, "(BODY.PEEK[])")
                out.append(parts[0][1])  # type: ignore[index]
            return out
        finally:
            client.logout()


class CuttingProxy:
    """A TCP proxy in front of the server that can cut the connection (or kill a process) when the client
    sends a given command: a fault at an exact point of the protocol, with the real server behind it."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.trigger: bytes | None = None      # cut when the client sends a line containing this
        self.on_trigger: Callable[[], None] | None = None
        self.after: int = 1                    # ... the n-th time
        self.triggered = threading.Event()
        self._seen = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, False), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket, from_client: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if from_client and self.trigger and self.trigger in data.upper():
                    self._seen += 1
                    if self._seen >= self.after and not self.triggered.is_set():
                        self.triggered.set()
                        if self.on_trigger:
                            self.on_trigger()
                        break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def close(self) -> None:
        self._stop = True
        self.listener.close()


# -- mails as a contact's mail program writes them ---------------------------------------------------------
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
