"""region.toml: the region, its agency and whose public holidays count."""

from __future__ import annotations

import pytest

from core.region import RegionConfigError, parse_region

BASE = '[region]\ncode = "aachen"\nname = "Region Aachen"\n{extra}[agency]\nname = "RA"\nemail = "ra@example.org"\n'


def test_holidays_default_to_nrw_and_follow_the_region_file() -> None:
    assert parse_region(BASE.format(extra="")).holiday_state == "NW"
    assert parse_region(BASE.format(extra='holidays = "by"\n')).holiday_state == "BY"


def test_an_unknown_state_is_refused_with_the_key() -> None:
    with pytest.raises(RegionConfigError, match=r"region\.holidays"):
        parse_region(BASE.format(extra='holidays = "XX"\n'))
