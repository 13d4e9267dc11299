"""Catalogs (fields of action, statuses, areas, target groups, kinds, roles) read from survey_templates."""

from __future__ import annotations

from dataclasses import dataclass

from core.text import fold
from core.toml_text import parse_toml

CONTACT_ROLES = ("primary", "deputy", "head")


class CatalogError(ValueError):
    """The catalog file itself is broken (a staff configuration error, not user input)."""


@dataclass(frozen=True)
class Catalogs:
    fields_of_action: tuple[str, ...]
    statuses: tuple[str, ...]
    ending_statuses: tuple[str, ...]
    areas: tuple[str, ...]
    target_groups: tuple[str, ...]
    institution_kinds: tuple[str, ...]
    role_labels: dict[str, str]
    role_aliases: dict[str, str]

    def role_for(self, text: str) -> str | None:
        """The role key (primary | deputy | head) for a label or alias, case-insensitively."""
        return self.role_aliases.get(fold(text))


def _strings(data: dict[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"catalogs: '{key}' must be a non-empty list of texts")
    if len(set(value)) != len(value):
        raise CatalogError(f"catalogs: '{key}' lists a value twice")
    return tuple(value)


def parse_catalogs(text: str) -> Catalogs:
    """Parse the TOML text of ``catalogs.toml``."""
    data = parse_toml(text, file="catalogs", error=CatalogError)
    statuses = _strings(data, "statuses")
    ending = _strings(data, "ending_statuses")
    if not set(ending) <= set(statuses):
        raise CatalogError("catalogs: every ending status must also be a status")
    roles = data.get("contact_roles")
    if not isinstance(roles, dict) or set(roles) != set(CONTACT_ROLES):
        raise CatalogError(f"catalogs: contact_roles must define exactly {', '.join(CONTACT_ROLES)}")
    labels: dict[str, str] = {}
    aliases: dict[str, str] = {}
    for key in CONTACT_ROLES:
        entry = roles[key]
        label = entry.get("label") if isinstance(entry, dict) else None
        if not isinstance(label, str) or not label.strip():
            raise CatalogError(f"catalogs: contact_roles.{key} needs a label")
        labels[key] = label
        for alias in [key, label, *entry.get("aliases", [])]:
            aliases[fold(str(alias))] = key
    return Catalogs(
        fields_of_action=_strings(data, "fields_of_action"),
        statuses=statuses,
        ending_statuses=ending,
        areas=_strings(data, "areas"),
        target_groups=_strings(data, "target_groups"),
        institution_kinds=_strings(data, "institution_kinds"),
        role_labels=labels,
        role_aliases=aliases,
    )
