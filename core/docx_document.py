"""The concept as Word (.docx) from the Word template staff can edit (docxtpl: Jinja2 inside .docx)."""

from __future__ import annotations

import io
from pathlib import Path

from docxtpl import DocxTemplate  # type: ignore[import-untyped]

from core.concept_view import ConceptView


def render_docx(view: ConceptView, templates_dir: Path) -> bytes:
    """Institution text is XML-escaped (autoescape) and never interpreted as a field or formula."""
    template = DocxTemplate(str(templates_dir / "concept" / "konzept.docx"))
    template.render({"v": view}, autoescape=True)
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()
