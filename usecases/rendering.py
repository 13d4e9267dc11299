"""Renders the documents' view models through the templates in survey_templates/concept/.

HTML and Markdown with Jinja2, Word with docxtpl (Jinja2 inside .docx, from the template staff can edit).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

from docxtpl import DocxTemplate  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.concept_view import ConceptView
from core.documents import ChangeReport, md_escape


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


def render_change_report(report: ChangeReport, templates_dir: Path) -> tuple[str, str]:
    environment = _environment(templates_dir)
    html = environment.get_template("aenderungen.html.j2").render(r=report)
    markdown = environment.get_template("aenderungen.md.j2").render(r=report)
    return html, re.sub(r"\n{3,}", "\n\n", markdown)


def render_docx(view: ConceptView, templates_dir: Path) -> bytes:
    """Institution text is XML-escaped (autoescape) and never interpreted as a field or formula."""
    template = DocxTemplate(str(templates_dir / "concept" / "konzept.docx"))
    template.render({"v": view}, autoescape=True)
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()
