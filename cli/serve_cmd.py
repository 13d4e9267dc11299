"""`fko serve`: run all Prefect deployments from this one process."""

from __future__ import annotations

import datetime as dt
import os

from cli.output import fail, say


def serve() -> None:
    """Alle Abläufe (Eröffnung, Erinnerungen, Eingang, Konzept, Freigabe, Abschluss) aus einem Prozess bedienen.

    Braucht einen Prefect-Server (PREFECT_API_URL, z. B. `prefect server start`); das Dashboard zeigt dann
    Läufe, Rückmeldetabellen und Freigaben.
    """
    from core.dates import german_date
    if not os.environ.get("PREFECT_API_URL"):
        fail("PREFECT_API_URL ist nicht gesetzt. Erst `prefect server start`, dann "
             "PREFECT_API_URL=http://127.0.0.1:4200/api fko serve.")
        raise SystemExit(2)
    # Serving the deployments is this command's whole job, so it alone needs flows/; loaded here, not at start.
    from flows.deployments import DEPLOYMENTS, next_yearly_opening
    from flows.serve import serve_all

    say("Abläufe: " + ", ".join(d.name for d in DEPLOYMENTS))
    say(f"Nächste jährliche Eröffnung: {german_date(next_yearly_opening(dt.datetime.now(dt.UTC)).date())}")
    serve_all()
