"""What changed between two sets of activities, keyed by activity ID (DESIGN §6)."""

from __future__ import annotations

from dataclasses import dataclass, field

from core.activity import CONTENT_FIELDS, Activity
from core.text import squash_spaces

# One German label per kind of change, for every text of ours that names them (CLI, demo log, receipts).
CHANGE_LABELS = {"new": "neu", "changed": "geändert", "ended": "beendet", "unchanged": "unverändert",
                 "missing": "fehlend"}


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Changed:
    old: Activity
    new: Activity
    fields: tuple[FieldChange, ...]


@dataclass
class ActivityDiff:
    new: list[Activity] = field(default_factory=list)
    changed: list[Changed] = field(default_factory=list)
    ended: list[Activity] = field(default_factory=list)    # newly set to an ending status
    unchanged: list[Activity] = field(default_factory=list)
    missing: list[Activity] = field(default_factory=list)  # gone without an ending status: kept, flagged
    returned: list[Activity] = field(default_factory=list)  # the new set as given, in its order

    def counts(self) -> dict[str, int]:
        return {"new": len(self.new), "changed": len(self.changed), "ended": len(self.ended),
                "unchanged": len(self.unchanged), "missing": len(self.missing)}


def _same(old: str, new: str) -> bool:
    """Whitespace-only edits (spaces, line breaks) are not changes."""
    return squash_spaces(old) == squash_spaces(new)


def field_changes(old: Activity, new: Activity) -> tuple[FieldChange, ...]:
    changes = [FieldChange(name, getattr(old, name), getattr(new, name))
               for name in CONTENT_FIELDS if not _same(getattr(old, name), getattr(new, name))]
    for name in sorted(set(old.extra) | set(new.extra)):
        before, after = old.extra.get(name, ""), new.extra.get(name, "")
        if not _same(before, after):
            changes.append(FieldChange(name, before, after))
    return tuple(changes)


def diff_activities(old: list[Activity], new: list[Activity], *, ending_statuses: tuple[str, ...]) -> ActivityDiff:
    """Compare ``new`` (e.g. a returned sheet; rows without key are new) with ``old`` (the base)."""
    result = ActivityDiff(returned=list(new))
    before = {a.key: a for a in old if a.key}
    seen: set[str] = set()
    for activity in new:
        previous = before.get(activity.key) if activity.key else None
        if previous is None:
            result.new.append(activity)
            continue
        seen.add(previous.key or "")
        changes = field_changes(previous, activity)
        if not changes:
            result.unchanged.append(activity)
        elif activity.status in ending_statuses and previous.status not in ending_statuses:
            result.ended.append(activity)
        else:
            result.changed.append(Changed(previous, activity, changes))
    result.missing = [a for key, a in before.items() if key not in seen and a.status not in ending_statuses]
    return result


def kept_missing(diff: ActivityDiff, keys: set[str]) -> ActivityDiff:
    """Between two versions: activities the draft kept although their institution's return lacked them
    (flagged "missing") count as missing, not as unchanged, though the draft holds them as before."""
    moved = [a for a in diff.unchanged if a.key in keys]
    if not moved:
        return diff
    return ActivityDiff(new=diff.new, changed=diff.changed, ended=diff.ended,
                        unchanged=[a for a in diff.unchanged if a.key not in keys],
                        missing=[*diff.missing, *moved], returned=diff.returned)


def apply_diff(diff: ActivityDiff) -> list[Activity]:
    """The set the diff leads to: the new set in its own order (an institution may reorder its rows), then
    the missing ones, kept. Activities that had ended already and are gone from the new set stay gone."""
    return [*diff.returned, *diff.missing]


def counts_by(diff: ActivityDiff, attribute: str) -> dict[str, dict[str, int]]:
    """Counts of new/changed/ended/unchanged/missing per value of ``attribute`` (e.g. field_of_action)."""
    table: dict[str, dict[str, int]] = {}
    groups: dict[str, list[Activity]] = {
        "new": diff.new, "changed": [c.new for c in diff.changed], "ended": diff.ended,
        "unchanged": diff.unchanged, "missing": diff.missing,
    }
    for kind, activities in groups.items():
        for activity in activities:
            row = table.setdefault(str(getattr(activity, attribute)), dict.fromkeys(groups, 0))
            row[kind] += 1
    return dict(sorted(table.items()))
