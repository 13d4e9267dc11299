"""Flow `open-cycle`: the yearly opening (requests, personal links, pre-filled sheets, invitations)."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows import dashboard
from flows.deployments import next_yearly_opening
from flows.runtime import berlin_today, moment
from usecases.context import app_context
from usecases.cycle import RoundEnded, open_cycle
from usecases.outbox import DeliveryReport, deliver_pending


@task(name="open-requests", cache_policy=NO_CACHE)
def open_requests(year: int, deadline: dt.date | None, today: dt.date | None) -> dict[str, object]:
    with app_context() as ctx:
        try:
            result = open_cycle(ctx, year=year, deadline=deadline, today=berlin_today(today), now=moment(today))
        except RoundEnded:
            return {"ended": True, "invitations": 0, "without_contact": []}
    return {"created": result.created, "requests": result.requests_created,
            "invitations": result.invitations_queued, "without_contact": result.without_contact,
            "deadline": result.deadline.isoformat()}


@task(name="deliver-mail", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
async def deliver_mail() -> DeliveryReport:
    """Send what waits in the outbox (exactly once: retries resend nothing that was accepted)."""
    with app_context() as ctx:
        report = await deliver_pending(ctx)
    if report.failed:
        raise RuntimeError(f"{report.failed} E-Mails nicht versandt: {report.errors[0]}")
    return report


@flow(name="open-cycle")
async def open_cycle_flow(year: int | None = None, deadline: dt.date | None = None,
                          today: dt.date | None = None) -> dict[str, object]:
    """Open the yearly round: safe to re-run (nothing is created or sent twice)."""
    logger = get_run_logger()
    year = year or berlin_today(today).year
    opened = open_requests(year, deadline, today)
    if opened.get("ended"):
        logger.info("Abfrage %s ist beendet (Konzept veröffentlicht): niemand wird eingeladen.", year)
        return opened
    report = await deliver_mail()
    logger.info("Abfrage %s: %s Einladungen vorbereitet, %s E-Mails versandt", year, opened["invitations"],
                report.sent)
    if opened["without_contact"]:
        logger.warning("Ohne erreichbare Ansprechperson: %s", ", ".join(opened["without_contact"]))  # type: ignore[arg-type]
    with app_context() as ctx:
        await dashboard.publish_status(ctx, year=year)
    await dashboard.publish_next_opening(next_yearly_opening(moment(today)))
    return {**opened, "sent": report.sent}
