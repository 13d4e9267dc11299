"""HTML documents to tagged PDFs with Chromium: running header and footer, bookmarks, page numbers in the contents.

Chromium prints no page numbers into the text (no CSS ``target-counter``), so the printer prints once, reads
from the PDF on which page each link target landed, writes these numbers into the ``.page-ref`` elements and
prints again (until the numbers no longer move). Header and footer come from the document's ``<template
id="pdf-header">`` and ``<template id="pdf-footer">``, so their words stay in the templates.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser

MARGINS = {"top": "20mm", "bottom": "18mm", "left": "18mm", "right": "18mm"}
PASSES = 3  # the numbers settle after one re-print; a third is for a contents page that grew by a line


class PdfUnavailable(Exception):
    """No PDF can be printed here; the message says why, in German, for the render result."""


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def target_pages(pdf: bytes) -> dict[str, int]:
    """Page (from 1) of every link target (a named destination) in a PDF Chromium printed."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    pages: dict[str, int] = {}
    for name, destination in reader.named_destinations.items():
        number = reader.get_destination_page_number(destination)
        if number is not None and number >= 0:
            pages[str(name).lstrip("/")] = number + 1
    return pages


def mark_artifacts(pdf: bytes) -> bytes:
    """Chromium leaves the running header and footer untagged; PDF/UA wants every text either in the structure
    or marked as decoration. Each text block outside any marked content becomes an /Artifact."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import ContentStream, NameObject

    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter(clone_from=reader)
    for page in writer.pages:
        content = ContentStream(page.get_contents(), writer)
        operations: list[tuple[list[Any], bytes]] = []
        depth, changed, wrapping = 0, False, False
        for operands, operator in content.operations:
            if operator in (b"BDC", b"BMC"):
                depth += 1
            elif operator == b"EMC":
                depth -= 1
            if operator == b"BT" and depth == 0:
                operations.append(([NameObject("/Artifact")], b"BMC"))
                changed = wrapping = True
            operations.append((operands, operator))
            if operator == b"ET" and wrapping:
                operations.append(([], b"EMC"))
                wrapping = False
        if changed:
            content.operations = operations
            page.replace_contents(content)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


class PdfPrinter:
    """One Chromium for several documents (a start costs about a second)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def print(self, html: Path, pdf: Path) -> int:
        """Print ``html`` to ``pdf`` (written completely or not at all); returns the number of pages."""
        from pypdf import PdfReader

        page = self.browser.new_page()
        try:
            page.set_default_timeout(0)  # a concept of thousands of activities takes minutes, not a hang
            page.goto(html.resolve().as_uri(), wait_until="load")
            frame = page.evaluate("""() => ['pdf-header', 'pdf-footer'].map(
                id => document.getElementById(id)?.innerHTML || '<span></span>')""")
            options: dict[str, Any] = {
                "format": "A4", "margin": MARGINS, "print_background": True, "tagged": True, "outline": True,
                "display_header_footer": True, "header_template": frame[0], "footer_template": frame[1]}
            data = page.pdf(**options)
            wanted = page.evaluate("() => document.querySelectorAll('.page-ref[data-for]').length")
            numbers: dict[str, int] = {}
            for _ in range(PASSES if wanted else 0):
                found = target_pages(data)
                if found == numbers:
                    break
                numbers = found
                page.evaluate("""(pages) => document.querySelectorAll('.page-ref[data-for]').forEach(
                    e => { e.textContent = pages[e.dataset.for] ? String(pages[e.dataset.for]) : ''; })""", numbers)
                data = page.pdf(**options)
        finally:
            page.close()
        data = mark_artifacts(data)
        tmp = pdf.with_name(f".{pdf.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(pdf)
        return len(PdfReader(io.BytesIO(data)).pages)


@contextmanager
def pdf_printer() -> Iterator[PdfPrinter]:
    """A printer backed by the Debian Chromium (never a downloaded browser)."""
    executable = chromium_path()
    if executable is None:
        raise PdfUnavailable("Chromium ist nicht installiert (Debian-Paket chromium).")
    from playwright.sync_api import Error, sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable,
                                                 args=["--disable-gpu", "--disable-dev-shm-usage"])
            try:
                yield PdfPrinter(browser)
            finally:
                browser.close()
    except Error as exc:
        raise PdfUnavailable(f"Chromium konnte kein PDF drucken ({str(exc).splitlines()[0]}).") from exc
