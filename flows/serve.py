"""`fko serve`: every deployment served from one process (single-machine install)."""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

from prefect import serve
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron

from flows.deployments import DEPLOYMENTS, RETURN_EVENT, TIMEZONE

log = logging.getLogger("fko.serve")
# At most this many flow runs at once, each a Python process of its own (~200 MB): with 16 regions the yearly
# opening starts 16 region runs at the same moment; the others wait their turn (several machines: workers).
RUN_LIMIT = 4


def load_flow(entrypoint: str) -> Any:
    path, _, name = entrypoint.partition(":")
    module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def build_deployments() -> list[Any]:
    deployments = []
    for spec in DEPLOYMENTS:
        flow = load_flow(spec.entrypoint)
        schedules = [Cron(spec.cron, timezone=TIMEZONE)] if spec.cron else None
        triggers = [DeploymentEventTrigger(**spec.trigger)] if spec.trigger else None
        deployments.append(flow.to_deployment(name=spec.name, description=spec.description, schedules=schedules,
                                              triggers=triggers, parameters=spec.parameters))
    return deployments


MAILBOX_RESOURCE = "fko.institution.postfach"  # matches the ingest trigger's "fko.institution.*"


def new_mail() -> None:
    """Tell Prefect mail arrived in the agency's mailbox: the ingest deployment's trigger starts a run."""
    from prefect.events import emit_event

    emit_event(event=RETURN_EVENT, resource={"prefect.resource.id": MAILBOX_RESOURCE},
               payload={"institution": "", "region": "", "outcome": "mail"})


def start_mail_watch() -> threading.Event | None:
    """Where the mailbox offers IDLE, new mail starts an ingest run at once (the 10-minute polling stays)."""
    from usecases.mail_intake import imap_settings, watch_mailbox
    from usecases.settings import load_settings

    settings = load_settings()
    if imap_settings(settings) is None:
        return None
    stop = threading.Event()
    threading.Thread(target=watch_mailbox, args=(settings, new_mail, stop, log.warning), name="fko-mail-watch",
                     daemon=True).start()
    return stop


def serve_all() -> None:
    stop = start_mail_watch()
    try:
        serve(*build_deployments(), limit=RUN_LIMIT)
    finally:
        if stop is not None:
            stop.set()
