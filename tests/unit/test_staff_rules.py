"""The staff sign-in rules: password length and how long a name waits after failed attempts."""

from __future__ import annotations

import datetime as dt

from core.staff import blocked_until, password_problem

NOW = dt.datetime(2026, 9, 1, 8, 0, tzinfo=dt.UTC)


def test_password_needs_twelve_characters_and_is_not_the_name() -> None:
    assert password_problem("kurz", name="Petra") == "Das Passwort ist zu kurz: mindestens 12 Zeichen."
    assert password_problem("Petra Beispiel", name="petra beispiel") == "Das Passwort darf nicht der Name sein."
    assert password_problem("lange-geheime-Phrase", name="Petra") is None


def test_blocking_starts_after_five_failures_doubles_and_stops_at_an_hour() -> None:
    assert [blocked_until(n, NOW) for n in range(5)] == [None] * 5
    waits = [blocked_until(n, NOW) - NOW for n in (5, 6, 7, 20)]  # type: ignore[operator]
    assert waits == [dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4), dt.timedelta(hours=1)]
