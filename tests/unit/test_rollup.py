"""The ministry's roll-up (core.rollup, core.rollup_xlsx) and the state demo's data (core.state_demo)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.chart import BarChart

from core.catalog import parse_catalogs
from core.rollup import (
    ActivityFacts,
    RegionFacts,
    RollupError,
    VersionFacts,
    build_rollup,
    choose_versions,
    parse_cluster_table,
)
from core.rollup_xlsx import render_rollup_workbook
from core.state_demo import parse_state_region

TEMPLATES = Path(__file__).resolve().parents[2] / "survey_templates"
TABLE = """
clusters = ["Ausbildung", "Weiterbildung"]
unmapped = "nicht zugeordnet"
[fields]
"Berufsorientierung und Übergang Schule–Beruf" = "Ausbildung"
"Weiterbildung und Qualifizierung" = "Weiterbildung"
[regions.muenster]
"Lebenslanges Lernen" = "Weiterbildung"
"Weiterbildung und Qualifizierung" = "Ausbildung"
"""
STAND = dt.date(2026, 11, 30)


def facts(key: str, field: str, status: str = "bestehend") -> ActivityFacts:
    return ActivityFacts(key, field, status)


def region(code: str, activities: list[ActivityFacts], *, previous: list[ActivityFacts] | None = None,
           asked: int | None = None, answered: int | None = None, published: bool = True) -> RegionFacts:
    version = VersionFacts(2, "2026", dt.date(2026, 11, 20), 1) if published else None
    before = VersionFacts(1, "2025", dt.date(2025, 3, 31)) if previous is not None else None
    return RegionFacts(code=code, name=f"Region {code}", version=version,
                       activities=tuple(activities) if published else (), previous=before,
                       previous_activities=tuple(previous or ()), asked=asked, answered=answered)


def test_cluster_table_maps_every_field_of_the_bundled_catalog() -> None:
    table = parse_cluster_table((TEMPLATES / "rollup" / "clusters.toml").read_text(encoding="utf-8"))
    catalogs = parse_catalogs((TEMPLATES / "catalogs.toml").read_text(encoding="utf-8"))
    assert {field: table.cluster_of("irgendwo", field) for field in catalogs.fields_of_action if
            table.cluster_of("irgendwo", field) is None} == {}


def test_cluster_of_ignores_case_spaces_and_the_kind_of_dash() -> None:
    table = parse_cluster_table(TABLE)
    assert table.cluster_of("koeln", "berufsorientierung  und Übergang Schule-Beruf ") == "Ausbildung"
    assert table.cluster_of("koeln", "Berufsorientierung und Übergang Schule—Beruf") == "Ausbildung"


def test_cluster_table_entry_of_a_region_wins_over_the_common_one() -> None:
    table = parse_cluster_table(TABLE)
    assert table.cluster_of("muenster", "Weiterbildung und Qualifizierung") == "Ausbildung"
    assert table.cluster_of("koeln", "Weiterbildung und Qualifizierung") == "Weiterbildung"
    assert table.cluster_of("koeln", "Lebenslanges Lernen") is None  # only Münster's own name


@pytest.mark.parametrize(("text", "says"), [
    ('clusters = ["A"]\n[fields]\n"X" = "B"', "„X“ = „B“ ist keiner der Cluster"),
    ('clusters = ["A"]\nunmapped = "A"', "unmapped muss ein eigener Name sein"),
    ('clusters = []', "clusters muss eine Liste"),
    ('clusters = ["A", "B"]\n[fields]\n"X" = "A"\n"x " = "B"', "„x “ steht zweimal"),
    ('clusters = ["A"', "kein gültiges TOML"),
])
def test_cluster_table_refuses_a_broken_table_in_german(text: str, says: str) -> None:
    with pytest.raises(RollupError, match=says):
        parse_cluster_table(text)


def test_rollup_counts_an_unmapped_field_under_its_own_cluster_and_names_it() -> None:
    table = parse_cluster_table(TABLE)
    rollup = build_rollup(year=2026, table=table, stand=STAND, regions=[region("koeln", [
        facts("A-0001", "Weiterbildung und Qualifizierung"), facts("A-0002", "Mobilität auf dem Land"),
        facts("A-0003", "Mobilität auf dem Land")])])
    row = rollup.regions[0]
    assert rollup.clusters == ("Ausbildung", "Weiterbildung", "nicht zugeordnet")
    assert row.by_cluster == {"Ausbildung": 0, "Weiterbildung": 1, "nicht zugeordnet": 2}
    assert [u.text() for u in rollup.unmapped] == [
        "Region koeln: Handlungsfeld „Mobilität auf dem Land“ (2 Aktivitäten) steht nicht in der Zuordnungstabelle "
        "und ist unter „nicht zugeordnet“ gezählt."]


def test_rollup_without_unmapped_fields_has_no_unmapped_cluster() -> None:
    rollup = build_rollup(year=2026, table=parse_cluster_table(TABLE), stand=STAND,
                          regions=[region("koeln", [facts("A-0001", "Weiterbildung und Qualifizierung")])])
    assert rollup.clusters == ("Ausbildung", "Weiterbildung") and not rollup.unmapped


def test_rollup_counts_running_activities_and_new_and_ended_against_the_version_before() -> None:
    before = [facts("A-0001", "Weiterbildung und Qualifizierung"), facts("A-0002", "Weiterbildung und Qualifizierung"),
              facts("A-0003", "Weiterbildung und Qualifizierung"), facts("A-0004", "Lebenslanges Lernen", "entfällt")]
    after = [facts("A-0001", "Weiterbildung und Qualifizierung"),
             facts("A-0002", "Weiterbildung und Qualifizierung", "abgeschlossen"),  # ended
             facts("A-0005", "Weiterbildung und Qualifizierung", "geplant")]       # new; A-0003 gone: ended
    row = build_rollup(year=2026, table=parse_cluster_table(TABLE), stand=STAND,
                       regions=[region("koeln", after, previous=before)]).regions[0]
    assert (row.activities, row.new, row.ended, row.previous_label) == (2, 1, 2, "2025")


def test_rollup_of_a_first_version_has_no_new_or_ended() -> None:
    row = build_rollup(year=2026, table=parse_cluster_table(TABLE), stand=STAND,
                       regions=[region("koeln", [facts("A-0001", "Weiterbildung und Qualifizierung")])]).regions[0]
    assert (row.new, row.ended, row.previous_label) == (None, None, "")


def test_rollup_lists_regions_without_a_version_with_their_running_round() -> None:
    rollup = build_rollup(year=2026, table=parse_cluster_table(TABLE), stand=STAND, regions=[
        region("koeln", [facts("A-0001", "Weiterbildung und Qualifizierung")], asked=4, answered=3),
        region("wupper", [], asked=3, answered=1, published=False)])
    assert [r.code for r in rollup.regions] == ["koeln"]
    assert [(w.code, w.asked, w.answered) for w in rollup.without_version] == [("wupper", 3, 1)]
    assert rollup.regions[0].response_rate == 75.0 and rollup.response == (7, 4)
    assert rollup.to_json()["without_version"] == [{"code": "wupper", "name": "Region wupper", "asked": 3,
                                                    "answered": 1}]


def test_rollup_refuses_a_year_in_which_no_region_has_anything() -> None:
    with pytest.raises(RollupError, match="Für 1999 gibt es in keiner Region"):
        build_rollup(year=1999, table=parse_cluster_table(TABLE), stand=STAND,
                     regions=[region("koeln", [], published=False)])


def test_choose_versions_takes_the_latest_up_to_the_year_and_the_one_before() -> None:
    versions = [VersionFacts(1, "2024", dt.date(2024, 4, 1)), VersionFacts(2, "2025", dt.date(2025, 12, 1), 1),
                VersionFacts(3, "2026", dt.date(2027, 1, 15), 2), VersionFacts(4, "2027", None, 3)]
    assert [v.label if v else None for v in choose_versions(versions, 2026)] == ["2026", "2025"]  # published 2027
    assert [v.label if v else None for v in choose_versions(versions, 2025)] == ["2025", "2024"]
    assert choose_versions(versions, 2023) == (None, None)
    imported = [VersionFacts(7, "Bestand", dt.date(2025, 3, 31))]  # not a year: the year it was published
    assert choose_versions(imported, 2025)[0] == imported[0] and choose_versions(imported, 2024)[0] is None


@given(st.lists(st.tuples(st.sampled_from(["Weiterbildung und Qualifizierung", "Lebenslanges Lernen", "Anderes",
                                           " weiterbildung und  qualifizierung"]),
                          st.sampled_from(["bestehend", "geplant", "abgeschlossen", "entfällt"])), max_size=40),
       st.sampled_from(["koeln", "muenster"]))
def test_rollup_counts_every_running_activity_exactly_once(rows: list[tuple[str, str]], code: str) -> None:
    activities = [facts(f"A-{n:04d}", field, status) for n, (field, status) in enumerate(rows)]
    rollup = build_rollup(year=2026, table=parse_cluster_table(TABLE), stand=STAND,
                          regions=[region(code, activities)])
    running = sum(1 for _, status in rows if status in ("bestehend", "geplant"))
    row = rollup.regions[0]
    assert sum(row.by_cluster.values()) == row.activities == running == sum(f.activities for f in row.fields)
    assert sum(u.activities for u in rollup.unmapped) == row.by_cluster.get("nicht zugeordnet", 0)


def test_rollup_workbook_holds_the_figures_and_native_bar_charts() -> None:
    rollup = build_rollup(year=2026, table=parse_cluster_table(TABLE), stand=STAND, regions=[
        region("koeln", [facts("A-0001", "Weiterbildung und Qualifizierung"), facts("A-0002", "=HYPERLINK(1)")],
               previous=[facts("A-0001", "Weiterbildung und Qualifizierung")], asked=4, answered=3),
        region("wupper", [], asked=2, answered=0, published=False)])
    book = load_workbook(io.BytesIO(render_rollup_workbook(rollup)))
    assert book.sheetnames == ["Übersicht", "Cluster", "Handlungsfelder", "Hinweise"]
    overview = [row for row in book["Übersicht"].iter_rows(min_row=4, values_only=True)]
    assert overview[0][:4] == ("Region", "Version", "veröffentlicht am", "Aktivitäten")
    assert overview[1][0] == "Region koeln" and overview[1][3:9] == (2, 1, 0, 4, 3, 0.75)
    assert overview[2][:2] == ("Region wupper", "keine") and overview[-1][0] == "NRW gesamt"
    clusters = {row[0]: row[1:] for row in book["Cluster"].iter_rows(min_row=5, values_only=True)}
    assert clusters["nicht zugeordnet"] == (1, 1) and clusters["Weiterbildung"] == (1, 1)
    fields = [row for row in book["Handlungsfelder"].iter_rows(min_row=5, values_only=True)]
    assert ("Region koeln", "=HYPERLINK(1)", "nicht zugeordnet", 1, "nein") in fields
    assert book["Handlungsfelder"]["B5"].data_type == "s" or book["Handlungsfelder"]["B6"].data_type == "s"
    charts = [chart for sheet in book.worksheets for chart in sheet._charts]
    assert len(charts) == 4 and all(isinstance(chart, BarChart) for chart in charts)
    notes = "\n".join(str(c.value) for c in book["Hinweise"]["A"] if c.value)
    assert "Mobilität" not in notes and "„=HYPERLINK(1)“" in notes and "Region wupper" in notes


def test_state_demo_regions_parse_with_at_least_four_beside_aachen_and_one_of_own_names() -> None:
    catalogs = parse_catalogs((TEMPLATES / "catalogs.toml").read_text(encoding="utf-8"))
    table = parse_cluster_table((TEMPLATES / "rollup" / "clusters.toml").read_text(encoding="utf-8"))
    regions = [parse_state_region(path.read_text(encoding="utf-8"), catalogs, file=path.name)
               for path in sorted((TEMPLATES / "demo" / "state").glob("*.toml"))]
    published = [r for r in regions if r.published]
    assert len(published) >= 4 and any(not r.published and not r.baseline for r in regions)
    own = [r for r in regions if set(r.fields_of_action) - set(catalogs.fields_of_action)]
    assert own
    unmapped = {(r.profile.code, a.field_of_action) for r in regions for a in r.current
                if table.cluster_of(r.profile.code, a.field_of_action) is None}
    assert unmapped == {("muensterland", "Mobilität im ländlichen Raum")}  # the one the demo leaves out on purpose
    assert all(".example.org" in c.email for r in regions for i in r.institutions for c in i.contacts)
    assert all("(fiktiv)" in i.name for r in regions for i in r.institutions)
