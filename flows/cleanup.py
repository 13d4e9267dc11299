"""Flow `cleanup`: the retention settings applied every night (what `fko cleanup` does)."""

from __future__ import annotations

import datetime as dt

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from flows.runtime import moment
from usecases.context import app_context
from usecases.retention import cleanup

LABELS = {"uploads": "hochgeladene Dateien", "mail": "E-Mail-Inhalte", "sink": "Dateien der lokalen E-Mail-Ablage",
          "inbox": "Dateien im Eingangsordner",
          "orphans": "Dateien ohne Verweis", "temporaries": "halb geschriebene Dateien",
          "sessions": "abgelaufene Anmeldungen"}


@task(name="apply-retention", cache_policy=NO_CACHE)
def apply_retention(today: dt.date | None, dry_run: bool) -> dict[str, int]:
    with app_context() as ctx:
        return cleanup(ctx, now=moment(today), dry_run=dry_run).counts()


@flow(name="cleanup")
async def cleanup_flow(today: dt.date | None = None, dry_run: bool = False) -> dict[str, int]:
    """Safe to run any number of times: what is gone is gone, the rest waits for its date."""
    counts = apply_retention(today, dry_run)
    removed = ", ".join(f"{number} {LABELS[name]}" for name, number in counts.items() if number) or "nichts"
    get_run_logger().info("Aufbewahrungsfristen%s: entfernt %s", " (Probelauf)" if dry_run else "", removed)
    await create_markdown_artifact(key="fko-aufbewahrung", description="Aufbewahrungsfristen",
                                   markdown=f"**Aufbewahrungsfristen angewandt{' (Probelauf)' if dry_run else ''}:** "
                                            f"entfernt {removed}.")
    return counts
