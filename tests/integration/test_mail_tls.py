"""STARTTLS, implicit TLS and login against a real aiosmtpd with a certificate made for the test."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from mail.transport import Job, Outcome, SmtpSettings, deliver_all
from tests.support.smtp import Recorder, free_port

MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: Test \xc3\xa4\r\n\r\nHallo\r\n"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"], check=True, capture_output=True)
    return cert, key


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"fko", b"geheim")
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535 itself


def run(jobs: list[Job], settings: SmtpSettings) -> list[Outcome]:
    outcomes: list[Outcome] = []
    asyncio.run(deliver_all(jobs, settings, lambda job, outcome: outcomes.append(outcome)))
    return outcomes


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(certificate[0]), str(certificate[1]))
    return context


def test_starttls_with_login(certificate: tuple[Path, Path]) -> None:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, server_hostname="localhost",
                            tls_context=server_context(certificate), require_starttls=True,
                            authenticator=authenticator, auth_require_tls=True)
    controller.start()
    try:
        settings = SmtpSettings("127.0.0.1", port, tls="starttls", user="fko", password="geheim",  # noqa: S106
                                ca_file=str(certificate[0]), backoff=0.01)
        (outcome,) = run([Job(1, "a@example.org", ["b@example.org"], MESSAGE)], settings)
        assert outcome.state == "sent"
        assert len(recorder.received) == 1

        wrong = SmtpSettings("127.0.0.1", port, tls="starttls", user="fko", password="falsch",  # noqa: S106
                             ca_file=str(certificate[0]), backoff=0.01)
        outcomes = run([Job(n, "a@example.org", [f"b{n}@example.org"], MESSAGE) for n in range(2, 6)], wrong)
        # A wrong password is the relay's configuration, not the recipients' fault: nothing is marked
        # refused, and the batch stops at once instead of retrying every message.
        assert {o.state for o in outcomes} == {"failed"}
        assert all(o.refused == {} and "Anmeldung am Mailserver abgelehnt: 535" in o.error for o in outcomes)
    finally:
        controller.stop()


def test_implicit_tls_and_untrusted_certificate(certificate: tuple[Path, Path]) -> None:
    recorder, port = Recorder(), free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port, server_hostname="localhost",
                            ssl_context=server_context(certificate))
    controller.start()
    try:
        trusted = SmtpSettings("127.0.0.1", port, tls="tls", ca_file=str(certificate[0]), backoff=0.01)
        assert run([Job(1, "a@example.org", ["b@example.org"], MESSAGE)], trusted)[0].state == "sent"
        untrusted = SmtpSettings("127.0.0.1", port, tls="tls", backoff=0.01, retries=1, timeout=5)
        (outcome,) = run([Job(2, "a@example.org", ["b@example.org"], MESSAGE)], untrusted)
        assert outcome.state == "failed"  # a certificate we cannot verify is never accepted silently
        assert len(recorder.received) == 1
    finally:
        controller.stop()
