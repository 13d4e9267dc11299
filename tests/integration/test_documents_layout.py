"""The documents of the demo round looked at as a reader does: page pictures, page text, contents, status.

One demo round for the module (answers from survey_templates/demo/answers.toml, about 90 activities); its
draft is rendered for approval, then the published version again."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from docx import Document
from pypdf import PdfReader

from storage.concepts import find_version
from storage.database import session_scope
from storage.regions import get_region
from usecases.context import AppContext
from usecases.demo_round import DemoRound, run_demo_round
from usecases.documents import render_version
from usecases.settings import Settings
from usecases.setup import init_database

YEAR = 2027
HEADER = f"Handlungskonzept Fachkräfteoffensive · Region Aachen · Version {YEAR}"
PART_TARGETS = ("aktivitaeten", "beendet", "register")  # each starts on a new page: the page before may end short


@dataclass
class Played:
    ctx: AppContext
    round: DemoRound
    draft_dir: Path
    published_dir: Path


@pytest.fixture(scope="module")
def played(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Played]:
    var = tmp_path_factory.mktemp("layout") / "var"
    ctx = AppContext.from_settings(Settings(data_dir=var, base_url="https://fko.example.org"))
    init_database(ctx, demo=True)
    round_ = run_demo_round(ctx, year=YEAR, opened=dt.date(YEAR, 9, 1), documents_dir=var / "dokumente")
    yield Played(ctx, round_, var / "dokumente" / "entwurf", var / "dokumente")
    ctx.close()


def page_texts(pdf: Path) -> list[str]:
    pages = len(PdfReader(pdf).pages)
    return [subprocess.run(["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True,
                           text=True, check=True).stdout for n in range(1, pages + 1)]


def filled_share(pdf: Path, folder: Path) -> list[float]:
    """Per page: how far down the body (between running header and footer) ink reaches, 0..1."""
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-gray", "-r", "20", str(pdf), str(prefix)], check=True)
    shares = []
    for picture in sorted(folder.glob(f"{pdf.stem}-*.pgm")):
        data = picture.read_bytes()
        width, height, pixels = re.match(rb"P5\s+(\d+)\s+(\d+)\s+\d+\s(.*)", data, re.S).groups()  # type: ignore[union-attr]
        w, h = int(width), int(height)
        top, bottom = int(h * 0.12), int(h * 0.88)  # leave out header and footer
        inked = [row for row in range(top, bottom) if min(pixels[row * w:(row + 1) * w]) < 160]
        shares.append((max(inked) - top) / (bottom - top) if inked else 0.0)
    return shares


def outline_pages(pdf: Path) -> dict[str, int]:
    reader = PdfReader(pdf)
    found: dict[str, int] = {}

    def walk(items: list) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found.setdefault(str(item.title).strip(), reader.get_destination_page_number(item) + 1)
    walk(reader.outline)
    return found


@pytest.mark.parametrize("which", ["draft", "published"])
def test_concept_pdf_reads_like_a_document(played: Played, which: str, tmp_path: Path) -> None:
    folder = played.draft_dir if which == "draft" else played.published_dir
    pdf = folder / f"Handlungskonzept-{YEAR}.pdf"
    texts = page_texts(pdf)
    assert 12 <= len(texts) <= 34, len(texts)  # about 90 activities, compact blocks: not 5 pages, not 60

    # The status on every page: the running header and footer.
    for number, text in enumerate(texts, start=1):
        assert HEADER in text and f"Seite {number} von {len(texts)}" in text, number
        if which == "draft":
            assert "ENTWURF" in text and "Entwurf, Stand" in text, number
        else:
            assert "veröffentlicht am" in text and "freigegeben von Demo (Regionalagentur)" in text, number
            assert "entwurf" not in text.lower(), number
    cover = " ".join(texts[0].split())
    assert "Handlungskonzept Region Aachen" in cover and "Regionalagentur Region Aachen" in cover
    assert ("ENTWURF" in cover) == (which == "draft")

    # No page but the cover and a section's last page is mostly empty (the old PDF had five such pages).
    reader = PdfReader(pdf)
    starts = {reader.get_destination_page_number(d) + 1 for name, d in reader.named_destinations.items()
              if str(name).lstrip("/") in PART_TARGETS}
    allowed_short = {1, 2, len(texts)} | {page - 1 for page in starts}  # cover, contents, before each part, last
    shares = filled_share(pdf, tmp_path)
    short = [n for n, share in enumerate(shares, start=1) if share < 0.2 and n not in allowed_short]
    assert short == [], (short, shares)

    # The contents' page numbers are the pages the headings are on (read from the bookmarks, which Chromium
    # makes from the headings themselves).
    bookmarks = outline_pages(pdf)
    contents = [line for line in texts[1].splitlines() if re.search(r"\s\d+\s*$", line) and "Seite" not in line]
    checked = 0
    for line in contents:
        title, page = re.match(r"\s*(.*?)[\s.]*?(\d+)\s*$", line).groups()  # type: ignore[union-attr]
        title = re.sub(r"\s*\(\d+\)$", "", title.strip())  # "Duale Ausbildung stärken (10)": the count
        if title in bookmarks:
            assert bookmarks[title] == int(page), (title, page, bookmarks[title])
            checked += 1
    assert checked >= 10, contents  # the staff sections and every field of action
    assert "Berufsorientierung und Übergang Schule–Beruf" in bookmarks

    # Accessible: tagged, titled, German, with bookmarks and the logo's/charts' text alternatives.
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Tagged:          yes" in info and f"Version {YEAR}" in info
    assert reader.trailer["/Root"]["/Lang"] == "de"


def test_published_files_say_published_and_are_kept_with_the_version(played: Played) -> None:
    folder = played.published_dir
    for path in [*folder.glob("*.html"), *folder.glob("*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "Entwurf" not in text and "ENTWURF" not in text, path.name
    word = Document(str(folder / f"Handlungskonzept-{YEAR}.docx"))
    word_text = "\n".join([p.text for p in word.paragraphs]
                          + [p.text for s in word.sections for p in s.header.paragraphs])
    assert "veröffentlicht am" in word_text and "Entwurf" not in word_text
    assert "ENTWURF" in " ".join(p.text for s in Document(str(played.draft_dir / f"Handlungskonzept-{YEAR}.docx"))
                                 .sections for p in s.header.paragraphs)
    for pdf in [*folder.glob("*.pdf"), *folder.glob("word-pdf/*.pdf")]:
        text = "".join(page_texts(pdf))
        assert "entwurf" not in text.lower(), pdf.name

    with session_scope(played.ctx.engine) as session:
        version = find_version(session=session, region_id=get_region(session=session).id or 0, label=str(YEAR))
        kept = version.documents
    assert kept["status"] == "published"
    names = set(kept["files"])
    assert {f"Handlungskonzept-{YEAR}.pdf", f"Handlungskonzept-{YEAR}.docx", f"Uebersicht-{YEAR}.xlsx"} <= names
    for name, entry in kept["files"].items():  # the stored bytes are the files staff got
        assert played.ctx.files.get(entry["sha256"], kind="document") == (folder / name).read_bytes(), name


def test_a_published_version_renders_again_the_same(played: Played, tmp_path: Path) -> None:
    with session_scope(played.ctx.engine) as session:
        listed = find_version(session=session, region_id=get_region(session=session).id or 0,
                              label=str(YEAR)).documents
    again = render_version(played.ctx, out_dir=tmp_path / "again", label=str(YEAR), pdf=False)
    folder = played.published_dir
    for path in again.files:
        if path.suffix in (".html", ".md"):
            assert path.read_bytes() == (folder / path.name).read_bytes(), path.name
        if path.suffix in (".docx", ".xlsx"):  # the same apart from the timestamps in docProps/core.xml
            with zipfile.ZipFile(path) as new, zipfile.ZipFile(folder / path.name) as old:
                for member in new.namelist():
                    if member != "docProps/core.xml":
                        assert new.read(member) == old.read(member), (path.name, member)
    with session_scope(played.ctx.engine) as session:  # the set it was published with stays listed
        version = find_version(session=session, region_id=get_region(session=session).id or 0, label=str(YEAR))
        assert version.documents == listed and version.documents["complete"]
        assert f"Handlungskonzept-{YEAR}.pdf" in version.documents["files"]  # not the PDF-less copy's list


def test_change_report_leads_with_a_one_page_summary(played: Played) -> None:
    pdf = next(played.published_dir.glob("Aenderungen-*.pdf"))
    texts = page_texts(pdf)
    first = " ".join(texts[0].split())
    assert "Zusammenfassung" in first and "Rückmeldungen: 13 von 22 Institutionen (59 %)" in first
    assert "Ohne Rückmeldung" in first
    totals = re.search(r"Insgesamt (\d+) (\d+) (\d+) (\d+) (\d+)", first)
    assert totals is not None
    new, changed, ended, missing, _ = map(int, totals.groups())
    assert new > 0 and changed > 0 and ended > 0 and missing == 2  # the deleted and the emptied row
    assert texts[1].split("\n", 3)[-1].lstrip().startswith("Entwicklung in Zahlen")  # the summary is one page
    report = next(played.published_dir.glob("Aenderungen-*.md")).read_text(encoding="utf-8")
    assert "### In der Rückmeldung fehlend (beibehalten, zu klären)" in report
    assert "- Status: „geplant“ → „bestehend“" in report
    assert "\\(" not in report and "Neue Aktivität" not in report


def test_pdfs_pass_the_open_pdf_ua_checker(played: Played) -> None:
    """pdfua (PyPI) checks the machine-checkable part of PDF/UA-1: no error findings (exit 3)."""
    pdfs = [*played.published_dir.glob("*.pdf"), *played.published_dir.glob("word-pdf/*.pdf")]
    assert len(pdfs) == 3  # the concept and the change report from HTML, the concept from Word
    for pdf in sorted(pdfs):
        checked = subprocess.run([sys.executable, "-m", "pdfua", "check", str(pdf)], capture_output=True, text=True,
                                 check=False)
        assert "checked against" in checked.stdout and " errors=0 " in checked.stdout, checked.stdout[-2000:]
        assert checked.returncode in (0, 2), checked.stdout[-2000:]  # clean, or warnings only


def test_overview_has_native_comparison_charts(played: Played) -> None:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO((played.published_dir / f"Uebersicht-{YEAR}.xlsx").read_bytes()))
    sheet = workbook["Vergleich"]
    assert [c.value for c in sheet[1]] == ["Handlungsfeld", "Version 2025", f"Version {YEAR}", "neu", "beendet"]
    assert len(sheet._charts) == 2
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sum(r[3] for r in rows) > 0 and sum(r[4] for r in rows) > 0


def test_word_with_tracked_changes_against_the_last_published_version(played: Played) -> None:
    """Handlungskonzept-2027-Aenderungen.docx: the new version against 2025 as Word revisions."""
    path = played.published_dir / f"Handlungskonzept-{YEAR}-Aenderungen.docx"
    with zipfile.ZipFile(path) as docx:
        body = docx.read("word/document.xml").decode("utf-8")
    inserted = " ".join(re.findall(r"<w:ins\b.*?</w:ins>", body, re.S))
    deleted = " ".join(re.findall(r"<w:del\b.*?</w:del>", body, re.S))
    assert "Azubi-Speed-Dating Handel" in inserted  # a new activity of the demo round
    assert "Kommunales Integrationsmanagement" not in inserted and "geplant" in deleted  # status geplant → …
    word_pdf = played.published_dir / "word-pdf" / f"Handlungskonzept-{YEAR}.pdf"
    assert "Tagged:          yes" in subprocess.run(["pdfinfo", str(word_pdf)], capture_output=True, text=True,
                                                    check=True).stdout
