"""Flow `open-cycle`: the yearly opening (requests, personal links, pre-filled sheets, invitations)."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from flows import dashboard
from flows.deployments import next_yearly_opening
from flows.regions import region_codes, run_name, run_per_region
from flows.runtime import berlin_today, moment
from usecases.context import app_context
from usecases.cycle import RoundEnded, open_cycle
from usecases.outbox import DeliveryReport, deliver_pending


@task(name="open-requests", cache_policy=NO_CACHE)
def open_requests(year: int, deadline: dt.date | None, today: dt.date | None,
                  region: str | None = None) -> dict[str, object]:
    with app_context(region=region) as ctx:
        try:
            result = open_cycle(ctx, year=year, deadline=deadline, today=berlin_today(today), now=moment(today))
        except RoundEnded:
            return {"ended": True, "invitations": 0, "without_contact": []}
    return {"created": result.created, "requests": result.requests_created,
            "invitations": result.invitations_queued, "without_contact": result.without_contact,
            "deadline": result.deadline.isoformat()}


@task(name="deliver-mail", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=30)
async def deliver_mail(region: str | None = None) -> DeliveryReport:
    """Send what waits in the outbox (exactly once: retries resend nothing that was accepted, and two workers
    never send the same message: the outbox's claims)."""
    with app_context(region=region) as ctx:
        report = await deliver_pending(ctx)
    if report.failed:
        raise RuntimeError(f"{report.failed} E-Mails nicht versandt: {report.errors[0]}")
    return report


@flow(name="open-cycle", flow_run_name=run_name)
async def open_cycle_flow(year: int | None = None, deadline: dt.date | None = None,
                          today: dt.date | None = None, region: str | None = None) -> dict[str, object] | State:
    """Open the yearly round: safe to re-run (nothing is created or sent twice). Without ``region`` on a
    database with several regions: one run per region (flows.regions)."""
    logger = get_run_logger()
    year = year or berlin_today(today).year
    codes = region_codes(region)
    if codes:
        return await run_per_region(open_cycle_flow, codes, {"year": year, "deadline": deadline, "today": today},
                                    what=f"Eröffnung {year}")
    opened = open_requests(year, deadline, today, region)
    if opened.get("ended"):
        logger.info("Abfrage %s ist beendet (Konzept veröffentlicht): niemand wird eingeladen.", year)
        return opened
    report = await deliver_mail(region)
    logger.info("Abfrage %s: %s Einladungen vorbereitet, %s E-Mails versandt", year, opened["invitations"],
                report.sent)
    if opened["without_contact"]:
        logger.warning("Ohne erreichbare Ansprechperson: %s", ", ".join(opened["without_contact"]))  # type: ignore[arg-type]
    with app_context(region=region) as ctx:
        await dashboard.publish_status(ctx, year=year, region=region)
    await dashboard.publish_next_opening(next_yearly_opening(moment(today)))
    return {**opened, "sent": report.sent}
