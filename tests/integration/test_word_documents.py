"""The Word documents of a concept version, read as a person would: in a real LibreOffice (headless, UNO),
as tagged PDF with a filled table of contents, and as tracked changes against the version before."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import struct
import subprocess
import zipfile
import zlib
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from core.diff import diff_activities
from core.documents import build_change_report
from storage.template_folder import load_demo
from tests.support.factories import templates
from tests.unit.test_documents import view
from usecases.office import docx_to_pdf, tracked_changes_docx, word_documents
from usecases.rendering import render_change_report_docx, render_docx
from usecases.settings import BUNDLED_TEMPLATES

USECASES = Path(__file__).parents[2] / "usecases"
READ_BACK = """
import json, sys
sys.path.insert(0, sys.argv[1])
from office_uno import load, start_office, stop_office
office, desktop, _ = start_office(sys.argv[3])
try:
    document = load(desktop, sys.argv[2])
    redlines = document.getRedlines().createEnumeration()
    kinds = []
    while redlines.hasMoreElements():
        kinds.append(redlines.nextElement().getPropertyValue("RedlineType"))
    document.close(True)
finally:
    stop_office(office, desktop)
print(json.dumps(kinds))
"""


def png(width: int = 120, height: int = 40) -> bytes:
    """A small blue PNG (the region's logo in these tests)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x1f\x4e\x79" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def parts(data: bytes) -> dict[str, str]:
    archive = zipfile.ZipFile(io.BytesIO(data))
    return {name: archive.read(name).decode("utf-8") for name in archive.namelist() if name.endswith(".xml")}


def text_of(xml: str) -> str:
    return "".join(re.findall(r"<w:t[^>]*>([^<]*)</w:t>", xml))


def pdf_pages(pdf: Path, *, layout: bool = True) -> list[str]:
    """The text of each page, whitespace squashed (``layout=False``: table cells one after the other)."""
    text = subprocess.run(["pdftotext", *(["-layout"] if layout else []), str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout
    return [" ".join(page.split()) for page in text.split("\f")[:-1]]


def outline_titles(pdf: Path) -> list[str]:
    def walk(items: list[object]) -> list[str]:
        return [t for item in items for t in (walk(item) if isinstance(item, list) else [item.title])]  # type: ignore[attr-defined]
    return walk(PdfReader(str(pdf)).outline)


@pytest.fixture(scope="module")
def concept() -> object:
    return view(logo=(png(), "image/png"), funding_line="Gefördert vom Ministerium für Arbeit, Gesundheit und "
                                                         "Soziales des Landes NRW und der Europäischen Union.")


def test_word_file_has_cover_fields_styles_and_alt_text(concept) -> None:  # type: ignore[no-untyped-def]
    data = render_docx(concept, BUNDLED_TEMPLATES)
    xml = parts(data)
    body = xml["word/document.xml"]
    headers = [text_of(x) for name, x in xml.items() if name.startswith("word/header")]
    footers = "".join(x for name, x in xml.items() if name.startswith("word/footer"))
    assert concept.status_line == "Version 2026 · Entwurf, Stand 2. November 2026"
    cover = text_of(body.split("TOC \\o")[0])
    assert "Handlungskonzept Fachkräfteoffensive NRW" in cover and concept.status_line in cover
    assert "Regionalagentur Region Aachen" in cover and "Europäischen Union" in cover and "ENTWURF" in cover
    assert headers and all(h == concept.header_line for h in headers)  # every page, "ENTWURF" included
    assert "ENTWURF" in concept.header_line
    assert re.search(r"<w:instrText[^>]*> PAGE </w:instrText>", footers)
    assert re.search(r"<w:instrText[^>]*> NUMPAGES </w:instrText>", footers) and "Seite " in text_of(footers)
    assert '<w:instrText xml:space="preserve"> TOC \\o "1-3" \\h \\z \\u </w:instrText>' in body
    assert 'descr="Logo: Regionalagentur Region Aachen"' in body  # alt text of the logo

    document = Document(io.BytesIO(data))
    by_style: dict[str, list[str]] = {}
    for paragraph in document.paragraphs:
        by_style.setdefault(paragraph.style.name, []).append(paragraph.text)
    assert by_style["Title"] == ["Handlungskonzept Fachkräfteoffensive NRW"]
    assert by_style["Heading 1"] == ["Ausgangslage", "Aktivitäten nach Handlungsfeldern",
                                     "Beendete und entfallene Aktivitäten", "Register nach Institutionen"]
    assert by_style["Heading 2"] == [g.name for g in concept.groups]
    assert by_style["Heading 3"] == [i.name for g in concept.groups for i in g.institutions]
    assert len(by_style["Aktivität Titel"]) == concept.active_count
    assert any("in diesem Jahr nicht bestätigt" in t for t in by_style["Aktivität Titel"])
    assert {t.style.name for t in document.tables} == {"Liste"}  # a named table style staff can change
    details = [p.text for p in document.paragraphs if p.style.name == "Aktivität Angabe"]
    assert "Status\tbestehend" in details  # label and value, in a named paragraph style
    assert document.core_properties.title.startswith("Handlungskonzept Fachkräfteoffensive NRW – Region Aachen")
    assert document.core_properties.language == "de-DE"


def test_published_word_file_says_published_and_nowhere_draft(concept) -> None:  # type: ignore[no-untyped-def]
    published = dataclasses.replace(concept, status="published", published_on="12. Dezember 2026",
                                    approved_by="A. Müller")
    xml = parts(render_docx(published, BUNDLED_TEMPLATES))
    words = " ".join(text_of(x) for name, x in xml.items() if re.match(r"word/(document|header\d*|footer\d*)\.xml$",
                                                                       name))
    assert "Version 2026 · veröffentlicht am 12. Dezember 2026, freigegeben von A. Müller" in words
    assert "entwurf" not in words.lower()


def test_pdf_is_tagged_with_bookmarks_and_a_filled_table_of_contents(concept, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    docx = tmp_path / "Handlungskonzept-2026.docx"
    docx.write_bytes(render_docx(concept, BUNDLED_TEMPLATES))
    before = docx.read_bytes()
    result = docx_to_pdf(docx, tmp_path / "Handlungskonzept-2026.pdf")
    assert result, result.reason
    assert docx.read_bytes() == before  # the Word file keeps its styles
    pdf = tmp_path / "Handlungskonzept-2026.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Tagged:\s+yes$", info, re.M)
    assert re.search(r"^Title:\s+Handlungskonzept Fachkräfteoffensive NRW – Region Aachen", info, re.M)
    assert PdfReader(str(pdf)).trailer["/Root"]["/Lang"] == "de-DE"
    bookmarks = outline_titles(pdf)
    assert [g.name for g in concept.groups] == [b for b in bookmarks if b in {g.name for g in concept.groups}]
    assert "Register nach Institutionen" in bookmarks

    pages = pdf_pages(pdf)
    assert "Handlungskonzept Fachkräfteoffensive NRW" in pages[0] and concept.status_line in pages[0]
    assert all(concept.header_line in page for page in pages)
    assert all(f"Seite {n} von {len(pages)}" in page for n, page in enumerate(pages, start=1))
    toc = " ".join(p for p in pages[1:4] if "Inhalt" in p or "....." in p)
    entries = dict(re.findall(r"([A-ZÄÖÜ][^.]*?)\s*\.{4,}\s*(\d+)", toc))
    for group in concept.groups:  # each field of action listed with the page it starts on
        page = int(entries[group.name])
        assert group.name in pages[page - 1]
    assert int(entries["Register nach Institutionen"]) <= len(pages)
    start = next(n for n, p in enumerate(pages) if "Register nach Institutionen Alle Aktivitäten" in p)
    register = " ".join(pages[start:])
    numbered = re.findall(r"[A-Z]+-[A-Z]*-?\d{4}\s*\.{3,}\s*(\d+)", register)
    assert len(numbered) == len(concept.all_activities())  # the register shows pages, not "–"
    assert all(2 < int(n) <= start + 1 for n in numbered)  # after the contents, up to the register


def test_tracked_changes_against_last_year_are_word_revisions_libreoffice_reads(tmp_path: Path) -> None:
    last_year, this_year = view(), view()
    group = this_year.groups[0].institutions[0]
    reworded = group.activities[0]
    group.activities[0] = dataclasses.replace(
        reworded, description="Gemeinsame Beratung und Begleitung junger Menschen bis 27 an drei Standorten.")
    ended = this_year.groups[1].institutions[0].activities.pop(0)
    this_year.ended.append(dataclasses.replace(ended, status="entfällt"))
    newcomer = dataclasses.replace(group.activities[-1], key="AA-ACDN-0099", title="Azubi-Werkstatt Energiewende",
                                   description="Auszubildende bauen Solaranlagen auf Schuldächern.")
    group.activities.append(newcomer)
    old, new = tmp_path / "Handlungskonzept-2025.docx", tmp_path / "Handlungskonzept-2026.docx"
    old.write_bytes(render_docx(last_year, BUNDLED_TEMPLATES))
    new.write_bytes(render_docx(this_year, BUNDLED_TEMPLATES))
    out = tmp_path / "Handlungskonzept-2026-Aenderungen.docx"

    result = tracked_changes_docx(old, new, out)
    assert result, result.reason
    assert result.revisions >= 4
    body = parts(out.read_bytes())["word/document.xml"]
    inserted = " ".join(text_of(x) for x in re.findall(r"<w:ins .*?</w:ins>", body, re.S))
    deleted = " ".join(re.findall(r"<w:delText[^>]*>([^<]*)</w:delText>", body))
    assert "drei Standorten" in inserted and "Azubi-Werkstatt Energiewende" in inserted
    assert "unter einem Dach" in deleted
    assert "Agentur für Arbeit Brühl" in inserted or ended.title in inserted  # its row in the appendix

    kinds = json.loads(subprocess.run(
        ["/usr/bin/python3", "-c", READ_BACK, str(USECASES), str(out), str(tmp_path / "profile")],
        capture_output=True, text=True, check=True, timeout=180).stdout.strip().splitlines()[-1])
    assert len(kinds) >= result.revisions and {"Insert", "Delete"} <= set(kinds)  # split per paragraph on load


def test_one_start_does_pdf_and_comparison(tmp_path: Path) -> None:
    docx = tmp_path / "neu.docx"
    docx.write_bytes(render_docx(view(), BUNDLED_TEMPLATES))
    result = word_documents(docx, tmp_path / "neu.pdf", compare=(docx, docx, tmp_path / "gleich.docx"))
    assert result and result.revisions == 0 and set(result.steps) == {"start", "convert", "compare"}
    assert (tmp_path / "neu.pdf").stat().st_size > 10_000 and (tmp_path / "gleich.docx").is_file()
    assert not list(tmp_path.glob(".*tmp*"))  # nothing half-written left behind


def test_hostile_institution_text_renders_as_text_and_stays_on_the_page(tmp_path: Path) -> None:
    long_word = "Fachkräftesicherungs" * 15  # 300 characters, no place to break
    hostile = ("<w:t>x</w:t> {{ 7*7 }} {% if 1 %}ja{% endif %} =SUMME(A1:A9) \x01\x0b\x1f&amp; "
               "<script>alert(1)</script>")
    concept = view()
    first = concept.groups[0].institutions[0].activities[0]
    concept.groups[0].institutions[0].activities[0] = dataclasses.replace(
        first, title=hostile, description=("Beschreibung " * 160)[:2000] + " " + long_word, partners=long_word)
    docx = tmp_path / "feindlich.docx"
    docx.write_bytes(render_docx(concept, BUNDLED_TEMPLATES))
    assert docx_to_pdf(docx, tmp_path / "feindlich.pdf")
    text = " ".join(pdf_pages(tmp_path / "feindlich.pdf"))
    assert "<w:t>x</w:t> {{ 7*7 }} {% if 1 %}ja{% endif %} =SUMME(A1:A9) &amp; <script>alert(1)</script>" in text
    assert "49" not in text.split("{{ 7*7 }}")[0][-20:]
    bbox = subprocess.run(["pdftotext", "-bbox", str(tmp_path / "feindlich.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    right_edges = [float(x) for x in re.findall(r'<word xMin="[\d.]+" yMin="[\d.]+" xMax="([\d.]+)"', bbox)]
    assert right_edges and max(right_edges) <= 595.3 - 60  # A4, nothing beyond the right margin (2.5 cm)
    assert long_word[:40] in text.replace(" ", "")


def test_change_report_as_word_in_the_same_styles(tmp_path: Path) -> None:
    spec, catalogs = templates()
    demo = load_demo(BUNDLED_TEMPLATES, catalogs)
    old = list(demo.activities)
    new = list(old)
    new[0] = dataclasses.replace(new[0], description="Neu formuliert: Beratung <b>{{ 7*7 }}</b> an drei Orten.")
    new[1] = dataclasses.replace(new[1], status="entfällt")
    new.append(dataclasses.replace(new[5], key=None, title="Azubi-Werkstatt Energiewende"))
    missing = new.pop(7)
    institutions = {i.code: i.name for i in demo.institutions}
    report = build_change_report(
        diff=diff_activities(old, new, ending_statuses=catalogs.ending_statuses), region_name="Region Aachen",
        from_label="2025", to_label="2026", stand="2. November 2026", institutions=institutions,
        field_labels=spec.field_labels(), not_confirmed=[demo.institutions[3].code],
        field_order=catalogs.fields_of_action, before=old, ending_statuses=catalogs.ending_statuses)
    data = render_change_report_docx(report, BUNDLED_TEMPLATES)
    document = Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style.name == "Heading 1"]
    assert headings[0] == "Zusammenfassung" and headings[-1] == "Anhang: Änderungen nach Institutionen"
    assert {t.style.name for t in document.tables} == {"Liste"}
    docx = tmp_path / "Aenderungen-2025-2026.docx"
    docx.write_bytes(data)
    assert docx_to_pdf(docx, tmp_path / "Aenderungen-2025-2026.pdf")
    text = " ".join(pdf_pages(tmp_path / "Aenderungen-2025-2026.pdf", layout=False))
    assert "Version 2025 → 2026 · Stand 2. November 2026" in text and "Rückmeldungen:" in text
    assert "Insgesamt 1 1 1 1" in text  # new, changed, ended, missing
    assert "Neu formuliert: Beratung <b>{{ 7*7 }}</b> an drei Orten." in text and "bisher" in text
    assert missing.title in text and "Azubi-Werkstatt Energiewende" in text


def test_without_libreoffice_the_answer_is_false_with_a_german_reason(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    docx = tmp_path / "k.docx"
    docx.write_bytes(render_docx(view(), BUNDLED_TEMPLATES))
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine where no soffice is found
    result = docx_to_pdf(docx, tmp_path / "k.pdf")
    assert not result and "LibreOffice Writer ist nicht installiert" in result.reason
    assert not tracked_changes_docx(docx, docx, tmp_path / "c.docx") and not (tmp_path / "k.pdf").exists()
