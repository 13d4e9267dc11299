"""Working days of a region: weekends and the public holidays of its federal state (DESIGN §7)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from core.ladder import IsHoliday

if TYPE_CHECKING:
    from holidays.countries.germany import Germany

DEFAULT_STATE = "NW"  # North Rhine-Westphalia


@functools.lru_cache(maxsize=16)
def _calendar(state: str) -> Germany:
    from holidays.countries.germany import Germany  # loaded when a date is checked (a fast start elsewhere)

    return Germany(subdiv=state)  # grows to further years on lookup


def public_holidays(state: str = DEFAULT_STATE) -> IsHoliday:
    """``is_holiday(day)`` for the German federal state ``state`` (ISO 3166-2 code without ``DE-``)."""
    calendar = _calendar(state.upper())
    return lambda day: day in calendar


def known_states() -> tuple[str, ...]:
    from holidays.countries.germany import Germany

    return tuple(Germany.subdivisions)

