"""Flow `regenerate-concept`: rebuild the draft and render its documents and the change report."""

from __future__ import annotations

import datetime as dt

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from flows import dashboard
from flows.regions import artifact_key, run_name
from flows.runtime import moment, open_year
from usecases.context import app_context
from usecases.documents import render_version
from usecases.versions import refresh_draft


@task(name="render-documents", cache_policy=NO_CACHE)
def render(year: int, today: dt.date | None, pdf: bool = True, region: str | None = None) -> dict[str, object]:
    """Rebuild the draft (unless the year's version is published already), then render it."""
    label = str(year)
    with app_context(region=region) as ctx:
        draft = refresh_draft(ctx, year=year, now=moment(today))
        out_dir = ctx.documents_dir(label)
        result = render_version(ctx, out_dir=out_dir, label=label, today=today, pdf=pdf)
    report = result.change_report_markdown
    return {"label": result.label, "files": [str(p) for p in result.files], "skipped": result.skipped,
            "names": [p.relative_to(out_dir).as_posix() for p in result.files],
            "not_answered": draft.not_answered if draft else [],
            "change_report": report.read_text(encoding="utf-8") if report else None}


@flow(name="regenerate-concept", flow_run_name=run_name)
async def regenerate_concept_flow(year: int | None = None, today: dt.date | None = None,
                                  pdf: bool = True, region: str | None = None) -> dict[str, object]:
    """One region's draft and documents (``region``; needed once the database holds several)."""
    year = open_year(year, region)
    if year is None:
        return {}
    result = render(year, today, pdf, region)
    if result["change_report"]:
        await dashboard.publish_markdown(artifact_key(f"fko-change-report-{year}", region),
                                         str(result["change_report"]),
                                         f"Änderungsbericht {result['label']}")
    with app_context(region=region) as ctx:
        base_url = ctx.settings.base_url
    names = [str(name) for name in result["names"]]  # type: ignore[attr-defined]
    await dashboard.publish_documents(names, label=str(result["label"]), base_url=base_url, region=region)
    return result
