"""An activity of the action concept: the fields an institution reports, one row of its sheet."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class Activity:
    """One activity. ``key`` is stable across versions (``IHK-0007``); empty only for a new row."""

    key: str | None
    institution_code: str
    title: str
    field_of_action: str
    status: str
    description: str = ""
    start: str = ""  # "2026", "2026-03" or "2026-03-15"
    end: str = ""
    target_groups: str = ""
    area: str = ""
    partners: str = ""
    funding: str = ""
    contact_person: str = ""
    email: str = ""
    link: str = ""
    remarks: str = ""
    # Values of columns a region added to its sheet spec beyond the fields above, header key → text.
    extra: dict[str, str] = field(default_factory=dict)


# Fields an institution edits (everything but the identity of the activity and the extra columns).
CONTENT_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(Activity) if f.name not in ("key", "institution_code", "extra")
)


def activity_key(institution_code: str, number: int) -> str:
    """The stable key of an institution's ``number``-th activity: ``activity_key("IHK", 7)`` → ``IHK-0007``."""
    return f"{institution_code}-{number:04d}"


def activity_to_dict(activity: Activity) -> dict[str, object]:
    """A JSON-ready dict (for snapshots in the database)."""
    return {f.name: getattr(activity, f.name) for f in fields(Activity)}


def activity_from_dict(data: dict[str, object]) -> Activity:
    known = {f.name for f in fields(Activity)}
    values = {k: v for k, v in data.items() if k in known}
    values["extra"] = dict(values.get("extra") or {})  # type: ignore[call-overload]
    return Activity(**values)  # type: ignore[arg-type]
