"""The concept and the change report as HTML and Markdown, from the templates in survey_templates/concept/."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.concept_view import ConceptView
from core.diff import ActivityDiff, counts_by

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_escape(text: object) -> str:
    """Institution text inside Markdown: no markup, no raw HTML, no table breaks."""
    return _MD_SPECIAL.sub(r"\\\1", str(text).replace("<", "&lt;").replace(">", "&gt;"))


def _environment(templates_dir: Path) -> Environment:
    environment = Environment(loader=FileSystemLoader(templates_dir / "concept"), undefined=StrictUndefined,
                              autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                              keep_trailing_newline=True, trim_blocks=False)
    environment.filters["md"] = md_escape
    return environment


def render_concept(view: ConceptView, templates_dir: Path) -> tuple[str, str]:
    """(HTML, Markdown) of the concept: self-contained, printable HTML with a table of contents."""
    environment = _environment(templates_dir)
    html = environment.get_template("konzept.html.j2").render(v=view)
    markdown = environment.get_template("konzept.md.j2").render(v=view)
    return html, re.sub(r"\n{3,}", "\n\n", markdown)


@dataclass
class ChangeReport:
    region_name: str
    from_label: str
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


def render_change_report(report: ChangeReport, templates_dir: Path) -> tuple[str, str]:
    environment = _environment(templates_dir)
    html = environment.get_template("aenderungen.html.j2").render(r=report)
    markdown = environment.get_template("aenderungen.md.j2").render(r=report)
    return html, re.sub(r"\n{3,}", "\n\n", markdown)
