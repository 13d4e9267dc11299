"""The state demo's further regions (survey_templates/demo/state/*.toml), checked against their catalogs.

Each file is one region: its agency, optionally its own fields of action and areas (it then gets a templates
folder of its own), its institutions, its activities of the demo year (which were new in that year's round and
which ended in it) and who answered the round.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from core.activity import Activity, activity_key
from core.catalog import Catalogs
from core.demo import DemoDataError
from core.institution import ContactRecord, InstitutionRecord
from core.region import RegionProfile
from core.toml_text import parse_toml

ENDED_STATUS = "abgeschlossen"


@dataclass(frozen=True)
class StateDemoRegion:
    profile: RegionProfile
    fields_of_action: tuple[str, ...]          # empty: the bundled catalog's
    areas: tuple[str, ...]                     # empty: the bundled catalog's
    institutions: list[InstitutionRecord]
    baseline: list[Activity]                   # the version of the year before (empty: no version yet)
    current: list[Activity]                    # the version the round of the demo year published
    answered: tuple[str, ...]                  # institution codes that answered the round
    published: bool                            # False: the round still runs, no version of the year

    @property
    def own_catalog(self) -> bool:
        return bool(self.fields_of_action or self.areas)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise DemoDataError(f"{where}: erwartet eine Liste von Texten.")
    return tuple(value)


def parse_state_region(text: str, catalogs: Catalogs, *, file: str) -> StateDemoRegion:
    """One region file; ``catalogs`` are the bundled ones (the region's own lists replace theirs)."""
    data = parse_toml(text, file=file, error=DemoDataError)
    region, round_ = data.get("region", {}), data.get("round", {})
    try:
        code, name = str(region["code"]), str(region["name"])
        profile = RegionProfile(code=code, name=name, agency_name=str(region["agency_name"]),
                                agency_email=str(region["agency_email"]))
    except KeyError as exc:
        raise DemoDataError(f"{file}: [region] {exc.args[0]} fehlt.") from None
    fields = _strings(region["fields_of_action"], f"{file}: fields_of_action") \
        if "fields_of_action" in region else ()
    areas = _strings(region["areas"], f"{file}: areas") if "areas" in region else ()
    institutions = [InstitutionRecord(code=str(i["code"]), name=str(i["name"]), kind=i.get("kind"),
                                      contacts=[ContactRecord(str(i["contact"]["name"]), str(i["contact"]["email"]),
                                                              "primary")])
                    for i in data.get("institution", [])]
    codes = {i.code for i in institutions}
    for institution in institutions:
        if institution.kind and institution.kind not in catalogs.institution_kinds:
            raise DemoDataError(f"{file}: {institution.code}: Art {institution.kind!r} steht nicht im Katalog.")
    allowed = fields or catalogs.fields_of_action
    numbers = dict.fromkeys(codes, 0)
    baseline: list[Activity] = []
    current: list[Activity] = []
    for item in data.get("activity", []):
        code_of = str(item.get("institution", ""))
        if code_of not in codes:
            raise DemoDataError(f"{file}: Aktivität {item.get('title')!r}: unbekannte Institution {code_of!r}.")
        if item.get("field_of_action") not in allowed:
            raise DemoDataError(f"{file}: {item.get('title')!r}: Handlungsfeld {item.get('field_of_action')!r} "
                                "steht nicht in der Liste der Region.")
        if item.get("status") not in catalogs.statuses or item.get("status") in catalogs.ending_statuses:
            raise DemoDataError(f"{file}: {item.get('title')!r}: Status {item.get('status')!r} ist kein laufender.")
        numbers[code_of] += 1
        activity = Activity(key=activity_key(code_of, numbers[code_of]), institution_code=code_of,
                            title=str(item["title"]), field_of_action=str(item["field_of_action"]),
                            status=str(item["status"]), start="2024", end="2027", area="gesamte Region")
        if not item.get("new", False):
            baseline.append(activity)
        current.append(replace(activity, status=ENDED_STATUS) if item.get("ended", False) else activity)
    answered = _strings(round_.get("answered", []), f"{file}: [round] answered") if round_.get("answered") else ()
    if set(answered) - codes:
        raise DemoDataError(f"{file}: [round] answered nennt unbekannte Institutionen {sorted(set(answered) - codes)}.")
    has_baseline = bool(round_.get("baseline", True))
    return StateDemoRegion(profile=profile, fields_of_action=fields, areas=areas, institutions=institutions,
                           baseline=baseline if has_baseline else [], current=current, answered=answered,
                           published=bool(round_.get("published", True)))
