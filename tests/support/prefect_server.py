"""A real Prefect server (optionally on PostgreSQL) and process workers as separate "hosts", for tests and bench.

The production layout of the README's scale-out section on one machine: `prefect server start` with its
database on PostgreSQL, a process work pool, `prefect deploy` from prefect.yaml, and `prefect worker start`
processes. As root each worker runs in a UTS namespace of its own (`unshare --uts`) with its own hostname, so
the outbox's "host:pid:start" claims differ as they do between real hosts. Every process is stopped with its
process group (a worker's flow-run processes too).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.support.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]
POOL = "fko-process"  # the work pool prefect.yaml names


def offline_env(home: Path, **extra: str) -> dict[str, str]:
    """Our environment without FKO_*/PREFECT_* of the caller, offline, with this ``PREFECT_HOME``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FKO_", "PREFECT_"))}
    return {**env, "PREFECT_HOME": str(home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            **extra}


def _stop(process: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """SIGTERM to the process group (started with its own session), SIGKILL after ``timeout``."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


@dataclass
class PrefectServer:
    """`prefect server start` on 127.0.0.1; ``database_url``: ``postgresql+asyncpg://…`` (else SQLite)."""

    database_url: str | None = None
    home: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="fko-prefect-")))
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a client of this server (CLI, worker)."""
        return offline_env(self.home, PREFECT_API_URL=self.api_url, **extra)

    def start(self, timeout: float = 120) -> PrefectServer:
        extra = {"PREFECT_UI_ENABLED": "false",
                 # Runs are started by the tests, not by the deployments' schedules (a yearly cron, a 10-minute poll).
                 "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false"}
        if self.database_url:
            extra["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = self.database_url
        log = (self.home / "server.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=offline_env(self.home, **extra), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Prefect server exited: {self.log()[-3000:]}")
            try:
                if httpx.get(f"{self.api_url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"Prefect server not healthy after {timeout} s: {self.log()[-3000:]}")

    def log(self) -> str:
        path = self.home / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def prefect(self, *args: str, env: dict[str, str] | None = None, timeout: float = 300) -> str:
        """Run the `prefect` command line against this server from the project folder; its output."""
        # PWD: prefect.yaml's pull step sets the flow runs' working directory to "{{ $PWD }}" at deploy time.
        env = {**(env or self.env()), "COLUMNS": "250", "PWD": str(ROOT)}
        done = subprocess.run([sys.executable, "-m", "prefect", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"prefect {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done.stdout

    def deploy(self, *names: str, env: dict[str, str] | None = None) -> None:
        """The process work pool and the named deployments of prefect.yaml, as the README's commands do."""
        self.prefect("work-pool", "create", POOL, "--type", "process", "--overwrite", env=env)
        self.prefect("--no-prompt", "deploy", *(arg for name in names for arg in ("--name", name)), env=env)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None
        shutil.rmtree(self.home, ignore_errors=True)


@dataclass
class Worker:
    """`prefect worker start --pool fko-process` as host ``name`` (its own hostname when run as root)."""

    name: str
    env: dict[str, str]
    limit: int | None = 1
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @staticmethod
    def separate_hosts() -> bool:
        return os.geteuid() == 0 and shutil.which("unshare") is not None

    def start(self, folder: Path) -> Worker:
        command = [sys.executable, "-m", "prefect", "worker", "start", "--pool", POOL, "--name", self.name,
                   "--type", "process", *(("--limit", str(self.limit)) if self.limit else ())]
        if self.separate_hosts():
            command = ["unshare", "--uts", "--", "sh", "-c", 'hostname "$0" && exec "$@"', self.name, *command]
        self.log_path = folder / f"{self.name}.log"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None


async def deployment_runs(api_url: str, deployment: str, *, start: dict[str, Any] | None = None) -> list[Any]:
    """The flow runs of ``deployment`` ("flow/deployment"), after starting one with ``start`` as parameters."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterName
    from prefect.deployments import run_deployment
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}):
        if start is not None:
            await run_deployment(name=deployment, parameters=start, timeout=0)
        async with get_client() as client:
            return await client.read_flow_runs(deployment_filter=DeploymentFilter(
                name=DeploymentFilterName(any_=[deployment.split("/")[1]])), limit=200)


def wait_for_runs(api_url: str, deployment: str, count: int, workers: list[Worker], timeout: float = 300) -> list[Any]:
    """The deployment's flow runs once ``count`` of them are final (a failure message shows the workers' logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = asyncio.run(deployment_runs(api_url, deployment))
        if len(runs) >= count and all(r.state and r.state.is_final() for r in runs):
            return runs
        time.sleep(1)
    logs = "\n".join(f"--- {w.name}\n{w.log()[-3000:]}" for w in workers)
    states = [(r.name, r.state_name) for r in asyncio.run(deployment_runs(api_url, deployment))]
    raise AssertionError(f"runs not finished in {timeout} s: {states}\n{logs}")
