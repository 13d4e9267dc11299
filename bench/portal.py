"""Benchmark: 50 concurrent uploads of 200-row sheets to a local `fko portal`.

    .venv/bin/python bench/portal.py [--institutions 50] [--rows 200]

Sets up a throwaway region (N institutions × R activities, a published baseline, an open cycle),
starts `fko portal` as its own process (uvicorn, as in production), then measures in the same run:
single uploads one after another (the baseline), and N uploads fired at once. Prints p50/p95 latency,
the ratio of p95 under load to a single upload, and the error count (expected: 0).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlmodel import select

from bench.seed import seed_region
from core.token import link_token
from storage.database import session_scope
from storage.institutions import get_institution
from storage.models import Request, Submission
from usecases.context import AppContext
from usecases.cycle import open_cycle
from usecases.settings import Settings


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def setup(data_dir: Path, institutions: int, rows: int) -> dict[str, str]:
    settings = Settings(data_dir=data_dir, base_url="http://127.0.0.1:1")
    ctx = AppContext.from_settings(settings)
    codes = [f"I{n:03d}" for n in range(institutions)]
    region_id = seed_region(ctx, codes, rows=rows, label="2025", description="Beschreibung " * 10)
    today = dt.date.today()
    open_cycle(ctx, year=today.year, deadline=today + dt.timedelta(days=30), today=today, now=dt.datetime.now(dt.UTC))
    links: dict[str, str] = {}
    with session_scope(ctx.engine) as session:
        for code in codes:
            institution = get_institution(session=session, region_id=region_id, code=code)
            request = session.exec(select(Request).where(Request.institution_id == institution.id)).one()
            links[code] = f"/r/{link_token(settings.secret(), request.id or 0, request.token_nonce)}"
    ctx.close()
    return links


async def one_upload(client: httpx.AsyncClient, link: str, sheet: bytes) -> tuple[float, bool]:
    import re

    page = await client.get(link)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    start = time.perf_counter()
    response = await client.post(f"{link}/hochladen", data={"csrf": csrf.group(1) if csrf else ""},
                                 files={"datei": ("t.xlsx", sheet)})
    elapsed = time.perf_counter() - start
    return elapsed, response.status_code == 200 and "wurde angenommen" in response.text


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def run(base: str, links: dict[str, str], singles: int) -> tuple[list[float], list[float], int]:
    async with httpx.AsyncClient(base_url=base, timeout=300, follow_redirects=True) as client:
        sheets = {code: (await client.get(f"{link}/tabelle")).content for code, link in links.items()}
        codes = list(links)
        single = [(await one_upload(client, links[c], sheets[c])) for c in codes[:singles]]
        loaded = await asyncio.gather(*(one_upload(client, links[c], sheets[c]) for c in codes))
    errors = sum(1 for _, ok in single + loaded if not ok)
    return [t for t, _ in single], [t for t, _ in loaded], errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--institutions", type=int, default=50)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--singles", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        links = setup(data_dir, args.institutions, args.rows)
        port = free_port()
        env = {**os.environ, "FKO_DATA_DIR": str(data_dir), "FKO_BASE_URL": f"http://127.0.0.1:{port}"}
        server = subprocess.Popen([sys.executable, "-m", "cli", "portal", "--port", str(port)], env=env,  # noqa: S603 (our interpreter, fixed argv)
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in range(200):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            single, loaded, errors = asyncio.run(run(f"http://127.0.0.1:{port}", links, args.singles))
        finally:
            server.terminate()
            server.wait(timeout=30)
        ctx = AppContext.from_settings(Settings(data_dir=data_dir))
        with session_scope(ctx.engine) as session:
            recorded = len(session.exec(select(Submission)).all())
        ctx.close()
    single_median = statistics.median(single)
    p50, p95 = percentile(loaded, 0.5), percentile(loaded, 0.95)
    print(f"{args.institutions} concurrent uploads of {args.rows}-row sheets to `fko portal` (uvicorn, SQLite)\n")
    print("| measure | value |")
    print("|---|---:|")
    print(f"| single upload, median of {len(single)} | {single_median * 1000:.0f} ms |")
    print(f"| under load: p50 | {p50 * 1000:.0f} ms |")
    print(f"| under load: p95 | {p95 * 1000:.0f} ms |")
    print(f"| ratio p95 under load / single | {p95 / single_median:.1f}× |")
    print(f"| errors | {errors} |")
    print(f"| submissions recorded (expected {len(single) + len(loaded)}) | {recorded} |")


if __name__ == "__main__":
    main()
