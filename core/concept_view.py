"""What a concept document shows: activities grouped by field of action, then institution; index; sections."""

from __future__ import annotations

import base64
import datetime as dt
import re
from dataclasses import dataclass, field

from markdown_it import MarkdownIt

from core.activity import Activity
from core.catalog import Catalogs
from core.cellvalue import period_text
from core.chart import BarChart
from core.dates import german_date
from core.text import squash_spaces, without_controls


@dataclass(frozen=True)
class ActivityView:
    key: str
    title: str
    institution_code: str
    institution_name: str
    field_of_action: str
    status: str
    description: str
    period: str
    target_groups: str
    area: str
    partners: str
    funding: str
    contact: str
    link: str
    remarks: str
    confirmed: bool
    flag: str | None

    def details(self) -> list[tuple[str, str]]:
        """Label/value pairs that have a value, in reading order."""
        pairs = [("Status", self.status), ("Zeitraum", self.period), ("Zielgruppen", self.target_groups),
                 ("Gebiet", self.area), ("Partner", self.partners), ("Finanzierung", self.funding),
                 ("Ansprechperson", self.contact), ("Link", self.link), ("Bemerkungen", self.remarks)]
        return [(label, value) for label, value in pairs if value]


@dataclass
class InstitutionGroup:
    code: str
    name: str
    activities: list[ActivityView] = field(default_factory=list)


@dataclass
class FieldGroup:
    name: str
    anchor: str
    institutions: list[InstitutionGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(i.activities) for i in self.institutions)


@dataclass(frozen=True)
class Section:
    title: str
    markdown: str
    html: str

    @property
    def paragraphs(self) -> list[str]:
        """Plain-text paragraphs (for Word): Markdown emphasis and heading marks removed."""
        plain = [re.sub(r"(\*\*|__|`|^#+\s*)", "", p.strip()) for p in self.markdown.split("\n\n")]
        return [squash_spaces(p) for p in plain if p]


@dataclass
class ConceptView:
    region_name: str
    agency_name: str
    label: str
    status: str
    stand: str
    notice: str
    sections: list[Section]
    groups: list[FieldGroup]
    ended: list[ActivityView]
    index: list[InstitutionGroup]
    funding_line: str = ""
    logo_uri: str = ""      # the region's logo as a data: URI for self-contained HTML, or ""
    logo: bytes = b""       # the same logo as bytes (Word), or b""
    published_on: str = ""  # German date of publication, "" for a draft
    approved_by: str = ""

    @property
    def is_draft(self) -> bool:
        return self.status != "published"

    @property
    def status_text(self) -> str:
        """The version's true status: "Entwurf, Stand …" or "veröffentlicht am …, freigegeben von …"."""
        if self.is_draft:
            return f"Entwurf, Stand {self.stand}"
        approval = f", freigegeben von {self.approved_by}" if self.approved_by else ""
        return f"veröffentlicht am {self.published_on or self.stand}{approval}"

    @property
    def status_line(self) -> str:
        return f"Version {self.label} · {self.status_text}"

    @property
    def header_line(self) -> str:
        """The running header of every page."""
        draft = " · ENTWURF" if self.is_draft else ""
        return f"Handlungskonzept Fachkräfteoffensive · {self.region_name} · Version {self.label}{draft}"

    @property
    def active_count(self) -> int:
        return sum(g.count for g in self.groups)

    def field_chart(self) -> str:
        """Activities per field of action as an accessible bar chart (an <img> with its text alternative)."""
        return BarChart("Laufende und geplante Aktivitäten je Handlungsfeld", [g.name for g in self.groups],
                        [("Aktivitäten", [g.count for g in self.groups])]).img()

    def all_activities(self) -> list[ActivityView]:
        return [a for g in self.groups for i in g.institutions for a in i.activities] + self.ended


def _period(activity: Activity) -> str:
    start = period_text(activity.start) if activity.start else ""
    end = period_text(activity.end) if activity.end else ""
    if start and end:
        return f"{start} bis {end}"
    return f"ab {start}" if start else (f"bis {end}" if end else "")


def markdown_to_html(text: str) -> str:
    """Staff-written Markdown as HTML; raw HTML in it is shown as text, never run."""
    return str(MarkdownIt("commonmark", {"html": False}).enable("table").render(text))


def build_view(*, activities: list[Activity], flags: dict[str, tuple[bool, str | None]], catalogs: Catalogs,
               institutions: dict[str, str], region_name: str, agency_name: str, label: str, status: str,
               stand: dt.date, notice: str, sections: dict[str, str], funding_line: str = "",
               logo: tuple[bytes, str] | None = None, published_on: dt.date | None = None,
               approved_by: str = "") -> ConceptView:
    views = [ActivityView(
        key=a.key or "", title=a.title, institution_code=a.institution_code,
        institution_name=institutions.get(a.institution_code, a.institution_code), field_of_action=a.field_of_action,
        status=a.status, description=a.description, period=_period(a), target_groups=a.target_groups, area=a.area,
        partners=a.partners, funding=a.funding, contact=" · ".join(x for x in (a.contact_person, a.email) if x),
        link=a.link, remarks=a.remarks, confirmed=flags.get(a.key or "", (True, None))[0],
        flag=flags.get(a.key or "", (True, None))[1]) for a in activities]
    active = [v for v in views if v.status not in catalogs.ending_statuses]
    order = {f: n for n, f in enumerate(catalogs.fields_of_action)}
    groups: list[FieldGroup] = []
    for name in sorted({v.field_of_action for v in active}, key=lambda f: (order.get(f, 99), f)):
        group = FieldGroup(name=name, anchor=f"hf-{order.get(name, 99) + 1}")
        members = [v for v in active if v.field_of_action == name]
        for code in sorted({v.institution_code for v in members}, key=lambda c: institutions.get(c, c)):
            own = [v for v in members if v.institution_code == code]
            group.institutions.append(InstitutionGroup(code, own[0].institution_name, own))
        groups.append(group)
    index = [InstitutionGroup(code, institutions.get(code, code), [v for v in views if v.institution_code == code])
             for code in sorted({v.institution_code for v in views}, key=lambda c: institutions.get(c, c))]
    return ConceptView(
        region_name=region_name, agency_name=agency_name, label=label, status=status,
        stand=german_date(stand, weekday=False),
        notice=notice,
        sections=[Section(without_controls(t), without_controls(md), markdown_to_html(without_controls(md)))
                  for t, md in sections.items()],
        groups=groups, ended=[v for v in views if v.status in catalogs.ending_statuses], index=index,
        funding_line=funding_line,
        logo_uri=f"data:{logo[1]};base64,{base64.b64encode(logo[0]).decode()}" if logo else "",
        logo=logo[0] if logo else b"", approved_by=approved_by or "",
        published_on=german_date(published_on, weekday=False) if published_on else "")
