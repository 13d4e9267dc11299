"""The concept's staff-written texts in Word: export a version's sections, import the edited file into the draft."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import Session, select

from core.concept_texts import markdown_to_blocks
from core.dates import BERLIN, german_date
from core.section_list import SectionSpec
from core.texts_import import HINT_PREFIX, FileSection, TextsPlan, plan_texts_import, split_sections
from storage.concepts import find_version, latest_published
from storage.database import require_current_schema, session_scope
from storage.events import record_event
from storage.models import ConceptVersion
from storage.regions import get_region
from storage.template_folder import load_section_list
from usecases.context import AppContext
from usecases.texts_docx import TextsSection, read_texts_docx, write_texts_docx
from usecases.versions import draft_of_year, working_year

INTRO = ("So wird bearbeitet: Unter jeder Überschrift steht der Text eines Abschnitts. Die Überschriften "
         "(Formatvorlage „Überschrift 1“) bitte nicht umbenennen; die grauen Hinweise und alles vor der ersten "
         "Überschrift werden beim Einlesen übergangen. Möglich sind Absätze, fett, kursiv, Aufzählungen, nummerierte "
         "Listen, Links, einfache Tabellen und Zwischenüberschriften („Überschrift 2“). Ein Abschnitt ohne Text "
         "bleibt leer.")


class PublishedVersion(Exception):
    """The year's version is published: its texts no longer change (``str(exc)`` is the label)."""


@dataclass
class ExportResult:
    path: Path
    label: str | None                 # the version the texts come from; None: no version yet, empty sections
    status: str | None
    sections: list[tuple[str, bool]]  # (name, has text)


@dataclass
class ImportResult:
    label: str                        # the draft the texts went (or, with problems or check, would go) into
    plan: TextsPlan
    created_from: str | None = None   # the draft was created now, from this version's texts ("" from nothing)
    saved: bool = False
    ignored: list[str] = field(default_factory=list)


def export_texts(ctx: AppContext, *, out: Path, label: str | None = None, year: int | None = None,
                 today: dt.date) -> ExportResult:
    """The sections of ``label``, else of the year's version (``year``, else the working year's), else of the
    newest published version, as a Word file at ``out``."""
    require_current_schema(ctx.engine)
    specs = load_section_list(ctx.templates_dir)
    with session_scope(ctx.engine) as session:
        region = get_region(session=session, code=ctx.settings.region)
        version = _version_to_export(session, region_id=region.id or 0, label=label, year=year, today=today)
        region_name = region.name
        texts = dict(version.sections) if version else {}
        label, status = (version.label, version.status) if version else (None, None)
        published = version.published_at if version else None
    names = [spec.name for spec in specs] + [name for name in texts if name not in {s.name for s in specs}]
    hints = {spec.name: spec.hint for spec in specs}
    sections = [TextsSection(name, hints.get(name, ""), markdown_to_blocks(texts.get(name, ""))) for name in names]
    if label is None:
        state = "noch keine Version des Konzepts, die Abschnitte sind leer"
    elif status == "draft":
        state = f"Version {label} (Entwurf)"
    else:
        when = german_date(published.astimezone(BERLIN).date(), weekday=False) if published else ""
        state = f"Version {label} (veröffentlicht{' am ' + when if when else ''})"
    data = write_texts_docx(title=f"Texte des Handlungskonzepts – {region_name}",
                            intro=[f"{state}; ausgegeben am {german_date(today, weekday=False)}.", INTRO,
                                   "Zurück ins Konzept: fko concept texts import DATEI.docx"],
                            sections=sections, hint_prefix=HINT_PREFIX)
    _write(out, data)
    return ExportResult(out, label, status, [(s.name, bool(s.blocks)) for s in sections])


def _version_to_export(session: Session, *, region_id: int, label: str | None, year: int | None,
                       today: dt.date) -> ConceptVersion | None:
    if label is not None:
        return find_version(session=session, region_id=region_id, label=label)
    wanted = str(year if year is not None else working_year(session, region_id=region_id, today=today))
    for version in _versions_labelled(session, region_id=region_id, label=wanted):
        return version
    return latest_published(session=session, region_id=region_id)


def _versions_labelled(session: Session, *, region_id: int, label: str) -> list[ConceptVersion]:
    return list(session.exec(select(ConceptVersion).where(ConceptVersion.region_id == region_id,
                                                         ConceptVersion.label == label)).all())


def _write(path: Path, data: bytes) -> None:
    """Complete or not at all: Word must never open half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


class _Refused(Exception):
    def __init__(self, result: ImportResult) -> None:
        self.result = result


def import_texts(ctx: AppContext, *, data: bytes, year: int | None = None, add_sections: bool = False,
                 check: bool = False, actor: str, today: dt.date) -> ImportResult:
    """The edited file's sections into the year's draft (``year``, else the working year's; created from the
    newest published version's texts if missing). With problems, or with ``check``, nothing is stored.
    Raises TextsFileRefused for a file that is no readable .docx, PublishedVersion for an adopted year."""
    require_current_schema(ctx.engine)
    specs = load_section_list(ctx.templates_dir)
    file_sections = split_sections(read_texts_docx(data), specs)
    try:
        with session_scope(ctx.engine) as session:
            result = _import(session, ctx, file_sections=file_sections, specs=specs, year=year,
                             add_sections=add_sections, actor=actor, today=today)
            if check or result.plan.problems:
                raise _Refused(result)
            result.saved = True
            return result
    except _Refused as refused:  # rolled back: not even a newly created draft stays
        return refused.result


def _import(session: Session, ctx: AppContext, *, file_sections: list[FileSection],
            specs: list[SectionSpec],
            year: int | None, add_sections: bool, actor: str, today: dt.date) -> ImportResult:
    region = get_region(session=session, code=ctx.settings.region)
    region_id = region.id or 0
    year = year if year is not None else working_year(session, region_id=region_id, today=today)
    existed = bool(_versions_labelled(session, region_id=region_id, label=str(year)))
    draft = draft_of_year(session, region_id=region_id, year=year)
    if draft.status != "draft":
        raise PublishedVersion(draft.label)
    created_from = None
    if not existed:
        parent = session.get(ConceptVersion, draft.parent_id) if draft.parent_id else None
        created_from = parent.label if parent else ""
    plan = plan_texts_import(file_sections, current=dict(draft.sections), specs=specs, add_sections=add_sections)
    result = ImportResult(draft.label, plan, created_from)
    if not plan.problems:
        draft.sections = dict(plan.sections)  # a new dict: the JSON column sees the change
        record_event(session=session, region_id=region_id, actor=actor, action="concept.texts.imported",
                     subject=draft.label, details={name: status for name, status in plan.changes})
    return result
