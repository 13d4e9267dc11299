"""Flow `publish-concept`: show the draft and its changes, wait for staff approval, then publish."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.flow_runs import pause_flow_run, suspend_flow_run
from prefect.input import RunInput
from pydantic import Field

from core.diff import CHANGE_LABELS
from flows import dashboard
from flows.regenerate_concept import regenerate_concept_flow
from flows.runtime import berlin_today, moment, open_year
from usecases.context import app_context
from usecases.versions import (
    DraftStale,
    diff_versions,
    publish_draft,
    publish_gate,
    published_already,
    version_pair,
)


class Approval(RunInput):
    """The form staff fill in on the dashboard."""

    approve: bool = Field(description="Entwurf freigeben und veröffentlichen?")
    approved_by: str = Field(description="Name der freigebenden Person")
    comment: str = Field(default="", description="Anmerkung (optional)")


@task(name="summarise-draft", cache_policy=NO_CACHE)
def summarise(year: int) -> tuple[str, str]:
    with app_context() as ctx:
        old, new = version_pair(ctx, from_label=None, to_label=str(year), draft_only=True)
        changes = diff_versions(ctx, from_label=old, to_label=new)
    counts = changes.diff.counts()
    against = f"gegenüber {old}" if old else "(erste Fassung)"
    text = f"**Version {new}** {against}: " + ", ".join(f"{label} {counts[kind]}"
                                                        for kind, label in CHANGE_LABELS.items()) + "."
    if changes.not_confirmed:
        text += f"\n\nOhne Rückmeldung (unverändert übernommen): {', '.join(changes.not_confirmed)}."
    return new, text


@task(name="publish-version", cache_policy=NO_CACHE)
def publish(label: str, approved_by: str, today: dt.date | None) -> str:
    with app_context() as ctx:
        return publish_draft(ctx, approved_by=approved_by, now=moment(today), label=label).label


@flow(name="publish-concept")
async def publish_concept_flow(year: int | None = None, today: dt.date | None = None,
                               approved_by: str | None = None, wait_hours: int = 72,
                               pdf: bool = True, early: bool = False) -> dict[str, object]:
    """Regenerate, then wait for approval on the dashboard (a typed form showing the changes).

    In a deployment run the flow is suspended (no process waits, days are fine); run in-process it is
    paused for ``wait_hours``. ``approved_by`` given at start counts as the approval (scripts, the demo).
    While the round still takes answers (deadline plus late days) and institutions have not answered, it
    refuses unless ``early``.
    """
    logger = get_run_logger()
    year = open_year(year)
    if year is None:
        return {"published": None}
    with app_context() as ctx:
        already = published_already(ctx, year=year)
    if already:
        logger.info("Version %s ist bereits veröffentlicht: nichts zu tun.", year)
        return {"published": str(year), "already": True}
    with app_context() as ctx:
        gate = publish_gate(ctx, label=str(year))
    if gate.open_until is not None and gate.waiting(berlin_today(today)) and not early:
        text = (f"Die Abfrage {year} nimmt noch bis {gate.open_until:%d.%m.%Y} Rückmeldungen an; ohne Rückmeldung: "
                f"{', '.join(gate.not_answered)}. Nicht veröffentlicht; vorzeitig nur mit early=true.")
        logger.warning(text)
        await dashboard.publish_markdown(f"fko-approval-{year}", text, f"Version {year}: Abfrage läuft noch")
        return {"published": None, "open_until": gate.open_until.isoformat(), "not_answered": gate.not_answered}
    await regenerate_concept_flow(year=year, today=today, pdf=pdf)
    label, summary = summarise(year)
    await dashboard.publish_markdown(f"fko-approval-{year}", summary, f"Zur Freigabe: Version {label}")
    if approved_by:
        decision = Approval(approve=True, approved_by=approved_by, comment="beim Start freigegeben")
    else:
        form = Approval.with_initial_data(description=f"Freigabe des Handlungskonzepts\n\n{summary}",
                                          approve=False, approved_by="")
        run = FlowRunContext.get()
        from_deployment = bool(run and run.flow_run and run.flow_run.deployment_id)
        if from_deployment:
            decision = await suspend_flow_run(wait_for_input=form, timeout=None)
        else:
            decision = await pause_flow_run(wait_for_input=form, timeout=wait_hours * 3600)
    if not decision.approve:
        logger.info("Nicht freigegeben (%s): der Entwurf bleibt bestehen.", decision.comment or "ohne Anmerkung")
        return {"published": None, "comment": decision.comment}
    try:
        published = publish(label, decision.approved_by, today)
    except DraftStale:
        await regenerate_concept_flow(year=year, today=today, pdf=pdf)
        logger.warning("Seit der Freigabe kam eine Rückmeldung: der Entwurf %s ist aktualisiert, aber nicht "
                       "veröffentlicht. Bitte die Änderungen ansehen und erneut freigeben.", label)
        return {"published": None, "stale": True}
    logger.info("Version %s veröffentlicht, freigegeben von %s", published, decision.approved_by)
    try:
        await regenerate_concept_flow(year=year, today=today, pdf=pdf)  # the documents now say "veröffentlicht"
    except Exception as exc:  # the version is published all the same; the documents can be rendered again
        logger.error("Version %s ist veröffentlicht, aber ihre Dokumente konnten nicht erstellt werden (%s). "
                     "Erneut: Flow regenerate-concept mit year=%s oder fko render --version %s.",
                     published, exc, year, published)
    return {"published": published, "approved_by": decision.approved_by}
