"""What every flow needs: the app context (``with app_context()``), and "today" in Europe/Berlin."""

from __future__ import annotations

import datetime as dt

from core.dates import BERLIN
from usecases.context import app_context


def berlin_today(today: dt.date | None) -> dt.date:
    return today or dt.datetime.now(BERLIN).date()


def moment(today: dt.date | None) -> dt.datetime:
    """"Now" for a run: the real time, or 08:00 in Aachen on a simulated ``today``."""
    if today is None:
        return dt.datetime.now(dt.UTC)
    return dt.datetime.combine(today, dt.time(8, 0), BERLIN).astimezone(dt.UTC)


def open_year(year: int | None, region: str | None = None) -> int | None:
    """``year``, or the year of the newest open cycle (of ``region``)."""
    if year is not None:
        return year
    from usecases.cycle import open_cycle_year

    with app_context(region=region) as ctx:
        return open_cycle_year(ctx)
