"""Rules of the staff sign-in: password length, how long a name is blocked after failed attempts."""

from __future__ import annotations

import datetime as dt

MIN_PASSWORD = 12
FREE_ATTEMPTS = 5                               # failed sign-ins before the name is blocked at all
FIRST_BLOCK = dt.timedelta(minutes=1)           # then 1, 2, 4, … minutes per further failure
LONGEST_BLOCK = dt.timedelta(hours=1)
SESSION_HOURS = 10                              # a working day; then sign in again


def password_problem(password: str, *, name: str) -> str | None:
    """Why a new password is refused (German), or None."""
    if len(password) < MIN_PASSWORD:
        return f"Das Passwort ist zu kurz: mindestens {MIN_PASSWORD} Zeichen."
    if password.strip().casefold() == name.strip().casefold():
        return "Das Passwort darf nicht der Name sein."
    return None


def blocked_until(failed: int, now: dt.datetime) -> dt.datetime | None:
    """After ``failed`` failures in a row: until when further attempts are refused unchecked (None: not)."""
    if failed < FREE_ATTEMPTS:
        return None
    wait: dt.timedelta = min(FIRST_BLOCK * 2 ** (failed - FREE_ATTEMPTS), LONGEST_BLOCK)
    return now + wait
