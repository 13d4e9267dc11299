"""The region an installation serves and its agency: the region file's keys, checked, and what a re-run changes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields

from core.sheet_spec import HORIZON_AHEAD, LAST_AFTER_HORIZON, LATEST_YEAR
from core.toml_text import parse_toml
from core.workdays import known_states

DEFAULT_FUNDING_LINE = "Mit finanzieller Unterstützung des Landes Nordrhein-Westfalen und der Europäischen Union."
MAX_LOGO_BYTES = 1_000_000

_KEYS = {
    "region": {"code", "name", "holidays", "funding_line", "logo", "templates", "base_url"},
    "agency": {"name", "email", "phone", "address"},
    "concept": {"horizon", "sheet_max_year"},
}
_REQUIRED: dict[str, tuple[str, ...]] = {"region": ("code", "name"), "agency": ("name", "email"), "concept": ()}
_YEARS = {"concept.horizon", "concept.sheet_max_year"}  # numbers; every other entry is a text
EARLIEST_YEAR = 2000
# Paths the page serving several regions uses itself: a region under one of them would hide it.
RESERVED_CODES = frozenset({"r", "static", "intern", "healthz", "logo"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# What staff read when a re-run changes a field (German, like every staff message).
FIELD_LABELS = {
    "name": "Name der Region", "agency_name": "Name der Regionalagentur", "agency_email": "E-Mail der Regionalagentur",
    "agency_phone": "Telefon", "agency_address": "Anschrift", "holiday_state": "Feiertage (Bundesland)",
    "funding_line": "Förderhinweis", "logo": "Logo", "templates": "Vorlagenordner", "base_url": "Adresse der Seite",
    "concept_horizon": "Handlungskonzept plant bis (Jahr)", "sheet_max_year": "Spätestes Jahr in der Tabelle",
}
# What an unset year means, as a re-run lists it.
UNSET = {"concept_horizon": f"nicht gesetzt (Jahr der Abfrage + {HORIZON_AHEAD})",
         "sheet_max_year": f"nicht gesetzt (Handlungskonzept + {LAST_AFTER_HORIZON})"}


class RegionConfigError(ValueError):
    """The region file is missing or wrong (a staff configuration error); the message is German."""


@dataclass(frozen=True)
class RegionProfile:
    code: str
    name: str
    agency_name: str
    agency_email: str
    agency_phone: str = ""
    agency_address: str = ""
    holiday_state: str = "NW"  # whose public holidays move reminders (German federal state code)
    funding_line: str = DEFAULT_FUNDING_LINE
    logo_file: str = ""        # as written in the file (relative to it); the adapter reads the bytes
    concept_horizon: int | None = None  # the last year the concept plans for (None: the round's year + 3)
    sheet_max_year: int | None = None   # the latest year a sheet takes at all (None: horizon + 5)
    # The region's own survey_templates folder (catalogs, policy, texts, templates); "": FKO_TEMPLATES_DIR.
    # As written in the file (relative to it); the adapter stores it absolute.
    templates: str = ""
    # Where the region's page is reached ("": FKO_BASE_URL, with /CODE appended once a database holds several).
    base_url: str = ""


def parse_region(text: str, *, file: str = "region.toml") -> RegionProfile:
    """Every key checked; the first problem is raised with the file, the key and a German reason."""
    data = parse_toml(text, file=file, error=RegionConfigError)

    def bad(key: str, reason: str) -> RegionConfigError:
        return RegionConfigError(f"{file}: {key}: {reason}")

    for table, value in data.items():
        if table not in _KEYS:
            raise bad(table, f"unbekannter Abschnitt; erlaubt sind [{'], ['.join(_KEYS)}].")
        if not isinstance(value, dict):
            raise bad(table, f"muss ein Abschnitt [{table}] sein.")
        for key in value:
            if key not in _KEYS[table]:
                raise bad(f"{table}.{key}", f"unbekannter Eintrag; erlaubt sind {', '.join(sorted(_KEYS[table]))}.")
    texts: dict[str, str] = {}
    for table, keys in _KEYS.items():
        for key in keys:
            value = data.get(table, {}).get(key)
            if f"{table}.{key}" in _YEARS:
                continue
            if value is None:
                if key in _REQUIRED[table]:
                    raise bad(f"{table}.{key}", "fehlt (Pflichtangabe).")
                continue
            if not isinstance(value, str):
                raise bad(f"{table}.{key}", "muss ein Text in Anführungszeichen sein.")
            texts[f"{table}.{key}"] = " ".join(value.split())
            if key in _REQUIRED[table] and not texts[f"{table}.{key}"]:
                raise bad(f"{table}.{key}", "darf nicht leer sein.")
    profile = RegionProfile(
        code=texts["region.code"],
        name=texts["region.name"],
        agency_name=texts["agency.name"],
        agency_email=texts["agency.email"],
        agency_phone=texts.get("agency.phone", ""),
        agency_address=texts.get("agency.address", ""),
        holiday_state=texts.get("region.holidays", "NW").upper(),
        funding_line=texts.get("region.funding_line", DEFAULT_FUNDING_LINE),
        logo_file=texts.get("region.logo", ""),
        concept_horizon=_year(data, "horizon", bad),
        sheet_max_year=_year(data, "sheet_max_year", bad),
        templates=texts.get("region.templates", ""),
        base_url=texts.get("region.base_url", "").rstrip("/"),
    )
    if profile.code in RESERVED_CODES:
        raise bad("region.code", f"„{profile.code}“ ist als Kürzel nicht möglich: die Seite braucht diesen Namen "
                                 f"selbst ({', '.join(sorted(RESERVED_CODES))}).")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", profile.code):
        raise bad("region.code", f"„{profile.code}“ ist kein gültiges Kürzel: nur Kleinbuchstaben (a–z), Ziffern und "
                                 "„-“, höchstens 40 Zeichen, z. B. „aachen“.")
    if profile.base_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", profile.base_url):
        raise bad("region.base_url", f"„{profile.base_url}“ ist keine Adresse der Form https://host/pfad.")
    if not _EMAIL.fullmatch(profile.agency_email):
        raise bad("agency.email", f"„{profile.agency_email}“ ist keine E-Mail-Adresse.")
    if profile.holiday_state not in known_states():
        raise bad("region.holidays", f"„{profile.holiday_state}“ ist kein Kürzel eines Bundeslandes "
                                     f"({', '.join(known_states())}).")
    horizon, last = profile.concept_horizon, profile.sheet_max_year
    if horizon is not None and last is not None and last < horizon:
        raise bad("concept.sheet_max_year", f"{last} liegt vor dem letzten Jahr des Handlungskonzepts "
                                            f"(concept.horizon = {horizon}); eine Tabelle muss mindestens die "
                                            "Jahre des Handlungskonzepts annehmen.")
    return profile


def _year(data: dict[str, object], key: str, bad: Callable[[str, str], RegionConfigError]) -> int | None:
    """A year entry of [concept]: a plain number in a plausible range, or None when left out."""
    table = data.get("concept", {})
    value = table.get(key) if isinstance(table, dict) else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise bad(f"concept.{key}", "muss eine Jahreszahl ohne Anführungszeichen sein, z. B. 2027.")
    if not EARLIEST_YEAR <= value <= LATEST_YEAR:
        raise bad(f"concept.{key}", f"{value} ist keine plausible Jahreszahl (erlaubt: {EARLIEST_YEAR} bis "
                                    f"{LATEST_YEAR}).")
    return value


def logo_type(data: bytes, *, name: str) -> str:
    """The MIME type of a logo (PNG or SVG); a German reason otherwise."""
    if len(data) > MAX_LOGO_BYTES:
        raise RegionConfigError(f"region.logo: {name} ist größer als 1 MB; bitte eine kleinere Datei verwenden.")
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    head = data[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if (head.startswith(b"<svg") or head.startswith(b"<?xml")) and b"<svg" in data[:4096].lower():
        if re.search(rb"<script|\son[a-z]+\s*=|javascript:", data, re.IGNORECASE):
            raise RegionConfigError(f"region.logo: {name} enthält Skripte; bitte ein SVG ohne Skripte verwenden.")
        return "image/svg+xml"
    raise RegionConfigError(f"region.logo: {name} ist weder PNG noch SVG.")


def profile_changes(old: RegionProfile, new: RegionProfile) -> list[tuple[str, str, str]]:
    """(German field label, old, new) for every field that differs, logo by its file name; an unset year
    says what it means."""
    def shown(profile: RegionProfile, name: str) -> str:
        value = getattr(profile, name)
        return UNSET[name] if value is None and name in UNSET else str(value)

    return [(FIELD_LABELS.get(f.name, f.name), shown(old, f.name), shown(new, f.name))
            for f in fields(RegionProfile)
            if f.name not in ("code", "logo_file") and getattr(old, f.name) != getattr(new, f.name)]
