"""`fko portal`: serve the institutions' page (uvicorn) on the embedded defaults."""

from __future__ import annotations

import logging
import os
import time
from typing import Annotated

import typer

from cli.output import say


def portal(
    host: Annotated[str, typer.Option("--host", help="Adresse, an der die Seite lauscht.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8000,
) -> None:
    """Die Seite für die Institutionen starten (persönliche Links, Download, Upload, „Keine Änderungen“)."""
    # The page is what this command runs: FastAPI and uvicorn are loaded only here, so `fko --help` stays quick.
    import uvicorn

    from portal.app import create_app
    from usecases.context import AppContext
    from usecases.schema import check_schema
    from usecases.settings import load_settings

    settings = load_settings()
    ctx = AppContext.from_settings(settings)
    check_schema(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    swept = ctx.files.sweep_temporaries(older_than_seconds=3600, now=time.time())
    if swept:
        logging.getLogger("portal").info("removed %d half-written temporary files left by a crash", swept)
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the .eml sink's per-command chatter
    say(f"Seite für die Institutionen: http://{host}:{port}/ (Links in E-Mails: {settings.base_url}/r/…)")
    # uvicorn's own access log would print the personal tokens in the paths: ours scrubs them.
    on_return = emit_return_event if os.environ.get("PREFECT_API_URL") else None
    uvicorn.run(create_app(ctx, on_return=on_return), host=host, port=port, access_log=False, log_level="info",
                proxy_headers=True, server_header=False)


def emit_return_event(institution_code: str, outcome: str) -> None:
    """Tell Prefect a return arrived: the `ingest-returns` deployment is triggered by this event."""
    from prefect.events import emit_event

    # The event name belongs to the deployment it triggers; read it there, so the two cannot drift apart.
    from flows.deployments import RETURN_EVENT

    emit_event(event=RETURN_EVENT, resource={"prefect.resource.id": f"fko.institution.{institution_code}"},
               payload={"institution": institution_code, "outcome": outcome})
