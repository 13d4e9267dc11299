"""The embedded demo region (sample data in survey_templates/demo), checked against the catalogs."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from typing import Any

from core.activity import CONTENT_FIELDS, Activity, activity_key
from core.catalog import CONTACT_ROLES, Catalogs
from core.institution import ContactRecord, InstitutionRecord
from core.sheet_spec import SheetSpec
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


# --- how the demo institutions answer a round (survey_templates/demo/answers.toml) ----------------

ANSWER_KINDS = ("changes", "no_changes")     # upload an edited sheet | click "Keine Änderungen"
REMOVALS = ("row_deleted", "cells_cleared")  # how a row disappears from a returned sheet
ROUND_DAYS = 42                              # the demo round's deadline: six weeks after opening
DAYS_AFTER_DEADLINE = 15                     # the demo plays on this long (reminders up to the phone task)
_YEAR_FIELDS = ("start", "end")
_RELATIVE_YEAR = re.compile(r"Jahr\s*(?:([+-])\s*(\d{1,2}))?")


@dataclass(frozen=True)
class RowEdit:
    """Cells of the row holding the activity ``title`` in the institution's sheet, field key → new value."""

    title: str
    values: dict[str, str]


@dataclass(frozen=True)
class Removal:
    title: str
    how: str  # one of REMOVALS


@dataclass(frozen=True)
class DemoAnswer:
    """What one demo institution does in a round: on ``day`` after opening it uploads its sheet with
    ``changes``, ``new`` rows and ``removed`` rows (a refused upload with ``mistakes`` first, if any), or it
    confirms "no changes". Years in ``start``/``end`` may be relative to the round: ``Jahr``, ``Jahr+2``."""

    institution_code: str
    day: int
    kind: str
    changes: tuple[RowEdit, ...] = ()
    new: tuple[dict[str, str], ...] = ()
    removed: tuple[Removal, ...] = ()
    mistakes: tuple[RowEdit, ...] = ()


def round_year_value(value: str, year: int) -> str:
    """``Jahr``/``Jahr+2``/``Jahr-1`` as the year of the round ``year`` (``"2029"``); other values as they are."""
    found = _RELATIVE_YEAR.fullmatch(value.strip())
    if found is None:
        return value
    offset = int(found[2] or 0) * (-1 if found[1] == "-" else 1)
    return str(year + offset)


def parse_demo_answers(text: str, demo: DemoData, catalogs: Catalogs, spec: SheetSpec) -> list[DemoAnswer]:
    """The demo's answers, each checked against the demo data, the catalogs and the sheet spec, so a broken
    answers file fails here (and in the tests) instead of as a refused sheet in the middle of the demo."""
    data = parse_toml(text, file="Demo-Antworten", error=DemoDataError)
    titles: dict[str, dict[str, Activity]] = {}
    for activity in demo.activities:
        titles.setdefault(activity.institution_code, {})[activity.title] = activity
    codes = {i.code for i in demo.institutions}
    if not demo.baseline_label.isdigit():
        raise DemoDataError(f"Demo-Daten: baseline_label {demo.baseline_label!r} ist keine Jahreszahl.")
    year = int(demo.baseline_label) + 1  # the earliest round the demo plays (see _checked)
    answers: list[DemoAnswer] = []
    for item in data.get("answer", []):
        answer = _answer(item, codes, titles, catalogs, spec, year)
        if answer.institution_code in {a.institution_code for a in answers}:
            raise DemoDataError(f"Demo-Antworten: {answer.institution_code} antwortet zweimal.")
        answers.append(answer)
    if not answers:
        raise DemoDataError("Demo-Antworten: kein [[answer]] enthalten.")
    return sorted(answers, key=lambda a: (a.day, a.institution_code))


def _answer(item: dict[str, Any], codes: set[str], titles: dict[str, dict[str, Activity]], catalogs: Catalogs,
            spec: SheetSpec, year: int) -> DemoAnswer:
    code = str(item.get("institution", ""))
    if code not in codes:
        raise DemoDataError(f"Demo-Antworten: unbekannte Institution {code!r}.")
    unknown = set(item) - {"institution", "day", "kind", "change", "new", "remove", "mistake"}
    if unknown:
        raise DemoDataError(f"Demo-Antworten: {code}: unbekannte Einträge {sorted(unknown)}.")
    day, kind = item.get("day"), item.get("kind")
    if not isinstance(day, int) or not 0 <= day <= ROUND_DAYS + DAYS_AFTER_DEADLINE:
        raise DemoDataError(f"Demo-Antworten: {code}: day = {day!r} ist kein Tag der Runde "
                            f"(0–{ROUND_DAYS + DAYS_AFTER_DEADLINE}).")
    if kind not in ANSWER_KINDS:
        raise DemoDataError(f"Demo-Antworten: {code}: kind = {kind!r} ist nicht eines von {ANSWER_KINDS}.")
    own = titles.get(code, {})
    changes = tuple(_row_edit(code, edit, own, catalogs, spec, year, check=True) for edit in item.get("change", []))
    mistakes = tuple(_row_edit(code, edit, own, catalogs, spec, year, check=False)
                     for edit in item.get("mistake", []))
    removed = tuple(_removal(code, entry, own, catalogs) for entry in item.get("remove", []))
    new = tuple(_new_row(code, entry, catalogs, spec, year) for entry in item.get("new", []))
    if kind == "no_changes" and (changes or mistakes or removed or new):
        raise DemoDataError(f"Demo-Antworten: {code}: eine Antwort „no_changes“ ändert nichts.")
    if kind == "changes" and not (changes or removed or new):
        raise DemoDataError(f"Demo-Antworten: {code}: eine Antwort „changes“ ohne change, new oder remove.")
    touched = [e.title for e in changes] + [r.title for r in removed]
    if len(set(touched)) != len(touched):
        raise DemoDataError(f"Demo-Antworten: {code}: eine Aktivität steht zweimal in change/remove.")
    if {n["title"] for n in new} & set(own):
        raise DemoDataError(f"Demo-Antworten: {code}: eine neue Aktivität trägt den Titel einer vorhandenen.")
    return DemoAnswer(code, day, kind, changes, new, removed, mistakes)


def _values(code: str, entry: dict[str, Any], spec: SheetSpec, *, check: bool = True) -> dict[str, str]:
    editable = {c.key for c in spec.columns if c.kind != "id"}
    unknown = set(entry) - editable
    if unknown:
        raise DemoDataError(f"Demo-Antworten: {code}: {sorted(unknown)} sind keine Spalten der Tabelle.")
    values = {}
    for key, value in entry.items():
        if key in _YEAR_FIELDS and isinstance(value, int):
            value = str(value)
        if not isinstance(value, str):
            raise DemoDataError(f"Demo-Antworten: {code}: {key} = {value!r} ist kein Text.")
        limit = spec.column(key).max_length
        if limit is not None and len(value) > limit:
            raise DemoDataError(f"Demo-Antworten: {code}: {key} ist länger als {limit} Zeichen.")
        if check and key in _YEAR_FIELDS and value and not (value.isdigit() or _RELATIVE_YEAR.fullmatch(value)):
            raise DemoDataError(f"Demo-Antworten: {code}: {key} = {value!r} ist kein Jahr (2027, „Jahr“, „Jahr+1“).")
        values[key] = value
    return values


def _checked(code: str, activity: Activity, catalogs: Catalogs, year: int) -> None:
    """The activity as the demo's answer leaves it must pass the catalogs, its years resolved for the round
    ``year`` (the earliest the demo plays: the baseline's next year; relative years only move later)."""
    activity = replace(activity, start=round_year_value(activity.start, year),
                       end=round_year_value(activity.end, year))
    try:
        _check(activity, catalogs)
    except DemoDataError as exc:
        raise DemoDataError(f"Demo-Antworten: {code}: {exc}") from exc
    if activity.start[:4].isdigit() and activity.end[:4].isdigit() and activity.end[:4] < activity.start[:4]:
        raise DemoDataError(f"Demo-Antworten: {code}: {activity.title!r} endet vor seinem Beginn.")


def _with(activity: Activity, values: dict[str, str]) -> Activity:
    """``activity`` with the sheet values of its own fields; the values of columns a region added go to extra."""
    extra = {**activity.extra, **{k: v for k, v in values.items() if k not in CONTENT_FIELDS}}
    own: dict[str, Any] = {k: v for k, v in values.items() if k in CONTENT_FIELDS}
    return replace(activity, extra=extra, **own)


def _row_edit(code: str, entry: dict[str, Any], own: dict[str, Activity], catalogs: Catalogs, spec: SheetSpec,
              year: int, *, check: bool) -> RowEdit:
    entry = dict(entry)
    title = str(entry.pop("title", ""))
    if title not in own:
        raise DemoDataError(f"Demo-Antworten: {code} hat keine Aktivität {title!r}.")
    values = _values(code, entry, spec, check=check)
    if not values:
        raise DemoDataError(f"Demo-Antworten: {code}: {title!r} ohne Änderung.")
    if check:
        _checked(code, _with(own[title], values), catalogs, year)
        same = [k for k, v in values.items() if k in CONTENT_FIELDS and getattr(own[title], k) == v]
        if same:
            raise DemoDataError(f"Demo-Antworten: {code}: {title!r}: {same} bleibt wie es war.")
    return RowEdit(title, values)


def _removal(code: str, entry: dict[str, Any], own: dict[str, Activity], catalogs: Catalogs) -> Removal:
    title, how = str(entry.get("title", "")), entry.get("how")
    if title not in own:
        raise DemoDataError(f"Demo-Antworten: {code} hat keine Aktivität {title!r}.")
    if how not in REMOVALS:
        raise DemoDataError(f"Demo-Antworten: {code}: how = {how!r} ist nicht eines von {REMOVALS}.")
    if own[title].status in catalogs.ending_statuses:  # an ended activity left out is gone, not missing
        raise DemoDataError(f"Demo-Antworten: {code}: {title!r} ist schon beendet; sie zu entfernen zeigt nichts.")
    return Removal(title, str(how))


def _new_row(code: str, entry: dict[str, Any], catalogs: Catalogs, spec: SheetSpec, year: int) -> dict[str, str]:
    values = _values(code, entry, spec)
    missing = [c.key for c in spec.columns if c.required and not values.get(c.key)]
    if missing:
        raise DemoDataError(f"Demo-Antworten: {code}: der neuen Aktivität {values.get('title')!r} fehlt {missing}.")
    _checked(code, _with(Activity(key=None, institution_code=code, title="", field_of_action="", status=""), values),
             catalogs, year)
    return values
