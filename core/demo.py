"""The embedded demo region (sample data in survey_templates/demo), checked against the catalogs."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from core.activity import Activity, activity_key
from core.catalog import CONTACT_ROLES, Catalogs
from core.institution import ContactRecord, InstitutionRecord
from core.toml_text import parse_toml


class DemoDataError(ValueError):
    """The shipped demo data contradicts the catalogs (a packaging bug, caught by tests)."""


@dataclass(frozen=True)
class DemoData:
    notice: str
    baseline_label: str
    baseline_published_at: dt.date
    baseline_approved_by: str
    institutions: list[InstitutionRecord]
    activities: list[Activity]
    sections: dict[str, str]


def _split_groups(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", ";").split(";") if part.strip()]


def parse_demo(text: str, catalogs: Catalogs) -> DemoData:
    data = parse_toml(text, file="demo data", error=DemoDataError)
    institutions = [
        InstitutionRecord(
            code=item["code"],
            name=item["name"],
            kind=item.get("kind") or None,
            local_authority=item.get("local_authority") or None,
            contacts=[ContactRecord(c["name"], c["email"], c["role"], salutation=c.get("salutation"),
                                    phone=c.get("phone")) for c in item["contacts"]],
        )
        for item in data["institution"]
    ]
    codes = {i.code for i in institutions}
    counters = dict.fromkeys(codes, 0)
    activities: list[Activity] = []
    for item in data["activity"]:
        code = item.pop("institution")
        if code not in codes:
            raise DemoDataError(f"demo activity {item['title']!r} names unknown institution {code!r}")
        counters[code] += 1
        activity = Activity(key=activity_key(code, counters[code]), institution_code=code, **item)
        _check(activity, catalogs)
        activities.append(activity)
    for institution in institutions:
        _check_institution(institution, catalogs)
    return DemoData(
        notice=data["notice"],
        baseline_label=data["baseline_label"],
        baseline_published_at=dt.date.fromisoformat(data["baseline_published_at"]),
        baseline_approved_by=data["baseline_approved_by"],
        institutions=institutions,
        activities=activities,
        sections={str(k): str(v).strip() for k, v in data.get("sections", {}).items()},
    )


def _check_institution(institution: InstitutionRecord, catalogs: Catalogs) -> None:
    if institution.kind and institution.kind not in catalogs.institution_kinds:
        raise DemoDataError(f"{institution.code}: kind {institution.kind!r} is not in the catalog")
    if institution.local_authority and institution.local_authority not in catalogs.areas:
        raise DemoDataError(f"{institution.code}: area {institution.local_authority!r} is not in the catalog")
    for contact in institution.contacts:
        if contact.role not in CONTACT_ROLES:
            raise DemoDataError(f"{institution.code}: unknown role {contact.role!r}")


def _check(activity: Activity, catalogs: Catalogs) -> None:
    where = f"{activity.key} ({activity.title})"
    if activity.field_of_action not in catalogs.fields_of_action:
        raise DemoDataError(f"{where}: field of action {activity.field_of_action!r} is not in the catalog")
    if activity.status not in catalogs.statuses:
        raise DemoDataError(f"{where}: status {activity.status!r} is not in the catalog")
    if activity.area and activity.area not in catalogs.areas:
        raise DemoDataError(f"{where}: area {activity.area!r} is not in the catalog")
    unknown = [g for g in _split_groups(activity.target_groups) if g not in catalogs.target_groups]
    if unknown:
        raise DemoDataError(f"{where}: target groups {unknown} are not in the catalog")
