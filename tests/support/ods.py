"""OpenDocument spreadsheets written by hand, in memory: what a program may put into content.xml."""

from __future__ import annotations

import io
import zipfile

MIMETYPE = "application/vnd.oasis.opendocument.spreadsheet"
NAMESPACES = {
    "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    "style": "urn:oasis:names:tc:opendocument:xmlns:style:1.0",
    "table": "urn:oasis:names:tc:opendocument:xmlns:table:1.0",
    "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
    "draw": "urn:oasis:names:tc:opendocument:xmlns:drawing:1.0",
    "svg": "urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0",
    "xlink": "http://www.w3.org/1999/xlink",
}
MANIFEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
    f'<manifest:file-entry manifest:full-path="/" manifest:media-type="{MIMETYPE}"/>'
    '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>'
    "</manifest:manifest>"
)


def content_xml(tables: str, *, styles: str = "", prolog: str = "") -> str:
    declarations = " ".join(f'xmlns:{prefix}="{uri}"' for prefix, uri in NAMESPACES.items())
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<office:document-content {declarations} '
            f'office:version="1.2"><office:automatic-styles>{styles}</office:automatic-styles><office:body>'
            f"<office:spreadsheet>{tables}</office:spreadsheet></office:body></office:document-content>")


def package(content: str | bytes) -> bytes:
    """An .ods file: the mimetype first and stored, as the format requires, then the manifest and content."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", MIMETYPE, compress_type=zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", MANIFEST)
        archive.writestr("content.xml", content)
    return buffer.getvalue()


def ods(tables: str, *, styles: str = "", prolog: str = "") -> bytes:
    return package(content_xml(tables, styles=styles, prolog=prolog))


def text_cell(text: str, attributes: str = "") -> str:
    return f'<table:table-cell office:value-type="string"{attributes}><text:p>{text}</text:p></table:table-cell>'


def table(name: str, rows: list[list[str]], attributes: str = "") -> str:
    """A sheet of text cells; ``rows`` hold the cells' XML (``text_cell`` or anything else)."""
    body = "".join(f"<table:table-row>{''.join(cells)}</table:table-row>" for cells in rows)
    return f'<table:table table:name="{name}"{attributes}>{body}</table:table>'


def pretty(content: str) -> str:
    """content.xml as Gnumeric writes it: every row and cell on a line of its own."""
    for tag in ("<table:table-row", "</table:table-row>", "<table:table-cell", "<table:covered-table-cell"):
        content = content.replace(tag, "\n          " + tag)
    return content
