"""HTML documents to tagged PDFs with Chromium: running header and footer, bookmarks, page numbers in the contents.

Chromium prints no page numbers into the text (no CSS ``target-counter``), so the printer prints once, reads
from the PDF on which page each link target landed, writes these numbers into the ``.page-ref`` elements and
prints again (until the numbers no longer move). Header and footer come from the document's ``<template
id="pdf-header">`` and ``<template id="pdf-footer">``, so their words stay in the templates.
"""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.sync_api import Browser

MARGINS = {"top": "20mm", "bottom": "18mm", "left": "18mm", "right": "18mm"}
TIMEOUT_MS = 30 * 60 * 1000
PASSES = 3  # the numbers settle after one re-print; a third is for a contents page that grew by a line


class PdfUnavailable(Exception):
    """No PDF can be printed here; the message says why, in German, for the render result."""


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def target_pages(pdf: bytes) -> dict[str, int]:
    """Page (from 1) of every link target (a named destination) in a PDF Chromium printed."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        number = {page.objgen: n for n, page in enumerate(document.pages, start=1)}
        root = document.Root
        if "/Dests" in root:  # Chromium's way: one dictionary name → [page /XYZ …]
            entries = [(str(name), target) for name, target in root.Dests.items()]
        elif "/Names" in root and "/Dests" in root.Names:
            entries = list(pikepdf.NameTree(root.Names.Dests).items())
        else:
            entries = []
        pages: dict[str, int] = {}
        for name, target in entries:
            array = target.D if isinstance(target, pikepdf.Dictionary) else target
            if isinstance(array, pikepdf.Array) and len(array) and array[0].objgen in number:
                pages[str(name).lstrip("/")] = number[array[0].objgen]
        return pages


# In a content stream: a literal string, a hex string (skipped whole: their bytes are no operators), or one of
# the operators that open/close marked content and text blocks, standing as a token of its own.
_TOKENS = re.compile(rb"\((?:\\.|[^\\()])*\)|<[0-9A-Fa-f\s]*>|(?<![^\s\]\)>])(BDC|BMC|EMC|BT|ET)(?=\s|$)")


_UNFOLLOWED = re.compile(rb"%|(?<![^\s])BI(?=\s)|\((?:\\.|[^\\()])*\(")


def _artifact_text(content: bytes) -> bytes | None:
    """``content`` with every text block outside marked content wrapped as /Artifact; None if there is none, or
    if the stream holds syntax the scan does not follow (comments, inline images, literal strings with nested
    parentheses: Chromium writes none of them), so such a page is left as it is rather than damaged."""
    if _UNFOLLOWED.search(content):
        return None
    parts: list[bytes] = []
    depth, done, wrapping = 0, 0, False
    for match in _TOKENS.finditer(content):
        operator = match.group(1)
        if operator in (b"BDC", b"BMC"):
            depth += 1
        elif operator == b"EMC":
            depth -= 1
        elif operator == b"BT" and depth == 0:
            parts += [content[done:match.start()], b"/Artifact BMC\n"]
            done, wrapping = match.start(), True
        elif operator == b"ET" and wrapping:
            parts += [content[done:match.end()], b"\nEMC"]
            done, wrapping = match.end(), False
    return b"".join([*parts, content[done:]]) if parts else None


def mark_artifacts(pdf: bytes) -> tuple[bytes, int]:
    """Chromium leaves the running header and footer untagged; PDF/UA wants every text either in the structure
    or marked as decoration. Each text block outside any marked content becomes an /Artifact. Returns the PDF
    and its number of pages."""
    import pikepdf

    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            contents = page.obj.get("/Contents")
            if contents is None:
                continue
            streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
            changed = _artifact_text(b"\n".join(stream.read_bytes() for stream in streams))
            if changed is not None:
                page.obj.Contents = document.make_stream(changed)
        buffer = io.BytesIO()
        document.save(buffer, compress_streams=True)
        return buffer.getvalue(), len(document.pages)


class PdfPrinter:
    """One Chromium for several documents (a start costs about a second)."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser

    def print(self, html: Path, pdf: Path) -> int:
        """Print ``html`` to ``pdf`` (written completely or not at all); returns the number of pages."""
        page = self.browser.new_page()
        try:
            page.set_default_timeout(TIMEOUT_MS)  # thousands of activities take minutes; a hung browser ends
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
        data, pages = mark_artifacts(data)
        tmp = pdf.with_name(f".{pdf.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(pdf)
        return pages


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
