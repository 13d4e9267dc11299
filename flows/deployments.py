"""The deployments of fko-cycle: one list for `fko serve`, mirrored by prefect.yaml (a test keeps them equal)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from cronsim import CronSim

from core.dates import BERLIN

TIMEZONE = BERLIN.key  # "Europe/Berlin", as Prefect schedules want it
# The scheduled runs carry no region: on a database with several regions they start one run per region
# (flows.regions); the page's event names its region ("fko.institution.<region>.<code>", payload "region").
RETURN_EVENT = "fko.return.received"


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment as `fko serve` builds it; prefect.yaml lists the same."""

    name: str                       # the deployment
    flow_name: str                  # the @flow(name=...) it runs
    entrypoint: str
    cron: str | None = None
    description: str = ""
    trigger: dict[str, Any] | None = None
    parameters: dict[str, Any] = field(default_factory=dict)


DEPLOYMENTS = [
    DeploymentSpec("yearly-opening", "open-cycle", "flows/open_cycle.py:open_cycle_flow",
                   cron="0 9 1 9 *", description="Jährliche Eröffnung der Abfrage (1. September, 9 Uhr)"),
    DeploymentSpec("daily-reminders", "escalate-reminders", "flows/escalate_reminders.py:escalate_reminders_flow",
                   cron="0 7 * * 1-5", description="Erinnerungen und Eskalation, werktags 7 Uhr"),
    DeploymentSpec("ingest-returns", "ingest-returns", "flows/ingest_returns.py:ingest_returns_flow",
                   cron="*/10 * * * *",
                   description="Rückmeldungen verarbeiten (Seite, Postfach, Eingangsordner): bei jedem Eingang, "
                               "sonst alle 10 Minuten",
                   trigger={"expect": [RETURN_EVENT], "match": {"prefect.resource.id": "fko.institution.*"},
                            "parameters": {"institution": "{{ event.payload.institution }}",
                                           "region": "{{ event.payload.region }}"}}),
    DeploymentSpec("regenerate-concept", "regenerate-concept",
                   "flows/regenerate_concept.py:regenerate_concept_flow",
                   description="Entwurf und Dokumente neu erzeugen"),
    DeploymentSpec("publish-concept", "publish-concept", "flows/publish_concept.py:publish_concept_flow",
                   description="Entwurf zur Freigabe vorlegen und veröffentlichen"),
    DeploymentSpec("close-cycle", "close-cycle", "flows/close_cycle.py:close_cycle_flow",
                   description="Abfrage beenden (Links ungültig)"),
    DeploymentSpec("daily-cleanup", "cleanup", "flows/cleanup.py:cleanup_flow", cron="30 3 * * *",
                   description="Aufbewahrungsfristen anwenden (täglich 3:30 Uhr)"),
]


def next_yearly_opening(now: dt.datetime) -> dt.datetime:
    """When the yearly opening runs next, in Europe/Berlin (shown to staff: the scheduler looks 100 days ahead)."""
    spec = next(d for d in DEPLOYMENTS if d.name == "yearly-opening")
    local = now.astimezone(BERLIN)
    return next(CronSim(spec.cron or "", local))
