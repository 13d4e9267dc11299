"""The round's dates: the default deadline, late returns, when the page closes and links expire (DESIGN §7)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from core.dates import BERLIN

DEFAULT_WEEKS = 6
LINK_VALIDITY_AFTER_DEADLINE = dt.timedelta(days=180)  # until the cycle is closed, at the latest this


def default_deadline(opened: dt.date) -> dt.date:
    """Six weeks after opening, moved off a weekend."""
    deadline = opened + dt.timedelta(weeks=DEFAULT_WEEKS)
    while deadline.weekday() >= 5:
        deadline += dt.timedelta(days=1)
    return deadline


def is_late(deadline: dt.date, now: dt.datetime) -> bool:
    """After the deadline day (which counts in full, in Europe/Berlin)."""
    return now.astimezone(BERLIN).date() > deadline


def returns_closed(*, cycle_open: bool, deadline: dt.date, now: dt.datetime, late_days: int) -> bool:
    """Closed for returns: staff closed the cycle, or the late period after the deadline is over too.

    Until then a late return is still welcome (the reminder ladder asks for it); the page says the
    deadline has passed.
    """
    return not cycle_open or now.astimezone(BERLIN).date() > deadline + dt.timedelta(days=late_days)


def link_expiry(deadline: dt.date) -> dt.datetime:
    """When a personal link stops working if staff never close the cycle."""
    return dt.datetime.combine(deadline + LINK_VALIDITY_AFTER_DEADLINE, dt.time(23, 59), dt.UTC)


MIN_LEAD_DAYS = 14   # a deadline closer than this leaves institutions too little time: staff confirm it
PLAUSIBLE_YEARS = 1  # a round's year is this year, the next or the last one (a typo like 26 or 2099 is not)
_WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")


def deadline_concerns(deadline: dt.date, *, today: dt.date, is_holiday: Callable[[dt.date], bool]) -> list[str]:
    """Why a deadline may be a mistake (German, for staff to confirm): a weekend or public holiday, or too soon."""
    concerns = []
    if deadline.weekday() >= 5:
        concerns.append(f"der {deadline:%d.%m.%Y} ist ein {_WEEKDAYS[deadline.weekday()]}")
    elif is_holiday(deadline):
        concerns.append(f"der {deadline:%d.%m.%Y} ist ein Feiertag")
    lead = (deadline - today).days
    if lead < MIN_LEAD_DAYS:
        when = "heute" if lead == 0 else ("morgen" if lead == 1 else f"in {lead} Tagen")
        concerns.append(f"die Frist ist schon {when} (empfohlen: mindestens {MIN_LEAD_DAYS} Tage Zeit)")
    return concerns


def plausible_year(year: int, *, today: dt.date) -> bool:
    return abs(year - today.year) <= PLAUSIBLE_YEARS
