"""Flow `close-cycle`: end the round; the page closes and every personal link of it stops working."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import dashboard
from flows.runtime import context, moment
from usecases.cycle import close_cycle


@task(name="close", cache_policy=NO_CACHE)
def close(year: int, today: dt.date | None) -> bool:
    ctx = context()
    try:
        return close_cycle(ctx, year=year, now=moment(today))
    finally:
        ctx.close()


@flow(name="close-cycle")
async def close_cycle_flow(year: int, today: dt.date | None = None) -> dict[str, object]:
    closed = close(year, today)
    ctx = context()
    try:
        totals = await dashboard.publish_status(ctx, year=year)
    finally:
        ctx.close()
    return {"closed": closed, "totals": totals}
