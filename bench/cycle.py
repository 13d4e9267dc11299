"""Benchmark: a whole round through the Prefect flows vs. the same steps called directly, by size; and the
16 regions opened and reminded by one Prefect worker vs. two (``--regions``, see ``regions_main``).

    .venv/bin/python -m bench.cycle [--sizes 40,640,6400]
    .venv/bin/python -m bench.cycle --regions 16x40

For each size: a synthetic region (N institutions, 5 activities each, a published baseline), then the
round: open (sheets + invitations to an SMTP server in another process), a reminder run, the draft and
its documents (no PDF), publishing. Once through the flows under a local Prefect server (the harness;
its start is not timed), once calling the use cases directly. Prints both times, the overhead ratio
(flows / direct) and the growth ratio (time per institution relative to the smallest size).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")

from bench.mail import SERVER, free_port
from bench.seed import seed_region
from usecases.context import AppContext
from usecases.settings import load_settings

OPENED, DEADLINE = dt.date(2027, 9, 1), dt.date(2027, 10, 14)


def setup(data_dir: Path, port: int, institutions: int) -> None:
    os.environ.update({"FKO_DATA_DIR": str(data_dir), "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(port),
                       "FKO_ALLOW_LOCAL_LINKS": "true",
                       "FKO_MAIL_FROM": "noreply@example.org"})
    ctx = AppContext.from_settings(load_settings())
    seed_region(ctx, [f"I{n:05d}" for n in range(institutions)], rows=5, label="2026", deputies=True)
    ctx.close()


def direct_round() -> None:
    from flows.runtime import moment
    from usecases.cycle import open_cycle
    from usecases.documents import render_version
    from usecases.outbox import deliver_pending
    from usecases.reminders import run_reminders
    from usecases.versions import publish_draft, rebuild_draft

    ctx = AppContext.from_settings(load_settings())
    open_cycle(ctx, year=2027, deadline=DEADLINE, today=OPENED, now=moment(OPENED))
    asyncio.run(deliver_pending(ctx))
    run_reminders(ctx, today=DEADLINE, now=moment(DEADLINE))
    asyncio.run(deliver_pending(ctx))
    rebuild_draft(ctx, year=2027, now=moment(DEADLINE))
    render_version(ctx, out_dir=ctx.settings.data_dir / "dokumente" / "2027", label="2027", pdf=False, today=DEADLINE)
    publish_draft(ctx, approved_by="bench", now=moment(DEADLINE), label="2027")
    ctx.close()


def flow_round() -> None:
    from flows.escalate_reminders import escalate_reminders_flow
    from flows.open_cycle import open_cycle_flow
    from flows.publish_concept import publish_concept_flow

    asyncio.run(open_cycle_flow(year=2027, deadline=DEADLINE, today=OPENED))
    asyncio.run(escalate_reminders_flow(today=DEADLINE))
    asyncio.run(publish_concept_flow(year=2027, today=DEADLINE, approved_by="bench", pdf=False, early=True))


def timed(size: int, port: int, runner) -> float:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        setup(Path(tmp), port, size)
        start = time.perf_counter()
        runner()
        return time.perf_counter() - start


def direct_regions(codes: list[str]) -> tuple[float, float]:
    """The baseline: the same opening and reminder steps, region after region in this one process; the times."""
    from flows.runtime import moment
    from usecases.context import app_context
    from usecases.cycle import open_cycle
    from usecases.outbox import deliver_pending
    from usecases.reminders import run_daily

    start = time.perf_counter()
    for code in codes:
        with app_context(region=code) as ctx:
            open_cycle(ctx, year=2027, deadline=DEADLINE, today=OPENED, now=moment(OPENED))
            asyncio.run(deliver_pending(ctx))
    opened = time.perf_counter() - start
    for code in codes:
        with app_context(region=code) as ctx:
            run_daily(ctx, today=DEADLINE, now=moment(DEADLINE))
            asyncio.run(deliver_pending(ctx))
    return opened, time.perf_counter() - start - opened


def mail_counts() -> dict[str, int]:
    from sqlalchemy import func
    from sqlmodel import select

    from storage.database import session_scope
    from storage.models import OutboundMessage

    ctx = AppContext.from_settings(load_settings())
    with session_scope(ctx.engine) as session:
        rows = session.exec(select(OutboundMessage.state, func.count()).group_by(OutboundMessage.state)).all()
    ctx.close()
    return {state: int(count) for state, count in rows}


def regions_main(regions: int, institutions: int) -> None:
    """``regions`` × ``institutions`` (5 activities each, deputies in copy) opened and reminded on PostgreSQL:
    called directly (one process, region after region), then through the deployments with one and with two
    process workers ("hosts"), each worker taking one flow run at a time (`--limit 1`). Every configuration
    starts from a fresh database; the time runs from starting the deployment's run until the last region's
    run is final (workers already polling; a region's run includes starting its Python process)."""
    from tests.support.postgres import PostgresCluster
    from tests.support.prefect_regions import seed_regions
    from tests.support.prefect_server import PrefectServer, Worker

    port = free_port()
    sink = subprocess.Popen([sys.executable, "-c", SERVER, str(port), "0.005"], stdin=subprocess.PIPE,  # noqa: S603
                            stdout=subprocess.PIPE, text=True)
    cluster = PostgresCluster.start()
    prefect = PrefectServer(database_url=cluster.create_database().replace("+psycopg", "+asyncpg"))
    rows: list[tuple[str, float, float, dict[str, int]]] = []
    try:
        if sink.stdout is None or sink.stdout.readline().strip() != "ready":
            raise RuntimeError("SMTP sink did not start")
        prefect.start()
        prefect.deploy("yearly-opening", "daily-reminders")
        for workers in (0, 1, 2):
            with tempfile.TemporaryDirectory() as tmp:
                settings = {"FKO_DATA_DIR": str(Path(tmp) / "shared"), "FKO_DATABASE_URL": cluster.create_database(),
                            "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(port), "FKO_SMTP_TLS": "none",
                            "FKO_ALLOW_LOCAL_LINKS": "true", "FKO_MAIL_FROM": "noreply@example.org"}
                os.environ.update(settings)
                ctx = AppContext.from_settings(load_settings())
                codes = list(seed_regions(ctx, regions=regions, institutions=institutions, rows=5))
                ctx.close()
                if workers == 0:
                    opened, reminded = direct_regions(codes)
                    label = "direct, one process, region after region (baseline)"
                else:
                    opened, reminded = _through_workers(prefect, settings, workers, regions, Path(tmp), Worker)
                    label = f"{workers} worker{'s' if workers > 1 else ''} × 1 run at a time"
                rows.append((label, opened, reminded, mail_counts()))
                print(f"  {label}: {opened:.1f} s + {reminded:.1f} s {rows[-1][3]}", file=sys.stderr, flush=True)
    finally:
        prefect.stop()
        cluster.stop()
        if sink.stdin:
            sink.stdin.close()
        sink.wait(timeout=30)
    _print_regions(rows, regions, institutions)


def _through_workers(prefect, settings: dict[str, str], count: int, regions: int, folder: Path,  # type: ignore[no-untyped-def]
                     worker_type) -> tuple[float, float]:
    from tests.support.prefect_server import deployment_runs, wait_for_runs

    workers = [worker_type(f"fko-worker-{n}", prefect.env(**settings, PREFECT_WORKER_QUERY_SECONDS="1")).start(folder)
               for n in range(count)]
    try:
        time.sleep(8)  # the workers are up and polling (not timed: they run all year)
        times = []
        for deployment, parameters in (("open-cycle/yearly-opening", {"year": 2027, "deadline": DEADLINE.isoformat(),
                                                                      "today": OPENED.isoformat()}),
                                       ("escalate-reminders/daily-reminders", {"today": DEADLINE.isoformat()})):
            before = len(asyncio.run(deployment_runs(prefect.api_url, deployment)))
            start = time.perf_counter()
            asyncio.run(deployment_runs(prefect.api_url, deployment, start=parameters))
            runs = wait_for_runs(prefect.api_url, deployment, before + regions + 1, workers, timeout=1800)
            times.append(time.perf_counter() - start)
            failed = [r.name for r in runs if r.state_name != "Completed"]
            if failed:
                raise RuntimeError(f"{deployment}: runs not completed: {failed}")
        return times[0], times[1]
    finally:
        for worker in workers:
            worker.stop()


def _print_regions(rows: list[tuple[str, float, float, dict[str, int]]], regions: int, institutions: int) -> None:
    base = rows[0][1] + rows[0][2]
    one = next((o + r for label, o, r, _ in rows if label.startswith("1 worker")), None)
    print(f"{regions} regions × {institutions} institutions (5 activities each, deputy in copy), PostgreSQL for "
          "fko-cycle and the Prefect server, SMTP relay with 5 ms per command.\n")
    print("| configuration | opening | reminders | total | vs. direct | vs. one worker | mails sent |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, opened, reminded, mails in rows:
        total = opened + reminded
        versus_one = f"{total / one:.2f}×" if one and not label.startswith("direct") else ""
        print(f"| {label} | {opened:.1f} s | {reminded:.1f} s | {total:.1f} s | {total / base:.2f}× | {versus_one} | "
              f"{mails.get('sent', 0):,} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="40,640")
    parser.add_argument("--regions", help="REGIONSxINSTITUTIONS, e.g. 16x40: one worker vs. two instead")
    args = parser.parse_args()
    if args.regions:
        regions, institutions = (int(n) for n in args.regions.split("x"))
        regions_main(regions, institutions)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), "0"], stdin=subprocess.PIPE,  # noqa: S603 (our interpreter, fixed argv)
                              stdout=subprocess.PIPE, text=True)
    from prefect.testing.utilities import prefect_test_harness

    rows = []
    try:
        if server.stdout is None or server.stdout.readline().strip() != "ready":
            raise RuntimeError("SMTP server did not start")
        with prefect_test_harness(server_startup_timeout=90):
            for size in sizes:
                direct = timed(size, port, direct_round)
                flows = timed(size, port, flow_round)
                rows.append((size, direct, flows))
                print(f"  {size}: direct {direct:.1f} s, flows {flows:.1f} s", file=sys.stderr, flush=True)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    base = rows[0][1] / rows[0][0]
    print("| institutions | direct | through Prefect flows | overhead (flows / direct) | growth (direct, per "
          "institution vs. smallest) |")
    print("|---:|---:|---:|---:|---:|")
    for size, direct, flows in rows:
        print(f"| {size:,} | {direct:.1f} s | {flows:.1f} s | {flows / direct:.2f}× | {direct / size / base:.2f}× |")


if __name__ == "__main__":
    main()
