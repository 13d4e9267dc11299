"""`fko concept texts export/import`: the concept's texts written in a real LibreOffice Writer and read back."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import IN_CI

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SECTIONS = ["Ausgangslage", "Priorisierte Handlungsfelder", "Offene Bedarfe", "Ergebnisse der Workshops"]
# No round open, no draft: the texts go into the working year's draft, the year after the demo's published 2025
# (or this year, if later).
YEAR = max(dt.datetime.now(ZoneInfo("Europe/Berlin")).year, 2026)


def _office_ready() -> bool:
    if shutil.which("soffice") is None or not Path("/usr/bin/python3").is_file():
        return False
    return subprocess.run(["/usr/bin/python3", "-c", "import uno"], capture_output=True, check=False).returncode == 0


@pytest.fixture
def edited(run_fko, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Demo region; its texts exported and edited in LibreOffice Writer (tests/fixtures/lo_edit_docx.py)."""
    if not _office_ready():
        if IN_CI:
            pytest.fail("LibreOffice Writer and python3-uno must be installed in CI")
        pytest.skip("LibreOffice Writer with python3-uno is not installed")
    assert run_fko("init", "--demo").exit_code == 0
    exported = run_fko("concept", "texts", "export", "--out", str(tmp_path / "Texte.docx"))
    assert exported.exit_code == 0, exported.stderr
    assert "Version 2025 (veröffentlicht)" in exported.stdout
    subprocess.run(["/usr/bin/python3", str(FIXTURES / "lo_edit_docx.py"), str(tmp_path / "Texte.docx"),
                    str(tmp_path / "lo")], check=True, capture_output=True, timeout=180)
    return tmp_path / "lo"


def _concept(run_fko, out: Path, *args: str) -> str:  # type: ignore[no-untyped-def]
    rendered = run_fko("render", "--no-pdf", "--out", str(out), *args)
    assert rendered.exit_code == 0, rendered.stderr
    return next(out.glob("Handlungskonzept-*.md")).read_text(encoding="utf-8")


def test_texts_edited_in_libreoffice_land_in_the_draft_as_markdown(run_fko, edited: Path,  # type: ignore[no-untyped-def]
                                                                   tmp_path: Path) -> None:
    imported = run_fko("concept", "texts", "import", str(edited / "lo_edited.docx"))
    assert imported.exit_code == 0, imported.stderr
    assert f"Entwurf {YEAR} wurde angelegt (mit den Texten von Version 2025)" in imported.stdout
    for line in ("Ausgangslage: geändert", "Priorisierte Handlungsfelder: unverändert", "Offene Bedarfe: geändert",
                 "Ergebnisse der Workshops: geleert"):
        assert line in imported.stdout

    concept = _concept(run_fko, tmp_path / "draft", "--version", str(YEAR))
    assert ("Die Region Aachen hat 2026 rund 4.800 offene Stellen für Fachkräfte. "
            "**Neu: Pflege und Erziehung sind am stärksten betroffen.**") in concept
    assert "- Beschäftigte in Kleinbetrieben\n- Pendelnde ohne Auto\n" in concept
    assert "1. Bedarf erheben\n2. Angebote planen\n3. Partner gewinnen\n" in concept
    assert "Mehr dazu im [Fachkräftereport 2026](https://www.example.org/fachkraeftereport-2026)." in concept
    assert "*Berufsorientierung*, *duale Ausbildung*" in concept  # unchanged section kept as written
    assert "Hinweis:" not in concept and "So wird bearbeitet" not in concept  # hints and intro never read back
    assert "## Ergebnisse der Workshops\n\n## Aktivitäten" in concept  # emptied, and stays empty
    assert [concept.index(f"## {name}") for name in SECTIONS] == sorted(concept.index(f"## {n}") for n in SECTIONS)

    published = _concept(run_fko, tmp_path / "published", "--version", "2025")
    assert "steht vor einem **deutlichen Fachkräfteengpass**" in published and "4.800" not in published
    assert "Im Regionalworkshop im März" in published

    # Second round: the draft's texts out again, through LibreOffice unchanged, and in: nothing changes.
    again = run_fko("concept", "texts", "export", "--out", str(tmp_path / "again" / "Texte.docx"))
    assert f"Version {YEAR} (Entwurf)" in again.stdout and "Ergebnisse der Workshops: leer" in again.stdout
    subprocess.run(["/usr/bin/python3", str(FIXTURES / "lo_edit_docx.py"), str(tmp_path / "again" / "Texte.docx"),
                    str(tmp_path / "again"), "--unedited-only"], check=True, capture_output=True, timeout=180)
    second = run_fko("concept", "texts", "import", str(tmp_path / "again" / "lo_unedited.docx"))
    assert second.exit_code == 0, second.stderr
    assert "geändert" not in second.stdout and "Ergebnisse der Workshops: leer" in second.stdout
    assert _concept(run_fko, tmp_path / "draft2", "--version", str(YEAR)) == concept


def test_unedited_file_from_libreoffice_changes_nothing(run_fko, edited: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_fko("concept", "texts", "import", str(edited / "lo_unedited.docx"), "--check")
    assert result.exit_code == 0, result.stderr
    assert all(f"{name}: unverändert" in result.stdout for name in SECTIONS)
    assert "nichts gespeichert" in result.stdout


def test_unknown_heading_is_refused_by_name_and_nothing_stored_unless_added(run_fko, edited: Path,  # type: ignore[no-untyped-def]
                                                                            tmp_path: Path) -> None:
    refused = run_fko("concept", "texts", "import", str(edited / "lo_unknown_heading.docx"))
    assert refused.exit_code == 1
    assert "„Fördermittel“" in refused.stderr and "--add-sections" in refused.stderr
    assert "nichts wurde gespeichert" in refused.stderr and "Traceback" not in refused.stderr
    unchanged = run_fko("concept", "texts", "export", "--out", str(tmp_path / "check.docx"))
    assert "Version 2025 (veröffentlicht)" in unchanged.stdout  # not even the draft was created

    added = run_fko("concept", "texts", "import", str(edited / "lo_unknown_heading.docx"), "--add-sections")
    assert added.exit_code == 0, added.stderr
    assert "Fördermittel: neu" in added.stdout
    concept = _concept(run_fko, tmp_path / "draft", "--version", str(YEAR))
    assert "## Fördermittel\n\nDas Land fördert die Fachkräfteoffensive bis 2027." in concept
    assert concept.index("## Ergebnisse der Workshops") < concept.index("## Fördermittel")


def test_published_version_keeps_its_texts(run_fko, edited: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    before = _concept(run_fko, tmp_path / "before", "--version", "2025")
    refused = run_fko("concept", "texts", "import", str(edited / "lo_edited.docx"), "--year", "2025")
    assert refused.exit_code == 1
    assert "Version 2025 ist bereits veröffentlicht" in refused.stderr and "Nichts wurde gespeichert" in refused.stderr
    assert _concept(run_fko, tmp_path / "after", "--version", "2025") == before


def test_texts_written_before_the_round_stay_in_its_draft(run_fko, edited: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert run_fko("concept", "texts", "import", str(edited / "lo_edited.docx")).exit_code == 0
    deadline = (dt.date.today() + dt.timedelta(days=45)).strftime("%d.%m.%Y")
    opened = run_fko("cycle", "open", "--year", str(YEAR), "--deadline", deadline)
    assert opened.exit_code == 0, opened.stderr
    concept = _concept(run_fko, tmp_path / "round", "--year", str(YEAR))  # rebuilds the round's draft first
    assert f"Version {YEAR} · Entwurf, Stand" in concept
    assert "**Neu: Pflege und Erziehung sind am stärksten betroffen.**" in concept
    assert "1. Bedarf erheben" in concept


def test_files_that_are_no_texts_file_are_refused_in_german(run_fko, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from docx import Document

    assert run_fko("init", "--demo").exit_code == 0
    plain = Document()
    plain.add_paragraph("Ausgangslage")
    plain.add_paragraph("Nur Text, keine Überschrift.")
    plain.save(str(tmp_path / "ohne-ueberschrift.docx"))
    (tmp_path / "kaputt.docx").write_bytes(b"PK\x03\x04 nicht wirklich ein zip")
    (tmp_path / "notiz.docx").write_text("Ausgangslage\nText", encoding="utf-8")
    expected = {"ohne-ueberschrift.docx": "Keine Überschrift 1 gefunden", "kaputt.docx": "beschädigt",
                "notiz.docx": "keine Word-Datei"}
    for name, message in expected.items():
        result = run_fko("concept", "texts", "import", str(tmp_path / name))
        assert result.exit_code == 1, (name, result.stdout, result.stderr)
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "„Überschrift 1“" in run_fko("concept", "texts", "import", str(tmp_path / "ohne-ueberschrift.docx")).stderr
    export = run_fko("concept", "texts", "export", "--out", str(tmp_path / "x.docx"))
    assert "Version 2025 (veröffentlicht)" in export.stdout  # nothing was stored by the refused files
    missing = run_fko("concept", "texts", "export", "--out", str(tmp_path / "y.docx"), "--version", "1999")
    assert missing.exit_code == 2 and "1999" in missing.stderr
