"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the tests, recording what arrives, with faults on demand."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    sender: str
    recipients: list[str]
    data: bytes
    at: float = field(default_factory=time.monotonic)  # when the relay stored it

    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Faults:
    drop_after: int | None = None     # accept this many messages, then drop every new connection's MAIL
    defer_rcpt: int = 0               # answer 451 to this many RCPT commands first
    reject: set[str] = field(default_factory=set)  # answer 550 for these addresses
    stall_from_rcpt: int | None = None  # from this RCPT command on (counted over all connections), hold the
    #                                     answer until ``release`` is set: the sender waits, mid-message
    after_data: Callable[[int], None] | None = None  # called with the message count once a message is
    #                                                  stored, before the client hears "250" (the crash window)


class Recorder:
    def __init__(self) -> None:
        self.received: list[Received] = []
        self.faults = Faults()
        self.lock = threading.Lock()
        self.rcpt_count = 0
        self.stalled = 0
        self.release = threading.Event()

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        with self.lock:
            if self.faults.drop_after is not None and len(self.received) >= self.faults.drop_after:
                server.transport.close()
                return "421 4.3.2 Closing connection"
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:
        with self.lock:
            if address.lower() in self.faults.reject:
                return "550 5.1.1 Mailbox unknown"
            if self.faults.defer_rcpt > 0:
                self.faults.defer_rcpt -= 1
                return "451 4.3.0 Try again later"
            self.rcpt_count += 1
            stall = self.faults.stall_from_rcpt is not None and self.rcpt_count >= self.faults.stall_from_rcpt
            if stall:
                self.stalled += 1
        if stall:
            while not self.release.is_set():
                await asyncio.sleep(0.02)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
            count = len(self.received)
        if self.faults.after_data is not None:
            self.faults.after_data(count)
        return "250 Message accepted"

    def messages(self) -> list[EmailMessage]:
        return [r.message() for r in self.received]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class SmtpServer:
    def __init__(self, port: int | None = None) -> None:
        self.recorder = Recorder()
        self.port = port or free_port()
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                     server_hostname="smtp.test.invalid")
        self.controller.start()
        return self

    def stop(self) -> None:
        self.recorder.release.set()
        if self.controller is not None:
            self.controller.stop()
            self.controller = None
