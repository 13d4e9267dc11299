"""Flow `escalate-reminders`: the daily reminder run (mails through the outbox, phone tasks for staff)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.states import State

from flows import dashboard
from flows.deployments import next_yearly_opening
from flows.open_cycle import deliver_mail
from flows.regions import region_codes, run_name, run_per_region
from flows.runtime import berlin_today, moment
from usecases.context import app_context
from usecases.cycle import open_cycle_year
from usecases.reminders import run_daily


@task(name="carry-out-reminders", cache_policy=NO_CACHE)
def carry_out(today: dt.date | None, region: str | None = None) -> dict[str, int]:
    with app_context(region=region) as ctx:
        report = run_daily(ctx, today=berlin_today(today), now=moment(today))  # reminders, then the staff digest
    return {"planned": len(report.planned), "mails": report.mails_queued, "phone_tasks": report.phone_tasks,
            "rounds": len(report.rounds), "digest": int(bool(report.digest and report.digest.queued))}


@flow(name="escalate-reminders", flow_run_name=run_name)
async def escalate_reminders_flow(today: dt.date | None = None, region: str | None = None) -> dict[str, Any] | State:
    """Safe to run any number of times a day: each step is carried out once. Without ``region`` on a database
    with several regions: one run per region (flows.regions)."""
    codes = region_codes(region)
    if codes:
        return await run_per_region(escalate_reminders_flow, codes, {"today": today}, what="Erinnerungen")
    result = carry_out(today, region)
    if not result["rounds"]:
        get_run_logger().warning("Keine laufende Abfrage: niemand wird erinnert (`fko cycle open` eröffnet die "
                                 "nächste; der Lauf jährlich am 1. September tut es von selbst).")
    sent = await deliver_mail(region)
    get_run_logger().info("Erinnerungen: %s fällig, %s E-Mails versandt, %s Telefonaufgaben", result["planned"],
                          sent.sent, result["phone_tasks"])
    with app_context(region=region) as ctx:
        year = open_cycle_year(ctx)
        if year is not None:
            await dashboard.publish_status(ctx, year=year, region=region)
    await dashboard.publish_next_opening(next_yearly_opening(moment(today)))
    return {**result, "sent": sent.sent}
