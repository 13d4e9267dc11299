"""The CLI against PostgreSQL by URL (FKO_DATABASE_URL), as a scaled-out install runs it."""

from __future__ import annotations

import json

import pytest

from tests.support.postgres import PostgresCluster


@pytest.mark.postgres
def test_init_demo_and_list_on_postgresql(run_fko, fko_env, postgres_cluster: PostgresCluster) -> None:  # type: ignore[no-untyped-def]
    url = postgres_cluster.create_database().replace("postgresql+psycopg://", "postgresql://")
    env = {**fko_env, "FKO_DATABASE_URL": url}
    init = run_fko("init", "--demo", env=env)
    assert init.exit_code == 0, init.stderr
    data = json.loads(run_fko("institutions", "list", "--json", env=env).stdout)
    assert len(data["institutions"]) == 22
    reset = run_fko("init", "--demo", "--reset", "--yes", env=env)
    assert reset.exit_code == 0, reset.stderr
    assert len(json.loads(run_fko("institutions", "list", "--json", env=env).stdout)["institutions"]) == 22
