"""Shared fixtures: a real SQLite file or a real PostgreSQL database per test, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.german import english_words
from tests.support.postgres import PostgresCluster, PostgresUnavailable
from tests.support.zygote import run_cli

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    try:
        cluster = PostgresCluster.start()
    except PostgresUnavailable as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL must run in CI: {exc}")
        pytest.skip(f"no PostgreSQL server can start here: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresCluster]:
    """A cluster of its own, for a test that stops and restarts it."""
    cluster = PostgresCluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database: a SQLite file, or a fresh database on the throwaway PostgreSQL cluster."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fko.db'}"
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database()


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def fko_env(tmp_path: Path) -> dict[str, str]:
    """Environment for running `fko` with its own data dir and nothing inherited from FKO_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FKO_")}
    env["FKO_DATA_DIR"] = str(tmp_path / "var")
    env["XDG_CONFIG_HOME"] = str(tmp_path / "config")  # no config file of this machine's user
    env["XDG_DATA_HOME"] = str(tmp_path / "data")  # the default data folder, if a test leaves FKO_DATA_DIR out
    env["COLUMNS"] = "200"
    # The tests' relay and page run on 127.0.0.1: links there are fine here (test_readiness checks the refusal).
    env["FKO_ALLOW_LOCAL_LINKS"] = "true"
    return env


@pytest.fixture(scope="session")
def fko_zygote(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A process with `fko`'s modules imported that forks each `run_fko` (tests.support.zygote); None with
    FKO_TEST_ZYGOTE=0 (every run a fresh `python -m cli`)."""
    if os.environ.get("FKO_TEST_ZYGOTE", "1") == "0":
        yield None
        return
    path = str(tmp_path_factory.mktemp("zygote") / "fko.sock")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FKO_", "PREFECT_"))}
    zygote = subprocess.Popen([sys.executable, "-m", "tests.support.zygote", path], env=env,
                              cwd=Path(__file__).resolve().parents[1], stdout=subprocess.PIPE, text=True)
    assert zygote.stdout is not None and zygote.stdout.readline().strip() == "ready", "the fko zygote did not start"
    yield path
    zygote.kill()
    zygote.wait(timeout=30)


@pytest.fixture
def run_fko(fko_env: dict[str, str], tmp_path: Path, fko_zygote: str | None):  # type: ignore[no-untyped-def]
    """Run the real `fko` command line in a process of its own (exit codes and output as staff see them)."""

    def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> CliResult:
        completed = run_cli(fko_zygote, args, env=env or fko_env, cwd=cwd or tmp_path)
        # Staff read German only (issue 24): every CLI test checks what it saw (help: test_cli_german).
        if "--json" not in args and "--help" not in args:
            english = english_words(completed.stdout + completed.stderr)
            assert not english, f"English for staff in `fko {' '.join(args)}`: {english}\n{completed.stdout}" \
                                f"{completed.stderr}"
        return CliResult(completed.returncode, completed.stdout, completed.stderr)

    return run


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI a skipped test is a test that does not exist: fail the run instead."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        if reporter:
            reporter.write_line(f"CI: {skipped} test(s) skipped; every test must run in CI", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def smtp_server():  # type: ignore[no-untyped-def]
    """A real aiosmtpd server on 127.0.0.1 that records every message (tests.support.smtp)."""
    from tests.support.smtp import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def demo_ctx(tmp_path: Path, smtp_server):  # type: ignore[no-untyped-def]
    """The demo region in a fresh SQLite file, mail going to the test SMTP server."""
    from usecases.context import AppContext
    from usecases.settings import Settings
    from usecases.setup import init_database

    settings = Settings(data_dir=tmp_path / "var", smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                        allow_local_links=True,
                        mail_from="noreply@regionalagentur.example.org", base_url="https://fko.example.org")
    ctx = AppContext.from_settings(settings)
    init_database(ctx, demo=True)
    yield ctx
    ctx.close()


@pytest.fixture
def portal(tmp_path: Path, smtp_server):  # type: ignore[no-untyped-def]
    """Demo region, cycle 2026 open (deadline 15.10.2026), invitations delivered to the test SMTP
    server, and the page served by uvicorn with a clock the test controls (1 Sept 2026)."""
    from tests.support.portal import served_round

    with served_round(tmp_path / "var", smtp_server.port, messages=smtp_server.recorder.messages) as opened:
        smtp_server.recorder.received.clear()

        class Portal:
            pass

        handle = Portal()
        handle.ctx, handle.clock, handle.links, handle.url, handle.smtp = (  # type: ignore[attr-defined]
            opened.ctx, opened.clock, opened.links, opened.url, smtp_server)
        yield handle


@pytest.fixture
def dovecot():  # type: ignore[no-untyped-def]
    """A real Dovecot IMAP server on 127.0.0.1, unprivileged, with an empty mailbox (tests.support.imap)."""
    from tests.support.imap import Dovecot

    server = Dovecot().start()
    yield server
    server.stop()


@pytest.fixture
def mailbox_env(fko_env: dict[str, str], dovecot, smtp_server) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """`fko` with the test SMTP server as relay and the test Dovecot as the agency's mailbox."""
    from tests.support.imap import PASSWORD, USER

    return {**fko_env, "FKO_SMTP_HOST": "127.0.0.1", "FKO_SMTP_PORT": str(smtp_server.port),
            "FKO_MAIL_FROM": "noreply@regionalagentur.example.org", "FKO_BASE_URL": "https://fko.example.org",
            "FKO_IMAP_HOST": "127.0.0.1", "FKO_IMAP_PORT": str(dovecot.port), "FKO_IMAP_USER": USER,
            "FKO_IMAP_PASSWORD": PASSWORD, "FKO_IMAP_TLS": "none"}
