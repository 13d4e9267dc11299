"""Flow `ingest-returns`: returns from the drop folder (var/inbox/), receipts and refusals, a fresh draft.

Returns through the page are checked and recorded at upload; this flow picks up files staff drop into
the inbox (e.g. sheets that came by mail), sends what the outbox holds, and rebuilds the draft.
"""

from __future__ import annotations

import datetime as dt
import shutil

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import dashboard
from flows.open_cycle import deliver_mail
from flows.runtime import context, moment
from usecases.cycle import open_cycle_year
from usecases.returns import NotIngestible, ingest_file
from usecases.versions import rebuild_draft

SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xls"}


@task(name="ingest-inbox", cache_policy=NO_CACHE)
def ingest_inbox(year: int, today: dt.date | None) -> dict[str, list[str]]:
    """Each file in the inbox is recorded (accepted or refused) and moved to inbox/done, or to
    inbox/unknown when it names no institution of this cycle. Its raw bytes stay in the file store."""
    ctx = context()
    outcome: dict[str, list[str]] = {"accepted": [], "refused": [], "unknown": []}
    try:
        inbox = ctx.settings.data_dir / "inbox"
        for path in sorted(p for p in inbox.glob("*") if p.is_file() and p.suffix.lower() in SUFFIXES):
            try:
                result = ingest_file(ctx, data=path.read_bytes(), filename=path.name, source="inbox", year=year,
                                     now=moment(today))
            except NotIngestible:
                outcome["unknown"].append(path.name)
                target = inbox / "unknown"
            else:
                outcome[result.outcome].append(f"{result.institution_code}: {path.name}")
                target = inbox / "done"
            target.mkdir(parents=True, exist_ok=True)
            shutil.move(str(path), target / path.name)
    finally:
        ctx.close()
    return outcome


@task(name="rebuild-draft", cache_policy=NO_CACHE)
def rebuild(year: int, today: dt.date | None) -> dict[str, int]:
    ctx = context()
    try:
        result = rebuild_draft(ctx, year=year, now=moment(today))
    finally:
        ctx.close()
    return {"activities": result.activities, "answered": len(result.answered)}


@flow(name="ingest-returns")
async def ingest_returns_flow(year: int | None = None, today: dt.date | None = None,
                              institution: str | None = None) -> dict[str, object]:
    """Triggered when the page reports a return (``institution``), and on a polling schedule."""
    logger = get_run_logger()
    ctx = context()
    try:
        open_year = open_cycle_year(ctx)
    finally:
        ctx.close()
    year = year or open_year
    if year is None or year != open_year:
        logger.info("Keine offene Abfrage%s: nichts zu tun.", f" {year}" if year else "")
        return {}
    if institution:
        logger.info("Rückmeldung gemeldet: %s", institution)
    inbox = ingest_inbox(year, today)
    sent = await deliver_mail()
    draft = rebuild(year, today)
    logger.info("Eingang: %s angenommen, %s abgelehnt, %s unbekannt; %s E-Mails; Entwurf mit %s Aktivitäten",
                len(inbox["accepted"]), len(inbox["refused"]), len(inbox["unknown"]), sent.sent, draft["activities"])
    ctx = context()
    try:
        await dashboard.publish_status(ctx, year=year)
    finally:
        ctx.close()
    return {"inbox": inbox, "sent": sent.sent, "draft": draft}
