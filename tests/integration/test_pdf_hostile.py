"""Institution text that tries to break the printed concept: markup, template and formula syntax, control
characters, a 2,000-character description and a 300-character word stay text and stay on the page."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import subprocess
from pathlib import Path

from pypdf import PdfReader

from core.concept_view import build_view
from storage.template_folder import load_demo
from tests.support.factories import templates
from usecases.pdf import pdf_printer
from usecases.rendering import render_concept
from usecases.settings import BUNDLED_TEMPLATES

LONG_WORD = "Donaudampfschifffahrtsgesellschaftskapitänsmütze" * 6  # 300 characters, no break
HOSTILE = "<script>alert(1)</script> <b>fett</b> {{ 7*7 }} =SUMME(A1:A9) \x01\x0b\x1f & | *x*"


def test_hostile_text_is_printed_as_typed_and_within_the_page(tmp_path: Path) -> None:
    _, catalogs = templates()
    demo = load_demo(BUNDLED_TEMPLATES, catalogs)
    activities = list(demo.activities)
    activities[0] = dataclasses.replace(activities[0], title=HOSTILE, partners=LONG_WORD,
                                        description=("Beschreibung mit Inhalt " * 100)[:2000] + " " + LONG_WORD)
    concept = build_view(activities=activities, flags={}, catalogs=catalogs,
                         institutions={i.code: i.name for i in demo.institutions},
                         region_name="Region <b>Aachen</b> & Co",
                         agency_name="Regionalagentur Region Aachen", label="2026", status="draft",
                         stand=dt.date(2026, 11, 2), notice="", sections={"Ausgangslage": HOSTILE})
    html, _ = render_concept(concept, BUNDLED_TEMPLATES)
    assert "<script>" not in html and "&lt;script&gt;" in html
    (tmp_path / "k.html").write_text(html, encoding="utf-8")
    with pdf_printer() as printer:
        printer.print(tmp_path / "k.html", tmp_path / "k.pdf")

    text = subprocess.run(["pdftotext", str(tmp_path / "k.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "<script>alert(1)</script> <b>fett</b> {{ 7*7 }} =SUMME(A1:A9)" in text  # shown, not run
    assert "\x01" not in text and "\x1f" not in text  # control characters are not printed as boxes or text
    # Names that reach the running header and the footer are text there too.
    header, footer = text.split("\f")[1].splitlines()[0], text.split("\f")[1]
    assert "Region <b>Aachen</b> & Co" in header and "Entwurf, Stand 2. November 2026" in footer
    # Every word box lies within the paper (A4 portrait, 595 pt wide): long words wrap, nothing runs off.
    boxes = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "k.pdf"), "-"], capture_output=True, text=True,
                           check=True).stdout
    right_edges = [float(x) for x in re.findall(r'xMax="([\d.]+)"', boxes)]
    width = float(PdfReader(tmp_path / "k.pdf").pages[0].mediabox.width)
    assert right_edges and max(right_edges) <= width - 40, max(right_edges)  # inside the 18 mm margin
    assert "Donaudampfschifffahrts" in text
