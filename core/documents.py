"""The change report's view model (summary, changes per field of action, charts); Markdown escaping."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from core.activity import Activity
from core.chart import BarChart
from core.diff import CHANGE_LABELS, ActivityDiff, counts_by

_MD_INLINE = re.compile(r"([\\`*_\[\]|~])")        # markup anywhere in a line
_MD_LINE_START = re.compile(r"^(\s*)([#>+-]|\d+[.)])", re.MULTILINE)  # headings, quotes, lists


def md_escape(text: object) -> str:
    """Institution text inside Markdown, on one line: no markup, no raw HTML, no table breaks. Only what Markdown would
    read as markup is escaped, so a reader of the raw file sees "(Kreis Düren)", not "\\(Kreis Düren\\)"."""
    flat = " ".join(str(text).splitlines())  # institution text stays inline: a line break would end a list item
    escaped = _MD_INLINE.sub(r"\\\1", flat.replace("<", "&lt;").replace(">", "&gt;"))
    return _MD_LINE_START.sub(lambda m: m.group(1) + m.group(2)[:-1] + "\\" + m.group(2)[-1], escaped)


@dataclass
class FieldChanges:
    """The changes within one field of action, for the report's pages after the summary."""

    name: str
    counts: dict[str, int]
    new: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    ended: list[dict[str, Any]]
    missing: list[dict[str, Any]]


@dataclass
class ChangeReport:
    region_name: str
    from_label: str          # "" for the region's first concept (nothing before it)
    to_label: str
    stand: str
    counts: dict[str, int]
    by_field: dict[str, dict[str, int]]
    by_institution: dict[str, dict[str, int]]
    new: list[dict[str, Any]]
    changed: list[dict[str, Any]]
    ended: list[dict[str, Any]]
    missing: list[dict[str, Any]]
    answered: int
    institutions_total: int
    not_confirmed: list[str]
    fields: list[FieldChanges] = field(default_factory=list)     # in the catalog's order
    active_before: dict[str, int] = field(default_factory=dict)  # running/planned activities per field of action
    active_after: dict[str, int] = field(default_factory=dict)

    @property
    def first(self) -> bool:
        return not self.from_label

    @property
    def versions_text(self) -> str:
        """"Version 2025 → 2026", or "Version 2026 (erste Fassung)" when there was none before."""
        return f"Version {self.to_label} (erste Fassung)" if self.first else \
            f"Version {self.from_label} → {self.to_label}"

    @property
    def response_rate(self) -> str:
        """"17 von 23 Institutionen (74 %)"."""
        share = round(100 * self.answered / self.institutions_total) if self.institutions_total else 0
        return f"{self.answered} von {self.institutions_total} Institutionen ({share} %)"

    def charts(self) -> list[BarChart]:
        """Activities per field of action last version vs. this one; new vs. ended per field of action."""
        names = [f.name for f in self.fields]
        before_name = f"Version {self.from_label}" if self.from_label else "vorher"
        return [
            BarChart("Laufende und geplante Aktivitäten je Handlungsfeld", names,
                     [(before_name, [self.active_before.get(n, 0) for n in names]),
                      (f"Version {self.to_label}", [self.active_after.get(n, 0) for n in names])]),
            BarChart("Neue und beendete Aktivitäten je Handlungsfeld", names,
                     [("neu", [f.counts["new"] for f in self.fields]),
                      ("beendet", [f.counts["ended"] for f in self.fields])]),
        ]


def build_change_report(*, diff: ActivityDiff, region_name: str, from_label: str, to_label: str, stand: str,
                        institutions: dict[str, str], field_labels: dict[str, str], not_confirmed: list[str],
                        field_order: tuple[str, ...] = (), before: list[Activity] | None = None,
                        ending_statuses: tuple[str, ...] = (), asked: int | None = None,
                        answered: int | None = None) -> ChangeReport:
    """``asked``/``answered``: the round's requests (None for a version without a round: then the institutions
    with activities count, and those whose entries were carried over unconfirmed did not answer)."""
    def item(activity: Any) -> dict[str, Any]:
        return {"key": activity.key, "title": activity.title, "status": activity.status,
                "field_of_action": activity.field_of_action,
                "institution": institutions.get(activity.institution_code, activity.institution_code)}

    def active(activities: list[Activity]) -> dict[str, int]:
        return dict(Counter(a.field_of_action for a in activities if a.status not in ending_statuses))

    by_institution = {institutions.get(code, code): row for code, row in counts_by(diff, "institution_code").items()}
    involved = {a.institution_code for a in [*diff.new, *diff.ended, *diff.unchanged, *diff.missing]} | {
        c.new.institution_code for c in diff.changed}
    names_not_confirmed = sorted(institutions.get(code, code) for code in not_confirmed)
    changed = [{**item(c.new), "fields": [{"label": field_labels.get(f.field, f.field), "old": f.old, "new": f.new}
                                          for f in c.fields]} for c in diff.changed]
    by_field = counts_by(diff, "field_of_action")
    active_before, active_after = active(before or []), active(diff.returned)
    rank = {name: n for n, name in enumerate(field_order)}
    names = set(by_field) | set(active_before) | set(active_after)  # a field emptied since stays in the charts
    sections = [FieldChanges(name=name, counts=by_field.get(name, dict.fromkeys(CHANGE_LABELS, 0)),
                             new=[item(a) for a in diff.new if a.field_of_action == name],
                             changed=[c for c in changed if c["field_of_action"] == name],
                             ended=[item(a) for a in diff.ended if a.field_of_action == name],
                             missing=[item(a) for a in diff.missing if a.field_of_action == name])
                for name in sorted(names, key=lambda n: (rank.get(n, len(rank)), n))]
    return ChangeReport(
        region_name=region_name, from_label=from_label, to_label=to_label, stand=stand, counts=diff.counts(),
        by_field={s.name: s.counts for s in sections}, by_institution=dict(sorted(by_institution.items())),
        new=[item(a) for a in diff.new], changed=changed,
        ended=[item(a) for a in diff.ended], missing=[item(a) for a in diff.missing],
        answered=answered if answered is not None else len(involved) - len(set(not_confirmed) & involved),
        institutions_total=asked if asked is not None else len(involved),
        not_confirmed=names_not_confirmed, fields=sections, active_before=active_before, active_after=active_after)
