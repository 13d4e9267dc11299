"""Benchmark: sending 500 invitations with a 30 KB attachment to a local aiosmtpd; with ``--imap``, reading
500 replies with the sheet attached from a real Dovecot mailbox.

    .venv/bin/python -m bench.mail [--messages 500] [--repeat 2]
    .venv/bin/python -m bench.mail --imap [--replies 500]

The SMTP server runs in its own process (aiosmtpd, discarding messages) so it does not share the
GIL with the senders. Measured in the same run, on the same pre-built messages:
  - fko's sender (mail.transport.deliver_all: persistent connections, bounded concurrency),
  - fko's outbox end to end (messages read from the file store, each outcome committed to SQLite),
  - a bare aiosmtplib sender (10 concurrent tasks, one connection per message),
  - sequential stdlib smtplib over one connection.
With ``--imap`` (Dovecot from Debian, started like the tests start it): fko's intake (`fko mail fetch`: each
message fetched, its sheet read in the sandbox, checked, recorded with its receipt queued, the message moved)
against a bare IMAPClient that only downloads the same messages one by one over one connection.
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
    import asyncio, sys, time
    from aiosmtpd.controller import Controller
    LATENCY = float(sys.argv[2])  # seconds per SMTP command, as a relay across the network answers
    class Discard:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            await asyncio.sleep(LATENCY)
            session.host_name = hostname
            return responses
        async def handle_MAIL(self, server, session, envelope, address, options):
            await asyncio.sleep(LATENCY)
            envelope.mail_from = address
            return "250 OK"
        async def handle_RCPT(self, server, session, envelope, address, options):
            await asyncio.sleep(LATENCY)
            envelope.rcpt_tos.append(address)
            return "250 OK"
        async def handle_DATA(self, server, session, envelope):
            await asyncio.sleep(LATENCY)
            return "250 OK"
    controller = Controller(Discard(), hostname="127.0.0.1", port=int(sys.argv[1]), server_hostname="bench")
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()
""")


BASELINE = "best bare aiosmtplib: 10 persistent connections, pre-flattened"


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


def run_bare_persistent(jobs: list[Job], port: int) -> float:
    """The best bare aiosmtplib sender (DESIGN §11): 10 persistent connections, messages flattened before."""
    async def main() -> None:
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)

        async def worker() -> None:
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench")
            await client.connect()
            try:
                while not queue.empty():
                    job = queue.get_nowait()
                    await client.sendmail(job.sender, job.recipients, job.data)
            finally:
                await client.quit()

        await asyncio.gather(*(worker() for _ in range(10)))

    start = time.perf_counter()
    asyncio.run(main())
    return time.perf_counter() - start


def run_smtplib(jobs: list[Job], port: int) -> float:
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, local_hostname="bench") as client:
        for job in jobs:
            client.sendmail(job.sender, job.recipients, job.data)
    return time.perf_counter() - start


def replies(ctx: object, count: int) -> list[bytes]:
    """``count`` replies of the round's institutions in turn, each with its own sheet (a different title in
    its first row, so no two attachments are the same bytes and none is skipped as a repeat)."""
    from sqlmodel import select

    from storage.database import session_scope
    from storage.models import Institution, Request
    from tests.support.factories import edit_sheet
    from tests.support.imap import reply
    from usecases.returns import sheet_for_request

    now = dt.datetime.now(dt.UTC)
    with session_scope(ctx.engine) as session:  # type: ignore[attr-defined]
        requests = [(r.id or 0, i.code) for r, i in session.exec(
            select(Request, Institution).where(Request.institution_id == Institution.id)).all()]
    sheets = {code: sheet_for_request(ctx, request_id=rid, now=now)[0] for rid, code in requests}  # type: ignore[arg-type]
    out: list[bytes] = []
    for n in range(count):
        code = requests[n % len(requests)][1]
        data = edit_sheet(sheets[code], {"B9": f"Neu per E-Mail {n}", "D9": "Duale Ausbildung stärken",
                                         "E9": "geplant"})
        out.append(reply(None, sender=f"kontakt{n}@{code.lower()}.example.org", subject=f"AW: Abfrage ({code})",
                         attachments=[(f"Rueckmeldung-{code}-{n}.xlsx", data)]))
    return out


def imap_main(count: int) -> None:
    from imapclient import IMAPClient

    from tests.support.imap import PASSWORD, USER, Dovecot
    from usecases.context import AppContext
    from usecases.cycle import open_cycle
    from usecases.mail_intake import fetch_mail
    from usecases.setup import init_database

    server = Dovecot().start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp), mail_from="noreply@agentur.example.org", imap_host="127.0.0.1",
                                imap_port=server.port, imap_user=USER, imap_password=PASSWORD, imap_tls="none")
            ctx = AppContext.from_settings(settings)
            init_database(ctx, demo=True)
            now = dt.datetime.now(dt.UTC)
            open_cycle(ctx, year=now.year + 1, deadline=dt.date(now.year + 1, 10, 15), today=now.date(), now=now)
            mails = replies(ctx, count)
            client = server.client()
            for raw in mails:
                client.append("INBOX", "", None, raw)
            client.logout()
            size = sum(len(m) for m in mails) / len(mails) / 1024

            start = time.perf_counter()
            with IMAPClient("127.0.0.1", port=server.port, ssl=False) as bare:
                bare.login(USER, PASSWORD)
                bare.select_folder("INBOX")
                for uid in bare.search("ALL"):
                    bare.fetch([uid], ["BODY.PEEK[]"])
            baseline = time.perf_counter() - start

            start = time.perf_counter()
            report = fetch_mail(ctx, now=now)
            fko = time.perf_counter() - start
            ctx.close()
    finally:
        server.stop()
    taken = report.count("return")
    if taken != count:
        raise RuntimeError(f"fko took in {taken} of {count} replies: {report.error}")
    print(f"{count} replies of {size:.0f} KB (the demo round's personal sheets, one row added) in a Dovecot "
          "mailbox on 127.0.0.1\n")
    print("| reader | messages/s | ms per message | time vs. bare download |")
    print("|---|---:|---:|---:|")
    print(f"| bare IMAPClient, download only, one by one | {count / baseline:,.0f} | {1000 * baseline / count:.1f} "
          "| 1.00× |")
    print(f"| fko intake (fetch, sandboxed read, check, record, queue receipt, move) | {count / fko:,.1f} | "
          f"{1000 * fko / count:.1f} | {fko / baseline:.1f}× |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--imap", action="store_true", help="the mailbox intake instead of sending")
    parser.add_argument("--replies", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=5.0, help="the relay's delay per SMTP command")
    args = parser.parse_args()
    if args.imap:
        imap_main(args.replies)
        return
    port = free_port()
    command = [sys.executable, "-c", SERVER, str(port), str(args.latency_ms / 1000)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE,  # noqa: S603 (our interpreter, fixed argv)
                              stdout=subprocess.PIPE, text=True)
    try:
        if server.stdout is None or server.stdout.readline().strip() != "ready":
            raise RuntimeError("SMTP server did not start")
        jobs = messages(args.messages)
        size = sum(len(j.data) for j in jobs) / len(jobs) / 1024
        senders = {BASELINE: run_bare_persistent,
                   "fko sender (deliver_all, 10 connections)": run_fko,
                   "fko outbox end to end (file store + SQLite commits)": run_outbox,
                   "bare aiosmtplib, 10 concurrent, connection per message": run_bare,
                   "stdlib smtplib, sequential, one connection": run_smtplib}
        results = {name: min(fn(jobs, port) for _ in range(args.repeat)) for name, fn in senders.items()}
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    baseline = results[BASELINE]
    print(f"{args.messages} messages of {size:.0f} KB to aiosmtpd in another process, {args.latency_ms:g} ms "
          "per SMTP command (EHLO, MAIL, RCPT, DATA)\n")
    print("| sender | messages/s | throughput vs. the best bare sender |")
    print("|---|---:|---:|")
    for name, seconds in results.items():
        print(f"| {name} | {args.messages / seconds:,.0f} | {baseline / seconds:.2f}× |")


if __name__ == "__main__":
    main()
