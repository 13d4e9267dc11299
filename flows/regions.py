"""One flow run per region: a run without a region, on a database with several, starts the same flow per region.

Fan-out, not one deployment per region: the region list is read when the run starts (a region added with
`fko init --region-file` needs no re-deploy), and each region's run is a flow run of its own that any worker
may pick up and that fails alone. In a deployment run the regions' runs are started through the same
deployment (Prefect's own queue, no waiting); called directly (tests, `fko demo`) they run one after another
in this process as subflows. With one region nothing is split: the run works as it always did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prefect import get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.context import FlowRunContext
from prefect.states import Failed, State

from usecases.context import app_context
from usecases.site import region_sites


def region_codes(region: str | None) -> list[str] | None:
    """The regions to start a run for each, or None when this run works on one region itself (``region``
    given, or the database holds only one)."""
    if region:
        return None
    with app_context() as ctx:
        codes = [site.code for site in region_sites(ctx)]
    return codes if len(codes) > 1 else None


def artifact_key(base: str, region: str | None) -> str:
    """``fko-response-table-2026`` → ``fko-response-table-koeln-2026`` (a year at the end stays last), so 16
    regions' artifacts do not overwrite each other; without a region the key is unchanged."""
    if not region:
        return base
    head, sep, year = base.rpartition("-")
    return f"{head}-{region}-{year}" if sep and year.isdigit() else f"{base}-{region}"


def run_name() -> str:
    """The name of a flow run: the region's code in front, so a region's runs are found on the dashboard."""
    from prefect.runtime import flow_run
    from prefect.utilities.names import generate_slug

    region = flow_run.parameters.get("region")
    slug = generate_slug(2)
    return f"{region}-{slug}" if region else slug


FlowCall = Callable[..., Awaitable[Any]]


async def run_per_region(flow: FlowCall, codes: list[str], parameters: dict[str, Any],
                         *, what: str) -> dict[str, object] | State:
    """Start ``flow`` once for every region of ``codes`` with ``parameters`` and the region; ``what`` names the
    work in German for the log ("Eröffnung", "Erinnerungen")."""
    run = FlowRunContext.get()
    if run is not None and run.flow_run is not None and run.flow_run.deployment_id is not None:
        return await _start_deployment_runs(run.flow_run, run.flow.name, codes, parameters, what=what)
    return await _run_in_turn(flow, codes, parameters, what=what)


async def _start_deployment_runs(parent: Any, flow_name: str, codes: list[str], parameters: dict[str, Any],
                                 *, what: str) -> dict[str, object]:
    """One flow run of this deployment per region, queued for any worker; this run does not wait for them.
    A re-run of this run (retry) starts no region twice (idempotency key per parent run and region)."""
    from prefect.deployments import run_deployment

    started: dict[str, str] = {}
    for code in codes:
        child = await run_deployment(name=parent.deployment_id, parameters={**parameters, "region": code},
                                     timeout=0, idempotency_key=f"{parent.id}:{code}")
        started[code] = str(child.id)
    get_run_logger().info("%s: %s Läufe gestartet, einer je Region (%s).", what, len(started), ", ".join(started))
    lines = [f"**{what}**: ein Lauf je Region gestartet; jede Region ist ein eigener Lauf und scheitert allein.",
             "", "| Region | Lauf |", "|---|---|", *(f"| {code} | {run_id} |" for code, run_id in started.items())]
    await create_markdown_artifact(key=f"fko-regionen-{flow_name}",
                                   markdown="\n".join(lines), description=f"{what}: Läufe je Region")
    return {"regions": started}


async def _run_in_turn(flow: FlowCall, codes: list[str], parameters: dict[str, Any],
                       *, what: str) -> dict[str, object] | State:
    """Each region as a subflow, one after another; a failed region does not stop the next. At the end the
    run fails naming the regions that failed (one line), or returns every region's result."""
    logger = get_run_logger()
    results: dict[str, object] = {}
    failed: dict[str, str] = {}
    for code in codes:
        state = await flow(**parameters, region=code, return_state=True)
        outcome = await state.aresult(raise_on_failure=False)
        if state.is_completed():
            results[code] = outcome
        else:  # the exception's own (German) line rather than Prefect's English wrapper around it
            failed[code] = str(outcome) if isinstance(outcome, Exception) else (state.message or state.name)
            logger.error("%s für Region %s fehlgeschlagen: %s", what, code, failed[code])
    if failed:
        names = "; ".join(f"{code}: {reason}" for code, reason in failed.items())
        done = len(codes) - len(failed)
        return Failed(message=f"{what} fehlgeschlagen für {len(failed)} von {len(codes)} Regionen ({names}); "
                              f"die übrigen {done} sind erledigt.",
                      data={"regions": results, "failed": failed})
    return {"regions": results}
