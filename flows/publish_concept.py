"""Flow `publish-concept`: show the draft and its changes, wait for staff approval, then publish."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Literal

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.flow_runs import apause_flow_run, asuspend_flow_run
from prefect.input import RunInput
from prefect.input.actions import acreate_flow_run_input, aread_flow_run_input
from pydantic import Field

from core.diff import CHANGE_LABELS
from flows import dashboard
from flows.regenerate_concept import regenerate_concept_flow
from flows.regions import artifact_key, run_name
from flows.runtime import berlin_today, moment, open_year
from usecases.approval import reject
from usecases.context import app_context
from usecases.versions import (
    DraftStale,
    NoDraft,
    diff_versions,
    publish_draft,
    publish_gate,
    published_already,
    version_pair,
    version_status,
)

Decision = Literal["freigeben", "ablehnen"]
APPROVE: Decision = "freigeben"
SHOWN_DRAFT = "fko-shown-draft"  # flow run input: the fingerprint of the draft put before staff


class Approval(RunInput):
    """The form staff fill in on the dashboard (the run waits for it). Checked by the Prefect server on resume."""

    decision: Decision = Field(
        title="Entscheidung",
        description="„freigeben“ veröffentlicht den Entwurf; „ablehnen“ lässt ihn als Entwurf bestehen.")
    name: str = Field(title="Name", description="Wer entscheidet (steht bei einer Freigabe im Handlungskonzept).",
                      min_length=1, max_length=120, pattern=r"\S")
    comment: str = Field(default="", title="Anmerkung", max_length=2000,
                         description="Bei Ablehnung: was zu ändern ist (auf dem Dashboard für alle sichtbar). "
                                     "Bei Freigabe: optional.")

    @property
    def approve(self) -> bool:
        return self.decision == APPROVE


@task(name="summarise-draft", cache_policy=NO_CACHE)
def summarise(year: int, region: str | None = None) -> tuple[str, str, str]:
    """The draft's label, what staff read before deciding, and a fingerprint of the draft's content (an
    approval counts only for the draft that was shown)."""
    with app_context(region=region) as ctx:
        old, new = version_pair(ctx, from_label=None, to_label=str(year), draft_only=True)
        changes = diff_versions(ctx, from_label=old, to_label=new)
    counts = changes.diff.counts()
    against = f"gegenüber {old}" if old else "(erste Fassung)"
    text = f"**Version {new}** {against}: " + ", ".join(f"{label} {counts[kind]}"
                                                        for kind, label in CHANGE_LABELS.items()) + "."
    if changes.not_confirmed:
        text += f"\n\nOhne Rückmeldung (unverändert übernommen): {', '.join(changes.not_confirmed)}."
    fingerprint = hashlib.sha256(repr((new, changes.diff, changes.not_confirmed)).encode()).hexdigest()
    return new, text, fingerprint


@task(name="publish-version", cache_policy=NO_CACHE)
def publish(label: str, approved_by: str, today: dt.date | None, region: str | None = None) -> str | None:
    """The version's label, or None when it was published already (another approval came first)."""
    with app_context(region=region) as ctx:
        try:
            return publish_draft(ctx, approved_by=approved_by, now=moment(today), label=label).label
        except NoDraft:
            if version_status(ctx, label=label) == "published":
                return None
            raise


async def shown_draft() -> str | None:
    """The fingerprint saved before this run waited for the form: set when a suspended run starts again."""
    run = FlowRunContext.get()
    if run is None or run.flow_run is None:
        return None
    value = await aread_flow_run_input(key=SHOWN_DRAFT, flow_run_id=run.flow_run.id)
    return str(value) if value else None


async def wait_for_decision(summary: str, fingerprint: str, *, label: str, wait_hours: int) -> Approval:
    """The form on the dashboard. A deployment run is suspended (no process waits; it starts again from the
    top when staff answer); run in-process it is paused for ``wait_hours``."""
    run = FlowRunContext.get()
    if run is None or run.flow_run is None:
        raise RuntimeError("publish-concept waits for approval only inside a flow run")
    if not await shown_draft():
        await acreate_flow_run_input(key=SHOWN_DRAFT, value=fingerprint, flow_run_id=run.flow_run.id)
    form = Approval.with_initial_data(
        description=f"## Freigabe des Handlungskonzepts {label}\n\n{summary}\n\n"
                    "Die Dokumente und den Änderungsbericht zeigen die Artefakte dieses Laufs. "
                    "Entscheidung „freigeben“ veröffentlicht die Version; „ablehnen“ lässt den Entwurf bestehen.")
    if run.flow_run.deployment_id:
        return await asuspend_flow_run(wait_for_input=form, timeout=None)
    return await apause_flow_run(wait_for_input=form, timeout=wait_hours * 3600)


@task(name="record-rejection", cache_policy=NO_CACHE)
def record_rejection(label: str, name: str, comment: str, region: str | None = None) -> None:
    with app_context(region=region) as ctx:
        reject(ctx, label=label, staff=name, comment=comment)


@flow(name="publish-concept", flow_run_name=run_name)
async def publish_concept_flow(year: int | None = None, today: dt.date | None = None,
                               approved_by: str | None = None, wait_hours: int = 72,
                               pdf: bool = True, early: bool = False, region: str | None = None) -> dict[str, object]:
    """Regenerate, then wait for approval on the dashboard (a typed form showing the changes).

    In a deployment run the flow is suspended (no process waits, days are fine) and starts again from the
    top once staff answer; run in-process it is paused for ``wait_hours``. ``approved_by`` given at start
    counts as the approval (scripts, the demo). While the round still takes answers (deadline plus late
    days) and institutions have not answered, it refuses unless ``early``. A version is published once: a
    later approval does nothing and says so; an approval of a draft that changed since it was shown
    publishes nothing either. ``region``: whose draft (needed once the database holds several).
    """
    logger = get_run_logger()
    year = open_year(year, region)
    if year is None:
        return {"published": None}
    key = artifact_key(f"fko-approval-{year}", region)
    with app_context(region=region) as ctx:
        already = published_already(ctx, year=year)
    if already:
        text = f"Version {year} ist bereits veröffentlicht: diese Freigabe bewirkt nichts."
        logger.info(text)
        await dashboard.publish_markdown(key, text, f"Version {year}: bereits veröffentlicht")
        return {"published": str(year), "already": True}
    with app_context(region=region) as ctx:
        gate = publish_gate(ctx, label=str(year))
    if gate.open_until is not None and gate.waiting(berlin_today(today)) and not early:
        text = (f"Die Abfrage {year} nimmt noch bis {gate.open_until:%d.%m.%Y} Rückmeldungen an; ohne Rückmeldung: "
                f"{', '.join(gate.not_answered)}. Nicht veröffentlicht; vorzeitig nur mit early=true.")
        logger.warning(text)
        await dashboard.publish_markdown(key, text, f"Version {year}: Abfrage läuft noch")
        return {"published": None, "open_until": gate.open_until.isoformat(), "not_answered": gate.not_answered}
    shown = await shown_draft()  # set: staff answered the form of this run, which now starts again
    if shown is None:
        await regenerate_concept_flow(year=year, today=today, pdf=pdf, region=region)
    label, summary, fingerprint = summarise(year, region)
    if approved_by:
        decision = Approval(decision=APPROVE, name=approved_by, comment="beim Start freigegeben")
    else:
        if shown is None:
            await dashboard.publish_markdown(key, summary, f"Zur Freigabe: Version {label}")
        decision = await wait_for_decision(summary, fingerprint, label=label, wait_hours=wait_hours)
        shown = shown or fingerprint
    when = berlin_today(today)
    if not decision.approve:
        comment = decision.comment.strip() or "ohne Anmerkung"
        text = (f"**Nicht freigegeben** von {decision.name} am {when:%d.%m.%Y}.\n\nAnmerkung: {comment}\n\n"
                f"Der Entwurf {label} bleibt bestehen. Nach den Änderungen den Flow publish-concept erneut starten.")
        logger.warning("Version %s nicht freigegeben von %s (%s): der Entwurf bleibt bestehen.", label,
                       decision.name, comment)
        await dashboard.publish_markdown(key, text, f"Version {label}: nicht freigegeben")
        record_rejection(label, decision.name, decision.comment, region)  # shown with the draft in the staff area too
        return {"published": None, "rejected_by": decision.name, "comment": decision.comment}
    if shown is not None and summarise(year, region)[2] != shown:
        return await changed_since_shown(key, label, year=year, today=today, pdf=pdf, region=region)
    try:
        published = publish(label, decision.name, today, region)
    except DraftStale:
        return await changed_since_shown(key, label, year=year, today=today, pdf=pdf, region=region)
    if published is None:
        text = f"Version {label} war bereits veröffentlicht: die Freigabe von {decision.name} bewirkt nichts."
        logger.info(text)
        await dashboard.publish_markdown(key, text, f"Version {label}: bereits veröffentlicht")
        return {"published": label, "already": True}
    logger.info("Version %s veröffentlicht, freigegeben von %s", published, decision.name)
    await dashboard.publish_markdown(key, f"**Veröffentlicht** am {when:%d.%m.%Y}, freigegeben von {decision.name}."
                                     + (f"\n\nAnmerkung: {decision.comment}" if decision.comment.strip() else ""),
                                     f"Version {published}: veröffentlicht")
    try:
        await regenerate_concept_flow(year=year, today=today, pdf=pdf, region=region)  # now "veröffentlicht"
    except Exception as exc:  # the version is published all the same; the documents can be rendered again
        logger.error("Version %s ist veröffentlicht, aber ihre Dokumente konnten nicht erstellt werden (%s). "
                     "Erneut: Flow regenerate-concept mit year=%s oder fko render --version %s.",
                     published, exc, year, published)
    return {"published": published, "approved_by": decision.name}


async def changed_since_shown(key: str, label: str, *, year: int, today: dt.date | None,
                              pdf: bool, region: str | None = None) -> dict[str, object]:
    """An answer came in (or the draft was rebuilt) after staff saw it: nothing is published."""
    await regenerate_concept_flow(year=year, today=today, pdf=pdf, region=region)
    text = (f"Seit der Vorlage hat sich der Entwurf {label} geändert (eine Rückmeldung kam hinzu): er ist "
            "aktualisiert, aber nicht veröffentlicht. Bitte die Änderungen ansehen und erneut freigeben "
            "(Flow publish-concept).")
    get_run_logger().warning(text)
    await dashboard.publish_markdown(key, text, f"Version {label}: nicht veröffentlicht, Entwurf geändert")
    return {"published": None, "stale": True}
