"""Benchmark: a whole round through the Prefect flows vs. the same steps called directly, by size.

    .venv/bin/python -m bench.cycle [--sizes 40,640,6400]

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="40,640")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)], stdin=subprocess.PIPE,  # noqa: S603 (our interpreter, fixed argv)
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
