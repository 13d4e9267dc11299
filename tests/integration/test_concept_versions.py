"""A new version from the returns, the documents staff hand over, checked the way a person reads them."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path

import pytest
from docx import Document

from storage.concepts import activity_flags, find_version, list_activities
from storage.database import session_scope
from storage.errors import Conflict
from storage.regions import get_region
from tests.integration.test_reminder_walk import request_id
from tests.support import demo
from tests.support.factories import edit_sheet
from usecases.cycle import open_cycle
from usecases.documents import render_version
from usecases.returns import accept_return, confirm_no_changes, sheet_for_request
from usecases.versions import diff_versions, publish_draft, rebuild_draft

NOW = dt.datetime(2026, 9, 10, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def answered(demo_ctx):  # type: ignore[no-untyped-def]
    """Cycle 2026: IHK returns a changed sheet (one row deleted), VUV confirms no changes, the rest is silent."""
    open_cycle(demo_ctx, year=2026, deadline=dt.date(2026, 10, 15), today=NOW.date(), now=NOW)
    ihk = request_id(demo_ctx, "IHK")
    sheet, _ = sheet_for_request(demo_ctx, request_id=ihk, now=NOW)
    edited = edit_sheet(sheet, {"B2": "Ausbildungsbotschafter:innen <2026>", "E3": "entfällt",
                                **{f"{c}7": None for c in "ABCDEFGHIJKLMNO"},
                                "B9": "Azubi-Werkstatt Energiewende", "D9": "Duale Ausbildung stärken",
                                "E9": "geplant"})
    assert accept_return(demo_ctx, request_id=ihk, data=edited, filename="ihk.xlsx", source="cli", now=NOW).outcome \
        == "accepted"
    confirm_no_changes(demo_ctx, request_id=request_id(demo_ctx, "VUV"), now=NOW)
    return demo_ctx


def test_draft_is_base_plus_latest_answers(answered) -> None:  # type: ignore[no-untyped-def]
    result = rebuild_draft(answered, year=2026, now=NOW)
    assert (sorted(result.answered), len(result.not_answered), result.flagged_missing) == (
        ["IHK", "VUV"], 20, ["IHK-0006"])
    assert result.activities == demo.ACTIVITIES + 1  # IHK's new one; the deleted row is kept (flagged)
    with session_scope(answered.engine) as session:
        region = get_region(session=session)
        draft = find_version(session=session, region_id=region.id or 0, label="2026")
        flags = activity_flags(session=session, version_id=draft.id or 0)
        activities = {a.key: a for a in list_activities(session=session, version_id=draft.id or 0)}
        assert draft.status == "draft" and "Ausgangslage" in draft.sections  # staff sections carried over
    assert flags["IHK-0006"] == (True, "missing")
    assert flags["HWK-0001"] == (False, "not_confirmed")
    assert flags["VUV-0001"] == (True, None)
    assert activities["IHK-0007"].title == "Azubi-Werkstatt Energiewende"
    assert rebuild_draft(answered, year=2026, now=NOW).activities == demo.ACTIVITIES + 1  # again: no duplicates

    changes = diff_versions(answered, from_label="2025", to_label="2026")
    # IHK's deleted row: kept in the draft, but counted as missing, not as unchanged
    assert changes.diff.counts() == {"new": 1, "changed": 1, "ended": 1, "unchanged": 75, "missing": 1}
    assert [a.key for a in changes.diff.missing] == ["IHK-0006"]
    assert "HWK" in changes.not_confirmed and "IHK" not in changes.not_confirmed


def test_published_version_is_immutable(answered) -> None:  # type: ignore[no-untyped-def]
    rebuild_draft(answered, year=2026, now=NOW)
    version = publish_draft(answered, approved_by="Frau Beispiel", now=NOW)
    assert (version.label, version.status, version.approved_by) == ("2026", "published", "Frau Beispiel")
    with pytest.raises(Conflict):
        rebuild_draft(answered, year=2026, now=NOW)


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def test_documents_read_right_as_pdf_and_pictures(answered, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rebuild_draft(answered, year=2026, now=NOW)
    result = render_version(answered, out_dir=tmp_path / "docs", today=dt.date(2026, 11, 2))
    names = sorted(p.name for p in result.files)
    assert result.skipped == []
    assert names == ["Aenderungen-2025-2026.docx", "Aenderungen-2025-2026.html", "Aenderungen-2025-2026.md",
                     "Aenderungen-2025-2026.pdf", "Handlungskonzept-2026-Aenderungen.docx",
                     "Handlungskonzept-2026.docx", "Handlungskonzept-2026.html", "Handlungskonzept-2026.md",
                     "Handlungskonzept-2026.pdf", "Handlungskonzept-2026.pdf", "Uebersicht-2026.xlsx"]
    docs = tmp_path / "docs"

    # The HTML, printed by Chromium: what a reader of the PDF sees.
    text = " ".join(pdf_text(docs / "Handlungskonzept-2026.pdf").split())
    assert "Fachkräfteoffensive NRW Handlungskonzept Region Aachen" in text  # the cover
    assert "Version 2026 · Entwurf, Stand 2. November 2026" in text
    assert "Inhalt" in text and "Register nach Institutionen" in text
    assert "Ausbildungsbotschafter:innen <2026>" in text  # escaped in HTML, shown as typed
    assert "in diesem Jahr nicht bestätigt" in text and "fehlte in der Rückmeldung" in text
    assert "Die Region Aachen mit der StädteRegion Aachen" in text

    # The Word file opens in LibreOffice (converted to PDF) and says the same.
    word = " ".join(pdf_text(docs / "word-pdf" / "Handlungskonzept-2026.pdf").split())
    assert "Handlungskonzept Fachkräfteoffensive NRW Region Aachen" in word  # the cover
    assert "Version 2026 · Entwurf, Stand 2. November 2026" in word
    assert "Azubi-Werkstatt Energiewende IHK-0007" in word
    assert "Ausbildungsbotschafter:innen <2026>" in word
    paragraphs = [p.text for p in Document(str(docs / "Handlungskonzept-2026.docx")).paragraphs]
    assert "Duale Ausbildung stärken" in paragraphs

    # Pictures of the first pages, to look at (kept in the test's tmp dir).
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "3", str(docs / "Handlungskonzept-2026.pdf"),
                    str(tmp_path / "seite")], check=True)
    pages = sorted(tmp_path.glob("seite-*.png"))
    assert len(pages) == 3 and all(p.stat().st_size > 2000 for p in pages)

    report = (docs / "Aenderungen-2025-2026.md").read_text(encoding="utf-8")
    assert "| **Insgesamt** | 1 | 1 | 1 | 1 | 75 |" in report  # neu, geändert, beendet, fehlend, unverändert
    assert "### In der Rückmeldung fehlend (beibehalten, zu klären)\n\n- IHK-0006" in report
    assert "IHK-0007 **Azubi-Werkstatt Energiewende** – IHK Aachen" in report
    assert f"Rückmeldungen: 2 von {demo.INSTITUTIONS} Institutionen (9 %)." in report
    assert "Titel: „Ausbildungsbotschafterinnen und -botschafter“ → „Ausbildungsbotschafter:innen &lt;2026&gt;“" in (
        report)
    report_html = (docs / "Aenderungen-2025-2026.html").read_text(encoding="utf-8")
    assert "&lt;2026&gt;" in report_html and "<2026>" not in report_html


def test_an_answer_after_the_draft_was_shown_stops_publishing_until_it_is_seen(answered) -> None:  # type: ignore[no-untyped-def]
    from usecases.versions import DraftStale

    rebuild_draft(answered, year=2026, now=NOW)  # what staff looked at
    confirm_no_changes(answered, request_id=request_id(answered, "HWK"), now=NOW)  # meanwhile on the page
    with pytest.raises(DraftStale):
        publish_draft(answered, approved_by="Frau Beispiel", now=NOW, label="2026")
    with session_scope(answered.engine) as session:
        assert find_version(session=session, region_id=get_region(session=session).id or 0,
                            label="2026").status == "draft"
    rebuild_draft(answered, year=2026, now=NOW, only_if_stale=True)  # the draft now holds HWK's answer
    assert publish_draft(answered, approved_by="Frau Beispiel", now=NOW, label="2026").status == "published"
