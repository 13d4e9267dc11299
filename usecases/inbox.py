"""The drop folder (``var/inbox/``): returns staff put there by hand are recorded like uploads.

Like `fko ingest` without ``--notify`` it sends no mail: it is how staff file sheets that came by mail, and
they answer those themselves (the flow's log and `fko cycle status` show what came of each file).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from dataclasses import dataclass, field

from usecases.context import AppContext
from usecases.cycle import open_cycle_year
from usecases.ingest import Misfiled, NotIngestible, ingest_file, latest_round_year
from usecases.site import region_sites

SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xls"}


@dataclass
class InboxReport:
    accepted: list[str] = field(default_factory=list)   # "IHK: Rueckmeldung.xlsx"
    refused: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)       # came after the version was published: kept for staff
    unknown: list[str] = field(default_factory=list)    # file names that name no institution of the cycle

    def as_dict(self) -> dict[str, list[str]]:
        return {"accepted": self.accepted, "refused": self.refused, "held": self.held, "unknown": self.unknown}


def drop_folder_year(ctx: AppContext) -> int | None:
    """The round the drop folder files into (``latest_round_year``)."""
    return latest_round_year(ctx)


def ingest_drop_folder(ctx: AppContext, *, year: int, now: dt.datetime, notify: bool = False) -> InboxReport:
    """Each spreadsheet in the inbox is recorded (accepted, refused, or held after publication) and moved to
    inbox/done, or to inbox/unknown when it is no sheet of an invited institution of this round (then
    nothing is recorded). Raw bytes of recorded files stay in the file store. Mail only with ``notify``.
    The regions of an installation share the folder: another region's sheet is left for that region's run."""
    inbox = ctx.settings.data_dir / "inbox"
    report = InboxReport()
    if not inbox.is_dir():
        return report
    regions: set[str] | None = None
    for path in sorted(p for p in inbox.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES):
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            continue  # another region's run took it meanwhile
        try:
            result = ingest_file(ctx, data=data, filename=path.name, source="inbox", year=year, now=now,
                                 notify=notify)
        except Misfiled as exc:
            regions = regions if regions is not None else {site.code for site in region_sites(ctx)}
            if exc.region in regions:
                continue
            report.unknown.append(path.name)
            target = inbox / "unknown"
        except NotIngestible:
            report.unknown.append(path.name)
            target = inbox / "unknown"
        else:
            kind = {"accepted": report.accepted, "held": report.held}.get(result.outcome, report.refused)
            kind.append(f"{result.institution_code}: {path.name}")
            target = inbox / "done"
        target.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # another region's run moved it meanwhile
            shutil.move(str(path), target / path.name)
    return report


def regions_with_returns(ctx: AppContext) -> list[str]:
    """The regions whose intake has something to do: those with an open round, and every region while the
    shared drop folder holds a spreadsheet (a region whose round is over keeps such a file for its staff)."""
    inbox = ctx.settings.data_dir / "inbox"
    dropped = inbox.is_dir() and any(p.is_file() and p.suffix.lower() in SUFFIXES for p in inbox.iterdir())
    sites = region_sites(ctx)
    return [site.code for site in sites if dropped or open_cycle_year(site.ctx) is not None]
