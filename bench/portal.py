"""Benchmark: uploads of 200-row sheets to a local `fko portal`, with each way of reading them.

    .venv/bin/python -m bench.portal [--institutions 50] [--rows 200] [--singles 15]

Sets up two throwaway regions (N institutions × R activities, a published baseline, an open cycle) and
starts `fko portal` for each as its own process (uvicorn, as in production): one reading every upload in
a fresh interpreter (one process per file, as before the reader pool), one with the pre-started readers
(usecases.reader_pool). Then, in the same run: single uploads one after another, alternating between
the two pages, and N uploads fired at once at each. Prints the median answer, p50/p95 under load, the
ratio of the pool to one process per file, and the error count (expected: 0).
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


READERS = {"one_process_per_file": "one process per file, base read each time (before)",
           "pool": "pre-started readers, base kept"}
# `fko portal` itself, with the way of reading uploads chosen first (the pool is the default); the page as it
# was before also loads the base version's activities anew for every use (bench.portal.as_before).
LAUNCH = ("import runpy, sys; from usecases.sandbox import use_reader; use_reader(sys.argv[1]); "
          "from bench.portal import as_before; as_before() if sys.argv[1] == 'one_process_per_file' else None; "
          "sys.argv = ['fko', 'portal', '--port', sys.argv[2]]; runpy.run_module('cli', run_name='__main__')")


def as_before() -> None:
    """The answer path before issue 18: the institution's base activities read from the database each time an
    answer needs them (three times), instead of once per page process."""
    from storage.concepts import list_activities
    from usecases import base_version, return_view, returns

    def uncached(_ctx: object, session: object, cycle: object, institution: object) -> list[object]:
        return list(list_activities(session=session, version_id=cycle.base_version_id,  # type: ignore[arg-type, attr-defined]
                                    institution_id=institution.id))  # type: ignore[attr-defined]

    for module in (base_version, returns, return_view):
        module.base_activities = uncached  # type: ignore[attr-defined]


def setup(data_dir: Path, institutions: int, rows: int, database_url: str | None = None) -> dict[str, str]:
    settings = Settings(data_dir=data_dir, base_url="http://127.0.0.1:1", database_url=database_url)
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


async def singles(pages: dict[str, tuple[str, dict[str, str]]], count: int) -> dict[str, list[tuple[float, bool]]]:
    """``count`` uploads one after another to each page, alternating (machine load falls on both alike)."""
    clients = {reader: httpx.AsyncClient(base_url=base, timeout=300, follow_redirects=True)
               for reader, (base, _) in pages.items()}
    try:
        sheets = {reader: {code: (await clients[reader].get(f"{link}/tabelle")).content for code, link in links.items()}
                  for reader, (_, links) in pages.items()}
        times: dict[str, list[tuple[float, bool]]] = {reader: [] for reader in pages}
        for n in range(count):
            for reader, (_, links) in pages.items():
                code = list(links)[n % len(links)]
                times[reader].append(await one_upload(clients[reader], links[code], sheets[reader][code]))
        return times
    finally:
        for client in clients.values():
            await client.aclose()


async def at_once(base: str, links: dict[str, str]) -> list[tuple[float, bool]]:
    async with httpx.AsyncClient(base_url=base, timeout=300, follow_redirects=True) as client:
        sheets = {code: (await client.get(f"{link}/tabelle")).content for code, link in links.items()}
        return list(await asyncio.gather(*(one_upload(client, link, sheets[code]) for code, link in links.items())))


def start_page(reader: str, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "FKO_DATA_DIR": str(data_dir), "FKO_BASE_URL": f"http://127.0.0.1:{port}"}
    server = subprocess.Popen([sys.executable, "-c", LAUNCH, reader, str(port)], env=env,  # noqa: S603 (our interpreter, fixed argv)
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    return server, f"http://127.0.0.1:{port}"


def recorded(data_dir: Path) -> int:
    return recorded_at(data_dir, None)


def recorded_at(data_dir: Path, database_url: str | None) -> int:
    """How many submissions the database holds."""
    ctx = AppContext.from_settings(Settings(data_dir=data_dir, database_url=database_url))
    with session_scope(ctx.engine) as session:
        count = len(session.exec(select(Submission)).all())
    ctx.close()
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--institutions", type=int, default=50)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--singles", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dirs = {reader: Path(tmp) / reader for reader in READERS}
        links = {reader: setup(folder, args.institutions, args.rows) for reader, folder in dirs.items()}
        servers: dict[str, subprocess.Popen[bytes]] = {}
        pages: dict[str, tuple[str, dict[str, str]]] = {}
        try:
            for reader, folder in dirs.items():
                servers[reader], base = start_page(reader, folder)
                pages[reader] = (base, links[reader])
            single = asyncio.run(singles(pages, args.singles))
            loaded = {reader: asyncio.run(at_once(*page)) for reader, page in pages.items()}
        finally:
            for server in servers.values():
                server.terminate()
                server.wait(timeout=30)
        counts = {reader: recorded(folder) for reader, folder in dirs.items()}
    rows = []
    for reader in READERS:
        times = [t for t, _ in single[reader]]
        under_load = [t for t, _ in loaded[reader]]
        errors = sum(1 for _, ok in single[reader] + loaded[reader] if not ok)
        rows.append((statistics.median(times), percentile(under_load, 0.5), percentile(under_load, 0.95), errors,
                     counts[reader], len(times) + len(under_load)))
    before, pool = rows
    print(f"Uploads of {args.rows}-row sheets to `fko portal` (uvicorn, SQLite): the answer (upload, check, record, "
          f"result page) with each way of reading the file, measured in the same run\n")
    print(f"| measure | {READERS['one_process_per_file']} | {READERS['pool']} | ratio (readers / before) |")
    print("|---|---:|---:|---:|")
    for label, index in ((f"single upload, median of {args.singles}", 0),
                         (f"{args.institutions} uploads at once: p50", 1),
                         (f"{args.institutions} uploads at once: p95", 2)):
        print(f"| {label} | {before[index] * 1000:.0f} ms | {pool[index] * 1000:.0f} ms | "
              f"{pool[index] / before[index]:.2f}× |")
    print(f"| errors | {before[3]} | {pool[3]} | |")
    print(f"| submissions recorded (expected {before[5]}) | {before[4]} | {pool[4]} | |")


if __name__ == "__main__":
    main()
