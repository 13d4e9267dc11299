"""The ministry's roll-up of all regions: activities per state cluster, new/ended, response rates (DESIGN §12).

Regions name their fields of action differently (each has its own catalogs), so an activity's stored field of
action is mapped to one of the state's clusters through a table in ``survey_templates/rollup/clusters.toml``.
A name the table does not know is counted under the table's "unmapped" cluster and listed as a warning:
nothing is dropped, and every activity of a region is counted exactly once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from core.chart import BarChart
from core.text import squash_spaces
from core.toml_text import parse_toml

_DASHES = re.compile("[\u2010-\u2015\u2212-]")


class RollupError(ValueError):
    """The roll-up cannot be made (a broken mapping table, a year without any data); the message is German."""


def name_key(name: str) -> str:
    """How a field's name is compared: case, runs of spaces and the kind of dash do not matter."""
    return _DASHES.sub("-", squash_spaces(name)).casefold()


@dataclass(frozen=True)
class ClusterTable:
    """The state's clusters and which field of action (as a region names it) belongs to which."""

    clusters: tuple[str, ...]
    unmapped: str                                   # the cluster of a name the table does not know
    common: dict[str, str]                          # name_key(field) → cluster, for every region
    by_region: dict[str, dict[str, str]] = field(default_factory=dict)  # region code → name_key → cluster

    def cluster_of(self, region_code: str, field_of_action: str) -> str | None:
        key = name_key(field_of_action)
        own = self.by_region.get(region_code, {})
        return own.get(key) or self.common.get(key)


def _entries(raw: Any, where: str, clusters: tuple[str, ...]) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise RollupError(f"{where}: erwartet eine Tabelle „Handlungsfeld = Cluster“.")
    entries: dict[str, str] = {}
    for name, cluster in raw.items():
        if not isinstance(cluster, str) or cluster not in clusters:
            raise RollupError(f"{where}: „{name}“ = „{cluster}“ ist keiner der Cluster in clusters.")
        key = name_key(name)
        if entries.get(key, cluster) != cluster:
            raise RollupError(f"{where}: „{name}“ steht zweimal, mit verschiedenen Clustern.")
        entries[key] = cluster
    return entries


def parse_cluster_table(text: str, *, file: str = "clusters.toml") -> ClusterTable:
    data = parse_toml(text, file=file, error=RollupError)
    clusters = data.get("clusters")
    if not isinstance(clusters, list) or not clusters or not all(isinstance(c, str) and c.strip() for c in clusters):
        raise RollupError(f"{file}: clusters muss eine Liste von Namen sein.")
    if len(set(clusters)) != len(clusters):
        raise RollupError(f"{file}: ein Cluster steht zweimal in clusters.")
    unmapped = data.get("unmapped", "nicht zugeordnet")
    if not isinstance(unmapped, str) or not unmapped.strip() or unmapped in clusters:
        raise RollupError(f"{file}: unmapped muss ein eigener Name sein (nicht einer der Cluster).")
    names = tuple(clusters)
    regions = data.get("regions", {})
    if not isinstance(regions, dict):
        raise RollupError(f"{file}: [regions.CODE] erwartet je Region eine Tabelle.")
    return ClusterTable(clusters=names, unmapped=unmapped,
                        common=_entries(data.get("fields", {}), f"{file} [fields]", names),
                        by_region={str(code): _entries(raw, f"{file} [regions.{code}]", names)
                                   for code, raw in regions.items()})


# ------------------------------------------------------------------------------------------------ input
@dataclass(frozen=True)
class VersionFacts:
    """A concept version as the roll-up needs it."""

    id: int
    label: str
    published_on: dt.date | None        # None: a draft
    parent_id: int | None = None

    @property
    def year(self) -> int | None:
        """The year the version belongs to: its label when that is a year (a round's version), else the year it
        was published."""
        if self.label.isdigit() and len(self.label) == 4:
            return int(self.label)
        return self.published_on.year if self.published_on else None


@dataclass(frozen=True)
class ActivityFacts:
    key: str
    field_of_action: str
    status: str


@dataclass(frozen=True)
class RegionFacts:
    """One region's data for the roll-up of a year."""

    code: str
    name: str
    version: VersionFacts | None = None               # its latest published version up to the year
    activities: tuple[ActivityFacts, ...] = ()
    previous: VersionFacts | None = None              # the published version before it (for new/ended)
    previous_activities: tuple[ActivityFacts, ...] = ()
    asked: int | None = None                          # requests of the year's round (None: no round that year)
    answered: int | None = None
    ending_statuses: tuple[str, ...] = ("abgeschlossen", "entfällt")


def choose_versions(versions: list[VersionFacts], year: int) -> tuple[VersionFacts | None, VersionFacts | None]:
    """(the latest published version of ``year`` or before, the published version before that one): its parent
    when that is published, else the one published last before it."""
    published = sorted((v for v in versions if v.published_on is not None and (v.year or 0) <= year),
                       key=lambda v: (v.year or 0, v.published_on or dt.date.min, v.id))
    if not published:
        return None, None
    latest = published[-1]
    parent = next((v for v in published if v.id == latest.parent_id), None)
    return latest, parent or (published[-2] if len(published) > 1 else None)


# ------------------------------------------------------------------------------------------------ output
@dataclass(frozen=True)
class FieldCount:
    field_of_action: str     # as the region names it
    cluster: str
    activities: int
    mapped: bool


@dataclass(frozen=True)
class RegionRollup:
    code: str
    name: str
    label: str
    published_on: dt.date
    activities: int                          # running and planned (not ended) activities of the version
    by_cluster: dict[str, int]
    fields: tuple[FieldCount, ...]
    previous_label: str                      # "" for a first version: new/ended are then None
    new: int | None
    ended: int | None
    asked: int | None
    answered: int | None

    @property
    def response_rate(self) -> float | None:
        return round(100 * (self.answered or 0) / self.asked, 1) if self.asked else None


@dataclass(frozen=True)
class RegionWithout:
    """A region without a published version up to the year (its round, if any, still counts)."""

    code: str
    name: str
    asked: int | None
    answered: int | None


@dataclass(frozen=True)
class Unmapped:
    region_code: str
    region_name: str
    field_of_action: str
    activities: int

    def text(self) -> str:
        return (f"{self.region_name}: Handlungsfeld „{self.field_of_action}“ ({self.activities} Aktivitäten) "
                "steht nicht in der Zuordnungstabelle und ist unter „nicht zugeordnet“ gezählt.")


@dataclass(frozen=True)
class Rollup:
    year: int
    stand: dt.date
    clusters: tuple[str, ...]                # the table's clusters, plus the unmapped one when it is used
    regions: tuple[RegionRollup, ...]
    without_version: tuple[RegionWithout, ...]
    unmapped: tuple[Unmapped, ...]

    @property
    def totals_by_cluster(self) -> dict[str, int]:
        return {c: sum(r.by_cluster.get(c, 0) for r in self.regions) for c in self.clusters}

    @property
    def total_activities(self) -> int:
        return sum(r.activities for r in self.regions)

    @property
    def total_new(self) -> int:
        return sum(r.new or 0 for r in self.regions)

    @property
    def total_ended(self) -> int:
        return sum(r.ended or 0 for r in self.regions)

    def rounds(self) -> list[tuple[str, int, int]]:
        """(region name, asked, answered) of every region with a round in the year (with a version first)."""
        rows: list[tuple[str, int | None, int | None]] = [(r.name, r.asked, r.answered) for r in self.regions]
        rows += [(r.name, r.asked, r.answered) for r in self.without_version]
        return [(name, asked, answered or 0) for name, asked, answered in rows if asked]

    @property
    def response(self) -> tuple[int, int]:
        """(asked, answered) over every region with a round in the year."""
        rounds = self.rounds()
        return sum(a for _, a, _ in rounds), sum(b for _, _, b in rounds)

    def charts(self) -> list[BarChart]:
        """The report's figures: activities per cluster (state), per region, and the response rate per region."""
        charts = [BarChart("Aktivitäten je Cluster des Landes", list(self.clusters),
                           [("Aktivitäten", [self.totals_by_cluster[c] for c in self.clusters])]),
                  BarChart("Aktivitäten je Region", [r.name for r in self.regions],
                           [("Aktivitäten", [r.activities for r in self.regions]),
                            ("neu", [r.new or 0 for r in self.regions]),
                            ("beendet", [r.ended or 0 for r in self.regions])])]
        if rounds := self.rounds():
            charts.append(BarChart(f"Rücklauf der Abfrage {self.year} je Region (Prozent)", [n for n, _, _ in rounds],
                                   [("Rücklauf in %", [round(100 * b / a) for _, a, b in rounds])]))
        return charts

    def to_json(self) -> dict[str, Any]:
        asked, answered = self.response
        return {
            "year": self.year, "stand": self.stand.isoformat(), "clusters": list(self.clusters),
            "regions": [{"code": r.code, "name": r.name, "version": r.label, "published_on": r.published_on.isoformat(),
                         "activities": r.activities, "by_cluster": r.by_cluster,
                         "fields": [{"field_of_action": f.field_of_action, "cluster": f.cluster,
                                     "activities": f.activities, "mapped": f.mapped} for f in r.fields],
                         "previous_version": r.previous_label or None, "new": r.new, "ended": r.ended,
                         "asked": r.asked, "answered": r.answered, "response_rate": r.response_rate}
                        for r in self.regions],
            "without_version": [{"code": r.code, "name": r.name, "asked": r.asked, "answered": r.answered}
                                for r in self.without_version],
            "unmapped": [{"region": u.region_code, "field_of_action": u.field_of_action, "activities": u.activities}
                         for u in self.unmapped],
            "totals": {"activities": self.total_activities, "by_cluster": self.totals_by_cluster,
                       "new": self.total_new, "ended": self.total_ended, "asked": asked, "answered": answered},
        }


def new_and_ended(before: tuple[ActivityFacts, ...], after: tuple[ActivityFacts, ...],
                  ending: tuple[str, ...]) -> tuple[int, int]:
    """Keyed by activity ID as core.diff: new is a running key the earlier version lacked; ended is a key that
    ran before and now has an ending status or is gone."""
    old = {a.key: a.status for a in before}
    now = {a.key: a.status for a in after}
    new = sum(1 for key, status in now.items() if key not in old and status not in ending)
    ended = sum(1 for key, status in old.items() if status not in ending and now.get(key, ending[0]) in ending)
    return new, ended


def _region(facts: RegionFacts, table: ClusterTable) -> tuple[RegionRollup, list[Unmapped]]:
    assert facts.version is not None and facts.version.published_on is not None  # noqa: S101 (the caller's filter)
    running = [a for a in facts.activities if a.status not in facts.ending_statuses]
    per_field = Counter(squash_spaces(a.field_of_action) for a in running)
    fields, unmapped, by_cluster = [], [], Counter[str]()
    for name, count in sorted(per_field.items(), key=lambda item: (-item[1], item[0])):
        cluster = table.cluster_of(facts.code, name)
        fields.append(FieldCount(name, cluster or table.unmapped, count, cluster is not None))
        by_cluster[cluster or table.unmapped] += count
        if cluster is None:
            unmapped.append(Unmapped(facts.code, facts.name, name, count))
    new = ended = None
    if facts.previous is not None:
        new, ended = new_and_ended(facts.previous_activities, facts.activities, facts.ending_statuses)
    return RegionRollup(code=facts.code, name=facts.name, label=facts.version.label,
                        published_on=facts.version.published_on, activities=len(running),
                        by_cluster=dict(by_cluster), fields=tuple(fields),
                        previous_label=facts.previous.label if facts.previous else "", new=new, ended=ended,
                        asked=facts.asked, answered=facts.answered), unmapped


def build_rollup(*, year: int, regions: list[RegionFacts], table: ClusterTable, stand: dt.date) -> Rollup:
    """The roll-up of ``year`` over ``regions`` (in the order given). Refused when no region has a published
    version up to that year nor a round in it (most likely a mistyped year)."""
    with_version = [r for r in regions if r.version is not None and r.version.published_on is not None]
    if not with_version and not any(r.asked is not None for r in regions):
        raise RollupError(f"Für {year} gibt es in keiner Region eine veröffentlichte Version des Handlungskonzepts "
                          "und keine Abfrage; bitte das Jahr prüfen.")
    rows: list[RegionRollup] = []
    unmapped: list[Unmapped] = []
    for facts in with_version:
        row, missing = _region(facts, table)
        rows.append(row)
        unmapped += missing
    clusters = table.clusters + ((table.unmapped,) if unmapped else ())
    rows = [replace(row, by_cluster={c: row.by_cluster.get(c, 0) for c in clusters}) for row in rows]
    counted_codes = {r.code for r in with_version}
    without = tuple(RegionWithout(r.code, r.name, r.asked, r.answered) for r in regions
                    if r.code not in counted_codes)
    return Rollup(year=year, stand=stand, clusters=clusters, regions=tuple(rows), without_version=without,
                  unmapped=tuple(unmapped))
