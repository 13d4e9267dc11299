"""Flow `close-cycle`: end the round; the page closes and every personal link of it stops working."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import dashboard
from flows.regions import run_name
from flows.runtime import moment
from usecases.context import app_context
from usecases.cycle import close_cycle


@task(name="close", cache_policy=NO_CACHE)
def close(year: int, today: dt.date | None, region: str | None = None) -> bool:
    with app_context(region=region) as ctx:
        return close_cycle(ctx, year=year, now=moment(today))


@flow(name="close-cycle", flow_run_name=run_name)
async def close_cycle_flow(year: int, today: dt.date | None = None, region: str | None = None) -> dict[str, object]:
    """One region's round (``region``; needed once the database holds several)."""
    closed = close(year, today, region)
    with app_context(region=region) as ctx:
        totals = await dashboard.publish_status(ctx, year=year, region=region)
    return {"closed": closed, "totals": totals}
