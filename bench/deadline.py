"""Benchmark: the deadline day, N institutions uploading their 200-row sheets at the same moment.

    .venv/bin/python -m bench.deadline [--institutions 50] [--rows 200] [--singles 12] [--workers 1,2]
                                       [--databases sqlite,postgresql]

For each database (a SQLite file; PostgreSQL on a throwaway cluster, as the tests start it) and each number of
page worker processes (`fko portal --workers N`), in one run: first uploads one after another, measuring the
CPU time one upload costs on the server side (the page's processes, its upload readers, and the PostgreSQL
server's processes; from /proc, so the bench client's own work is not counted); then N uploads fired at once.
The goal (issue 18, goal 5): throughput at once ≥ 0.8 × (cores ÷ CPU time of one upload), 0 errors; p95 shown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.portal import free_port, one_upload, percentile, recorded_at, setup

TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    return text.rpartition(")")[2].split()


def tree_cpu(root: int) -> float:
    """CPU seconds of a process and all its descendants, living or already reaped."""
    parents: dict[int, int] = {}
    fields: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            fields[int(entry)] = stat
            parents[int(entry)] = int(stat[1])
    total, wanted = 0.0, {root}
    changed = True
    while changed:  # the descendants of root
        changed = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                changed = True
    for pid in wanted:
        stat = fields.get(pid)
        if stat is not None:  # utime, stime, and the reaped children's cutime, cstime
            total += sum(int(value) for value in stat[11:15]) / TICKS
    return total


@dataclass
class Measured:
    database: str
    workers: int
    cpu_per_upload: float
    single_median: float
    wall: float
    p50: float
    p95: float
    errors: int
    recorded: int
    expected: int

    @property
    def throughput(self) -> float:
        return self.expected_at_once / self.wall

    expected_at_once: int = 0
    cpu_at_once: float = 0.0  # server CPU per upload while they come at once (contention shows here)


@contextmanager
def postgres() -> Iterator[tuple[str, Path]]:
    """A database on a throwaway cluster (as the tests start it) and the file naming its server's process."""
    from tests.support.postgres import PostgresCluster

    cluster = PostgresCluster.start()
    try:
        yield cluster.create_database(), cluster.data_dir / "postmaster.pid"
    finally:
        cluster.stop()


def start_page(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    page_env = {**env, "FKO_BASE_URL": f"http://127.0.0.1:{port}"}
    command = [sys.executable, "-m", "cli", "portal", "--port", str(port), "--workers", str(workers)]
    server = subprocess.Popen(command, env=page_env, stdout=subprocess.DEVNULL,  # noqa: S603 (our interpreter, fixed argv)
                              stderr=subprocess.DEVNULL)
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    return server, f"http://127.0.0.1:{port}"


async def run_uploads(base: str, links: dict[str, str], singles: int, cpu: Callable[[], float],
                      ) -> tuple[list[tuple[float, bool]], float, list[tuple[float, bool]], float, float]:
    async with httpx.AsyncClient(base_url=base, timeout=300, follow_redirects=True) as client:
        sheets = {code: (await client.get(f"{link}/tabelle")).content for code, link in links.items()}
        codes = list(links)
        # Warm-up: every worker process and reader has answered once before anything is measured.
        for code in codes[:4]:
            await one_upload(client, links[code], sheets[code])
        before = cpu()
        single = [await one_upload(client, links[codes[n % len(codes)]], sheets[codes[n % len(codes)]])
                  for n in range(singles)]
        per_upload = (cpu() - before) / singles
        before, start = cpu(), time.perf_counter()
        at_once = list(await asyncio.gather(*(one_upload(client, link, sheets[code]) for code, link in links.items())))
        wall = time.perf_counter() - start
        per_upload_at_once = (cpu() - before) / len(at_once)
    return single, per_upload, at_once, wall, per_upload_at_once


def measure(database: str, server_db: tuple[str, Path] | None, workers: int, args: argparse.Namespace,
            folder: Path) -> Measured:
    url, pid_file = server_db or (None, None)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FKO_")}
    env["FKO_DATA_DIR"] = str(folder)
    if url:
        env["FKO_DATABASE_URL"] = url
    links = setup(folder, args.institutions, args.rows, database_url=url)
    server, base = start_page(env, workers)
    postmaster = int(pid_file.read_text().split()[0]) if pid_file else None
    try:
        def cpu() -> float:
            return tree_cpu(server.pid) + (tree_cpu(postmaster) if postmaster else 0.0)

        single, per_upload, at_once, wall, at_once_cpu = asyncio.run(run_uploads(base, links, args.singles, cpu))
    finally:
        server.terminate()
        server.wait(timeout=60)
    loaded = [t for t, _ in at_once]
    errors = sum(1 for _, ok in single + at_once if not ok)
    expected = 4 + len(single) + len(at_once)
    return Measured(database, workers, per_upload, statistics.median(t for t, _ in single), wall,
                    percentile(loaded, 0.5), percentile(loaded, 0.95), errors, recorded_at(folder, url), expected,
                    expected_at_once=len(at_once), cpu_at_once=at_once_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--institutions", type=int, default=50)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--singles", type=int, default=12)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    results: list[Measured] = []
    for database in args.databases.split(","):
        for workers in (int(n) for n in args.workers.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                if database == "postgresql":
                    with postgres() as server_db:
                        results.append(measure(database, server_db, workers, args, Path(tmp)))
                else:
                    results.append(measure(database, None, workers, args, Path(tmp)))
    print(f"Deadline day: {args.institutions} uploads of {args.rows}-row sheets at once to `fko portal`, "
          f"{cores} cores; ideal = cores ÷ server CPU time of one upload (measured one after another, same run)\n")
    print("| database | page workers | CPU per upload | single answer | ideal | at once: uploads/s | ratio to ideal "
          "(goal ≥ 0.8) | p50 | p95 | CPU per upload at once | errors | recorded / expected |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        ideal = cores / r.cpu_per_upload
        print(f"| {r.database} | {r.workers} | {r.cpu_per_upload * 1000:.0f} ms | {r.single_median * 1000:.0f} ms | "
              f"{ideal:.1f}/s | {r.throughput:.1f}/s | {r.throughput / ideal:.2f}× | {r.p50 * 1000:.0f} ms | "
              f"{r.p95 * 1000:.0f} ms | {r.cpu_at_once * 1000:.0f} ms | {r.errors} | {r.recorded} / {r.expected} |")


if __name__ == "__main__":
    main()
