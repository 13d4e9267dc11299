"""The drop folder (``var/inbox/``): returns staff put there by hand are recorded like uploads."""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field

from usecases.context import AppContext
from usecases.returns import NotIngestible, ingest_file

SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xls"}


@dataclass
class InboxReport:
    accepted: list[str] = field(default_factory=list)   # "IHK: Rueckmeldung.xlsx"
    refused: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)    # file names that name no institution of the cycle

    def as_dict(self) -> dict[str, list[str]]:
        return {"accepted": self.accepted, "refused": self.refused, "unknown": self.unknown}


def ingest_drop_folder(ctx: AppContext, *, year: int, now: dt.datetime) -> InboxReport:
    """Each spreadsheet in the inbox is recorded (accepted or refused) and moved to inbox/done, or to
    inbox/unknown when it names no institution of this cycle. Its raw bytes stay in the file store."""
    inbox = ctx.settings.data_dir / "inbox"
    report = InboxReport()
    if not inbox.is_dir():
        return report
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            result = ingest_file(ctx, data=path.read_bytes(), filename=path.name, source="inbox", year=year, now=now)
        except NotIngestible:
            report.unknown.append(path.name)
            target = inbox / "unknown"
        else:
            (report.accepted if result.outcome == "accepted" else report.refused).append(
                f"{result.institution_code}: {path.name}")
            target = inbox / "done"
        target.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target / path.name)
    return report
