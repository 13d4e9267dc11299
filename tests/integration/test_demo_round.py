"""The demo round (`fko demo --no-prefect`) gives staff a change report worth reading: the demo institutions
answer as survey_templates/demo/answers.toml says, and every kind of change shows up in what is recorded.

Asserted through the accepted returns and the draft, what the change report is built from."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest

from core.draft import MISSING
from storage.concepts import activity_flags, find_version, list_activities
from storage.database import session_scope
from storage.regions import get_region
from tests.support import demo
from usecases.context import AppContext
from usecases.demo_round import DemoRound, demo_answers, run_demo_round
from usecases.settings import Settings
from usecases.setup import init_database

YEAR = 2027


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AppContext, DemoRound]]:
    """One demo round for the module (it renders every document once: seconds, not minutes)."""
    var = tmp_path_factory.mktemp("demo") / "var"
    ctx = AppContext.from_settings(Settings(data_dir=var, base_url="https://fko.example.org"))
    init_database(ctx, demo=True)
    round_ = run_demo_round(ctx, year=YEAR, opened=dt.date(YEAR, 9, 1), documents_dir=var / "dokumente")
    yield ctx, round_
    ctx.close()


def _total(round_: DemoRound) -> Counter[str]:
    total: Counter[str] = Counter()
    for accepted in round_.accepted.values():
        assert accepted.diff is not None
        total.update(accepted.diff.counts())
    return total


def test_every_kind_of_change_has_content(played: tuple[AppContext, DemoRound]) -> None:
    _, round_ = played
    total = _total(round_)
    assert total["new"] > 0 and total["changed"] > 0 and total["ended"] > 0 and total["missing"] > 0
    changed_fields = Counter(f.field for a in round_.accepted.values() if a.diff for c in a.diff.changed
                             for f in c.fields)
    for name in ("status", "partners", "description", "end"):
        assert changed_fields[name] > 0, (name, changed_fields)
    status_changes = {(f.old, f.new) for a in round_.accepted.values() if a.diff for c in a.diff.changed
                      for f in c.fields if f.field == "status"}
    assert ("geplant", "bestehend") in status_changes
    ended = [a.status for r in round_.accepted.values() if r.diff for a in r.diff.ended]
    assert {"abgeschlossen", "entfällt"} <= set(ended)


def test_new_activities_are_real_ones_with_every_field(played: tuple[AppContext, DemoRound]) -> None:
    _, round_ = played
    new = [a for r in round_.accepted.values() if r.diff for a in r.diff.new]
    assert len(new) >= 8
    assert not [a.title for a in new if "Neue Aktivität" in a.title]
    assert len({a.title for a in new}) == len(new)
    for activity in new:
        assert activity.description and activity.target_groups and activity.area and activity.partners, activity
        assert activity.funding and activity.start and activity.status in ("geplant", "bestehend"), activity
    # each institution's new rows are its own (the chamber's are not the university's)
    assert {"Azubi-Speed-Dating Handel"} <= {a.title for a in round_.accepted["IHK"].diff.new}  # type: ignore[union-attr]


def test_deleted_and_cleared_rows_are_kept_and_flagged_in_the_draft(played: tuple[AppContext, DemoRound]) -> None:
    ctx, round_ = played
    missing = {a.key: a for r in round_.accepted.values() if r.diff for a in r.diff.missing}
    removed = {(answer.institution_code, removal.title, removal.how)
               for answer in demo_answers(ctx) for removal in answer.removed}
    assert {how for _, _, how in removed} == {"row_deleted", "cells_cleared"}
    assert {(a.institution_code, a.title) for a in missing.values()} == {(code, t) for code, t, _ in removed}
    assert round_.draft is not None and sorted(round_.draft.flagged_missing) == sorted(k or "" for k in missing)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        version = find_version(session=session, region_id=region.id or 0, label=str(YEAR))
        flags = activity_flags(session=session, version_id=version.id or 0)
        kept = {a.key: a for a in list_activities(session=session, version_id=version.id)}
    for key, activity in missing.items():
        assert key in kept and kept[key].title == activity.title and kept[key].status == activity.status
        assert flags[key or ""][1] == MISSING


def test_answered_no_changes_silent_and_corrected(played: tuple[AppContext, DemoRound]) -> None:
    _, round_ = played
    assert round_.draft is not None
    assert round_.no_changes and set(round_.no_changes) <= set(round_.draft.answered)
    assert len(round_.draft.not_answered) >= 3  # the reminder ladder has someone to remind up to the phone task
    assert any("Telefonaufgabe" in line for line in round_.log)
    assert round_.refused and all(p.cell for r in round_.refused.values() for p in r.problems)
    assert set(round_.refused) <= set(round_.accepted)  # refused first, then accepted
    assert set(round_.accepted) | set(round_.no_changes) == set(round_.draft.answered)


def test_draft_holds_about_ninety_activities(played: tuple[AppContext, DemoRound]) -> None:
    _, round_ = played
    assert round_.draft is not None
    assert round_.draft.activities == demo.ACTIVITIES + _total(round_)["new"]  # nothing dropped, missing kept
    assert 85 <= round_.draft.activities <= 95


def test_demo_log_says_what_each_answer_did(played: tuple[AppContext, DemoRound]) -> None:
    _, round_ = played
    uploads = [line for line in round_.log if "lädt die Tabelle hoch: angenommen" in line]
    assert len(uploads) == len(round_.accepted)
    for code, accepted in round_.accepted.items():
        counts = accepted.diff.counts() if accepted.diff else {}
        line = next(line for line in uploads if f" {code} lädt" in line)
        assert (f"(neu {counts['new']}, geändert {counts['changed']}, beendet {counts['ended']}, "
                f"fehlend {counts['missing']})") in line
    draft_line = next(line for line in round_.log if line.startswith(f"Entwurf {YEAR}:"))
    assert "markiert im Entwurf" in draft_line and all(k in draft_line for k in round_.draft.flagged_missing)  # type: ignore[union-attr]
