"""Flow `ingest-returns`: returns from the drop folder (var/inbox/), receipts and refusals, a fresh draft.

Returns through the page are checked and recorded at upload; this flow picks up files staff drop into
the inbox (e.g. sheets that came by mail; filed without mail, staff answer those), sends what the outbox
holds (the page's receipts), and rebuilds the draft. After the version is published, files dropped into the
inbox are kept for staff (held), not taken into the round.
"""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import dashboard
from flows.open_cycle import deliver_mail
from flows.runtime import moment
from usecases.context import app_context
from usecases.cycle import year_to_process
from usecases.inbox import drop_folder_year, ingest_drop_folder
from usecases.versions import refresh_draft


@task(name="ingest-inbox", cache_policy=NO_CACHE)
def ingest_inbox(year: int, today: dt.date | None) -> dict[str, list[str]]:
    with app_context() as ctx:
        return ingest_drop_folder(ctx, year=year, now=moment(today)).as_dict()


@task(name="rebuild-draft", cache_policy=NO_CACHE)
def rebuild(year: int, today: dt.date | None) -> dict[str, int]:
    """The draft stays current with every return; once the year's version is published it is left alone."""
    with app_context() as ctx:
        result = refresh_draft(ctx, year=year, now=moment(today))
    if result is None:
        return {"activities": 0, "answered": 0, "published": 1}
    return {"activities": result.activities, "answered": len(result.answered), "published": 0}


@flow(name="ingest-returns")
async def ingest_returns_flow(year: int | None = None, today: dt.date | None = None,
                              institution: str | None = None) -> dict[str, object]:
    """Triggered when the page reports a return (``institution``), and on a polling schedule."""
    logger = get_run_logger()
    with app_context() as ctx:
        wanted, year = year, year_to_process(ctx, year)
        published = drop_folder_year(ctx) if year is None else None
    if year is None and published is not None and wanted in (None, published):
        held = ingest_inbox(published, today)  # the round is over: files are kept for staff, nothing else
        logger.info("Version %s ist veröffentlicht: %s Dateien aus dem Eingangsordner aufbewahrt (nicht übernommen), "
                    "%s unbekannt.", published, len(held["held"]), len(held["unknown"]))
        return {"inbox": held}
    if year is None:
        logger.info("Keine offene Abfrage%s: nichts zu tun.", f" {wanted}" if wanted else "")
        return {}
    if institution:
        logger.info("Rückmeldung gemeldet: %s", institution)
    inbox = ingest_inbox(year, today)
    sent = await deliver_mail()
    draft = rebuild(year, today)
    logger.info("Eingang: %s angenommen, %s abgelehnt, %s aufbewahrt, %s unbekannt; %s E-Mails; %s",
                len(inbox["accepted"]), len(inbox["refused"]), len(inbox["held"]), len(inbox["unknown"]), sent.sent,
                f"Version {year} ist veröffentlicht, der Entwurf bleibt unverändert" if draft["published"]
                else f"Entwurf mit {draft['activities']} Aktivitäten")
    with app_context() as ctx:
        await dashboard.publish_status(ctx, year=year)
    return {"inbox": inbox, "sent": sent.sent, "draft": draft}
