"""Benchmark: sending 500 invitations with a 30 KB attachment to a local aiosmtpd.

    .venv/bin/python bench/mail.py [--messages 500] [--repeat 2]

The SMTP server runs in its own process (aiosmtpd, discarding messages) so it does not share the
GIL with the senders. Measured in the same run, on the same pre-built messages:
  - fko's sender (mail.transport.deliver_all: persistent connections, bounded concurrency),
  - fko's outbox end to end (messages read from the file store, each outcome committed to SQLite),
  - a bare aiosmtplib sender (10 concurrent tasks, one connection per message),
  - sequential stdlib smtplib over one connection.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import smtplib
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import aiosmtplib

from mail.compose import XLSX, Attachment, Envelope, Mailbox, compose
from mail.templates import MailRenderer
from mail.transport import Job, SmtpSettings, deliver_all
from usecases.settings import BUNDLED_TEMPLATES, Settings

SERVER = textwrap.dedent("""
    import sys, time
    from aiosmtpd.controller import Controller
    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"
    controller = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]), server_hostname="bench")
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
""")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def messages(count: int) -> list[Job]:
    context = {"region_name": "Region Aachen", "agency_name": "Regionalagentur", "agency_email": "a@example.org",
               "agency_phone": "", "agency_address": "", "funding_line": "", "year": 2026,
               "deadline_text": "15. Oktober 2026",
               "institution_name": "Institution", "institution_code": "X", "recipient_name": "Anna Schmitz",
               "link": "https://fko.example.org/r/abc"}
    rendered = MailRenderer(BUNDLED_TEMPLATES).render("invitation", context)
    attachment = Attachment("Abfrage.xlsx", os.urandom(30 * 1024), XLSX)
    jobs = []
    for n in range(count):
        envelope = Envelope(Mailbox("noreply@example.org", "Regionalagentur"), [Mailbox(f"i{n}@example.org")])
        composed = compose(rendered, envelope, key=f"bench:{n}", now=dt.datetime.now(dt.UTC),
                           attachments=[attachment])
        jobs.append(Job(n + 1, composed.sender, composed.recipients, composed.data))
    return jobs


def run_fko(jobs: list[Job], port: int) -> float:
    start = time.perf_counter()
    asyncio.run(deliver_all(jobs, SmtpSettings("127.0.0.1", port, concurrency=10), lambda job, outcome: None))
    return time.perf_counter() - start


def run_outbox(jobs: list[Job], port: int) -> float:
    from mail.compose import Composed
    from storage.database import session_scope
    from usecases.context import AppContext
    from usecases.outbox import deliver_pending, queue_message
    from usecases.setup import init_database

    with tempfile.TemporaryDirectory() as tmp:
        ctx = AppContext.from_settings(Settings(data_dir=Path(tmp), mail_from="noreply@example.org"))
        init_database(ctx)
        with session_scope(ctx.engine) as session:
            for job in jobs:
                queue_message(ctx, session, key=f"bench:{job.id}", kind="invitation", to=job.recipients[0], cc=[],
                              composed=Composed(f"<{job.id}@b>", "s", job.sender, job.recipients, job.data),
                              cycle_id=None, institution_id=None)
        start = time.perf_counter()
        report = asyncio.run(deliver_pending(ctx, smtp=SmtpSettings("127.0.0.1", port, concurrency=10)))
        elapsed = time.perf_counter() - start
        ctx.close()
    if report.sent != len(jobs):
        raise RuntimeError(f"outbox sent {report.sent} of {len(jobs)}")
    return elapsed


def run_bare(jobs: list[Job], port: int) -> float:
    async def main() -> None:
        semaphore = asyncio.Semaphore(10)

        async def one(job: Job) -> None:
            async with semaphore:
                await aiosmtplib.send(job.data, sender=job.sender, recipients=job.recipients, hostname="127.0.0.1",
                                      port=port, local_hostname="bench")

        await asyncio.gather(*(one(job) for job in jobs))

    start = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - start


def run_smtplib(jobs: list[Job], port: int) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench") as client:
        for job in jobs:
            client.sendmail(job.sender, job.recipients, job.data)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdin=subprocess.PIPE,  # noqa: S603 (our interpreter, fixed argv)
                              stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout is None or server.stdout.readline().strip() != "ready":
            raise RuntimeError("SMTP server did not start")
        jobs = messages(args.messages)
        size = sum(len(j.data) for j in jobs) / len(jobs) / 1024
        senders = {"fko sender (deliver_all, 10 connections)": run_fko,
                   "fko outbox end to end (file store + SQLite commits)": run_outbox,
                   "bare aiosmtplib, 10 concurrent, connection per message": run_bare,
                   "stdlib smtplib, sequential, one connection": run_smtplib}
        results = {name: min(fn(jobs, port) for _ in range(args.repeat)) for name, fn in senders.items()}
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    baseline = results["bare aiosmtplib, 10 concurrent, connection per message"]
    print(f"{args.messages} messages of {size:.0f} KB to aiosmtpd in another process\n")
    print("| sender | messages/s | time vs. bare aiosmtplib |")
    print("|---|---:|---:|")
    for name, seconds in results.items():
        print(f"| {name} | {args.messages / seconds:,.0f} | {seconds / baseline:.2f}× |")


if __name__ == "__main__":
    main()
