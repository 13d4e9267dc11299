"""Renders the documents' view models through the templates in survey_templates/concept/.

HTML and Markdown with Jinja2, Word with docxtpl (Jinja2 inside .docx, from the template staff can edit).
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from pathlib import Path

from docx.image.exceptions import UnrecognizedImageError
from docx.image.image import Image
from docx.shared import Mm
from docxtpl import DocxTemplate, InlineImage  # type: ignore[import-untyped]
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from core.concept_view import ConceptView
from core.documents import ChangeReport, md_escape


def _environment(templates_dir: Path) -> Environment:
    environment = Environment(loader=FileSystemLoader(templates_dir / "concept"), undefined=StrictUndefined,
                              autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
                              keep_trailing_newline=True, trim_blocks=False, finalize=_plain)
    environment.filters["md"] = md_escape  # (control characters: see _plain, applied to every value)
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


# Characters XML 1.0 forbids (a Word file with them does not open); tab and line feed stay (docxtpl shows them).
_NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
LOGO_WIDTH_MM, LOGO_HEIGHT_MM = 60, 30


def _clean(text: str) -> str:
    return _NOT_IN_XML.sub("", text)


def _plain(value: object) -> object:
    """Jinja's finalize for Word: strings lose characters that would break the XML; the rest passes."""
    return _clean(value) if isinstance(value, str) and not hasattr(value, "__html__") else value


def _docx_template(path: Path) -> tuple[DocxTemplate, Environment]:
    return DocxTemplate(str(path)), Environment(autoescape=True, finalize=_plain)


def _logo(template: DocxTemplate, data: bytes) -> InlineImage | str:
    """The region's logo at most 60 × 30 mm, or "" when there is none or it is no PNG/JPEG picture."""
    if not data:
        return ""
    try:
        picture = Image.from_blob(data)
    except (UnrecognizedImageError, ValueError, OSError):
        return ""
    wide = picture.px_width * LOGO_HEIGHT_MM >= picture.px_height * LOGO_WIDTH_MM
    size = {"width": Mm(LOGO_WIDTH_MM)} if wide else {"height": Mm(LOGO_HEIGHT_MM)}
    return InlineImage(template, io.BytesIO(data), **size)


def _describe_pictures(data: bytes, description: str) -> bytes:
    """Alt text on every picture of the body (the logo), for screen readers and the tagged PDF."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "word/document.xml":
                content = re.sub(rb"(<wp:docPr [^>]*?)\s*(/?>)",
                                 lambda m: m.group(1) + b' descr="' + description.encode() + b'"' + m.group(2),
                                 content.replace(b' descr=""', b""))
            target.writestr(item, content)
    return out.getvalue()


def render_docx(view: ConceptView, templates_dir: Path) -> bytes:
    """The concept as Word from konzept.docx. Institution text is XML-escaped (autoescape) and never
    interpreted as a field or formula; characters XML forbids are left out."""
    template, environment = _docx_template(templates_dir / "concept" / "konzept.docx")
    marks = {a.key: number for number, a in enumerate(view.all_activities(), start=1)}
    template.render({"v": view, "logo": _logo(template, view.logo), "marks": marks}, environment)
    properties = template.docx.core_properties
    properties.title = _clean(f"Handlungskonzept Fachkräfteoffensive NRW – {view.region_name} – "
                              f"Version {view.label}{' (Entwurf)' if view.is_draft else ''}")
    properties.language, properties.author = "de-DE", _clean(view.agency_name)
    buffer = io.BytesIO()
    template.save(buffer)
    return _describe_pictures(buffer.getvalue(), html.escape(_clean(f"Logo: {view.agency_name}"), quote=True)) \
        if view.logo else buffer.getvalue()


def render_change_report_docx(report: ChangeReport, templates_dir: Path) -> bytes:
    """The change report as Word from aenderungen.docx, in the concept's styles; institution text escaped."""
    template, environment = _docx_template(templates_dir / "concept" / "aenderungen.docx")
    header_line = f"Änderungen im Handlungskonzept Fachkräfteoffensive · {report.region_name} · {report.versions_text}"
    template.render({"r": report, "header_line": header_line}, environment)
    properties = template.docx.core_properties
    properties.title = _clean(f"Änderungen im Handlungskonzept Fachkräfteoffensive NRW – {report.region_name} – "
                              f"{report.versions_text}")
    properties.language = "de-DE"
    buffer = io.BytesIO()
    template.save(buffer)
    return buffer.getvalue()
