"""`fko serve`: every deployment served from one process (single-machine install)."""

from __future__ import annotations

import importlib
from typing import Any

from prefect import serve
from prefect.events import DeploymentEventTrigger
from prefect.schedules import Cron

from flows.deployments import DEPLOYMENTS, TIMEZONE


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


def serve_all() -> None:
    serve(*build_deployments())
