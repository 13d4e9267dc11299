"""Dates and texts as spreadsheet programs store them (DESIGN §5 traps)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.cellvalue import NotADate, cell_to_period, cell_to_text, period_bounds, period_text


@pytest.mark.parametrize(
    ("value", "period"),
    [
        (dt.datetime(2026, 3, 15), "2026-03-15"),
        (dt.date(2026, 3, 15), "2026-03-15"),
        ("15.03.2026", "2026-03-15"),
        ("15.3.26", "2026-03-15"),
        ("2026-03-15", "2026-03-15"),
        (46096, "2026-03-15"),          # an Excel/LibreOffice serial number
        (46096.0, "2026-03-15"),
        (2026, "2026"),
        (2026.0, "2026"),
        ("2026", "2026"),
        ("03.2026", "2026-03"),
        ("3/2026", "2026-03"),
        ("2026-03", "2026-03"),
        ("", ""),
        (None, ""),
        (dt.date(1905, 7, 8), "2016"),      # the year 2016 read back as a date (Gnumeric's .xls, date cells)
        (dt.datetime(1905, 7, 19), "2027"),
        (dt.date(1902, 9, 25), "1902-09-25"),  # before serial 1000: a date, refused as out of range
        (dt.datetime(1905, 7, 8, 12, 0), "1905-07-08"),  # a time of day: no year typed
    ],
)
def test_dates_in_every_form_programs_store_them(value: object, period: str) -> None:
    assert cell_to_period(value) == period  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["31.02.2026", "morgen", "13.2026", True, "15.03.2026 14:30"])
def test_not_a_date(value: object) -> None:
    with pytest.raises(NotADate):
        cell_to_period(value)  # type: ignore[arg-type]


def test_text_keeps_line_breaks_from_any_platform() -> None:
    assert cell_to_text("Zeile 1\r\nZeile 2  \rZeile 3\n") == "Zeile 1\nZeile 2\nZeile 3"


@pytest.mark.parametrize(("value", "text"), [(120.0, "120"), (2.5, "2,5"), (7, "7"),
                                             (dt.datetime(2026, 3, 15), "15.03.2026"), (None, "")])
def test_numbers_read_as_people_see_them(value: object, text: str) -> None:
    assert cell_to_text(value) == text  # type: ignore[arg-type]


def test_period_bounds_and_german_text() -> None:
    assert period_bounds("2026-02") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert period_bounds("2027-12") == (dt.date(2027, 12, 1), dt.date(2027, 12, 31))
    assert period_text("2026-03-15") == "15.03.2026" and period_text("2026-03") == "03.2026"


def test_control_and_bidi_override_characters_become_blanks() -> None:
    # They would make the Word document invalid XML, or show a title reversed ("Trojan Source").
    assert cell_to_text("Titel\x01mit\x1bSteuer\x00zeichen") == "Titel mit Steuer zeichen"
    assert cell_to_text("Neu \u202egnudlibsuA\u202c") == "Neu  gnudlibsuA"
    assert cell_to_text("Spalte\tmit Tab\nund Umbruch") == "Spalte\tmit Tab\nund Umbruch"
