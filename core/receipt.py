"""The change summary an institution reads in its receipt: one line per activity that changed."""

from __future__ import annotations

from collections.abc import Mapping

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
