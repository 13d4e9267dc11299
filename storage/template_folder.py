"""Reads the region's survey_templates folder: catalogs, sheet spec, reminder policy, region, demo data.

Core parses the text (``parse_*``); this module only finds the files and turns a missing or unreadable
file into the same configuration error the parser raises for a broken one.
"""

from __future__ import annotations

from pathlib import Path

from core.catalog import CatalogError, Catalogs, parse_catalogs
from core.demo import DemoData, DemoDataError, parse_demo
from core.ladder import Policy, PolicyError, parse_policy
from core.region import RegionConfigError, RegionProfile, parse_region
from core.sheet_spec import SheetSpec, SpecError, parse_spec

DEMO_FILE = Path("demo") / "region_aachen.toml"


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


def load_demo(templates_dir: Path, catalogs: Catalogs) -> DemoData:
    return parse_demo(_read(templates_dir / DEMO_FILE, DemoDataError, "demo data"), catalogs)
