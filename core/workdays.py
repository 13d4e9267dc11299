"""Working days of a region: weekends and the public holidays of its federal state (DESIGN §7)."""

from __future__ import annotations

import functools

from holidays.countries.germany import Germany

from core.ladder import IsHoliday

DEFAULT_STATE = "NW"  # North Rhine-Westphalia


@functools.lru_cache(maxsize=16)
def _calendar(state: str) -> Germany:
    return Germany(subdiv=state)  # grows to further years on lookup


def public_holidays(state: str = DEFAULT_STATE) -> IsHoliday:
    """``is_holiday(day)`` for the German federal state ``state`` (ISO 3166-2 code without ``DE-``)."""
    calendar = _calendar(state.upper())
    return lambda day: day in calendar


def known_states() -> tuple[str, ...]:
    return tuple(Germany.subdivisions)

