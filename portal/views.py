"""What the institutions' page shows: templates rendered with the site's values, and the values each page needs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.activity import Activity
from core.cellvalue import period_text
from core.dates import BERLIN, german_date, german_datetime, short_date
from core.diff import ActivityDiff
from core.filetype import Limits
from core.receipt import change_summary
from usecases.return_view import CurrentEntries, SubmissionView
from usecases.returns import LinkView
from usecases.site import SiteInfo


@dataclass(frozen=True)
class Page:
    """The portal's templates and the values every one of them shows (agency, region, upload limit)."""

    templates: Environment
    site: dict[str, Any]

    @classmethod
    def load(cls, portal_dir: Path, site: SiteInfo, limits: Limits, root: str = "") -> Page:
        templates = Environment(loader=FileSystemLoader(portal_dir), autoescape=True, undefined=StrictUndefined)
        return cls(templates, {"agency_name": site.agency_name, "agency_email": site.agency_email,
                               "agency_phone": site.agency_phone, "agency_address": site.agency_address,
                               "region_name": site.region_name, "funding_line": site.funding_line,
                               "has_logo": site.logo is not None,
                               "max_mb": limits.max_file_bytes // (1024 * 1024), "root": root})

    def render(self, template: str, title: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = self.templates.get_template(template).render(**self.site, title=title, **values)
        return HTMLResponse(html, status_code=status)

    def error(self, title: str, message: str, status: int, base_path: str = "", **values: Any) -> HTMLResponse:
        return self.render("error.html.j2", title, status=status, message=message, base_path=base_path, **values)

    def neutral(self) -> HTMLResponse:
        """The same answer for every link that is not (or no longer) valid: it tells a guesser nothing."""
        return self.render("neutral.html.j2", "Link nicht gültig", status=404)

    def replaced(self) -> HTMLResponse:
        """A link staff replaced: it says a newer one was sent, and shows nothing of the institution."""
        return self.render("replaced.html.j2", "Neuer Link verschickt", status=410)

    def closed(self, values: dict[str, Any], status: int) -> HTMLResponse:
        return self.render("closed.html.j2", "Die Frist ist abgelaufen", status=status, **values)

    def published(self, values: dict[str, Any], status: int, held_filename: str = "",
                  received_text: str = "") -> HTMLResponse:
        """The round's version is adopted: the page says so and takes nothing more (a file that still came
        is named: it was kept)."""
        return self.render("published.html.j2", "Das Handlungskonzept ist beschlossen", status=status,
                           held_filename=held_filename, received_text=received_text, **values)

    def too_large(self) -> bytes:
        return bytes(self.error("Datei zu groß", status=413, message=(
            f"Die Datei ist zu groß; erlaubt sind höchstens {self.site['max_mb']} MB. Bitte Bilder und leere "
            "Blätter entfernen und erneut hochladen.")).body)


def link_values(link: LinkView, token: str, csrf: str, root: str = "") -> dict[str, Any]:
    """What every page behind a personal link shows about it (``root``: the region's path prefix, if any)."""
    answered = link.answered_at.astimezone(BERLIN) if link.answered_at else None
    return {"link": link, "institution_name": link.institution_name, "base_path": f"{root}/r/{token}",
            "deadline_text": german_date(link.deadline), "open_until_text": german_date(link.open_until),
            "answered_text": german_datetime(answered) if answered else "", "csrf": csrf}


def changed_rows(diff: ActivityDiff, labels: dict[str, str]) -> list[dict[str, Any]]:
    """Changed activities with each field under the column header the institution saw."""
    return [{"key": c.new.key, "title": c.new.title,
             "fields": [{"label": labels.get(f.field, f.field), "old": f.old, "new": f.new} for f in c.fields]}
            for c in diff.changed]


def result_page(page: Page, view: SubmissionView, values: dict[str, Any], labels: dict[str, str]) -> HTMLResponse:
    """A return's outcome: confirmed without changes, refused with its problems, or accepted with its changes
    (and what it asks the institution to check)."""
    received = german_datetime(view.received_at.astimezone(BERLIN))
    if view.outcome == "held":
        return page.published(values, status=200, held_filename=view.filename, received_text=received)
    if view.outcome == "no_changes":
        return page.render("no_changes.html.j2", "Keine Änderungen – bestätigt", received_text=received, **values)
    if view.outcome == "refused" or view.diff is None:
        title = "Bitte die richtige Tabelle hochladen" if view.wrong_file else "Bitte korrigieren"
        return page.render("result.html.j2", title, status=200, accepted=False, filename=view.filename,
                           problems=view.problems, groups=view.problem_groups, wrong_file=view.wrong_file,
                           rows=sum(1 for g in view.problem_groups if g.row is not None), **values)
    diff = view.diff
    return page.render("result.html.j2", "Rückmeldung angenommen", accepted=True, filename=view.filename,
                       received_text=received, base_label=view.base_label, counts=diff.counts(),
                       summary=change_summary(diff, labels), changed=changed_rows(diff, labels),
                       notices=view.notices, notice_groups=view.notice_groups, **values)


def period_span(start: str, end: str) -> str:
    """An activity's period as the table shows it: ``2016 – 2027``, ``ab 03.2026``, ``bis 2027``."""
    if start and end:
        return f"{period_text(start)} – {period_text(end)}"
    if start:
        return f"ab {period_text(start)}"
    return f"bis {period_text(end)}" if end else ""


def entry_rows(activities: list[Activity], *, kept: bool = False) -> list[dict[str, Any]]:
    return [{"title": a.title, "field_of_action": a.field_of_action, "status": a.status,
             "period": period_span(a.start, a.end), "kept": kept} for a in activities]


def entries_values(entries: CurrentEntries) -> dict[str, Any]:
    """The landing page's table of the institution's activities and what state it shows."""
    as_of = entries.as_of.astimezone(BERLIN) if entries.as_of else None
    return {"entries": [*entry_rows(entries.activities), *entry_rows(entries.kept, kept=True)],
            "entries_source": entries.source, "entries_kept": len(entries.kept),
            "entries_label": entries.base_label,
            "entries_date": short_date(as_of.date()) if as_of else "",
            "entries_time": german_datetime(as_of) if as_of else ""}
