"""Property test: any activity set survives build → read unchanged."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.activity import Activity
from core.text import squash_spaces
from tests.support.factories import build_sheet_bytes, check_bytes, templates

SPEC, CATALOGS = templates()
# Printable text incl. umlauts, typographic characters and formula starters; no control characters and none of
# the characters the reader blanks on purpose (bidi overrides, interlinear annotation marks: core.cellvalue).
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Co", "Cn", "Zl", "Zp"),
                                      exclude_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                                                         "\ufff9\ufffa\ufffb"),
               max_size=60).map(squash_spaces)
MULTILINE = st.lists(TEXT.filter(bool), max_size=3).map("\n".join)
PERIOD = st.one_of(
    st.just(""),
    st.integers(2000, 2027).map(str),
    st.dates(min_value=__import__("datetime").date(2000, 1, 1),
             max_value=__import__("datetime").date(2027, 12, 31)).map(lambda d: d.isoformat()),
    st.tuples(st.integers(2000, 2027), st.integers(1, 12)).map(lambda t: f"{t[0]:04d}-{t[1]:02d}"),
)


@st.composite
def activities(draw: st.DrawFn) -> list[Activity]:
    count = draw(st.integers(0, 12))
    result = []
    for number in range(1, count + 1):
        start, end = sorted([draw(PERIOD), draw(PERIOD)], key=lambda p: (p == "", p[:4]))
        if start and end and start[:4] > end[:4]:
            start, end = end, start
        if start and end and start[:4] == end[:4]:
            end = start
        groups = draw(st.lists(st.sampled_from(CATALOGS.target_groups), max_size=3, unique=True))
        result.append(Activity(
            key=f"IHK-{number:04d}", institution_code="IHK",
            title=draw(TEXT.filter(bool).map(lambda s: s[:200])),
            field_of_action=draw(st.sampled_from(CATALOGS.fields_of_action)),
            status=draw(st.sampled_from(CATALOGS.statuses)),
            description=draw(MULTILINE), start=start, end=end,
            target_groups="; ".join(groups),
            area=draw(st.sampled_from(("", *CATALOGS.areas))),
            partners=draw(TEXT), funding=draw(TEXT), contact_person=draw(TEXT),
            email=draw(st.sampled_from(["", "anna.schmitz@ihk.example.org"])),
            link=draw(st.sampled_from(["", "https://www.ihk.de/aachen"])),
            remarks=draw(st.one_of(TEXT, st.sampled_from(["=1+2", "+49 241", "-", "@home", "'quoted"]))),
        ))
    return result


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(activities())
def test_any_activity_set_survives_build_and_read(original: list[Activity]) -> None:
    result = check_bytes(build_sheet_bytes(original), base=original)
    assert result.ok, [p.message for p in result.problems]
    assert result.activities == original
    assert result.missing == []
