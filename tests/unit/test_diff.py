"""Diff of two activity sets keyed by ID: new, changed field by field, ended, unchanged, missing."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from core.activity import Activity
from core.diff import FieldChange, apply_diff, counts_by, diff_activities
from tests.support.factories import demo_activities

ENDING = ("abgeschlossen", "entfällt")


def test_each_kind_of_change_is_named() -> None:
    old = demo_activities()
    new = [dataclasses.replace(old[0], title="Neuer Titel", end="2027-06"),
           dataclasses.replace(old[1], status="entfällt"),
           dataclasses.replace(old[2], description=old[2].description.replace(" ", "  ") + "\n"),  # whitespace only
           old[3], old[4],
           Activity(key="IHK-0007", institution_code="IHK", title="Neu", field_of_action=old[0].field_of_action,
                    status="geplant")]
    diff = diff_activities(old, new, ending_statuses=ENDING)
    assert diff.counts() == {"new": 1, "changed": 1, "ended": 1, "unchanged": 3, "missing": 1}
    assert diff.changed[0].fields == (FieldChange("title", old[0].title, "Neuer Titel"),
                                      FieldChange("end", "2027", "2027-06"))
    assert [a.key for a in diff.missing] == ["IHK-0006"]
    by_field = counts_by(diff, "field_of_action")
    assert sum(row["new"] for row in by_field.values()) == 1
    assert counts_by(diff, "institution_code") == {"IHK": {"new": 1, "changed": 1, "ended": 1, "unchanged": 3,
                                                           "missing": 1}}


TEXT = st.sampled_from(["", "A", "B", "Text mit  Leerzeichen", "Äöü"])


@st.composite
def activity_sets(draw: st.DrawFn) -> tuple[list[Activity], list[Activity]]:
    old = [Activity(key=f"X-{n:04d}", institution_code="X", title=draw(TEXT), field_of_action="F",
                    status=draw(st.sampled_from(["bestehend", "geplant", "abgeschlossen", "entfällt"])),
                    description=draw(TEXT)) for n in range(draw(st.integers(0, 8)))]
    new: list[Activity] = []
    for activity in old:
        choice = draw(st.sampled_from(["keep", "change", "end", "drop"]))
        if choice == "keep":
            new.append(activity)
        elif choice == "change":
            new.append(dataclasses.replace(activity, title=activity.title + draw(TEXT) + "!"))
        elif choice == "end":
            new.append(dataclasses.replace(activity, status="entfällt"))
    new += [Activity(key=f"X-{100 + n:04d}", institution_code="X", title=draw(TEXT), field_of_action="F",
                     status="geplant") for n in range(draw(st.integers(0, 3)))]
    return old, new


@settings(max_examples=300)
@given(activity_sets())
def test_applying_the_diff_to_the_old_set_gives_the_new_set(sets: tuple[list[Activity], list[Activity]]) -> None:
    old, new = sets
    diff = diff_activities(old, new, ending_statuses=ENDING)
    expected = {a.key: a for a in new} | {a.key: a for a in diff.missing}  # missing ones are kept, not deleted
    result = {a.key: a for a in apply_diff(diff)}
    assert {k: (v.title, v.status) for k, v in result.items()} == {k: (v.title, v.status)
                                                                   for k, v in expected.items()}
