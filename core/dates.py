"""Dates as German readers expect them."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")  # schedules, deadlines and every time a German reader sees

WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
MONTHS = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
          "November", "Dezember")


def german_date(day: dt.date, *, weekday: bool = True) -> str:
    """``Donnerstag, 15. Oktober 2026`` (or without the weekday)."""
    text = f"{day.day}. {MONTHS[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]}, {text}" if weekday else text


def short_date(day: dt.date) -> str:
    """``15.10.2026``."""
    return day.strftime("%d.%m.%Y")


def german_datetime(moment: dt.datetime) -> str:
    """``15.10.2026 um 14:05 Uhr`` in the zone of ``moment``."""
    return f"{moment:%d.%m.%Y} um {moment:%H:%M} Uhr"
