"""Retention rules (core.retention): a round's files stay until the next round is published plus the period; the
accepted file behind a published version and bytes another row needs always stay."""

from __future__ import annotations

import datetime as dt

from core.retention import Round, StoredItem, plan_removal, removable_from, round_at

YEAR = dt.timedelta(days=365)


def at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 8, tzinfo=dt.UTC)


ROUNDS = [Round(1, 2026, at(2026, 9, 1), at(2026, 11, 20)), Round(1, 2027, at(2027, 9, 1), at(2027, 11, 25)),
          Round(1, 2028, at(2028, 9, 1), None)]


def test_retention_a_round_goes_a_year_after_the_next_round_was_published() -> None:
    assert removable_from(ROUNDS, 1, 2026, YEAR) == at(2027, 11, 25) + YEAR
    assert removable_from(ROUNDS, 1, 2027, YEAR) is None  # 2028 not published yet: keep
    assert removable_from(ROUNDS, 2, 2026, YEAR) is None  # another region's rounds do not count


def test_retention_mail_without_a_round_belongs_to_the_period_it_was_written_in() -> None:
    assert round_at(ROUNDS, at(2027, 3, 1)).year == 2026  # type: ignore[union-attr]
    assert round_at(ROUNDS, at(2027, 9, 1)).year == 2027  # type: ignore[union-attr]
    assert round_at(ROUNDS, at(2025, 1, 1)).year == 2026  # type: ignore[union-attr]  (before the first: the first)
    assert round_at([], at(2027, 1, 1)) is None


def test_retention_removes_only_expired_items_and_keeps_the_audit_file() -> None:
    items = [StoredItem("1", "a" * 64, 10, round=(1, 2026)), StoredItem("2", "b" * 64, 20, round=(1, 2026)),
             StoredItem("3", "c" * 64, 30, round=(1, 2027)), StoredItem("4", "d" * 64, 40, at=at(2026, 10, 1))]
    due = at(2027, 11, 25) + YEAR
    early = plan_removal(ROUNDS, items, keep=YEAR, now=due - dt.timedelta(minutes=1), audit=frozenset({"1"}))
    assert early.remove == []
    later = plan_removal(ROUNDS, items, keep=YEAR, now=due, audit=frozenset({"1"}))
    assert [item.key for item in later.remove] == ["2", "4"]
    assert later.size == 60 and later.files == ["b" * 64, "d" * 64]
    summary = later.rounds[(1, 2026)]
    assert (summary.removed, summary.kept_for_audit, summary.removable_from) == (2, 1, due)


def test_retention_keeps_bytes_that_a_row_which_stays_still_needs() -> None:
    same = "e" * 64
    items = [StoredItem("old", same, 10, round=(1, 2026)), StoredItem("new", same, 10, round=(1, 2027))]
    plan = plan_removal(ROUNDS, items, keep=dt.timedelta(0), now=at(2030, 1, 1))
    assert plan.remove == [] and [item.key for item in plan.shared] == ["old"]
    both = plan_removal(ROUNDS, [items[0], StoredItem("twin", same, 10, round=(1, 2026))], keep=dt.timedelta(0),
                        now=at(2030, 1, 1))
    assert [item.key for item in both.remove] == ["old", "twin"] and both.files == [same]
