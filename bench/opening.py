"""Benchmark: opening a round (personal sheets + queued invitations) with each sheet builder, by size.

    .venv/bin/python -m bench.opening [--sizes 640,6400] [--activities 6]

For each size: a synthetic region (N institutions with a primary contact and a deputy, ``--activities`` each,
a published baseline), twice: `open_cycle` as before issue 18 (every sheet built whole by openpyxl, every
invitation composed through an EmailMessage) and as today (the round's ``SheetBuilder`` with the shared parts
built once, mail.compose writing the MIME parts itself). Both runs record the sheets they build
and the time spent building them; the floor is writing the same bytes (every member of every sheet) with
zipfile alone. Prints the opening times and ratio, and the sheets' share against the floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path
from unittest import mock

from pydantic import SecretStr

from bench.seed import seed_region
from core.activity import Activity
from core.workbook_build import SheetInfo
from mail.compose import Attachment, Composed, Envelope, message_id_for
from mail.templates import Rendered
from usecases import messages
from usecases.context import AppContext
from usecases.cycle import open_cycle
from usecases.settings import Settings
from usecases.sheets import Builder, WholeByOpenpyxl, sheet_builder

OPENED, DEADLINE = dt.date(2027, 9, 1), dt.date(2027, 10, 14)


@dataclass
class Recording:
    """A builder that times and keeps what the builder inside it builds."""

    inner: Builder
    seconds: float = 0.0
    sheets: list[bytes] = field(default_factory=list)

    def build(self, *, info: SheetInfo, activities: list[Activity], secret: bytes) -> bytes:
        start = time.perf_counter()
        data = self.inner.build(info=info, activities=activities, secret=secret)
        self.seconds += time.perf_counter() - start
        self.sheets.append(data)
        return data


def compose_before(rendered: Rendered, envelope: Envelope, *, key: str, now: dt.datetime,
                   attachments: list[Attachment] | None = None) -> Composed:
    """mail.compose as it was before issue 18: the whole message through an EmailMessage, flattened."""
    message = EmailMessage(policy=SMTP)
    message["From"] = envelope.sender.address()
    message["To"] = [m.address() for m in envelope.to]
    if envelope.cc:
        message["Cc"] = [m.address() for m in envelope.cc]
    if envelope.reply_to:
        message["Reply-To"] = envelope.reply_to.address()
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message_id = message_id_for(key, envelope.sender.email.rpartition("@")[2] or "localhost")
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    for attachment in attachments or []:
        main, sub = attachment.mime_type()
        message.add_attachment(attachment.data, maintype=main, subtype=sub, filename=attachment.filename)
    return Composed(message_id=message_id, subject=rendered.subject, sender=envelope.sender.email,
                    recipients=[m.email for m in (*envelope.to, *envelope.cc)], data=message.as_bytes())


def opening(size: int, activities: int, whole: bool) -> tuple[float, Recording]:
    """Seconds `open_cycle` took for a fresh region of ``size`` institutions, and what its builder did
    (``whole``: as before issue 18, sheets by openpyxl and mail through EmailMessage)."""
    with tempfile.TemporaryDirectory(prefix="fko-bench-") as tmp:
        ctx = AppContext.from_settings(Settings(data_dir=Path(tmp), base_url="https://fko.example.org",
                                                secret_key=SecretStr("bench: the same signatures in both runs")))
        try:
            seed_region(ctx, [f"I{n:05d}" for n in range(size)], rows=activities, label="2026", deputies=True)
            recording = Recording(WholeByOpenpyxl(ctx.spec(), ctx.catalogs()) if whole else sheet_builder(ctx))
            composer = compose_before if whole else messages.compose
            with mock.patch.object(messages, "compose", composer):
                start = time.perf_counter()
                result = open_cycle(ctx, year=2027, deadline=DEADLINE, today=OPENED,
                                    now=dt.datetime(2027, 9, 1, 8, tzinfo=dt.UTC), builder=recording)
                seconds = time.perf_counter() - start
        finally:
            ctx.close()
    if result.invitations_queued != size or len(recording.sheets) != size:
        raise RuntimeError(f"expected {size} invitations, queued {result.invitations_queued}")
    return seconds, recording


def zipfile_floor(sheets: list[bytes]) -> float:
    """Seconds to write every member of every sheet again with zipfile alone (as openpyxl's archive does)."""
    members = []
    for data in sheets:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members.append([(info, archive.read(info)) for info in archive.infolist()])
    start = time.perf_counter()
    for sheet in members:
        with zipfile.ZipFile(io.BytesIO(), "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for info, payload in sheet:
                archive.writestr(info.filename, payload)
    return time.perf_counter() - start


def same_content(before: list[bytes], after: list[bytes]) -> bool:
    """Every sheet of both runs has the same members with the same bytes (but the creation time in core.xml)."""
    for old, new in zip(before, after, strict=True):
        with zipfile.ZipFile(io.BytesIO(old)) as a, zipfile.ZipFile(io.BytesIO(new)) as b:
            if a.namelist() != b.namelist():
                return False
            if any(a.read(n) != b.read(n) for n in a.namelist() if n != "docProps/core.xml"):
                return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=os.environ.get("FKO_BENCH_OPENING_SIZES", "640,6400"))
    parser.add_argument("--activities", type=int, default=6)
    args = parser.parse_args()
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        whole_seconds, whole = opening(size, args.activities, whole=True)
        print(f"  {size}: openpyxl {whole_seconds:.1f} s", file=sys.stderr, flush=True)
        skeleton_seconds, skeleton = opening(size, args.activities, whole=False)
        print(f"  {size}: skeleton {skeleton_seconds:.1f} s", file=sys.stderr, flush=True)
        floor = zipfile_floor(skeleton.sheets)
        rows.append((size, whole_seconds, skeleton_seconds, whole.seconds, skeleton.seconds, floor,
                     same_content(whole.sheets, skeleton.sheets)))
    print(f"Opening a round: `open_cycle` for N institutions × {args.activities} activities (requests, personal "
          "sheets, invitations queued with the sheet attached, the round's draft; SQLite, mail to the outbox), once "
          "as before issue 18 (every sheet built whole by openpyxl, each invitation through an EmailMessage) and once "
          "as today (the round's skeleton, mail.compose writing the MIME parts), in the same run. "
          "Sheets: the time spent building them inside those runs; floor: writing the same bytes with zipfile "
          "alone.\n")
    print("| institutions | opening, before | opening, today | ratio | sheets: openpyxl | "
          "sheets: skeleton | sheets: zipfile floor | skeleton / floor | openpyxl / floor | same bytes |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for size, whole_seconds, skeleton_seconds, whole_sheets, skeleton_sheets, floor, same in rows:
        cells = [f"{size:,}", f"{whole_seconds:.1f} s", f"{skeleton_seconds:.1f} s",
                 f"{skeleton_seconds / whole_seconds:.2f}×", f"{whole_sheets:.1f} s", f"{skeleton_sheets:.1f} s",
                 f"{floor:.1f} s", f"{skeleton_sheets / floor:.2f}×", f"{whole_sheets / floor:.1f}×",
                 "yes" if same else "NO"]
        print(f"| {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
