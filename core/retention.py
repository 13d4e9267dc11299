"""Retention: which raw uploads, mail bodies and .eml sink files of closed rounds may go (`fko cleanup`).

A round's files are kept until the next round of its region is published, plus a number of days (a setting per
kind, default 365). Mail and sink files that belong to no round (staff mail, tests) count to the round whose
period they fall in (from its opening to the next opening; before the first round: the first round). Never
removed: the accepted file behind each institution's answer in a published version (the version's evidence),
and a file that another row still needs (the file store keeps the same bytes once).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Round:
    region_id: int
    year: int
    opened_at: dt.datetime
    published_at: dt.datetime | None   # when its version was published (None: not yet, or never)


@dataclass(frozen=True)
class StoredItem:
    """A file a row points at (``key``: the row, e.g. the submission id) or a sink file (``key``: its name)."""

    key: str
    sha256: str            # the stored file ("" for sink files: the name is the key)
    size: int
    round: tuple[int, int] | None = None   # (region, year) when the row belongs to a round
    at: dt.datetime | None = None          # otherwise: when it was written


@dataclass
class RoundSummary:
    year: int
    removable_from: dt.datetime | None     # the first moment this round's files of the kind may go
    removed: int = 0
    size: int = 0
    kept_for_audit: int = 0


@dataclass
class Plan:
    remove: list[StoredItem] = field(default_factory=list)
    # Items that could go but whose file another row still needs: they stay, with it.
    shared: list[StoredItem] = field(default_factory=list)
    rounds: dict[tuple[int, int], RoundSummary] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(item.size for item in self.remove)

    @property
    def files(self) -> list[str]:
        """The stored files to delete (each once)."""
        return sorted({item.sha256 for item in self.remove if item.sha256})


def removable_from(rounds: list[Round], region_id: int, year: int, keep: dt.timedelta) -> dt.datetime | None:
    """When a round's files may go: the next published round of the region plus ``keep`` (None: not yet known)."""
    later = [r.published_at for r in rounds if r.region_id == region_id and r.year > year and r.published_at]
    return min(later) + keep if later else None


def round_at(rounds: list[Round], moment: dt.datetime) -> Round | None:
    """The round whose period ``moment`` falls in (any region); before the first round, the first one."""
    ordered = sorted(rounds, key=lambda r: (r.opened_at, r.year))
    if not ordered:
        return None
    current = ordered[0]
    for candidate in ordered:
        if candidate.opened_at <= moment:
            current = candidate
    return current


def plan_removal(rounds: list[Round], items: list[StoredItem], *, keep: dt.timedelta, now: dt.datetime,
                 audit: frozenset[str] = frozenset()) -> Plan:
    """Which items may go now. ``audit``: keys of items a published version needs (never removed)."""
    plan = Plan()
    for item in items:
        if item.round is None and (item.at is None or round_at(rounds, item.at) is None):
            continue
        owner = _owner(rounds, item)
        summary = plan.rounds.get(owner)
        if summary is None:
            summary = plan.rounds[owner] = RoundSummary(owner[1], removable_from(rounds, owner[0], owner[1], keep))
        if item.key in audit:
            summary.kept_for_audit += 1
            continue
        if summary.removable_from is None or now < summary.removable_from:
            continue
        plan.remove.append(item)
    # The same bytes are stored once: a file stays (and its rows with it) while a row that stays points at it.
    removed = {item.key for item in plan.remove}
    needed = {item.sha256 for item in items if item.sha256 and item.key not in removed}
    plan.shared = [item for item in plan.remove if item.sha256 in needed]
    plan.remove = [item for item in plan.remove if item.sha256 not in needed or not item.sha256]
    for item in plan.remove:
        summary = plan.rounds[_owner(rounds, item)]
        summary.removed += 1
        summary.size += item.size
    return plan


def _owner(rounds: list[Round], item: StoredItem) -> tuple[int, int]:
    if item.round is not None:
        return item.round
    found = round_at(rounds, item.at) if item.at is not None else None
    if found is None:
        raise ValueError(f"{item.key} belongs to no round")
    return found.region_id, found.year
