"""Reads the region's survey_templates folder: catalogs, sheet spec, reminder policy, region, demo data, sections.

Core parses the text (``parse_*``); this module only finds the files and turns a missing or unreadable
file into the same configuration error the parser raises for a broken one.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from core.catalog import CatalogError, Catalogs, parse_catalogs
from core.demo import DemoAnswer, DemoData, DemoDataError, parse_demo, parse_demo_answers
from core.ladder import Policy, PolicyError, parse_policy
from core.region import RegionConfigError, RegionProfile, logo_type, parse_region
from core.section_list import SectionListError, SectionSpec, parse_section_list
from core.sheet_spec import SheetSpec, SpecError, parse_spec
from core.text import os_reason

DEMO_FILE = Path("demo") / "region_aachen.toml"
DEMO_ANSWERS_FILE = Path("demo") / "answers.toml"


def _read(path: Path, error: type[Exception], what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"{what}: cannot read {path}: {exc.strerror}") from exc


def load_catalogs(templates_dir: Path) -> Catalogs:
    return parse_catalogs(_read(templates_dir / "catalogs.toml", CatalogError, "catalogs"))


def load_spec(templates_dir: Path) -> SheetSpec:
    folder = templates_dir / "sheet"
    return parse_spec(_read(folder / "spec.toml", SpecError, "sheet spec"),
                      _read(folder / "hinweise.txt.j2", SpecError, "sheet spec"))


def load_policy(templates_dir: Path) -> Policy:
    return parse_policy(_read(templates_dir / "reminders.toml", PolicyError, "reminders.toml"))


def load_region(templates_dir: Path) -> RegionProfile:
    return parse_region(_read(templates_dir / "region.toml", RegionConfigError, "region.toml"))


def load_region_file(path: Path) -> tuple[RegionProfile, tuple[bytes, str] | None]:
    """A region file and its logo (read relative to the file), each checked; errors name file and key in German."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RegionConfigError(f"{path}: die Datei ist nicht in UTF-8 gespeichert.") from exc
    except OSError as exc:
        raise RegionConfigError(f"{path}: die Datei kann nicht gelesen werden ({os_reason(exc)}).") from exc
    profile = parse_region(text, file=str(path))
    if profile.templates:
        folder = (path.parent / profile.templates).resolve()
        if not (folder / "catalogs.toml").is_file():
            raise RegionConfigError(f"{path}: region.templates: {folder} ist kein Vorlagenordner (catalogs.toml "
                                    "fehlt); bitte eine Kopie von survey_templates angeben.")
        profile = replace(profile, templates=str(folder))
    if not profile.logo_file:
        return profile, None
    logo_path = (path.parent / profile.logo_file).resolve()
    try:
        data = logo_path.read_bytes()
    except OSError as exc:
        raise RegionConfigError(f"{path}: region.logo: {logo_path} kann nicht gelesen werden ({os_reason(exc)}).") \
            from exc
    return profile, (data, logo_type(data, name=str(logo_path)))


def load_demo(templates_dir: Path, catalogs: Catalogs) -> DemoData:
    return parse_demo(_read(templates_dir / DEMO_FILE, DemoDataError, "demo data"), catalogs)


def load_demo_answers(templates_dir: Path, demo: DemoData, catalogs: Catalogs, spec: SheetSpec) -> list[DemoAnswer]:
    """How the demo institutions answer a round, checked against the demo data, catalogs and sheet spec."""
    text = _read(templates_dir / DEMO_ANSWERS_FILE, DemoDataError, "demo answers")
    return parse_demo_answers(text, demo, catalogs, spec)


def load_section_list(templates_dir: Path) -> list[SectionSpec]:
    path = templates_dir / "concept" / "sections.toml"
    return parse_section_list(_read(path, SectionListError, "concept/sections.toml"))
