"""The concept documents: grouping, escaping of institution text, the Excel overview."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import zipfile

from openpyxl import load_workbook

from core.concept_view import build_view
from core.documents import md_escape
from core.overview_xlsx import render_overview
from storage.template_folder import load_demo
from tests.support.factories import templates
from usecases.rendering import render_concept
from usecases.settings import BUNDLED_TEMPLATES

HOSTILE = "<script>alert('x')</script> & =SUMME(A1) | *fett*"


def view(**changes: object):  # type: ignore[no-untyped-def]
    _, catalogs = templates()
    demo = load_demo(BUNDLED_TEMPLATES, catalogs)
    activities = list(demo.activities)
    activities[0] = dataclasses.replace(activities[0], title=HOSTILE, description=HOSTILE)
    activities[1] = dataclasses.replace(activities[1], status="entfällt")
    return build_view(activities=activities, flags={activities[2].key: (False, "not_confirmed")}, catalogs=catalogs,
                      institutions={i.code: i.name for i in demo.institutions}, region_name="Region Aachen",
                      agency_name="Regionalagentur Region Aachen", label="2026", status="draft",
                      stand=dt.date(2026, 11, 2), notice="", sections={"Ausgangslage": "Text **fett** <b>roh</b>"},
                      **changes)


def test_activities_grouped_by_field_then_institution_each_once() -> None:
    concept = view()
    _, catalogs = templates()
    assert [g.name for g in concept.groups] == [f for f in catalogs.fields_of_action
                                                if f in {g.name for g in concept.groups}]
    keys = [a.key for a in concept.all_activities()]
    assert len(keys) == len(set(keys)) == 78
    assert "AA-ACDN-0002" in [a.key for a in concept.ended]  # set to "entfällt" above
    assert all(a.status in catalogs.ending_statuses for a in concept.ended)
    for group in concept.groups:
        names = [i.name for i in group.institutions]
        assert names == sorted(names)


def test_html_escapes_institution_text_and_is_self_contained() -> None:
    html, markdown = render_concept(view(), BUNDLED_TEMPLATES)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>roh</b>" not in html and "<strong>fett</strong>" in html  # staff Markdown, raw HTML shown as text
    assert "<link" not in html and "http" not in html.split("<body>")[0]  # no external resources
    assert "Version 2026 · Entwurf, Stand 2. November 2026" in html and ">ENTWURF<" in html  # cover
    assert "Version 2026 · ENTWURF" in html  # the running header of every printed page
    assert "in diesem Jahr nicht bestätigt" in html
    assert "\\*fett\\*" in markdown and "\\|" in markdown and "&lt;script&gt;" in markdown


def test_markdown_escape() -> None:
    assert md_escape("a|b *c* <d>") == "a\\|b \\*c\\* &lt;d&gt;"


def test_excel_overview_has_text_cells_filters_and_three_native_charts() -> None:
    data = render_overview(view())
    workbook = load_workbook(io.BytesIO(data))
    sheet = workbook["Aktivitäten"]
    assert sheet.auto_filter.ref == "A1:K79"
    titled = next(row for row in sheet.iter_rows(min_row=2) if row[1].value == HOSTILE)
    assert titled[1].data_type == "s"
    assert "<f>" not in zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    charts = [name for name in zipfile.ZipFile(io.BytesIO(data)).namelist() if name.startswith("xl/charts/chart")]
    assert len(charts) == 3
    assert workbook.sheetnames == ["Aktivitäten", "Nach Handlungsfeld", "Nach Institution", "Nach Status"]
    by_status = {r[0].value: r[1].value for r in workbook["Nach Status"].iter_rows(min_row=2)}
    assert sum(by_status.values()) == 78 and by_status["entfällt"] >= 1


def test_change_report_keeps_a_field_of_action_that_was_emptied_and_counts_the_round() -> None:
    from core.activity import Activity
    from core.diff import diff_activities
    from core.documents import build_change_report

    before = [Activity(key="X-1", institution_code="X", title="Messe", field_of_action="Feld A", status="bestehend"),
              Activity(key="X-2", institution_code="X", title="Kurs", field_of_action="Feld B", status="bestehend")]
    after = [dataclasses.replace(before[0], field_of_action="Feld B"), before[1]]
    report = build_change_report(diff=diff_activities(before, after, ending_statuses=("abgeschlossen",)),
                                 region_name="Region", from_label="2025", to_label="2026", stand="1. Dezember 2026",
                                 institutions={"X": "Institution X"}, field_labels={}, not_confirmed=["Y"],
                                 field_order=("Feld A", "Feld B"), before=before, asked=4, answered=3,
                                 ending_statuses=("abgeschlossen",))
    assert [f.name for f in report.fields] == ["Feld A", "Feld B"]  # a decrease to 0 is reported, not dropped
    first = report.charts()[0]
    assert first.series[0][1] == [1, 1] and first.series[1][1] == [0, 2]
    assert report.response_rate == "3 von 4 Institutionen (75 %)"


def test_markdown_keeps_institution_text_on_its_line() -> None:
    assert md_escape("Messe\n\n# Überschrift\n    Code") == "Messe  # Überschrift     Code"  # no heading
    assert md_escape("(Kreis Düren) [Link](x)") == "(Kreis Düren) \\[Link\\](x)"
