"""The embedded demo region is the region DESIGN §1 describes."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from core.demo import DemoAnswer, DemoDataError, parse_demo_answers, round_year_value
from storage.template_folder import load_catalogs, load_demo, load_demo_answers, load_spec
from usecases.settings import BUNDLED_TEMPLATES

NAMED_IN_DESIGN = ["Agentur für Arbeit Aachen-Düren", "Agentur für Arbeit Brühl", "IHK Aachen", "HWK Aachen",
                   "VUV", "DGB NRW", "Pro Arbeit", "RWTH Aachen University", "Stadt Aachen",
                   "StädteRegion Aachen", "Kreis Düren", "Kreis Euskirchen", "Kreis Heinsberg",
                   "Gleichstellungsbeauftragten", "Jobcenter", "Übergang Schule–Beruf"]


def test_demo_names_the_institutions_of_design_section_1() -> None:
    demo = load_demo(BUNDLED_TEMPLATES, load_catalogs(BUNDLED_TEMPLATES))
    names = " | ".join(i.name for i in demo.institutions)
    assert [n for n in NAMED_IN_DESIGN if n not in names] == []
    assert 20 <= len(demo.institutions) <= 40


def test_demo_contacts_are_fictitious_and_complete() -> None:
    demo = load_demo(BUNDLED_TEMPLATES, load_catalogs(BUNDLED_TEMPLATES))
    emails = [c.email for i in demo.institutions for c in i.contacts]
    assert all(e.endswith(".example.org") or e.endswith("@example.org") for e in emails)
    assert len(set(emails)) == len(emails)
    for institution in demo.institutions:
        assert {c.role for c in institution.contacts} == {"primary", "deputy", "head"}, institution.code


def test_demo_baseline_has_three_to_eight_activities_each_over_all_fields() -> None:
    catalogs = load_catalogs(BUNDLED_TEMPLATES)
    demo = load_demo(BUNDLED_TEMPLATES, catalogs)
    per_institution = Counter(a.institution_code for a in demo.activities)
    assert set(per_institution) == {i.code for i in demo.institutions}
    assert all(3 <= n <= 8 for n in per_institution.values()), per_institution
    assert {a.field_of_action for a in demo.activities} == set(catalogs.fields_of_action)
    assert len({a.key for a in demo.activities}) == len(demo.activities)
    assert "Beispieldaten" in demo.notice and demo.baseline_label == "2025"


# --- survey_templates/demo/answers.toml: how the demo institutions answer -------------------------

ANSWER = """
[[answer]]
institution = "IHK"
day = 3
kind = "changes"

[[answer.change]]
title = "Azubi-Speed-Dating"
status = "bestehend"
"""


def _parse_answers(text: str) -> list[DemoAnswer]:
    catalogs = load_catalogs(BUNDLED_TEMPLATES)
    return parse_demo_answers(text, load_demo(BUNDLED_TEMPLATES, catalogs), catalogs, load_spec(BUNDLED_TEMPLATES))


def test_bundled_demo_answers_cover_every_kind_of_answer() -> None:
    catalogs = load_catalogs(BUNDLED_TEMPLATES)
    demo = load_demo(BUNDLED_TEMPLATES, catalogs)
    answers = load_demo_answers(BUNDLED_TEMPLATES, demo, catalogs, load_spec(BUNDLED_TEMPLATES))
    kinds = Counter(a.kind for a in answers)
    assert kinds["changes"] >= 5 and kinds["no_changes"] >= 1
    assert len(answers) < len(demo.institutions)  # some stay silent
    assert any(a.mistakes for a in answers)
    assert {r.how for a in answers for r in a.removed} == {"row_deleted", "cells_cleared"}
    assert [a.day for a in answers] == sorted(a.day for a in answers)
    new_titles = [n["title"] for a in answers for n in a.new]
    assert new_titles and not [t for t in new_titles if "Neue Aktivität" in t]


def test_relative_years_follow_the_round() -> None:
    assert [round_year_value(v, 2027) for v in ("Jahr", "Jahr+2", "Jahr - 1", "2026", "")] == \
           ["2027", "2029", "2026", "2026", ""]


def test_the_answer_template_of_these_tests_parses() -> None:
    (answer,) = _parse_answers(ANSWER)
    assert answer.institution_code == "IHK" and answer.changes[0].values == {"status": "bestehend"}


@pytest.mark.parametrize(("broken", "expected"), [
    (ANSWER.replace('"IHK"', '"XYZ"'), "unbekannte Institution 'XYZ'"),
    (ANSWER.replace('title = "Azubi-Speed-Dating"', 'title = "Gibt es nicht"'), "IHK hat keine Aktivität"),
    (ANSWER.replace('status = "bestehend"', 'status = "laufend"'), "status 'laufend' is not in the catalog"),
    (ANSWER.replace('status = "bestehend"', 'farbe = "blau"'), "keine Spalten der Tabelle"),
    (ANSWER.replace('status = "bestehend"', 'status = "geplant"'), "bleibt wie es war"),
    (ANSWER.replace('status = "bestehend"', 'end = "bald"'), "ist kein Jahr"),
    (ANSWER.replace('status = "bestehend"', 'end = "Jahr-5"'), "endet vor seinem Beginn"),
    (ANSWER.replace("day = 3", "day = 99"), "kein Tag der Runde"),
    (ANSWER.replace('kind = "changes"', 'kind = "no_changes"'), "„no_changes“ ändert nichts"),
    (ANSWER + ANSWER, "antwortet zweimal"),
    (ANSWER + '[[answer.new]]\ntitle = "Neu"\nstatus = "geplant"\n', "fehlt ['field_of_action']"),
    (ANSWER + '[[answer.new]]\ntitle = "Neu"\nstatus = "geplant"\nfield_of_action = "Duale Ausbildung stärken"\n'
              'target_groups = "Kinder"\n', "target groups ['Kinder'] are not in the catalog"),
    (ANSWER + '[[answer.remove]]\ntitle = "Azubi-Speed-Dating"\nhow = "row_deleted"\n', "steht zweimal"),
    (ANSWER + '[[answer.remove]]\ntitle = "Anerkennungsberatung IHK FOSA"\nhow = "weg"\n', "how = 'weg'"),
    (ANSWER.replace("[[answer.change]]", "[[answer.chnage]]"), "unbekannte Einträge ['chnage']"),
    ("[[answer]\n", "kein gültiges TOML"),
])
def test_a_broken_answers_file_fails_loudly(broken: str, expected: str) -> None:
    with pytest.raises(DemoDataError, match=re.escape(expected)):
        _parse_answers(broken)


def test_an_ended_activity_cannot_be_the_deleted_row() -> None:
    text = """
[[answer]]
institution = "PROARB"
day = 3
kind = "changes"

[[answer.remove]]
title = "Sozialkaufhaus mit Verkaufsqualifizierung"
how = "row_deleted"
"""
    with pytest.raises(DemoDataError, match="schon beendet"):
        _parse_answers(text)
