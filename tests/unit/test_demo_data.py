"""The embedded demo region is the region DESIGN §1 describes."""

from __future__ import annotations

from collections import Counter

from storage.template_folder import load_catalogs, load_demo
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
