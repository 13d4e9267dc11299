"""Turn what spreadsheet programs store in a cell into the texts and dates of an activity."""

from __future__ import annotations

import datetime as dt
import re

from core.grid import Value

EXCEL_EPOCH = dt.date(1899, 12, 30)
_DMY = re.compile(r"^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{2}|\d{4})$")
_MY = re.compile(r"^(\d{1,2})\s*[./-]\s*(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?$")
_ISO_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_YEAR = re.compile(r"^(\d{4})$")
# Invisible characters that would break the documents or disguise a text: control characters (tab and
# line break aside) and the bidirectional overrides of "Trojan Source" spoofing. Each becomes a blank.
_INVISIBLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufff9-\ufffb]")


def cell_to_text(value: Value) -> str:
    """The text a person sees in the cell: line breaks kept as ``\n``, trailing blanks gone, control
    and bidi-override characters replaced by blanks.

    python-calamine already decodes OOXML ``_xHHHH_`` escapes (xlsxwriter writes CR as ``_x000D_``).
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "WAHR" if value else "FALSCH"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:g}".replace(".", ",")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y") if value.time() == dt.time() else value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, dt.time | dt.timedelta):
        return str(value)
    text = _INVISIBLE.sub(" ", value.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    return "\n".join(lines).strip()


class NotADate(ValueError):
    pass


def _checked(year: int, month: int = 1, day: int = 1) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise NotADate(str(exc)) from exc


def cell_to_period(value: Value) -> str:
    """A date or a year as stored: ``"2026"``, ``"2026-03"`` or ``"2026-03-15"``; empty for an empty cell.

    Accepts real dates, Excel serial numbers, years as numbers, and texts such as ``15.03.2026``,
    ``15.3.26``, ``03.2026``, ``03/2026``, ``2026-03-15`` or ``2026``. Raises NotADate otherwise.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        raise NotADate("boolean")
    if isinstance(value, dt.date):
        date = value.date() if isinstance(value, dt.datetime) else value
        serial = (date - EXCEL_EPOCH).days
        if 1000 <= serial <= 2999 and not (isinstance(value, dt.datetime) and value.time() != dt.time()):
            # A year that came back as a date (26.09.1902 to 17.03.1908): Excel shows 2016 typed into a date cell
            # as 08.07.1905, and python-calamine reads the years of Gnumeric's .xls so (it takes Gnumeric's
            # number format id 50 for a built-in date format). No such date is a Beginn or Ende of an activity.
            return str(serial)
        return date.isoformat()
    if isinstance(value, int | float):
        if float(value).is_integer() and 1000 <= value <= 2999:
            return str(int(value))
        if 1 <= value < 2_958_466:  # an Excel serial date (LibreOffice sometimes stores dates so)
            return (EXCEL_EPOCH + dt.timedelta(days=int(value))).isoformat()
        raise NotADate(str(value))
    if not isinstance(value, str):
        raise NotADate(type(value).__name__)
    text = value.strip()
    if not text:
        return ""
    if match := _YEAR.match(text):
        return text
    if match := _DMY.match(text):
        day, month, year = (int(g) for g in match.groups())
        if year < 100:
            year += 2000
        return _checked(year, month, day).isoformat()
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
        return _checked(year, month, day).isoformat()
    if match := _MY.match(text) or _ISO_MONTH.match(text):
        first, second = (int(g) for g in match.groups())
        year, month = (second, first) if first <= 12 and second > 12 else (first, second)
        _checked(year, month)
        return f"{year:04d}-{month:02d}"
    raise NotADate(text)


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """First and last day a stored period covers (``"2026"`` → 1 Jan to 31 Dec 2026)."""
    parts = [int(p) for p in period.split("-")]
    if len(parts) == 1:
        return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    if len(parts) == 2:
        first = dt.date(parts[0], parts[1], 1)
        following = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return first, following - dt.timedelta(days=1)
    day = dt.date(parts[0], parts[1], parts[2])
    return day, day


def period_text(period: str) -> str:
    """A stored period as Germans write it: ``15.03.2026``, ``03.2026`` or ``2026``."""
    parts = period.split("-")
    return ".".join(reversed(parts)) if len(parts) > 1 else period
