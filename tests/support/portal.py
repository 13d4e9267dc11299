"""The institutions' page served by a real uvicorn on 127.0.0.1, in a thread of the test process."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email
import email.policy
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn

from portal.app import create_app
from tests.support.smtp import free_port
from usecases.context import AppContext


@dataclass
class Clock:
    """A clock the test moves: the page asks it for "now"."""

    now: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC))

    def __call__(self) -> dt.datetime:
        return self.now


@dataclass
class OpenRound:
    """The demo region with cycle 2026 open (deadline 15.10.2026), the page served, the links known."""

    ctx: AppContext
    clock: Clock
    links: dict[str, str]
    server: PortalServer

    @property
    def url(self) -> str:
        return self.server.url


@contextlib.contextmanager
def served_round(data_dir: Path, smtp_port: int, *, messages: Callable[[], list[email.message.EmailMessage]],
                 send_mail: bool = True, secret_key: str | None = None) -> Iterator[OpenRound]:
    """Set up the demo region, open cycle 2026 on 1 Sept 2026, deliver the invitations to the test SMTP
    server (``messages`` reads them back for the links) and serve the page with a clock the test moves."""
    import concurrent.futures

    from pydantic import SecretStr

    from usecases.cycle import open_cycle
    from usecases.outbox import deliver_pending
    from usecases.settings import Settings
    from usecases.setup import init_database

    port = free_port()
    settings = Settings(data_dir=data_dir, smtp_host="127.0.0.1", smtp_port=smtp_port, allow_local_links=True,
                        mail_from="noreply@regionalagentur.example.org", base_url=f"http://127.0.0.1:{port}",
                        secret_key=SecretStr(secret_key) if secret_key else None)
    ctx = AppContext.from_settings(settings)
    try:
        init_database(ctx, demo=True)
        clock = Clock()
        open_cycle(ctx, year=2026, deadline=dt.date(2026, 10, 15), today=clock.now.date(), now=clock.now)
        # In a thread of its own: Playwright's sync API may already run an event loop in this one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, deliver_pending(ctx)).result()
        links = links_from_mail(messages(), settings.base_url)
        server = PortalServer(ctx, clock, port=port, send_mail=send_mail).start()
        try:
            yield OpenRound(ctx, clock, links, server)
        finally:
            server.stop()
    finally:
        ctx.close()


class PortalServer:
    def __init__(self, ctx: AppContext, clock: Clock, port: int | None = None, **options: object) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(create_app(ctx, clock=clock, **options), host="127.0.0.1", port=self.port,  # type: ignore[arg-type]
                                access_log=False, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> PortalServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("portal did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def links_from_mail(messages: list[email.message.EmailMessage], base_url: str) -> dict[str, str]:
    """Institution code → personal link, read from the invitations' plain-text parts."""
    links: dict[str, str] = {}
    for message in messages:
        attachment = next(iter(message.iter_attachments()), None)
        if attachment is None:
            continue
        code = re.search(r"-aachen-(.+)\.xlsx$", attachment.get_filename() or "")
        body = message.get_body(("plain",))
        assert body is not None and code is not None
        match = re.search(re.escape(base_url) + r"/r/[A-Za-z0-9_-]+", body.get_content())
        assert match is not None
        links[code.group(1)] = match.group(0)
    return links


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def main_text(html: str) -> str:
    """The visible text of <main>, whitespace collapsed."""
    main = html[html.index("<main"): html.index("</main>")]
    return " ".join(re.sub(r"<[^>]+>", " ", main).split())


def client() -> httpx.Client:
    return httpx.Client(timeout=60, follow_redirects=True)


class PortalProcess:
    """`fko portal` as staff run it: a separate process (which a test may kill), its log in a file."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env, self.port, self.log_path = env, port, log_path
        self.url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> PortalProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "cli", "portal", "--port", str(self.port)],
                                            env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"fko portal did not start:\n{self.log()}")
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")
