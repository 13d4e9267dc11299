"""Flow `close-cycle`: end the round; the page closes and every personal link of it stops working."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import dashboard
from flows.runtime import moment
from usecases.context import app_context
from usecases.cycle import close_cycle


@task(name="close", cache_policy=NO_CACHE)
def close(year: int, today: dt.date | None) -> bool:
    with app_context() as ctx:
        return close_cycle(ctx, year=year, now=moment(today))


@flow(name="close-cycle")
async def close_cycle_flow(year: int, today: dt.date | None = None) -> dict[str, object]:
    closed = close(year, today)
    with app_context() as ctx:
        totals = await dashboard.publish_status(ctx, year=year)
    return {"closed": closed, "totals": totals}
