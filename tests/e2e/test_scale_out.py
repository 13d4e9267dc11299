"""Scale-out (DESIGN §12, issue 19): 16 regions opened by two Prefect process workers on separate "hosts".

The production layout of the README on one machine: the Prefect server on PostgreSQL, fko-cycle's database on
PostgreSQL, the shared data folder (FKO_DATA_DIR, on shared storage in production), one SMTP relay, the
deployments of prefect.yaml in a process work pool, and two `prefect worker start` processes (each with its own
hostname when run as root). The yearly opening's scheduled run (no region) starts one flow run per region; a
return event from one region's page starts that region's intake alone.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.postgres import PostgresCluster
from tests.support.prefect_regions import NRW_REGIONS, address, seed_regions
from tests.support.prefect_server import ROOT, PrefectServer, Worker, deployment_runs, wait_for_runs
from usecases.context import AppContext
from usecases.settings import Settings

pytestmark = pytest.mark.postgres
INVITATION = "Abfrage 2026 zum Handlungskonzept"
PARAMETERS = {"year": 2026, "deadline": "2026-10-15", "today": "2026-09-01"}


@pytest.fixture(scope="module")
def prefect_on_postgres(postgres_cluster: PostgresCluster) -> Iterator[PrefectServer]:
    url = postgres_cluster.create_database().replace("postgresql+psycopg://", "postgresql+asyncpg://")
    server = PrefectServer(database_url=url)
    try:
        yield server.start()
    finally:
        server.stop()


def fko_settings(tmp_path: Path, database_url: str, smtp_port: int) -> dict[str, str]:
    return {"FKO_DATA_DIR": str(tmp_path / "shared"), "FKO_DATABASE_URL": database_url,
            "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_port), "FKO_SMTP_TLS": "none",
            "FKO_MAIL_FROM": "noreply@regionalagenturen.example.org", "FKO_BASE_URL": "https://fko.example.org",
            "FKO_ALLOW_LOCAL_LINKS": "true"}


def context(settings: dict[str, str]) -> AppContext:
    return AppContext.from_settings(Settings(data_dir=Path(settings["FKO_DATA_DIR"]),
                                             database_url=settings["FKO_DATABASE_URL"], allow_local_links=True))


def invitations(smtp_server: Any) -> Counter[str]:  # type: ignore[misc]
    """How many invitations each address received at the relay."""
    return Counter(address for received in smtp_server.recorder.received
                   if str(received.message()["Subject"]).startswith(INVITATION) for address in received.recipients)


def test_two_workers_share_the_opening_of_16_regions_and_invite_every_institution_once(  # type: ignore[no-untyped-def]
        prefect_on_postgres: PrefectServer, postgres_cluster: PostgresCluster, smtp_server, tmp_path: Path) -> None:
    server = prefect_on_postgres
    settings = fko_settings(tmp_path, postgres_cluster.create_database(), smtp_server.port)
    ctx = context(settings)
    try:
        seeded = seed_regions(ctx, regions=16, institutions=3)
    finally:
        ctx.close()
    assert len(seeded) == 16
    server.deploy("yearly-opening", "ingest-returns")
    workers = [Worker(name, server.env(**settings, PREFECT_WORKER_QUERY_SECONDS="1")).start(tmp_path)
               for name in ("fko-worker-a", "fko-worker-b")]
    try:
        # Started without a region, as the yearly schedule starts it.
        asyncio.run(deployment_runs(server.api_url, "open-cycle/yearly-opening", start=PARAMETERS))
        runs = wait_for_runs(server.api_url, "open-cycle/yearly-opening", 17, workers)
        # A return on Köln's page: the page's event names the region, the trigger starts Köln's intake only.
        subprocess.run([sys.executable, "-c", "from cli.portal_cmd import emit_return_event; "
                        "emit_return_event('koeln', 'I001', 'accepted')"], cwd=ROOT, env=server.env(**settings),
                       check=True, timeout=120)
        (intake,) = wait_for_runs(server.api_url, "ingest-returns/ingest-returns", 1, workers, timeout=120)
    finally:
        for worker in workers:
            worker.stop()

    by_region = {r.parameters.get("region"): r for r in runs}
    assert set(by_region) == {None, *NRW_REGIONS}  # the scheduled run, and one run per region it started
    assert {code: by_region[code].state_name for code in NRW_REGIONS} == dict.fromkeys(NRW_REGIONS, "Completed")
    assert by_region[None].state_name == "Completed"
    assert all(by_region[code].name.startswith(f"{code}-") for code in NRW_REGIONS)  # found by region on the dashboard
    # Every institution of every region invited exactly once (its contact, the deputy in copy), by one relay.
    expected = {address(code, i, role) for code, codes in seeded.items() for i in codes for role in ("", "v")}
    assert invitations(smtp_server) == dict.fromkeys(expected, 1)
    # Both workers ran region runs (each worker labels the runs it picked up).
    ran = Counter(r.labels.get("prefect.worker.name") for r in runs if r.parameters.get("region"))
    assert set(ran) == {"fko-worker-a", "fko-worker-b"}, ran
    assert (intake.parameters["region"], intake.parameters["institution"], intake.state_name) == (
        "koeln", "I001", "Completed")


def test_a_region_that_fails_does_not_stop_the_other_regions_and_the_run_names_it(  # type: ignore[no-untyped-def]
        prefect_on_postgres: PrefectServer, smtp_server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Called outside a deployment (like `fko demo`): the regions run one after another in this process."""
    from prefect.client.orchestration import get_client
    from prefect.logging.handlers import APILogHandler
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.ingest_returns import ingest_returns_flow
    from flows.open_cycle import open_cycle_flow

    broken = tmp_path / "bonn-vorlagen"
    shutil.copytree(ROOT / "survey_templates", broken)
    (broken / "catalogs.toml").write_text("[handlungsfelder\n", encoding="utf-8")  # a typo staff could make
    settings = fko_settings(tmp_path, f"sqlite:///{tmp_path / 'fko.db'}", smtp_server.port)
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    ctx = context(settings)
    try:
        seeded = seed_regions(ctx, regions=3, institutions=2, templates={"bonn-rhein-sieg": broken})
    finally:
        ctx.close()
    assert list(seeded) == ["aachen", "bergisches-staedtedreieck", "bonn-rhein-sieg"]

    async def open_and_read() -> tuple[Any, set[str], Any]:
        state = await open_cycle_flow(year=2026, deadline="2026-10-15", today="2026-09-01",  # type: ignore[arg-type]
                                      return_state=True)
        # The next intake (as every 10 minutes) runs only the regions with an open round: not the broken one.
        intake = await ingest_returns_flow(today="2026-09-02", return_state=True)  # type: ignore[arg-type]
        async with get_client() as client:
            keys = {a.key for a in await client.read_artifacts(limit=200) if a.key}
        await APILogHandler.aflush()  # the runs' last log lines reach the server before the test stops it
        return state, keys, intake

    with temporary_settings({PREFECT_API_URL: prefect_on_postgres.api_url}):
        state, keys, intake = asyncio.run(open_and_read())
    assert intake.is_completed()
    assert set(intake.result()["regions"]) == {"aachen", "bergisches-staedtedreieck"}
    assert state.is_failed()
    assert state.message.startswith("Eröffnung 2026 fehlgeschlagen für 1 von 3 Regionen (bonn-rhein-sieg: ")
    assert state.message.endswith("die übrigen 2 sind erledigt.") and "\n" not in state.message
    received = invitations(smtp_server)
    assert {a for a in received if a.endswith("@bonn-rhein-sieg.example.org")} == set()
    assert received == {address(code, i, role): 1 for code in ("aachen", "bergisches-staedtedreieck")
                        for i in seeded[code] for role in ("", "v")}
    # Each region's dashboard has its own response table (16 regions do not overwrite each other's).
    assert {"fko-response-table-aachen-2026", "fko-response-table-bergisches-staedtedreieck-2026"} <= keys


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_accepts_the_scale_out_units(tmp_path: Path) -> None:
    """The worker and Prefect server units of deploy/scale-out/, with this machine's paths for the install's."""
    units = []
    for unit in sorted((ROOT / "deploy" / "scale-out").glob("*.service")):
        text = unit.read_text(encoding="utf-8").replace("/opt/fko-cycle/bin/", f"{Path(sys.executable).parent}/")
        text = text.replace("/etc/fko-cycle/", f"{tmp_path}/")
        (tmp_path / unit.name).write_text(text, encoding="utf-8")
        units.append(str(tmp_path / unit.name))
    (tmp_path / "fko.env").write_text("", encoding="utf-8")
    shutil.copy(ROOT / "deploy" / "scale-out" / "prefect-server.env.example", tmp_path / "prefect-server.env")
    assert {Path(u).name for u in units} == {"fko-worker.service", "prefect-server.service"}
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
