"""A throwaway PostgreSQL cluster for the tests, started from the Debian server binaries.

PostgreSQL refuses to run as root, so as root the cluster runs as the unprivileged user ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg

RUN_AS = "nobody"


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    bin_dir: Path
    data_dir: Path
    port: int
    user: str | None  # OS user the server runs as, None for the current one

    @classmethod
    def start(cls) -> PostgresCluster:
        bin_dir = _bin_dir()
        if bin_dir is None:
            raise PostgresUnavailable("no PostgreSQL server binaries (initdb) found; install postgresql-15")
        user = RUN_AS if os.geteuid() == 0 else None
        base = Path(tempfile.mkdtemp(prefix="fko-pg-"))
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(base, entry.pw_uid, entry.pw_gid)
        cluster = cls(bin_dir, base / "data", _free_port(), user)
        env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(base)}
        try:
            cluster._run("initdb", "-D", str(cluster.data_dir), "-U", "fko", "--auth=trust",
                         "-E", "UTF8", "--no-locale", "--no-sync", env=env)
            cluster.resume()
        except (subprocess.CalledProcessError, OSError) as exc:
            log = base / "server.log"
            detail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(base, ignore_errors=True)
            output = getattr(exc, "stderr", "") or ""
            raise PostgresUnavailable(f"PostgreSQL did not start: {exc}\n{output}\n{detail}") from exc
        return cluster

    def _run(self, program: str, *args: str, env: dict[str, str]) -> None:
        subprocess.run([str(self.bin_dir / program), *args], check=True, capture_output=True, text=True,
                       env=env, user=self.user, cwd=self.data_dir.parent, timeout=120)

    def resume(self) -> None:
        """Start the server (again) on the same port and data."""
        base = self.data_dir.parent
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {base} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        self._run("pg_ctl", "-D", str(self.data_dir), "-o", options, "-l", str(base / "server.log"),
                  "-w", "-t", "60", "start", env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(base)})

    def pause(self) -> None:
        """Stop the server, keeping its data: the database is unreachable until ``resume``."""
        self._run("pg_ctl", "-D", str(self.data_dir), "-m", "fast", "-w", "stop",
                  env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"})

    def stop(self) -> None:
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "stop",
                          env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C"})
        finally:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://fko@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A fresh, empty database for one test; returns its SQLAlchemy URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=fko dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
