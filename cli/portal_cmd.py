"""`fko portal`: serve the institutions' page (uvicorn) on the embedded defaults."""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Annotated

import typer

from cli.output import say


def portal(
    host: Annotated[str, typer.Option("--host", help="Adresse, an der die Seite lauscht.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port.")] = 8000,
    workers: Annotated[int, typer.Option("--workers", min=1, max=32, help=(
        "Prozesse, die Anfragen beantworten (am Fristtag: so viele wie Prozessorkerne)."))] = 1,
) -> None:
    """Die Seite für die Institutionen starten (persönliche Links, Download, Upload, „Keine Änderungen“)."""
    # The page is what this command runs: FastAPI and uvicorn are loaded only here, so `fko --help` stays quick.
    import uvicorn

    from usecases.context import AppContext
    from usecases.schema import check_schema
    from usecases.settings import load_settings
    from usecases.site import region_sites

    settings = load_settings()
    ctx = AppContext.from_settings(settings)
    check_schema(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    swept = ctx.files.sweep_temporaries(older_than_seconds=3600, now=time.time())
    if swept:
        logging.getLogger("portal").info("removed %d half-written temporary files left by a crash", swept)
    for site in region_sites(ctx):
        say(f"Seite für die Institutionen ({site.code}): Links in E-Mails {site.ctx.settings.base_url}/r/…, "
            f"interner Bereich {site.ctx.settings.base_url}/intern/")
    ctx.close()
    say(f"Die Seite lauscht auf http://{host}:{port}/" + (f" ({workers} Prozesse)." if workers > 1 else "."))
    # uvicorn's own access log would print the personal tokens in the paths: ours scrubs them. Each worker
    # process builds the page anew from the settings (site_from_settings).
    uvicorn.run("cli.portal_cmd:site_from_settings", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="info", proxy_headers=True, server_header=False)


def site_from_settings() -> object:
    """The page of every region as one ASGI app, built from the FKO_* settings (in each worker process)."""
    from portal.app import create_app
    from portal.regions import create_site
    from usecases.context import AppContext
    from usecases.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # the .eml sink's per-command chatter
    events = bool(os.environ.get("PREFECT_API_URL"))

    def region_page(region_ctx: AppContext, **options: object) -> object:
        # With one region its events name none, so runs and dashboard keys stay as they always were.
        code = (region_ctx.settings.region or "") if region_ctx.several else ""
        on_return = functools.partial(emit_return_event, code) if events else None
        return create_app(region_ctx, on_return=on_return, **options)  # type: ignore[arg-type]

    return create_site(AppContext.from_settings(load_settings()), region_page)


def emit_return_event(region: str, institution_code: str, outcome: str) -> None:
    """Tell Prefect a return arrived: the `ingest-returns` deployment is triggered by this event."""
    from prefect.events import emit_event

    # The event name belongs to the deployment it triggers; read it there, so the two cannot drift apart.
    from flows.deployments import RETURN_EVENT

    resource = f"fko.institution.{region}.{institution_code}" if region else f"fko.institution.{institution_code}"
    emit_event(event=RETURN_EVENT, resource={"prefect.resource.id": resource},
               payload={"institution": institution_code, "region": region, "outcome": outcome})
