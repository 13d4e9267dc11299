"""A local SMTP server (aiosmtpd) that keeps every message as an .eml file: the dev and demo default."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Any

from aiosmtpd.controller import Controller


class _EmlHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{hashlib.sha256(content).hexdigest()[:12]}.eml"
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"X-Fko-Envelope-To: " + ", ".join(envelope.rcpt_tos).encode() + b"\r\n")
            handle.write(content)
        os.replace(tmp, self.directory / name)
        return "250 Message stored"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class EmlSink:
    """``with EmlSink(dir) as (host, port): ...`` runs the sink on 127.0.0.1 for the block."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.controller = Controller(_EmlHandler(directory), hostname="127.0.0.1", port=_free_port())

    def __enter__(self) -> tuple[str, int]:
        self.controller.start()
        return "127.0.0.1", int(self.controller.port)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.controller.stop()
