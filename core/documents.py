"""The change report's view model and the escaping of institution text inside Markdown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from core.diff import ActivityDiff, counts_by

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(text: object) -> str:
    """Institution text inside Markdown: no markup, no raw HTML, no table breaks."""
    return _MD_SPECIAL.sub(r"\\\1", str(text).replace("<", "&lt;").replace(">", "&gt;"))


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

    @property
    def first(self) -> bool:
        return not self.from_label

    @property
    def versions_text(self) -> str:
        """"Version 2025 → 2026", or "Version 2026 (erste Fassung)" when there was none before."""
        return f"Version {self.to_label} (erste Fassung)" if self.first else \
            f"Version {self.from_label} → {self.to_label}"


def build_change_report(*, diff: ActivityDiff, region_name: str, from_label: str, to_label: str, stand: str,
                        institutions: dict[str, str], field_labels: dict[str, str], not_confirmed: list[str],
                        ) -> ChangeReport:
    def item(activity: Any) -> dict[str, Any]:
        return {"key": activity.key, "title": activity.title, "status": activity.status,
                "field_of_action": activity.field_of_action,
                "institution": institutions.get(activity.institution_code, activity.institution_code)}

    by_institution = {institutions.get(code, code): row for code, row in counts_by(diff, "institution_code").items()}
    involved = {a.institution_code for a in [*diff.new, *diff.ended, *diff.unchanged, *diff.missing]} | {
        c.new.institution_code for c in diff.changed}
    names_not_confirmed = sorted(institutions.get(code, code) for code in not_confirmed)
    return ChangeReport(
        region_name=region_name, from_label=from_label, to_label=to_label, stand=stand, counts=diff.counts(),
        by_field=counts_by(diff, "field_of_action"), by_institution=dict(sorted(by_institution.items())),
        new=[item(a) for a in diff.new],
        changed=[{**item(c.new), "fields": [{"label": field_labels.get(f.field, f.field), "old": f.old, "new": f.new}
                                             for f in c.fields]} for c in diff.changed],
        ended=[item(a) for a in diff.ended], missing=[item(a) for a in diff.missing],
        answered=len(involved) - len(set(not_confirmed) & involved), institutions_total=len(involved),
        not_confirmed=names_not_confirmed)
