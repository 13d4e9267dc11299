"""Render a concept version: HTML, Markdown, Word, the Excel overview, the change report; PDF where possible."""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from core.concept_view import ConceptView, build_view
from core.dates import BERLIN
from core.documents import build_change_report
from core.overview_xlsx import render_overview
from core.section_list import order_sections
from storage.concepts import activity_flags, find_version, latest_published, list_activities, list_versions
from storage.cycles import requests_with_institutions
from storage.database import require_current_schema, session_scope
from storage.models import ConceptVersion, Cycle, Institution, Region
from storage.regions import get_region
from storage.template_folder import load_section_list
from usecases.context import AppContext
from usecases.office import word_documents
from usecases.pdf import PdfUnavailable, pdf_printer
from usecases.rendering import render_change_report, render_change_report_docx, render_concept, render_docx
from usecases.versions import diff_versions


@dataclass
class RenderResult:
    label: str
    files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # German reasons, e.g. no PDF without LibreOffice

    @property
    def change_report_markdown(self) -> Path | None:
        return next((p for p in self.files if p.name.startswith("Aenderungen-") and p.suffix == ".md"), None)


def _write(path: Path, data: bytes | str) -> Path:
    """Write completely or not at all."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    tmp.replace(path)
    return path


def _sample_notice(session: Session, region: Region) -> str:
    """A demo region's documents say that their data is invented (the note its first version came with),
    never the working note of a draft ("Entwurf aus der Abfrage …") that would outlive publication."""
    versions = list_versions(session=session, region_id=region.id or 0)
    return versions[0].note if versions else ""


def _view(ctx: AppContext, session: Session, region: Region, version: ConceptVersion,
          today: dt.date | None) -> ConceptView:
    """What the documents of ``version`` show, with its true status."""
    catalogs = ctx.catalogs()
    institutions = {i.code: i.name for i in session.exec(select(Institution)
                                                         .where(Institution.region_id == region.id)).all()}
    stand = (version.published_at.astimezone(BERLIN).date() if version.published_at
             else today or dt.datetime.now(BERLIN).date())
    return build_view(activities=list_activities(session=session, version_id=version.id or 0),
                      flags=activity_flags(session=session, version_id=version.id or 0), catalogs=catalogs,
                      institutions=institutions, region_name=region.name, agency_name=region.agency_name,
                      label=version.label, status=version.status, stand=stand,
                      notice=_sample_notice(session, region) if region.sample_data else "",
                      sections=order_sections(version.sections, load_section_list(ctx.templates_dir)),
                      funding_line=region.funding_line, logo=(region.logo, region.logo_type) if region.logo else None,
                      published_on=stand if version.published_at else None, approved_by=version.approved_by or "")


@dataclass(frozen=True)
class RoundAnswers:
    asked: int
    answered: int
    silent: list[str]  # codes of the institutions that did not answer


def _round_answers(session: Session, version: ConceptVersion) -> RoundAnswers | None:
    """Who was asked in the round this version came from, and who answered (None: no round, e.g. imported)."""
    cycle = session.exec(select(Cycle).where(Cycle.draft_version_id == version.id)).first()
    if cycle is None:
        return None
    rows = requests_with_institutions(session=session, cycle_id=cycle.id or 0)
    return RoundAnswers(asked=len(rows), answered=sum(1 for r, _ in rows if r.answered_at is not None),
                        silent=[i.code for r, i in rows if r.answered_at is None])


def render_version(ctx: AppContext, *, out_dir: Path, label: str | None = None, pdf: bool = True,
                   today: dt.date | None = None) -> RenderResult:
    """All documents of a version (default: the newest draft, else the newest published) into ``out_dir``:
    the concept (HTML, Markdown, Word, Excel overview), the change report against the last published version
    (HTML, Markdown, Word) and, with ``pdf``, their PDFs plus the Word file with tracked changes."""
    require_current_schema(ctx.engine)
    catalogs = ctx.catalogs()
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        if label is None:
            versions = list_versions(session=session, region_id=region.id or 0)
            if not versions:
                raise LookupError(f"{region.name} hat noch keine Version des Handlungskonzepts: zuerst "
                                  "`fko concept import DATEI` oder eine Abfrage eröffnen")
            label = versions[-1].label
        version = find_version(session=session, region_id=region.id or 0, label=label)
        parent = session.get(ConceptVersion, version.parent_id) if version.parent_id else None
        if parent is None and version.status == "draft":
            parent = latest_published(session=session, region_id=region.id or 0)
        view = _view(ctx, session, region, version, today)
        answers = _round_answers(session, version)
        parent_view = _view(ctx, session, region, parent, today) if parent is not None and pdf else None
        region_name = region.name
    out_dir.mkdir(parents=True, exist_ok=True)
    result = RenderResult(label=label)
    html, markdown = render_concept(view, ctx.templates_dir)
    docx_path = _write(out_dir / f"Handlungskonzept-{label}.docx", render_docx(view, ctx.templates_dir))
    result.files += [_write(out_dir / f"Handlungskonzept-{label}.html", html),
                     _write(out_dir / f"Handlungskonzept-{label}.md", markdown), docx_path]
    report = None
    if parent is not None or version.status == "draft":  # a first concept's report lists it all as new
        changes = diff_versions(ctx, from_label=parent.label if parent else None, to_label=label)
        report = build_change_report(diff=changes.diff, region_name=region_name,
                                     from_label=parent.label if parent else "",
                                     to_label=label, stand=view.stand, institutions=changes.institutions,
                                     field_labels=ctx.spec().field_labels(),
                                     not_confirmed=answers.silent if answers else changes.not_confirmed,
                                     field_order=catalogs.fields_of_action, before=changes.before,
                                     ending_statuses=catalogs.ending_statuses,
                                     asked=answers.asked if answers else None,
                                     answered=answers.answered if answers else None)
        report_html, report_md = render_change_report(report, ctx.templates_dir)
        stem = f"Aenderungen-{parent.label}-{label}" if parent else f"Aenderungen-{label}-erste-Fassung"
        result.files += [_write(out_dir / f"{stem}.html", report_html), _write(out_dir / f"{stem}.md", report_md),
                         _write(out_dir / f"{stem}.docx", render_change_report_docx(report, ctx.templates_dir))]
    result.files.append(_write(out_dir / f"Uebersicht-{label}.xlsx", render_overview(view, report)))
    if pdf:
        _print_html(result)
        _word_pdf_and_changes(ctx, result, docx_path, out_dir, parent_view)
    _keep_with_version(ctx, version_id=version.id or 0, rendered_as=view.status, files=result.files,
                       out_dir=out_dir, complete=pdf and not result.skipped)
    return result


def _print_html(result: RenderResult) -> None:
    """The concept and the change report as tagged PDFs, printed by Chromium from their HTML."""
    try:
        with pdf_printer() as printer:
            for html_file in [path for path in result.files if path.suffix == ".html"]:
                printer.print(html_file, html_file.with_suffix(".pdf"))
                result.files.append(html_file.with_suffix(".pdf"))
    except PdfUnavailable as exc:
        result.skipped.append(f"PDF aus HTML: {exc}")
        _remove_stale(result, [path.with_suffix(".pdf") for path in result.files if path.suffix == ".html"])


def _remove_stale(result: RenderResult, paths: list[Path]) -> None:
    """Files of an earlier rendering that this one could not write again (e.g. the draft's PDF in the folder of
    the published version) go, so that nothing in the folder contradicts the version's status."""
    for path in paths:
        if path.is_file() and path not in result.files:
            path.unlink()
            result.skipped.append(f"{path.name} einer früheren Fassung entfernt (nicht mehr aktuell).")


def _word_pdf_and_changes(ctx: AppContext, result: RenderResult, docx: Path, out_dir: Path,
                          parent_view: ConceptView | None) -> None:
    """With one LibreOffice start: the Word file as tagged PDF, and the Word file with tracked changes against
    the last published version (rendered from the same template, so only the content differs)."""
    pdf = out_dir / "word-pdf" / f"Handlungskonzept-{result.label}.pdf"
    pdf.parent.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fko-compare-") as folder:
        compare = None
        if parent_view is not None:
            old = _write(Path(folder) / f"Handlungskonzept-{parent_view.label}.docx",
                         render_docx(parent_view, ctx.templates_dir))
            compare = (old, docx, out_dir / f"Handlungskonzept-{result.label}-Aenderungen.docx")
        done = word_documents(docx, pdf, compare=compare)
    if not done:
        result.skipped.append(f"PDF aus Word und Word mit Änderungen: {done.reason}")
        _remove_stale(result, [pdf, out_dir / f"Handlungskonzept-{result.label}-Aenderungen.docx"])
        return
    result.files.append(pdf)
    if compare is not None:
        result.files.append(compare[2])


def _keep_with_version(ctx: AppContext, *, version_id: int, rendered_as: str, files: list[Path], out_dir: Path,
                       complete: bool) -> None:
    """The version's documents go into the file store and the version lists them (name → sha256, size), so
    the files a published version was adopted with can be found again whatever happens to the folder.
    Once a complete set (with PDFs, nothing skipped) of the published version is listed, it stays."""
    with session_scope(ctx.engine) as session:
        version = session.get(ConceptVersion, version_id, with_for_update=True)
        if version is None or version.status != rendered_as:
            return  # published while this draft was rendered: these files say "Entwurf", they are not listed
        kept = version.documents
        if kept.get("status") == "published" and kept.get("complete"):
            return  # the set a version was adopted with stays; later renderings are copies
        listed: dict[str, Any] = {}
        for path in files:
            stored = ctx.files.put(path.read_bytes(), kind="document")
            listed[path.relative_to(out_dir).as_posix()] = {"sha256": stored.sha256, "size": stored.size}
        version.documents = {"status": version.status, "complete": complete, "files": listed}


def render_published(ctx: AppContext, *, label: str, pdf: bool = True) -> RenderResult:
    """After publishing: the version's documents again, now saying "veröffentlicht am …, freigegeben von …",
    into the data folder's ``dokumente/<label>``, where the draft's documents were."""
    return render_version(ctx, out_dir=ctx.documents_dir(label), label=label, pdf=pdf)
