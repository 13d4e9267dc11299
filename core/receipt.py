"""The change summary an institution reads in its receipt: per kind of change, how many and which."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from core.diff import CHANGE_LABELS, ActivityDiff

MAX_LINES = 40


def change_lines(diff: ActivityDiff, field_labels: Mapping[str, str], *, limit: int = MAX_LINES) -> list[str]:
    """``neu: IHK-0009 Titel``, ``geändert: IHK-0001 Titel (Status, Ende)`` …; at most ``limit`` lines."""
    lines = [f"{CHANGE_LABELS['new']}: {a.key} {a.title}" for a in diff.new]
    lines += [f"{CHANGE_LABELS['changed']}: {c.new.key} {c.new.title} "
              f"({', '.join(field_labels.get(f.field, f.field) for f in c.fields)})" for c in diff.changed]
    lines += [f"{CHANGE_LABELS['ended']}: {a.key} {a.title} ({a.status})" for a in diff.ended]
    lines += [f"fehlt in der Tabelle (bleibt vorerst erhalten): {a.key} {a.title}" for a in diff.missing]
    if len(lines) > limit:
        lines = [*lines[:limit], f"… und {len(lines) - limit} weitere"]
    return lines


@dataclass(frozen=True)
class SummaryItem:
    """One activity in a line of the summary; ``detail``: the fields changed (as the sheet's headers, e.g.
    ``Titel, Status``) or the status an ended one has now."""

    key: str
    title: str
    detail: str = ""


@dataclass(frozen=True)
class SummaryLine:
    """``kind`` (a key of ``CHANGE_LABELS``), how many, and which (none for the unchanged; at most the
    summary's limit, ``more`` are left out)."""

    kind: str
    count: int
    items: tuple[SummaryItem, ...] = ()
    more: int = 0


def change_summary(diff: ActivityDiff, field_labels: Mapping[str, str], *,
                   limit: int = MAX_LINES) -> list[SummaryLine]:
    """The summary in the order a person checks it: changed, new, ended, missing (kept for now), unchanged;
    kinds without any activity are left out. The templates put it in words ("2 geändert: …")."""
    groups = {
        "changed": [SummaryItem(c.new.key or "", c.new.title, ", ".join(field_labels.get(f.field, f.field)
                                                                        for f in c.fields)) for c in diff.changed],
        "new": [SummaryItem(a.key or "", a.title) for a in diff.new],
        "ended": [SummaryItem(a.key or "", a.title, a.status) for a in diff.ended],
        "missing": [SummaryItem(a.key or "", a.title) for a in diff.missing],
    }
    lines = [SummaryLine(kind, len(items), tuple(items[:limit]), max(0, len(items) - limit))
             for kind, items in groups.items() if items]
    if diff.unchanged:
        lines.append(SummaryLine("unchanged", len(diff.unchanged)))
    return lines
