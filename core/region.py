"""The region an installation serves and its agency, read from ``region.toml`` in survey_templates."""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.toml_text import parse_toml
from core.workdays import known_states


class RegionConfigError(ValueError):
    """``region.toml`` is missing or wrong (a staff configuration error)."""


@dataclass(frozen=True)
class RegionProfile:
    code: str
    name: str
    agency_name: str
    agency_email: str
    agency_phone: str = ""
    agency_address: str = ""
    holiday_state: str = "NW"  # whose public holidays move reminders (German federal state code)


def parse_region(text: str) -> RegionProfile:
    data = parse_toml(text, file="region.toml", error=RegionConfigError)
    region = data.get("region", {})
    agency = data.get("agency", {})
    try:
        profile = RegionProfile(
            code=str(region["code"]),
            name=str(region["name"]),
            agency_name=str(agency["name"]),
            agency_email=str(agency["email"]),
            **{f"agency_{key}": str(agency.get(key, "")) for key in ("phone", "address")},
            holiday_state=str(region.get("holidays", "NW")).upper(),
        )
    except KeyError as exc:
        raise RegionConfigError(f"region.toml: the entry {exc.args[0]!r} is missing") from exc
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", profile.code):
        raise RegionConfigError("region.toml: region.code must be lower-case letters, digits and '-'")
    if profile.holiday_state not in known_states():
        raise RegionConfigError(f"region.toml: region.holidays {profile.holiday_state!r} is not a German federal "
                                f"state code ({', '.join(known_states())})")
    return profile
