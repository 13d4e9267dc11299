"""The round's rules in core: deadlines and late returns, the draft merge, owned IDs, receipt lines."""

from __future__ import annotations

import dataclasses
import datetime as dt

from core.activity import Activity
from core.dates import BERLIN
from core.deadline import default_deadline, is_late, link_expiry, returns_closed
from core.diff import diff_activities
from core.draft import MISSING, NOT_CONFIRMED, Answer, merge_draft
from core.filetype import Limits
from core.ownership import check_return, keys_of_returns
from core.receipt import change_lines, change_summary
from core.sheet_check import Expected
from core.text import fold, squash_spaces
from core.workbook_read import read_grid
from tests.support.factories import SHEET_SECRET, build_sheet_bytes, demo_activities, templates

ENDING = ("abgeschlossen", "entfällt")


def _berlin(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), BERLIN).astimezone(dt.UTC)


def test_default_deadline_is_six_weeks_on_and_never_on_a_weekend() -> None:
    assert default_deadline(dt.date(2026, 9, 1)) == dt.date(2026, 10, 13)     # a Tuesday
    assert default_deadline(dt.date(2026, 9, 5)) == dt.date(2026, 10, 19)     # Saturday + 6 weeks → Monday
    assert all(default_deadline(dt.date(2026, 9, 1) + dt.timedelta(days=n)).weekday() < 5 for n in range(14))


def test_deadline_day_counts_in_full_in_berlin() -> None:
    deadline = dt.date(2026, 10, 15)
    assert not is_late(deadline, _berlin(deadline, 23, 59))
    assert is_late(deadline, _berlin(deadline + dt.timedelta(days=1), 0, 1))  # 22:01 UTC on the 15th


def test_returns_are_taken_late_until_the_window_ends_or_staff_close() -> None:
    deadline = dt.date(2026, 10, 15)
    last_day = deadline + dt.timedelta(days=21)
    assert not returns_closed(cycle_open=True, deadline=deadline, now=_berlin(last_day, 23), late_days=21)
    assert returns_closed(cycle_open=True, deadline=deadline, now=_berlin(last_day + dt.timedelta(days=1), 0, 5),
                          late_days=21)
    assert returns_closed(cycle_open=False, deadline=deadline, now=_berlin(deadline, 9), late_days=21)


def test_links_expire_half_a_year_after_the_deadline() -> None:
    assert link_expiry(dt.date(2026, 10, 15)).date() == dt.date(2027, 4, 13)


def test_draft_merges_every_kind_of_answer() -> None:
    ihk, hwk, dgb = demo_activities("IHK"), demo_activities("HWK"), demo_activities("DGB")
    returned = [dataclasses.replace(ihk[0], title="Neuer Titel"), *ihk[2:],
                Activity(key="IHK-0099", institution_code="IHK", title="Neu", field_of_action=ihk[0].field_of_action,
                         status="geplant")]
    plan = merge_draft([*ihk, *hwk, *dgb], ["HWK", "IHK"],
                       {"IHK": Answer("accepted", returned), "HWK": Answer("no_changes")}, ending_statuses=ENDING)
    keys = [a.key for a in plan.activities]
    assert sorted(keys) == sorted({a.key for a in [*ihk, *hwk, *dgb]} | {"IHK-0099"})  # each exactly once
    assert len(keys) == len(set(keys))
    assert next(a for a in plan.activities if a.key == ihk[0].key).title == "Neuer Titel"
    assert plan.answered == ["HWK", "IHK"] and plan.not_answered == []
    assert plan.flagged_missing == [ihk[1].key] and plan.flags[ihk[1].key or ""] == (True, MISSING)
    assert all(plan.flags[a.key or ""] == (False, NOT_CONFIRMED) for a in dgb)  # no longer asked
    assert not any(a.key in plan.flags for a in hwk)


def test_draft_keeps_the_order_of_the_return_and_puts_missing_rows_last() -> None:
    ihk = demo_activities("IHK")
    new = Activity(key="IHK-0099", institution_code="IHK", title="Neu", field_of_action=ihk[0].field_of_action,
                   status="geplant")
    returned = [new, ihk[3], ihk[2], ihk[0], *ihk[4:]]  # reordered by the institution; ihk[1] left out
    plan = merge_draft(ihk, ["IHK"], {"IHK": Answer("accepted", returned)}, ending_statuses=ENDING)
    assert [a.key for a in plan.activities] == [a.key for a in returned] + [ihk[1].key]


def test_draft_keeps_what_a_silent_institution_had_unconfirmed() -> None:
    ihk = demo_activities("IHK")
    plan = merge_draft(ihk, ["IHK"], {}, ending_statuses=ENDING)
    assert plan.activities == ihk and plan.not_answered == ["IHK"]
    assert {plan.flags[a.key or ""] for a in ihk} == {(False, NOT_CONFIRMED)}


def test_receipt_lines_name_each_change_and_stop_at_the_limit() -> None:
    old = demo_activities("IHK")
    new = [dataclasses.replace(old[0], title="Neuer Titel", end="2027-06"),
           dataclasses.replace(old[1], status="entfällt"), *old[2:5]]
    spec, _ = templates()
    lines = change_lines(diff_activities(old, new, ending_statuses=ENDING), spec.field_labels())
    assert lines[0] == f"geändert: {old[0].key} Neuer Titel (Titel, Ende)"
    assert lines[1] == f"beendet: {old[1].key} {old[1].title} (entfällt)"
    assert lines[2].startswith("fehlt in der Tabelle (bleibt vorerst erhalten): ")
    many = [Activity(key=None, institution_code="IHK", title=f"T{n}", field_of_action="F", status="geplant")
            for n in range(45)]
    capped = change_lines(diff_activities([], many, ending_statuses=ENDING), {}, limit=40)
    assert len(capped) == 41 and capped[-1] == "… und 5 weitere"


def test_ids_from_an_earlier_return_of_the_round_are_the_institutions_own() -> None:
    spec, catalogs = templates()
    base = demo_activities("IHK")
    given_later = Activity(key="IHK-0042", institution_code="IHK", title="Im Mai gemeldet",
                           field_of_action=base[0].field_of_action, status="geplant")
    grid = read_grid(build_sheet_bytes([*base, given_later]), spec=spec, limits=Limits())
    expected = Expected("aachen", 2026, SHEET_SECRET, "IHK")
    refused = check_return(grid, spec=spec, catalogs=catalogs, expected=expected, base=base, returned_keys=set())
    assert not refused.ok and any("IHK-0042" in p.message for p in refused.problems)
    accepted = check_return(grid, spec=spec, catalogs=catalogs, expected=expected, base=base,
                            returned_keys=keys_of_returns([[{"key": "IHK-0042"}, {"key": None}]]))
    assert accepted.ok and "IHK-0042" in [a.key for a in accepted.activities]
    without = read_grid(build_sheet_bytes(base), spec=spec, limits=Limits())
    left_out = check_return(without, spec=spec, catalogs=catalogs, expected=expected, base=base,
                            returned_keys={"IHK-0042"})
    assert left_out.ok and left_out.missing == []  # never published, so not "missing"


def test_whitespace_normaliser() -> None:
    assert squash_spaces("  Beratung \n für\tBetriebe ") == "Beratung für Betriebe"
    assert fold(" Gesamte  REGION") == "gesamte region"


def test_receipt_summary_counts_and_names_each_kind_of_change() -> None:
    old = demo_activities("IHK")
    new = [dataclasses.replace(old[0], title="Neuer Titel", status="geplant"),
           dataclasses.replace(old[2], end="2027-06"), dataclasses.replace(old[1], status="entfällt"), *old[3:5],
           Activity(key="IHK-0007", institution_code="IHK", title="Azubi-Werkstatt", field_of_action="F",
                    status="geplant")]
    spec, _ = templates()
    summary = change_summary(diff_activities(old, new, ending_statuses=ENDING), spec.field_labels())
    assert [(line.kind, line.count) for line in summary] == [("changed", 2), ("new", 1), ("ended", 1),
                                                             ("missing", 1), ("unchanged", 2)]
    assert [(i.title, i.detail) for i in summary[0].items] == [("Neuer Titel", "Titel, Status"),
                                                               (old[2].title, "Ende")]
    assert summary[2].items[0].detail == "entfällt" and summary[3].items[0].title == old[5].title
    assert summary[4].items == ()
    many = [Activity(key=None, institution_code="IHK", title=f"T{n}", field_of_action="F", status="geplant")
            for n in range(45)]
    (capped,) = change_summary(diff_activities([], many, ending_statuses=ENDING), {}, limit=40)
    assert (capped.count, len(capped.items), capped.more) == (45, 40, 5)
