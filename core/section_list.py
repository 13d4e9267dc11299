"""The concept's section list (survey_templates/concept/sections.toml): names in document order, hints for Word."""

from __future__ import annotations

from dataclasses import dataclass

from core.catalog import CatalogError
from core.text import fold, squash_spaces
from core.toml_text import parse_toml

MAX_NAME = 120


class SectionListError(CatalogError):
    """The section list is broken: a configuration error of the templates folder, reported like the catalogs'."""


@dataclass(frozen=True)
class SectionSpec:
    name: str
    hint: str = ""


def parse_section_list(text: str, *, file: str = "concept/sections.toml") -> list[SectionSpec]:
    """Every ``[[section]]`` with a ``name`` (unique, case-insensitively) and an optional one-line ``hint``."""
    data = parse_toml(text, file=file, error=SectionListError)
    unknown = sorted(set(data) - {"section"})
    if unknown:
        raise SectionListError(f"{file}: {unknown[0]}: unbekannter Eintrag; erlaubt ist nur [[section]].")
    entries = data.get("section", [])
    if not isinstance(entries, list) or not entries:
        raise SectionListError(f"{file}: mindestens ein [[section]] mit name = \"…\" wird gebraucht.")
    specs: list[SectionSpec] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{file}: Abschnitt {number}"
        if not isinstance(entry, dict) or set(entry) - {"name", "hint"}:
            raise SectionListError(f"{where}: erlaubt sind nur name und hint.")
        name, hint = entry.get("name"), entry.get("hint", "")
        if not isinstance(name, str) or not squash_spaces(name) or len(name) > MAX_NAME:
            raise SectionListError(f"{where}: name muss ein Text mit 1 bis {MAX_NAME} Zeichen sein.")
        if not isinstance(hint, str):
            raise SectionListError(f"{where}: hint muss ein Text sein.")
        if fold(name) in seen:
            raise SectionListError(f"{where}: „{squash_spaces(name)}“ steht zweimal in der Liste.")
        seen.add(fold(name))
        specs.append(SectionSpec(squash_spaces(name), squash_spaces(hint)))
    return specs


def order_sections(sections: dict[str, str], specs: list[SectionSpec]) -> dict[str, str]:
    """A version's sections in the list's order, then the ones the list does not name, as they were."""
    listed = [spec.name for spec in specs if spec.name in sections]
    return {name: sections[name] for name in listed + [n for n in sections if n not in listed]}
